/**
 * where(cond, a, b): a where cond is nonzero (NaN included, as PyTorch's bool(NaN)), b elsewhere,
 * all three broadcast. One elementwise template with three operands, fused like the rest of the
 * family; the gradient is a mask of g for a and its complement for b. cond gets a zero gradient:
 * a selection is piecewise constant in it.
 */
import type { BackwardArgs } from '../backend.ts';
import type { GpuOps, GpuStorage } from '../gpu/gpu-ops.ts';
import * as ir from '../ir/expr.ts';
import { broadcastShapes, broadcastStrides, type Shape, sizeOf } from '../shape.ts';
import { dot, forEachIndex, template } from './elementwise.ts';
import { defineOp } from './op.ts';
import { unbroadcastExpr, unbroadcastReference } from './unbroadcast.ts';

const TRUE = '(c != 0.0) | is_nan_f(c)';
const truthy = (c: number) => c !== 0;

/** What each input is read as in the output's shape. */
const strides = (shapes: readonly Shape[], outShape: Shape) => shapes.map((s) => broadcastStrides(s, outShape));

function backwardGpu(k: GpuOps, { shapes, outShape, needs, inputs, grad }: BackwardArgs<unknown, GpuStorage>): (GpuStorage | null)[] {
  const [, wantA, wantB] = needs;
  const stores = [...(wantA ? [`select(0.0, g, ${TRUE})`] : []), ...(wantB ? [`select(g, 0.0, ${TRUE})`] : [])];
  const gradOf = (i: number, j: number) => {
    const t = template(`where:b:${+!!wantA}${+!!wantB}`, 'where_backward', ['g', 'c'], [], stores);
    const ins = [k.expr(grad, outShape), ir.expand(k.expr(inputs[0]!, shapes[0]!), outShape)];
    const d = k.alloc('where backward', shapes[i]!);
    k.define(d, unbroadcastExpr(ir.map(t, ins, [], j), outShape, shapes[i]!));
    return d;
  };
  let dc: GpuStorage | null = null;
  if (needs[0]) {
    dc = k.alloc('where backward', shapes[0]!);
    k.define(dc, ir.map(template('where:zero', 'where_backward', [], [], ['0.0']), [], [], 0, shapes[0]!));
  }
  return [dc, wantA ? gradOf(1, 0) : null, wantB ? gradOf(2, wantA ? 1 : 0) : null];
}

export const whereOp = /* @__PURE__ */ defineOp<unknown>({
  name: 'where',
  arity: 3,
  shape: ([c, a, b]) => broadcastShapes('where', broadcastShapes('where', c!, a!), b!),
  // Only the condition is read by the gradients.
  saves: (needs) => ({ inputs: [needs[1]! || needs[2]!, false, false], output: false }),
  gpu: {
    forward(k, [c, a, b], out, { shapes, outShape }) {
      const t = template('where:f', 'where_forward', ['c', 'a', 'b'], [], [`select(b, a, ${TRUE})`]);
      k.define(out, ir.map(t, [c!, a!, b!].map((s, i) => ir.expand(k.expr(s, shapes[i]!), outShape))));
    },
    backward: backwardGpu,
  },
  reference([c, a, b], { shapes, outShape }) {
    const [sc, sa, sb] = strides(shapes, outShape);
    const out = new Float64Array(sizeOf(outShape));
    forEachIndex(outShape, (i, x) => {
      out[i] = truthy(c![dot(x, sc!)]!) ? a![dot(x, sa!)]! : b![dot(x, sb!)]!;
    });
    return out;
  },
  referenceBackward({ shapes, outShape, needs, inputs, grad }) {
    const sc = broadcastStrides(shapes[0]!, outShape);
    const n = sizeOf(outShape);
    const [da, db] = [new Float64Array(n), new Float64Array(n)];
    forEachIndex(outShape, (i, x) => {
      const pick = inputs[0] ? truthy(inputs[0][dot(x, sc)]!) : false;
      (pick ? da : db)[i] = grad[i]!;
    });
    return [
      needs[0] ? new Float64Array(sizeOf(shapes[0]!)) : null,
      needs[1] ? unbroadcastReference(da, outShape, shapes[1]!) : null,
      needs[2] ? unbroadcastReference(db, outShape, shapes[2]!) : null,
    ];
  },
  // Plain, and each operand broadcast in turn (a column against a row, a scalar-like [1]).
  testShapes: (n) => [[[n], [n], [n]], ...(n > 1 ? [[[n, 1], [1, 3], [n, 3]], [[n], [2, n], [1]], [[1], [n, 1], [n]]] : [])],
});
