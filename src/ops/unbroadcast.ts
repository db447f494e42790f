/**
 * The one place where gradients are summed back over broadcast dimensions: a gradient in the
 * broadcast shape `from` becomes one in the input's shape `to`.
 */
import type { GpuOps, GpuStorage } from '../gpu/gpu-ops.ts';
import { broadcastStrides, type Shape, sizeOf } from '../shape.ts';
import { dot, forEachIndex } from './elementwise.ts';
import { keptShape } from './reduce.ts';
import { type Expr, reduce, reshape } from '../ir/expr.ts';

/** Axes of `from` that `to` was broadcast along. */
export function broadcastAxes(from: Shape, to: Shape): number[] {
  const lead = from.length - to.length;
  const axes: number[] = [];
  for (let i = 0; i < from.length; i++) if (i < lead || (to[i - lead] === 1 && from[i] !== 1)) axes.push(i);
  return axes;
}

/** e (in the broadcast shape `from`) summed back to `to`. */
export function unbroadcastExpr(e: Expr, from: Shape, to: Shape): Expr {
  if (sizeOf(from) === sizeOf(to)) return e.shape.length === to.length ? e : reshape(e, to);
  return reshape(reduce('sum', e, broadcastAxes(from, to)), to);
}

/** Takes ownership of g; returns a storage of size(to) (g itself when nothing was broadcast). */
export function unbroadcast(k: GpuOps, g: GpuStorage, from: Shape, to: Shape): GpuStorage {
  if (sizeOf(from) === sizeOf(to)) return g;
  const out = k.alloc('unbroadcast', to);
  k.define(out, unbroadcastExpr(k.expr(g, from), from, to));
  k.release(g);
  return out;
}

export function unbroadcastReference(g: Float64Array, from: Shape, to: Shape): Float64Array {
  if (sizeOf(from) === sizeOf(to)) return g;
  const kept = keptShape(from, broadcastAxes(from, to));
  const ks = broadcastStrides(kept, from);
  const out = new Float64Array(sizeOf(kept));
  forEachIndex(from, (i, c) => {
    out[dot(c, ks)]! += g[i]!;
  });
  return out;
}
