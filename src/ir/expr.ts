/**
 * The lazy expression graph the GPU backend compiles: what a queued tensor's values are, as a
 * DAG over a few primitives, before any kernel exists.
 *
 * - `src`: a realized storage, read in row-major order of `shape`;
 * - `map`: one output of an elementwise template over same-shaped operands (the elementwise
 *   family, constants, the gradient formulas), with its float parameters;
 * - `reduce`: sum or max over axes (the reduced axes stay as size 1, so a reduce node's linear
 *   order is its output's);
 * - `view`: reads its operand at `base + Σ coord·stride`, in the operand's linear order: reshape
 *   (contiguous strides), permute, expand (stride 0), slice (offset base), flip (a negative
 *   stride, base at the axis's last element) are all this one node, index arithmetic in whatever
 *   kernel reads them, never a copy;
 * - `pad`: its operand placed at an offset inside zeros (a slice's gradient, one part of a cat),
 *   also index arithmetic: a bounds test and a select, never a copy;
 * - `iota`: each element's coordinate along one axis, as a float (argmax's candidate indices):
 *   index arithmetic too, no operand and no memory;
 * - `take`: its operand read where an index operand says along one axis (takeAlongAxis, a
 *   lookup table): the coordinate along that axis is a value, the others are the element's own;
 * - `scan`: the running sum of its operand along one axis (cumsum; reversed, its gradient),
 *   always stored: the scheduler gives it kernels of its own that compute the operand inline;
 * - `scatter`: a target plus values added where an index operand points along one axis
 *   (scatterAdd along a long index axis), always stored: the target is copied, then each value
 *   is added with an atomic compare-exchange, index and values computed inline.
 *
 * Nodes are immutable and numbered in creation order, which is a topological order of the DAG.
 * The scheduler (src/gpu/schedule.ts) decides which nodes are stored and which kernels compute
 * them; the renderer (src/gpu/render.ts) turns a kernel into WGSL.
 */
import type { Storage } from '../backend.ts';
import { type Shape, sizeOf, stridesOf } from '../shape.ts';

/** What a value is known to be: +0 or above, or NaN (never -0); or that and also 1 or below. */
export type ValueRange = 'nonNegative' | 'unit';

/**
 * An elementwise op as WGSL: each output is one f32 expression of the scalar `loads` (one element
 * of each operand), of the named `lets` and of param(i). Made once per op variant by mapTemplate().
 */
export interface MapTemplate {
  readonly id: number;
  /** The kernel's name when it runs alone (profiles, errors). */
  readonly name: string;
  /** Scalar names of the operands, in order. */
  readonly loads: readonly string[];
  /** Named scalar expressions the outputs may use: [name, expression]. */
  readonly lets: readonly (readonly [string, string])[];
  /** One expression per output. */
  readonly stores: readonly string[];
  /** WGSL functions the expressions call (shared text, included once per kernel). */
  readonly helpers: string;
  /** What every output is known to be (see rangeOf): a sigmoid's within [0, 1], an exp's or a square's never negative. */
  readonly range?: ValueRange;
}

const templates = new Map<string, MapTemplate>();

/** The template for `key`, built once (the op's expressions never change for a key). */
export function mapTemplate(key: string, build: () => Omit<MapTemplate, 'id'>): MapTemplate {
  let t = templates.get(key);
  if (!t) {
    t = { ...build(), id: templates.size };
    templates.set(key, t);
  }
  return t;
}

export type ReduceFn = 'sum' | 'max';

interface Base {
  readonly id: number;
  readonly shape: Shape;
  /** Elements (sizeOf(shape)). */
  readonly size: number;
}
export interface SrcExpr extends Base {
  readonly op: 'src';
  readonly storage: Storage;
}
export interface MapExpr extends Base {
  readonly op: 'map';
  readonly t: MapTemplate;
  /** Which of the template's outputs. */
  readonly j: number;
  readonly inputs: readonly Expr[];
  readonly params: readonly number[];
}
export interface ReduceExpr extends Base {
  readonly op: 'reduce';
  readonly fn: ReduceFn;
  readonly x: Expr;
  /** Sorted axes of x.shape that are reduced (size 1 in this node's shape). */
  readonly axes: readonly number[];
}
export interface ViewExpr extends Base {
  readonly op: 'view';
  readonly x: Expr;
  /** Per axis of this node's shape, the step in x's linear index. */
  readonly strides: readonly number[];
  readonly base: number;
}
export interface PadExpr extends Base {
  readonly op: 'pad';
  readonly x: Expr;
  /** Per axis, where x's first element sits in this node's shape. */
  readonly before: readonly number[];
}
export interface IotaExpr extends Base {
  readonly op: 'iota';
  /** The axis whose coordinate each element holds. */
  readonly axis: number;
}
export interface TakeExpr extends Base {
  readonly op: 'take';
  /** Read along `axis` at the position `index` holds; x's other axes are this node's. */
  readonly x: Expr;
  /** This node's shape; each value rounds to the nearest integer and clamps into x's axis (a GPU kernel cannot throw). */
  readonly index: Expr;
  readonly axis: number;
}
export interface ScanExpr extends Base {
  readonly op: 'scan';
  readonly x: Expr;
  readonly axis: number;
  /** Summed from the axis's last element down (cumsum's gradient). */
  readonly reverse: boolean;
}
export interface ScatterExpr extends Base {
  readonly op: 'scatter';
  /** This node's shape: what the values are added to. */
  readonly target: Expr;
  /** Positions along `axis`, rounded and clamped as a take's; equal to target elsewhere. */
  readonly index: Expr;
  /** The index's shape. */
  readonly values: Expr;
  readonly axis: number;
}
export type Expr = SrcExpr | MapExpr | ReduceExpr | ViewExpr | PadExpr | IotaExpr | TakeExpr | ScanExpr | ScatterExpr;

let nextId = 0;
/** An operand's shape is frozen already: nodes share it instead of copying it (a step builds hundreds). */
const frozen = (shape: Shape): Shape => (Object.isFrozen(shape) ? shape : Object.freeze([...shape]));

export const src = (storage: Storage, shape: Shape): SrcExpr => ({ id: nextId++, shape: frozen(shape), size: sizeOf(shape), op: 'src', storage });

export function map(t: MapTemplate, inputs: readonly Expr[], params: readonly number[] = [], j = 0, shape?: Shape): MapExpr {
  const s = shape ?? inputs[0]?.shape;
  if (!s) throw new Error(`internal: map ${t.name} without operands needs a shape`);
  const n = sizeOf(s);
  for (const x of inputs) if (x.size !== n) throw new Error(`internal: map ${t.name} over ${x.size} and ${n} elements`);
  return { id: nextId++, shape: frozen(s), size: n, op: 'map', t, j, inputs, params };
}

export function reduce(fn: ReduceFn, x: Expr, axes: readonly number[]): Expr {
  if (!axes.length) return x;
  // Neighbouring reduced axes are one axis of their product: a [3] parameter's gradient summed
  // over an [H, W, 3] image's rows and columns is then a sum over its H·W pixels, which the
  // scheduler walks as it walks an [N, 3] image (tone on [512, 512, 3]: 9 kernels, now 3). A
  // reduction of every element keeps its axes: the walk reads it as rows of whatever length it
  // walks (src/gpu/walks.ts), and sums over neighbours' differences (a total variation) keep the
  // image's shape that lets them share one pass. The last axis stays apart (K images [K, N, 3]
  // summed over pixels and channels are walked by pixel, as their loss is).
  const set = new Set(axes);
  const joins = (i: number) => set.has(i) && set.has(i - 1) && i !== x.shape.length - 1;
  if (set.size < x.shape.length && axes.some(joins)) {
    const merged: number[] = [];
    const mergedAxes: number[] = [];
    x.shape.forEach((d, i) => {
      if (joins(i)) merged[merged.length - 1]! *= d;
      else {
        if (set.has(i)) mergedAxes.push(merged.length);
        merged.push(d);
      }
    });
    return reshape(reduce(fn, reshape(x, merged), mergedAxes), x.shape.map((d, i) => (set.has(i) ? 1 : d)));
  }
  const shape = Object.freeze(x.shape.map((d, i) => (axes.includes(i) ? 1 : d)));
  return { id: nextId++, shape, size: sizeOf(shape), op: 'reduce', fn, x, axes };
}

/** x read through strides; a view of a view folds into one when the outer one is a plain reshape of a contiguous inner one. */
export function view(x: Expr, shape: Shape, strides: readonly number[], offset = 0): Expr {
  const size = sizeOf(shape);
  const contiguous = offset === 0 && isContiguous(shape, strides);
  if (contiguous && size === x.size && sameDims(shape, x.shape)) return x;
  if (contiguous && x.op === 'view' && x.size === size && isContiguous(x.shape, x.strides)) return view(x.x, shape, stridesOf(shape), x.base);
  return { id: nextId++, shape: frozen(shape), size, op: 'view', x, strides, base: offset };
}

/** Same elements in a new shape (row-major order kept). */
export const reshape = (x: Expr, shape: Shape): Expr => view(x, shape, stridesOf(shape));

/** x (of a shape that broadcasts to `shape`, NumPy rules) read as `shape`. */
export function expand(x: Expr, shape: Shape): Expr {
  const st = stridesOf(x.shape);
  const off = shape.length - x.shape.length;
  return view(
    x,
    shape,
    shape.map((d, i) => (i < off || (x.shape[i - off] === 1 && d !== 1) ? 0 : st[i - off]!)),
  );
}

/** Output axis i is x's axis perm[i]. */
export function permute(x: Expr, perm: readonly number[]): Expr {
  const st = stridesOf(x.shape);
  return view(
    x,
    perm.map((p) => x.shape[p]!),
    perm.map((p) => st[p]!),
  );
}

/** The window [begin, begin + shape) of x. */
export function slice(x: Expr, begin: readonly number[], shape: Shape): Expr {
  const st = stridesOf(x.shape);
  return view(x, shape, st, begin.reduce((acc, b, i) => acc + b * st[i]!, 0));
}

/**
 * x with `axes` reversed: a negative stride from the axis's last element. A flip of a view is
 * that view re-read (c → n-1-c adds (n-1)·s to its base and negates s), so flips of flips cancel.
 */
export function flip(x: Expr, axes: readonly number[]): Expr {
  const v = x.op === 'view' ? x : null;
  const strides = [...(v ? v.strides : stridesOf(x.shape))];
  let offset = v ? v.base : 0;
  for (const a of axes) {
    const n = x.shape[a]!;
    if (n <= 1 || strides[a] === 0) continue;
    offset += (n - 1) * strides[a]!;
    strides[a] = -strides[a]!;
  }
  return view(v ? v.x : x, x.shape, strides, offset);
}

/** x (same rank as `shape`) at offset `before` inside `shape`, zeros around it. */
export function pad(x: Expr, before: readonly number[], shape: Shape): Expr {
  if (sameDims(x.shape, shape)) return x;
  return { id: nextId++, shape: frozen(shape), size: sizeOf(shape), op: 'pad', x, before: Object.freeze([...before]) };
}

/** Whether strides read a shape's elements in row-major order (a plain reshape). */
export function isContiguous(shape: Shape, strides: readonly number[]): boolean {
  let expect = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    if (shape[d] === 1) continue;
    if (strides[d] !== expect) return false;
    expect *= shape[d]!;
  }
  return true;
}

/** Each element of `shape` is its coordinate along `axis` (exact in f32 up to 2^24). */
export const iota = (shape: Shape, axis: number): IotaExpr => ({ id: nextId++, shape: frozen(shape), size: sizeOf(shape), op: 'iota', axis });

/** x read along `axis` where `index` (same rank, equal to x elsewhere) points. */
export const take = (x: Expr, index: Expr, axis: number): TakeExpr => ({ id: nextId++, shape: index.shape, size: index.size, op: 'take', x, index, axis });

/** Inclusive running sums of x along `axis`. */
export const scan = (x: Expr, axis: number, reverse: boolean): ScanExpr => ({ id: nextId++, shape: x.shape, size: x.size, op: 'scan', x, axis, reverse });

/** target with each of `values` added at the position `index` names along `axis`. */
export const scatter = (target: Expr, index: Expr, values: Expr, axis: number): ScatterExpr => ({
  id: nextId++,
  shape: target.shape,
  size: target.size,
  op: 'scatter',
  target,
  index,
  values,
  axis,
});

/** Whether two shapes are equal. */
export const sameDims = (a: Shape, b: Shape) => a.length === b.length && a.every((d, i) => d === b[i]);

/** Whether reading through this view visits some element of x more than once (a broadcast). */
export const broadcasts = (v: ViewExpr): boolean => v.size > v.x.size || v.shape.some((d, i) => d > 1 && v.strides[i] === 0);

/** A node's operands. */
export function children(e: Expr): readonly Expr[] {
  switch (e.op) {
    case 'src':
    case 'iota':
      return [];
    case 'map':
      return e.inputs;
    case 'reduce':
    case 'view':
    case 'pad':
    case 'scan':
      return [e.x];
    case 'take':
      return [e.x, e.index];
    case 'scatter':
      return [e.target, e.index, e.values];
  }
}

/**
 * What every value of `e` is known to be, as far as its expression shows: never negative (+0 or
 * above, or NaN; never -0), also within [0, 1], or nothing known (null). A map says so of its
 * outputs; a view, pad or take keeps its operand's range, a max over at least one element too,
 * and a sum is never negative where its operand is. An op picks cheaper code for such an operand
 * (pow of a sigmoid's output needs no tests for a negative or an infinite base).
 */
export function rangeOf(e: Expr): ValueRange | null {
  switch (e.op) {
    case 'map':
      return e.t.range ?? null;
    case 'view':
    case 'pad':
    case 'take':
      return rangeOf(e.x);
    case 'reduce': {
      // A max over no elements is -inf.
      const r = e.fn === 'max' && e.x.size === 0 ? null : rangeOf(e.x);
      return e.fn === 'sum' && r ? 'nonNegative' : r;
    }
    default:
      return null;
  }
}
