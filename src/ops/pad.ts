/**
 * Zero padding: x placed inside zeros, the IR's pad node (a bounds test and a select in whatever
 * kernel reads it, never a copy). Its gradient is the window of the upstream gradient, a view.
 * pg.pad (src/movement.ts) builds the constant, reflect and replicate modes on it.
 */
import * as ir from '../ir/expr.ts';
import { InvalidArgumentError } from '../errors.ts';
import { fmt, sizeOf, stridesOf } from '../shape.ts';
import { dot, forEachIndex } from './elementwise.ts';
import { defineOp } from './op.ts';
import { gpuGather, referenceGather } from './shape-ops.ts';

export interface PadAttrs {
  /** Per axis, zeros before x. */
  readonly before: readonly number[];
  /** Per axis, zeros after x. */
  readonly after: readonly number[];
}

const counts = (v: unknown, rank: number) => Array.isArray(v) && v.length === rank && v.every((p) => Number.isSafeInteger(p) && p >= 0);

export const padOp = defineOp<PadAttrs>({
  name: 'pad',
  arity: 1,
  shape([s], { before, after }) {
    if (!counts(before, s!.length) || !counts(after, s!.length)) {
      throw new InvalidArgumentError(`pad: before ${JSON.stringify(before)} and after ${JSON.stringify(after)} must each list one non-negative integer per axis of shape ${fmt(s!)}`);
    }
    return s!.map((d, i) => before[i]! + d + after[i]!);
  },
  saves: (needs) => ({ inputs: needs.map(() => false), output: false }),
  gpu: {
    forward(k, [x], out, { shapes, attrs, outShape }) {
      if (sizeOf(outShape) === 0) return;
      k.define(out, ir.pad(k.expr(x!, shapes[0]!), attrs.before, outShape));
    },
    backward(k, { shapes, attrs, outShape, grad }) {
      const inShape = shapes[0]!;
      const dx = k.alloc('pad backward', inShape);
      const st = stridesOf(outShape);
      gpuGather(k, grad, outShape, dx, inShape, st, dot(attrs.before, st));
      return [dx];
    },
  },
  reference([x], { shapes, attrs, outShape }) {
    const st = stridesOf(outShape);
    const base = dot(attrs.before, st);
    const out = new Float64Array(sizeOf(outShape));
    forEachIndex(shapes[0]!, (i, c) => {
      out[base + dot(c, st)] = x![i]!;
    });
    return out;
  },
  referenceBackward({ shapes, attrs, outShape, grad }) {
    const st = stridesOf(outShape);
    return [referenceGather(grad, shapes[0]!, st, dot(attrs.before, st))];
  },
  testShapes: (n) => {
    const m = Math.max(2, Math.round(n / 6));
    return [[[2, 3, m]], [[m, 1, 3]]];
  },
  testAttrs: [
    { before: [1, 0, 0], after: [0, 0, 0] },
    { before: [0, 2, 1], after: [1, 0, 3] },
    { before: [0, 0, 0], after: [0, 0, 0] },
  ],
});

