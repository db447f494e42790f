/**
 * flip: a view with negative strides (src/ir/expr.ts `flip`), index arithmetic in whatever kernel
 * reads it, never a copy. Its gradient is the same flip of the upstream gradient.
 */
import * as ir from '../ir/expr.ts';
import { InvalidArgumentError } from '../errors.ts';
import { fmt, type Shape, sizeOf, stridesOf } from '../shape.ts';
import { forEachIndex } from './elementwise.ts';
import { defineOp } from './op.ts';

export interface FlipAttrs {
  /** Normalized, sorted, distinct axes to reverse. */
  readonly axes: readonly number[];
}

function checkAxes(s: Shape, axes: unknown): readonly number[] {
  const ok = Array.isArray(axes) && axes.every((a) => Number.isInteger(a) && a >= 0 && a < s.length) && new Set(axes).size === axes.length;
  if (!ok) throw new InvalidArgumentError(`flip: axes ${JSON.stringify(axes)} must be distinct axes 0 to ${s.length - 1} of shape ${fmt(s)}`);
  return axes as number[];
}

/** x with `axes` reversed, in float64 (the CPU reference, for the forward and the gradient alike). */
export function referenceFlip(x: Float64Array, shape: Shape, axes: readonly number[]): Float64Array {
  const st = stridesOf(shape);
  const out = new Float64Array(sizeOf(shape));
  forEachIndex(shape, (i, c) => {
    out[i] = x[c.reduce((acc, ci, d) => acc + (axes.includes(d) ? shape[d]! - 1 - ci : ci) * st[d]!, 0)]!;
  });
  return out;
}

export const flipOp = defineOp<FlipAttrs>({
  name: 'flip',
  arity: 1,
  shape([s], { axes }) {
    checkAxes(s!, axes);
    return s!;
  },
  saves: (needs) => ({ inputs: needs.map(() => false), output: false }),
  gpu: {
    forward(k, [x], out, { outShape, attrs }) {
      if (sizeOf(outShape) === 0) return;
      k.define(out, ir.flip(k.expr(x!, outShape), attrs.axes));
    },
    backward(k, { outShape, attrs, grad }) {
      const dx = k.alloc('flip backward', outShape);
      if (sizeOf(outShape) > 0) k.define(dx, ir.flip(k.expr(grad, outShape), attrs.axes));
      return [dx];
    },
  },
  reference: ([x], { outShape, attrs }) => referenceFlip(x!, outShape, attrs.axes),
  referenceBackward: ({ outShape, attrs, grad }) => [referenceFlip(grad, outShape, attrs.axes)],
  testShapes: (n) => {
    const m = Math.max(2, Math.round(n / 6));
    return [[[2, 3, m]], [[m, 1, 3]]];
  },
  testAttrs: [{ axes: [0] }, { axes: [2] }, { axes: [0, 2] }, { axes: [0, 1, 2] }],
});
