/** sum, mean and max over any axes, with keepDims. */
import type { GpuOps, GpuStorage } from '../gpu/gpu-ops.ts';
import { fill, kernelCache, section, stridedOffset, walkBounds, walkThreads, wgslModule } from '../gpu/wgsl.ts';
import { InvalidArgumentError, ShapeError } from '../errors.ts';
import { broadcastStrides, fmt, normalizeAxes, type Shape, sizeOf, stridesOf } from '../shape.ts';
import src from '../../shaders/reduce.wgsl?raw';
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

/** Threads worth launching for a reduction with few outputs. */
const TARGET_THREADS = 16384;
const MAX_PARTIALS = 1024;

const cached = kernelCache('reduce');

/** Records the reduction of x (shape inShape) over axes into out; one pass, or two when outputs are few. */
export function gpuReduce(k: GpuOps, kind: Kind, x: GpuStorage, inShape: Shape, axes: readonly number[], out: GpuStorage): void {
  const strides = stridesOf(inShape);
  const keptDims = inShape.map((_, i) => i).filter((i) => !axes.includes(i));
  const shapeK = keptDims.map((i) => inShape[i]!);
  const shapeR = axes.map((i) => inShape[i]!);
  const O = sizeOf(shapeK);
  const Rn = sizeOf(shapeR);
  if (O === 0) return;
  // Neighbouring threads should read neighbouring addresses: split over partials when the reduced axis is the contiguous one.
  const innerReduced = axes.includes(inShape.length - 1);
  // On a CPU adapter a SIMD group's threads share one output's reduced run, so it can walk one contiguous chunk of it (walkBounds).
  const chunked = k.isSoftware && innerReduced;
  const P = walkThreads(O >= TARGET_THREADS ? 1 : Math.max(1, Math.min(MAX_PARTIALS, Math.ceil(TARGET_THREADS / O), Math.floor(Rn / 32))), chunked);
  const combine = kind === 'max' ? 'max(acc, v)' : 'acc + v';
  const init = kind === 'max' ? '-3.4028234e38' : '0.0';
  const pass = (input: GpuStorage, dst: GpuStorage, p: number, outer: string, inner: string, rn: number, inner1: boolean, scale: boolean) => {
    const chunk = chunked && inner1 && p > 1;
    const wgsl = cached(`${kind}:${O}:${p}:${outer}:${inner}:${rn}:${+inner1}:${+scale}:${+chunk}`, () => {
      const walk = walkBounds(rn, p, chunk, 'p');
      return wgslModule(
        { inputs: ['x'], outputs: ['out'], threads: O * p },
        fill(section(src, 'reduce'), {
          THREADS: O * p,
          O_OF_T: p === 1 ? 't' : inner1 ? `t / ${p}u` : `t % ${O}u`,
          P_OF_T: p === 1 ? '0u' : inner1 ? `t % ${p}u` : `t / ${O}u`,
          OUTER_OFFSET: outer,
          INNER_OFFSET: inner,
          WALK_SETUP: walk.setup,
          WALK_START: walk.start,
          WALK_END: walk.end,
          WALK_STEP: walk.step,
          P: p,
          INIT: init,
          COMBINE: combine,
          FINISH: scale ? 'acc * param(0u)' : 'acc',
        }),
      );
    });
    k.run({ name: `${kind}_reduce`, wgsl, threads: O * p, inputs: [input], outputs: [dst], ...(scale ? { params: [1 / Rn] } : {}) });
  };
  const outer = stridedOffset(shapeK, keptDims.map((i) => strides[i]!), 'o');
  const inner = stridedOffset(shapeR, axes.map((i) => strides[i]!), 'r');
  if (P === 1) {
    pass(x, out, 1, outer, inner, Rn, innerReduced, kind === 'mean');
    return;
  }
  const partial = k.alloc(`${kind} partials`, [O * P]);
  pass(x, partial, P, outer, inner, Rn, innerReduced, false);
  pass(partial, out, 1, `o * ${P}u`, 'r', P, true, kind === 'mean');
  k.release(partial);
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
        gpuReduce(k, kind, x!, shapes[0]!, attrs.axes, out);
      },
      backward(k, { shapes, attrs, grad, inputs, output }) {
        const inShape = shapes[0]!;
        const n = sizeOf(inShape);
        const idx = stridedOffset(inShape, broadcastStrides(keptShape(inShape, attrs.axes), inShape), 'i');
        const dx = k.alloc(`${kind} backward`, inShape);
        if (kind !== 'max') {
          const wgsl = cached(`bg:${n}:${idx}`, () => wgslModule({ inputs: ['g_'], outputs: ['dx'], threads: n }, fill(section(src, 'broadcast_grad'), { N: n, IDX: idx })));
          const scale = kind === 'mean' ? grad.length / Math.max(1, n) : 1;
          k.run({ name: `${kind}_backward`, wgsl, threads: n, inputs: [grad], outputs: [dx], params: [scale] });
          return [dx];
        }
        const mask = k.alloc('max backward', inShape);
        const maskWgsl = cached(`mm:${n}:${idx}`, () => wgslModule({ inputs: ['x_', 'y_'], outputs: ['mask'], threads: n }, fill(section(src, 'max_mask'), { N: n, IDX: idx })));
        k.run({ name: 'max_backward_mask', wgsl: maskWgsl, threads: n, inputs: [inputs[0]!, output!], outputs: [mask] });
        const count = k.alloc('max backward', keptShape(inShape, attrs.axes));
        gpuReduce(k, 'sum', mask, inShape, attrs.axes, count);
        k.release(mask);
        const gradWgsl = cached(`mg:${n}:${idx}`, () =>
          wgslModule({ inputs: ['g_', 'x_', 'y_', 'count'], outputs: ['dx'], threads: n }, fill(section(src, 'max_grad'), { N: n, IDX: idx })),
        );
        k.run({ name: 'max_backward', wgsl: gradWgsl, threads: n, inputs: [grad, inputs[0]!, output!, count], outputs: [dx] });
        k.release(count);
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

export const sumOp = defineReduce('sum');
export const meanOp = defineReduce('mean');
export const maxOp = defineReduce('max');
