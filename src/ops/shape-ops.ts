/**
 * reshape, permute, expand and slice. Each non-alias one is a view (strides plus a base offset),
 * index arithmetic in whatever kernel reads it; their backwards are the inverse view, an
 * unbroadcast, or a pad.
 */
import type { GpuOps, GpuStorage } from '../gpu/gpu-ops.ts';
import * as ir from '../ir/expr.ts';
import { InvalidArgumentError, ShapeError } from '../errors.ts';
import { broadcastStrides, checkShape, fmt, type Shape, sizeOf, stridesOf } from '../shape.ts';
import { dot, forEachIndex } from './elementwise.ts';
import { defineOp } from './op.ts';
import { unbroadcast, unbroadcastReference } from './unbroadcast.ts';

const show = (v: unknown) => (Array.isArray(v) ? `[${v.map(String).join(', ')}]` : String(v));
const noSaves = (needs: readonly boolean[]) => ({ inputs: needs.map(() => false), output: false });

/** Defines out[i] = x[base + sum(coord(i) * strides)] over outShape: a view, index arithmetic in whatever kernel reads it. */
export function gpuGather(k: GpuOps, x: GpuStorage, xShape: Shape, out: GpuStorage, outShape: Shape, strides: readonly number[], base = 0): void {
  if (sizeOf(outShape) === 0) return;
  // Over x at its own shape: the renderer then maps each axis of the view to an axis of x (a
  // slice's row to x's row) instead of dividing a flat index back into x's axes at every read of
  // a fused producer.
  k.define(out, ir.view(k.expr(x, xShape), outShape, strides, base));
}

export function referenceGather(x: Float64Array, outShape: Shape, strides: readonly number[], base = 0): Float64Array {
  const out = new Float64Array(sizeOf(outShape));
  forEachIndex(outShape, (i, c) => {
    out[i] = x[base + dot(c, strides)]!;
  });
  return out;
}

// ---------- reshape ----------

export interface ReshapeAttrs {
  /** The new shape; Tensor.reshape resolves -1 first, but the rule accepts one -1 too. */
  readonly shape: readonly number[];
}

export const reshapeOp = defineOp<ReshapeAttrs>({
  name: 'reshape',
  arity: 1,
  alias: true,
  shape([s], { shape }) {
    if (!Array.isArray(shape)) throw new InvalidArgumentError(`reshape: shape must be an array, got ${show(shape)}`);
    const holes = shape.filter((d) => d === -1).length;
    if (holes > 1) throw new ShapeError(`reshape: only one dimension can be -1, got ${fmt(shape)}`);
    const known = checkShape('reshape', shape.map((d) => (d === -1 ? 1 : d)));
    const n = sizeOf(s!);
    const out = [...shape];
    if (holes) {
      if (sizeOf(known) === 0 || n % sizeOf(known) !== 0) throw new ShapeError(`reshape: cannot reshape ${fmt(s!)} (${n} elements) to ${fmt(shape)}`);
      out[shape.indexOf(-1)] = n / sizeOf(known);
    }
    if (sizeOf(out) !== n) throw new ShapeError(`reshape: cannot reshape ${fmt(s!)} (${n} elements) to ${fmt(shape)} (${sizeOf(out)} elements)`);
    return out;
  },
  saves: noSaves,
  gpu: {
    // Backends return the input's storage for alias ops; this copy only serves callers that want a fresh buffer.
    forward(k, [x], out, { outShape }) {
      gpuGather(k, x!, [x!.length], out, [sizeOf(outShape)], [1]);
    },
    backward: (k, { grad }) => [k.retain(grad)],
  },
  reference: ([x]) => x!.slice(),
  // A copy: the CPU backend wraps what this returns in a new storage, which must not share memory with grad.
  referenceBackward: ({ grad }) => [grad.slice()],
  testShapes: (n) => {
    const m = Math.max(2, Math.round(n / 12));
    return [[[2, 3, 2 * m]], [[4, 3 * m]], [[12 * m]]];
  },
  testAttrs: [{ shape: [-1] }, { shape: [6, -1] }, { shape: [2, -1, 2, 3] }],
});

// ---------- permute ----------

export interface PermuteAttrs {
  /** Output axis i is input axis perm[i]. */
  readonly perm: readonly number[];
}

function checkPerm(s: Shape, perm: unknown): readonly number[] {
  const rank = s.length;
  const ok =
    Array.isArray(perm) &&
    perm.length === rank &&
    perm.every((p) => Number.isInteger(p) && p >= 0 && p < rank) &&
    new Set(perm).size === rank;
  if (!ok) {
    const want = rank === 0 ? '[]' : `each axis 0 to ${rank - 1} exactly once`;
    throw new InvalidArgumentError(`permute: perm ${show(perm)} is not a permutation of the axes of shape ${fmt(s)}: it must list ${want}`);
  }
  return perm as number[];
}

export const permuteOp = defineOp<PermuteAttrs>({
  name: 'permute',
  arity: 1,
  shape([s], { perm }) {
    return checkPerm(s!, perm).map((p) => s![p]!);
  },
  saves: noSaves,
  gpu: {
    forward(k, [x], out, { shapes, attrs, outShape }) {
      const st = stridesOf(shapes[0]!);
      gpuGather(k, x!, shapes[0]!, out, outShape, attrs.perm.map((p) => st[p]!));
    },
    backward(k, { shapes, attrs, outShape, grad }) {
      const inShape = shapes[0]!;
      const dx = k.alloc('permute backward', inShape);
      gpuGather(k, grad, outShape, dx, inShape, inverseStrides(attrs.perm, outShape));
      return [dx];
    },
  },
  reference([x], { shapes, attrs, outShape }) {
    const st = stridesOf(shapes[0]!);
    return referenceGather(x!, outShape, attrs.perm.map((p) => st[p]!));
  },
  referenceBackward: ({ shapes, attrs, outShape, grad }) => [referenceGather(grad, shapes[0]!, inverseStrides(attrs.perm, outShape))],
  testShapes: (n) => {
    const m = Math.max(2, Math.round(n / 6));
    return [[[2, 3, m]], [[m, 2, 3]]];
  },
  testAttrs: [{ perm: [2, 0, 1] }, { perm: [1, 0, 2] }, { perm: [0, 1, 2] }],
});

/** Strides for reading the permuted tensor (shape outShape) back in the input's axis order: the inverse permutation. */
function inverseStrides(perm: readonly number[], outShape: Shape): number[] {
  const gs = stridesOf(outShape);
  const st = new Array<number>(perm.length);
  perm.forEach((p, i) => {
    st[p] = gs[i]!;
  });
  return st;
}

// ---------- expand ----------

export interface ExpandAttrs {
  /** Target shape; -1 keeps the input's dimension (not allowed on new leading dimensions). */
  readonly shape: readonly number[];
}

export const expandOp = defineOp<ExpandAttrs>({
  name: 'expand',
  arity: 1,
  shape([s], { shape: target }) {
    if (!Array.isArray(target)) throw new InvalidArgumentError(`expand: shape must be an array, got ${show(target)}`);
    const from = s!;
    const where = `expand: cannot expand shape ${fmt(from)} to ${show(target)}`;
    if (target.length < from.length) throw new ShapeError(`${where}: the target has fewer dimensions`);
    const lead = target.length - from.length;
    return target.map((t, i) => {
      if (typeof t !== 'number' || !Number.isSafeInteger(t) || t < -1) throw new ShapeError(`${where}: invalid dimension ${String(t)} at position ${i}`);
      if (i < lead) {
        if (t === -1) throw new ShapeError(`${where}: -1 cannot be used for the new leading dimension ${i}`);
        return t;
      }
      const d = from[i - lead]!;
      if (t === -1 || t === d) return d;
      if (d !== 1) throw new ShapeError(`${where}: dimension ${i} has size ${d}; only size-1 dimensions can be expanded`);
      return t;
    });
  },
  saves: noSaves,
  gpu: {
    forward(k, [x], out, { shapes, outShape }) {
      gpuGather(k, x!, shapes[0]!, out, outShape, broadcastStrides(shapes[0]!, outShape));
    },
    // unbroadcast takes ownership of what it gets, and returns it as is when nothing was expanded.
    backward: (k, { shapes, outShape, grad }) => [unbroadcast(k, k.retain(grad), outShape, shapes[0]!)],
  },
  reference: ([x], { shapes, outShape }) => referenceGather(x!, outShape, broadcastStrides(shapes[0]!, outShape)),
  referenceBackward({ shapes, outShape, grad }) {
    const dx = unbroadcastReference(grad, outShape, shapes[0]!);
    return [dx === grad ? grad.slice() : dx];
  },
  testShapes: (n) => {
    const m = Math.max(2, Math.round(n / 6));
    return [[[m, 1]], [[1, m, 1]]];
  },
  testAttrs: [{ shape: [2, -1, 3] }, { shape: [1, -1, 1] }],
});

// ---------- slice ----------

export interface SliceAttrs {
  /** Per axis, inclusive; negative counts from the end; missing entries mean 0. */
  readonly begin: readonly number[];
  /** Per axis, exclusive; negative counts from the end; missing entries mean the axis' size. */
  readonly end: readonly number[];
}

/** The normalized window [begin, end) on every axis; throws on anything out of range. */
export function sliceWindow(s: Shape, { begin, end }: SliceAttrs): { begin: number[]; end: number[] } {
  if (!Array.isArray(begin) || !Array.isArray(end)) {
    throw new InvalidArgumentError(`slice: begin and end must be arrays of indices, got begin ${show(begin)} and end ${show(end)}`);
  }
  if (begin.length > s.length || end.length > s.length) {
    throw new InvalidArgumentError(`slice: begin ${show(begin)} and end ${show(end)} have more entries than shape ${fmt(s)} has axes`);
  }
  const b: number[] = [];
  const e: number[] = [];
  for (let d = 0; d < s.length; d++) {
    const dim = s[d]!;
    const rb: number = begin[d] ?? 0;
    const re: number = end[d] ?? dim;
    if (!Number.isInteger(rb) || !Number.isInteger(re)) {
      throw new InvalidArgumentError(`slice: axis ${d}: begin and end must be integers, got ${String(rb)} and ${String(re)} for shape ${fmt(s)}`);
    }
    const nb = rb < 0 ? rb + dim : rb;
    const ne = re < 0 ? re + dim : re;
    if (nb < 0 || nb > dim || ne < 0 || ne > dim) {
      throw new InvalidArgumentError(`slice: axis ${d}: begin ${rb} / end ${re} is out of range for size ${dim} in shape ${fmt(s)} (valid: ${-dim} to ${dim})`);
    }
    if (nb > ne) throw new InvalidArgumentError(`slice: axis ${d}: begin ${rb} is after end ${re} in shape ${fmt(s)}`);
    b.push(nb);
    e.push(ne);
  }
  return { begin: b, end: e };
}

export const sliceOp = defineOp<SliceAttrs>({
  name: 'slice',
  arity: 1,
  shape([s], attrs) {
    const w = sliceWindow(s!, attrs);
    return w.end.map((v, d) => v - w.begin[d]!);
  },
  saves: noSaves,
  gpu: {
    forward(k, [x], out, { shapes, attrs, outShape }) {
      const inShape = shapes[0]!;
      const st = stridesOf(inShape);
      gpuGather(k, x!, inShape, out, outShape, st, dot(sliceWindow(inShape, attrs).begin, st));
    },
    // dx is grad inside the window and 0 around it: a pad node, index arithmetic in whatever reads it.
    backward(k, { shapes, attrs, outShape, grad }) {
      const inShape = shapes[0]!;
      const dx = k.alloc('slice backward', inShape);
      k.define(dx, ir.pad(k.expr(grad, outShape), sliceWindow(inShape, attrs).begin, inShape));
      return [dx];
    },
  },
  reference([x], { shapes, attrs, outShape }) {
    const st = stridesOf(shapes[0]!);
    return referenceGather(x!, outShape, st, dot(sliceWindow(shapes[0]!, attrs).begin, st));
  },
  referenceBackward({ shapes, attrs, outShape, grad }) {
    const inShape = shapes[0]!;
    const st = stridesOf(inShape);
    const base = dot(sliceWindow(inShape, attrs).begin, st);
    const dx = new Float64Array(sizeOf(inShape));
    forEachIndex(outShape, (i, c) => {
      dx[base + dot(c, st)] = grad[i]!;
    });
    return [dx];
  },
  testShapes: (n) => {
    const m = Math.max(3, Math.round(n / 4));
    return [[[m, 4]], [[3, m, 4]]];
  },
  testAttrs: [
    { begin: [1], end: [] },
    { begin: [1, 1], end: [-1, -1] },
    { begin: [-2, 2], end: [] },
    { begin: [0, -3], end: [2, -1] },
  ],
});
