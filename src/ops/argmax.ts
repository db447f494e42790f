/**
 * argmax and argmin along one axis: the index of the first largest (smallest) element, NaN counting
 * as the largest (and smallest), as PyTorch. There is no integer dtype yet, so the indices are
 * float32 values, exact up to 2^24 (longer axes are refused). Composed from IR so that it fuses
 * with what produces x into one reduction kernel: a max, then the smallest index (an iota node)
 * among the elements equal to it (or NaN), a min written as -max(-v). Piecewise constant, so its
 * gradient is zero; Tensor.argmax records no graph.
 */
import * as ir from '../ir/expr.ts';
import { InvalidArgumentError, LimitError, ShapeError } from '../errors.ts';
import { fmt, type Shape, sizeOf, stridesOf } from '../shape.ts';
import { template } from './elementwise.ts';
import { defineOp, type OpDef } from './op.ts';
import { keptShape } from './reduce.ts';

export interface ArgmaxAttrs {
  /** Normalized (non-negative) axis. */
  readonly axis: number;
  readonly keepDims: boolean;
}

/** float32 holds every integer up to 2^24 exactly; an index above it would round. */
export const MAX_EXACT_INDEX = 2 ** 24;

/** Where the first (largest or NaN) element of each line lies, over a row-major walk. */
function referenceArg(x: Float64Array, shape: Shape, axis: number, smallest: boolean): Float64Array {
  const n = shape[axis]!;
  const inner = stridesOf(shape)[axis]!;
  const lines = sizeOf(shape) / Math.max(1, n);
  const out = new Float64Array(lines);
  for (let l = 0; l < lines; l++) {
    const first = Math.floor(l / inner) * n * inner + (l % inner);
    let best = 0;
    for (let j = 0; j < n; j++) {
      const v = x[first + j * inner]!;
      const b = x[first + best * inner]!;
      if (Number.isNaN(b)) break;
      if (Number.isNaN(v) || (smallest ? v < b : v > b)) best = j;
    }
    out[l] = best;
  }
  return out;
}

function defineArg(name: 'argmax' | 'argmin'): OpDef<ArgmaxAttrs> {
  const smallest = name === 'argmin';
  return defineOp<ArgmaxAttrs>({
    name,
    arity: 1,
    shape([s], { axis, keepDims }) {
      if (!Number.isInteger(axis) || axis < 0 || axis >= s!.length) throw new InvalidArgumentError(`${name}: internal: axis ${axis} must be normalized for shape ${fmt(s!)}`);
      const n = s![axis]!;
      if (n === 0) throw new ShapeError(`${name}: cannot take the index over a zero-length axis ${axis} of shape ${fmt(s!)}`);
      if (n > MAX_EXACT_INDEX) throw new LimitError(`${name}: axis ${axis} of shape ${fmt(s!)} has ${n} elements; float32 indices are exact only up to 2^24 (${MAX_EXACT_INDEX})`);
      const kept = keptShape(s!, [axis]);
      return keepDims ? kept : kept.filter((_, i) => i !== axis);
    },
    saves: () => ({ inputs: [false], output: false }),
    gpu: {
      forward(k, [x], out, { shapes, attrs }) {
        if (out.length === 0) return;
        const shape = shapes[0]!;
        const n = shape[attrs.axis]!;
        const index = ir.iota(shape, attrs.axis);
        const neg = template('argmax:neg', 'neg', ['x'], [], ['-x']);
        const v = smallest ? ir.map(neg, [k.expr(x!, shape)]) : k.expr(x!, shape);
        const top = ir.expand(ir.reduce('max', v, [attrs.axis]), shape);
        // -index where the element is the max (or NaN), -n elsewhere: the max of that is -(first index).
        // `|`, not `||`: a short-circuit is a branch, and a reduction of 13 (unrolled) took SwiftShader
        // 12 s to compile with it, 0.3 s without.
        const cand = template('argmax:candidate', `${name}_forward`, ['v', 'm', 'j'], [], ['select(-param(0u), -j, (v == m) | is_nan_f(v))']);
        const first = ir.reduce('max', ir.map(cand, [v, top, index], [n]), [attrs.axis]);
        k.define(out, ir.reshape(ir.map(neg, [first]), [out.length]));
      },
      backward(k, { shapes }) {
        const dx = k.alloc(`${name} backward`, shapes[0]!);
        k.define(dx, ir.map(template('argmax:zero', `${name}_backward`, [], [], ['0.0']), [], [], 0, shapes[0]!));
        return [dx];
      },
    },
    reference: ([x], { shapes, attrs }) => referenceArg(x!, shapes[0]!, attrs.axis, smallest),
    referenceBackward: ({ shapes }) => [new Float64Array(sizeOf(shapes[0]!))],
    testShapes: (n) => (n % 5 === 0 ? [[[n]], [[5, n / 5]]] : [[[n]], [[n, 3]], [[2, n, 2]]]),
    testAttrs: [
      { axis: 0, keepDims: false },
      { axis: 1, keepDims: true },
      { axis: 1, keepDims: false },
    ],
  });
}

export const argmaxOp = /* @__PURE__ */ defineArg('argmax');
export const argminOp = /* @__PURE__ */ defineArg('argmin');
