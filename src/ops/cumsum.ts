/**
 * cumsum along one axis: out[..., j, ...] = Σ_{i ≤ j} x[..., i, ...]. The gradient is the same
 * running sum taken backwards over the upstream gradient. Both are scan nodes of the IR, which the
 * scheduler computes in chunked passes with the operand computed inline (src/gpu/render.ts).
 */
import * as ir from '../ir/expr.ts';
import { InvalidArgumentError } from '../errors.ts';
import { around, fmt, type Shape } from '../shape.ts';
import { defineOp } from './op.ts';

export interface CumsumAttrs {
  /** Normalized (non-negative) axis. */
  readonly axis: number;
}

function referenceScan(x: Float64Array, shape: Shape, axis: number, rev: boolean): Float64Array {
  const [O, L, I] = around(shape, axis);
  const out = new Float64Array(x.length);
  for (let o = 0; o < O; o++) {
    for (let i = 0; i < I; i++) {
      let s = 0;
      for (let p = 0; p < L; p++) {
        const at = (o * L + (rev ? L - 1 - p : p)) * I + i;
        s += x[at]!;
        out[at] = s;
      }
    }
  }
  return out;
}

export const cumsumOp = /* @__PURE__ */ defineOp<CumsumAttrs>({
  name: 'cumsum',
  arity: 1,
  shape([s], { axis }) {
    if (!Number.isInteger(axis) || axis < 0 || axis >= s!.length) throw new InvalidArgumentError(`cumsum: internal: axis ${axis} must be normalized for shape ${fmt(s!)}`);
    return s!;
  },
  saves: () => ({ inputs: [false], output: false }),
  gpu: {
    forward(k, [x], out, { shapes, attrs }) {
      if (out.length) k.define(out, ir.scan(k.expr(x!, shapes[0]!), attrs.axis, false));
    },
    backward(k, { shapes, attrs, grad }) {
      const dx = k.alloc('cumsum backward', shapes[0]!);
      if (dx.length) k.define(dx, ir.scan(k.expr(grad, shapes[0]!), attrs.axis, true));
      return [dx];
    },
  },
  reference: ([x], { shapes, attrs }) => referenceScan(x!, shapes[0]!, attrs.axis, false),
  referenceBackward: ({ shapes, attrs, grad }) => [referenceScan(grad, shapes[0]!, attrs.axis, true)],
  // Past one chunk, and a long axis (two levels) for the large size.
  testShapes: (n) => (n > 4096 ? [[[Math.ceil(n / 4096), 4096]]] : [[[n]], [[n, 3]], [[2, n, 2]]]),
  testAttrs: [{ axis: 1 }, { axis: 0 }],
});
