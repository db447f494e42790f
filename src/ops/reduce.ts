/** sum, mean and max over any axes, with keepDims. */
import type { GpuOps, GpuStorage } from '../gpu/gpu-ops.ts';
import * as ir from '../ir/expr.ts';
import { type Expr, mapTemplate } from '../ir/expr.ts';
import { InvalidArgumentError, ShapeError } from '../errors.ts';
import { broadcastStrides, fmt, normalizeAxes, type Shape, sizeOf } from '../shape.ts';
import { dot, forEachIndex } from './elementwise.ts';
import { defineOp, type OpDef } from './op.ts';

export interface ReduceAttrs {
  /** Normalized, sorted axes to reduce. */
  readonly axes: readonly number[];
  readonly keepDims: boolean;
}

type Kind = 'sum' | 'mean' | 'max';

/** Output shape with reduced axes kept as 1. */
export const keptShape = (shape: Shape, axes: readonly number[]): number[] => shape.map((d, i) => (axes.includes(i) ? 1 : d));

export function reducedShape(shape: Shape, axes: readonly number[], keepDims: boolean): number[] {
  return keepDims ? keptShape(shape, axes) : shape.filter((_, i) => !axes.includes(i));
}

const scaleTemplate = () => mapTemplate('scale', () => ({ name: 'mean', loads: ['x'], lets: [], stores: ['x * param(0u)'], helpers: '' }));
const tieTemplate = () => mapTemplate('max:tie', () => ({ name: 'max_backward', loads: ['x', 'y'], lets: [], stores: ['select(0.0, 1.0, x == y)'], helpers: '' }));
const tieGradTemplate = () =>
  mapTemplate('max:grad', () => ({ name: 'max_backward', loads: ['g', 'x', 'y', 'count'], lets: [], stores: ['select(0.0, g / count, x == y)'], helpers: '' }));

/** The reduction of x (read as inShape) over axes, in the kept shape; mean scales the sum. */
export function reduceExpr(k: GpuOps, kind: Kind, x: GpuStorage, inShape: Shape, axes: readonly number[]): Expr {
  const r = ir.reduce(kind === 'max' ? 'max' : 'sum', k.expr(x, inShape), axes);
  if (kind !== 'mean') return r;
  const n = axes.reduce((acc, a) => acc * inShape[a]!, 1);
  return ir.map(scaleTemplate(), [r], [1 / n]);
}

/** Queues the reduction of x (shape inShape) over axes into out (the scheduler fuses it with what it reads). */
export function gpuReduce(k: GpuOps, kind: Kind, x: GpuStorage, inShape: Shape, axes: readonly number[], out: GpuStorage): void {
  if (out.length === 0) return;
  k.define(out, reduceExpr(k, kind, x, inShape, axes));
}

function referenceReduce(kind: Kind, x: Float64Array, inShape: Shape, axes: readonly number[]): Float64Array {
  const kept = keptShape(inShape, axes);
  const out = new Float64Array(sizeOf(kept)).fill(kind === 'max' ? Number.NEGATIVE_INFINITY : 0);
  const ks = broadcastStrides(kept, inShape);
  forEachIndex(inShape, (i, c) => {
    const j = dot(c, ks);
    out[j] = kind === 'max' ? Math.max(out[j]!, x[i]!) : out[j]! + x[i]!;
  });
  if (kind === 'mean') {
    const n = sizeOf(inShape) / Math.max(1, out.length);
    for (let j = 0; j < out.length; j++) out[j]! /= n;
  }
  return out;
}

function defineReduce(kind: Kind): OpDef<ReduceAttrs> {
  return defineOp<ReduceAttrs>({
    name: kind,
    arity: 1,
    shape([s], { axes, keepDims }) {
      const norm = normalizeAxes(kind, axes, s!.length);
      if (norm.join() !== axes.join()) throw new InvalidArgumentError(`${kind}: internal: axes ${JSON.stringify(axes)} must be normalized`);
      if (kind !== 'sum' && norm.some((a) => s![a] === 0)) {
        throw new ShapeError(`${kind}: cannot reduce over a zero-length axis of shape ${fmt(s!)}`);
      }
      if (typeof keepDims !== 'boolean') throw new InvalidArgumentError(`${kind}: keepDims must be a boolean`);
      return reducedShape(s!, norm, keepDims);
    },
    saves: () => ({ inputs: [kind === 'max'], output: kind === 'max' }),
    gpu: {
      forward(k, [x], out, { shapes, attrs }) {
        if (out.length) k.define(out, reduceExpr(k, kind, x!, shapes[0]!, attrs.axes));
      },
      backward(k, { shapes, attrs, grad, inputs, output }) {
        const inShape = shapes[0]!;
        const kept = keptShape(inShape, attrs.axes);
        const dx = k.alloc(`${kind} backward`, inShape);
        // Every input element receives its output's gradient (times 1/n for mean): a broadcast view.
        const g = ir.expand(k.expr(grad, kept), inShape);
        if (kind !== 'max') {
          const n = sizeOf(inShape) / Math.max(1, grad.length);
          k.define(dx, kind === 'mean' ? ir.map(scaleTemplate(), [g], [1 / Math.max(1, n)]) : g);
          return [dx];
        }
        // Ties share the gradient evenly, as torch.amax does: g / (number of elements equal to the max).
        const x = k.expr(inputs[0]!, inShape);
        const y = ir.expand(k.expr(output!, kept), inShape);
        const count = ir.expand(ir.reduce('sum', ir.map(tieTemplate(), [x, y]), attrs.axes), inShape);
        k.define(dx, ir.map(tieGradTemplate(), [g, x, y, count]));
        return [dx];
      },
    },
    reference: ([x], { shapes, attrs }) => referenceReduce(kind, x!, shapes[0]!, attrs.axes),
    referenceBackward({ shapes, attrs, grad, inputs, output }) {
      const inShape = shapes[0]!;
      const ks = broadcastStrides(keptShape(inShape, attrs.axes), inShape);
      const dx = new Float64Array(sizeOf(inShape));
      const x = inputs[0];
      let count: Float64Array | null = null;
      if (kind === 'max') {
        count = new Float64Array(grad.length);
        forEachIndex(inShape, (i, c) => {
          const j = dot(c, ks);
          if (x![i] === output![j]) count![j]!++;
        });
      }
      const scale = kind === 'mean' ? grad.length / Math.max(1, dx.length) : 1;
      forEachIndex(inShape, (i, c) => {
        const j = dot(c, ks);
        dx[i] = kind === 'max' ? (x![i] === output![j] ? grad[j]! / count![j]! : 0) : grad[j]! * scale;
      });
      return [dx];
    },
    testAttrs: [
      { axes: [0], keepDims: false },
      { axes: [0], keepDims: true },
      { axes: [1], keepDims: false },
      { axes: [0, 1], keepDims: true },
    ] as ReduceAttrs[],
  });
}

export const sumOp = /* @__PURE__ */ defineReduce('sum');
export const meanOp = /* @__PURE__ */ defineReduce('mean');
export const maxOp = /* @__PURE__ */ defineReduce('max');
