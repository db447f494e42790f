import { InvalidArgumentError, ShapeError } from './errors.ts';

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
  if (!Array.isArray(shape)) throw new InvalidArgumentError(`${op}: shape must be an array of dimensions, got ${String(shape)}`);
  for (const d of shape) {
    if (typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0) {
      throw new ShapeError(`${op}: invalid dimension ${String(d)} in shape ${fmt(shape)}: dimensions must be non-negative integers`);
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

/** Normalizes one axis (negative counts from the end). */
export function normalizeAxis(op: string, axis: number, rank: number): number {
  if (!Number.isInteger(axis) || axis < -rank || axis >= Math.max(rank, 1) || (rank === 0 && axis !== 0 && axis !== -1)) {
    throw new InvalidArgumentError(`${op}: axis ${axis} is out of range for a tensor of rank ${rank} (valid: ${-rank} to ${rank - 1})`);
  }
  return axis < 0 ? axis + rank : axis;
}

/** Normalizes, de-duplicates and sorts axes; undefined means all axes. */
export function normalizeAxes(op: string, axes: number | readonly number[] | undefined, rank: number): number[] {
  if (axes === undefined) return [...Array(rank).keys()];
  const list = typeof axes === 'number' ? [axes] : axes;
  const seen = new Set<number>();
  for (const a of list) {
    const n = normalizeAxis(op, a, rank);
    if (seen.has(n)) throw new InvalidArgumentError(`${op}: axis ${a} appears twice in ${JSON.stringify(list)}`);
    seen.add(n);
  }
  return [...seen].sort((x, y) => x - y);
}

export const sameShape = (a: Shape, b: Shape): boolean => a.length === b.length && a.every((d, i) => d === b[i]);
