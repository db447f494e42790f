import { InvalidArgumentError, ShapeError } from './errors.ts';
import { repr } from './validate.ts';

/**
 * The size of each axis, outermost first; [] is a scalar.
 * @example
 * const s: pg.Shape = [480, 640, 3]; // an H × W RGB image
 */
export type Shape = readonly number[];

export const fmt = (s: Shape): string => `[${s.join(', ')}]`;

export function sizeOf(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Throws unless every dim is a non-negative safe integer. */
export function checkShape(op: string, shape: Shape): Shape {
  if (!Array.isArray(shape)) throw new InvalidArgumentError(`${op}: shape must be an array of dimensions, got ${repr(shape)}`);
  // Indexed, not for-of: a sparse array's holes are dimensions too (undefined ones).
  for (let i = 0; i < shape.length; i++) {
    const d: unknown = shape[i];
    if (typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0) {
      throw new ShapeError(`${op}: invalid dimension ${repr(d)} in shape ${repr(shape)}: dimensions must be non-negative integers`);
    }
  }
  return [...shape];
}

/** Row-major strides. */
export function stridesOf(shape: Shape): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i]!;
  }
  return s;
}

/** NumPy broadcasting; the error names the op and both shapes. */
export function broadcastShapes(op: string, a: Shape, b: Shape): Shape {
  const n = Math.max(a.length, b.length);
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const da = a[a.length - n + i] ?? 1;
    const db = b[b.length - n + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) {
      throw new ShapeError(`${op}: shapes ${fmt(a)} and ${fmt(b)} do not broadcast (dimension ${i}: ${da} vs ${db})`);
    }
    out[i] = da === 1 ? db : da;
  }
  return out;
}

/** Strides to read `shape` as if broadcast to `outShape`: 0 on broadcast dims. */
export function broadcastStrides(shape: Shape, outShape: Shape): number[] {
  const strides = stridesOf(shape);
  const off = outShape.length - shape.length;
  return outShape.map((d, i) => {
    const j = i - off;
    if (j < 0) return 0;
    return shape[j] === 1 && d !== 1 ? 0 : strides[j]!;
  });
}

/**
 * Normalizes one axis (negative counts from the end). As PyTorch, a 0-d tensor takes axis 0 or -1
 * (normalized to 0): callers of a rank-0 tensor treat it as having nothing to walk.
 */
export function normalizeAxis(op: string, axis: number, rank: number): number {
  const lo = -Math.max(rank, 1);
  const hi = Math.max(rank, 1) - 1;
  if (typeof axis !== 'number' || !Number.isInteger(axis) || axis < lo || axis > hi) {
    throw new InvalidArgumentError(`${op}: axis ${repr(axis)} is out of range for a tensor of rank ${rank} (valid: integers ${lo} to ${hi})`);
  }
  return axis < 0 ? Math.max(axis + rank, 0) : axis;
}

/**
 * Normalizes, de-duplicates and sorts axes: one axis or an array of them; undefined or null
 * means all axes (as PyTorch's dim=None). A 0-d tensor has no axes to list, so it gives [].
 */
export function normalizeAxes(op: string, axes: number | readonly number[] | undefined | null, rank: number): number[] {
  if (axes === undefined || axes === null) return [...Array(rank).keys()];
  if (typeof axes !== 'number' && !Array.isArray(axes)) {
    throw new InvalidArgumentError(`${op}: axes must be an integer, an array of integers or undefined, got ${repr(axes)}`);
  }
  const list: readonly unknown[] = typeof axes === 'number' ? [axes] : axes;
  const seen = new Set<number>();
  for (let i = 0; i < list.length; i++) {
    const n = normalizeAxis(op, list[i] as number, rank);
    if (seen.has(n)) throw new InvalidArgumentError(`${op}: axis ${repr(list[i])} appears twice in ${repr(list)}`);
    seen.add(n);
  }
  return rank === 0 ? [] : [...seen].sort((x, y) => x - y);
}

export const sameShape = (a: Shape, b: Shape): boolean => a.length === b.length && a.every((d, i) => d === b[i]);

/** (outer, axis length, inner) of a shape around one axis. */
export function around(shape: Shape, axis: number): [number, number, number] {
  const L = shape[axis]!;
  const I = sizeOf(shape.slice(axis + 1));
  return [sizeOf(shape) / Math.max(1, L * I), L, I];
}
