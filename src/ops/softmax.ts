/** softmax and logSoftmax along one axis; both save only their output for backward. */
import * as ir from '../ir/expr.ts';
import { mapTemplate } from '../ir/expr.ts';
import { section } from '../gpu/wgsl.ts';
import elementwiseWgsl from '../../shaders/elementwise.wgsl?raw';
import { InvalidArgumentError } from '../errors.ts';
import { type Shape, sizeOf } from '../shape.ts';
import { defineOp, type OpDef } from './op.ts';

export interface SoftmaxAttrs {
  /** Normalized axis, 0..rank-1 (0 for a scalar). */
  readonly axis: number;
}

/** Rows along `axis`: each has `len` elements `stride` apart; row r starts at offset(r). */
function rowsOf(shape: Shape, axis: number) {
  const len = shape.length ? shape[axis]! : 1;
  const stride = sizeOf(shape.slice(axis + 1));
  const rows = len ? sizeOf(shape) / len : 0;
  return { len, stride, rows, offset: (r: number) => Math.floor(r / stride) * len * stride + (r % stride) };
}

const HELPERS = section(elementwiseWgsl, 'helpers');
const t = (key: string, loads: string[], expr: string) => mapTemplate(`softmax:${key}`, () => ({ name: 'softmax', loads, lets: [], stores: [expr], helpers: HELPERS }));
// exp of NaN is NaN here (SwiftShader's exp(NaN) is inf).
const expShifted = () => t('exp', ['x', 'm'], 'select(exp(x - m), x - m, is_nan_f(x - m))');
const expRow = () => t('expr', ['x', 'm'], 'exp(x - m)');
const reciprocal = () => t('recip', ['s', 'm'], 'select(1.0 / s, nan_f(), is_nan_f(m) | is_inf_f(m))');
const logShifted = () => t('log', ['x', 'm', 's'], 'x - m - log(s)');
const softmaxGrad = () => t('grad', ['y', 'g', 'gy'], 'y * (g - gy)');
const logSoftmaxGrad = () => t('lgrad', ['y', 'g', 'gs'], 'g - select(exp(y), y, is_nan_f(y)) * gs');
const mul = () => t('mul', ['a', 'b'], 'a * b');

type Kind = 'softmax' | 'logSoftmax';

/**
 * Composed of reductions and elementwise expressions the scheduler fuses: the row max and the
 * row sum are each stored once (they are read across the row), the exponentials recomputed where
 * they are read.
 */
function defineSoftmax(kind: Kind): OpDef<SoftmaxAttrs> {
  return defineOp<SoftmaxAttrs>({
    name: kind,
    arity: 1,
    shape([s], { axis }) {
      const rank = s!.length;
      if (!Number.isInteger(axis) || axis < 0 || axis >= Math.max(rank, 1)) {
        throw new InvalidArgumentError(`${kind}: axis ${axis} is out of range for a tensor of rank ${rank} (valid: ${-rank} to ${rank - 1})`);
      }
      return s!;
    },
    saves: () => ({ inputs: [false], output: true }),
    gpu: {
      forward(k, [x], out, { shapes, attrs }) {
        const shape = shapes[0]!;
        if (!out.length) return;
        if (!shape.length) {
          k.define(out, ir.map(t(`const:${kind}`, [], kind === 'softmax' ? '1.0' : '0.0'), [], [], 0, shape));
          return;
        }
        const axes = [attrs.axis];
        const xe = k.expr(x!, shape);
        // Shifted by the row max (detached: softmax does not change under a shift).
        const rowMax = ir.reduce('max', xe, axes);
        const m = ir.expand(rowMax, shape);
        if (kind === 'softmax') {
          // x - m is NaN only in a row whose max is not finite, and then the whole row is NaN (as
          // in PyTorch): decided once per row, in the reciprocal the row's elements multiply by.
          const e = ir.map(expRow(), [xe, m]);
          k.define(out, ir.map(mul(), [e, ir.expand(ir.map(reciprocal(), [ir.reduce('sum', e, axes), rowMax]), shape)]));
        } else {
          const e = ir.map(expShifted(), [xe, m]);
          k.define(out, ir.map(logShifted(), [xe, m, ir.expand(ir.reduce('sum', e, axes), shape)]));
        }
      },
      backward(k, { shapes, attrs, grad, output }) {
        const shape = shapes[0]!;
        const dx = k.alloc(`${kind} backward`, shape);
        if (!dx.length) return [dx];
        const g = k.expr(grad, shape);
        const y = k.expr(output!, shape);
        const axes = shape.length ? [attrs.axis] : [];
        // softmax: dx = y (g - Σ g y); logSoftmax: dx = g - exp(y) Σ g, sums along the row.
        const rowSum = ir.expand(ir.reduce('sum', kind === 'softmax' ? ir.map(mul(), [g, y]) : g, axes), shape);
        k.define(dx, ir.map(kind === 'softmax' ? softmaxGrad() : logSoftmaxGrad(), [y, g, rowSum]));
        return [dx];
      },
    },
    reference([x], { shapes, attrs }) {
      const { len, stride, rows, offset } = rowsOf(shapes[0]!, attrs.axis);
      const y = new Float64Array(x!.length);
      for (let r = 0; r < rows; r++) {
        const o = offset(r);
        let mx = Number.NEGATIVE_INFINITY;
        for (let j = 0; j < len; j++) mx = Math.max(mx, x![o + j * stride]!);
        let sum = 0;
        for (let j = 0; j < len; j++) sum += Math.exp(x![o + j * stride]! - mx);
        const shift = mx + Math.log(sum);
        for (let j = 0; j < len; j++) {
          const v = x![o + j * stride]! - shift;
          y[o + j * stride] = kind === 'softmax' ? Math.exp(v) : v;
        }
      }
      return y;
    },
    referenceBackward({ shapes, attrs, grad, output }) {
      const { len, stride, rows, offset } = rowsOf(shapes[0]!, attrs.axis);
      const y = output!;
      const dx = new Float64Array(grad.length);
      for (let r = 0; r < rows; r++) {
        const o = offset(r);
        let s = 0;
        for (let j = 0; j < len; j++) s += kind === 'softmax' ? grad[o + j * stride]! * y[o + j * stride]! : grad[o + j * stride]!;
        for (let j = 0; j < len; j++) {
          const i = o + j * stride;
          dx[i] = kind === 'softmax' ? y[i]! * (grad[i]! - s) : grad[i]! - Math.exp(y[i]!) * s;
        }
      }
      return [dx];
    },
    testAttrs: [{ axis: 0 }, { axis: 1 }],
    testShapes(n) {
      const cols = Math.max(1, Math.round(n / 7));
      // [rows, 8] along axis 1 is the palette case (vec4 rows in registers).
      return [[[Math.max(1, Math.round(n / 17)), 17]], [[7, cols]], [[Math.max(1, Math.round(n / 2)), 2]], [[Math.max(1, Math.round(n / 8)), 8]]];
    },
  });
}

export const softmaxOp = /* @__PURE__ */ defineSoftmax('softmax');
export const logSoftmaxOp = /* @__PURE__ */ defineSoftmax('logSoftmax');
