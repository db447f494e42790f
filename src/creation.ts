/** Making tensors: from JS data, constants, ranges and seeded random numbers. */
import { activeBackend } from './engine.ts';
import { InvalidArgumentError, ShapeError } from './errors.ts';
import { nextSeed, normalArray, uniformArray } from './random.ts';
import { checkShape, fmt, type Shape, sizeOf } from './shape.ts';
import { type NestedArray, Tensor } from './tensor.ts';

/**
 * Options of pg.tensor().
 * @example
 * pg.tensor([1, 2, 3, 4], { shape: [2, 2], requiresGrad: true });
 */
export interface TensorOptions {
  /**
   * Shape of the data (required to reshape flat data; inferred from nested arrays).
   * @example
   * pg.tensor(new Float32Array(6), { shape: [2, 3] });
   */
  readonly shape?: readonly number[];
  /**
   * Record ops on the new tensor for backward() (a leaf whose .grad backward() fills). Default false.
   * @example
   * const w = pg.zeros([3], { requiresGrad: true });
   */
  readonly requiresGrad?: boolean;
}

/**
 * What pg.tensor() takes: a number (a scalar), nested arrays of numbers, or a flat typed array.
 * @example
 * pg.tensor(3);                  // shape []
 * pg.tensor([[1, 2], [3, 4]]);   // shape [2, 2]
 * pg.tensor(new Float32Array(4)); // shape [4]
 */
export type TensorData = NestedArray | readonly NestedArray[] | Float32Array | Float64Array | readonly number[];

/** Flattens nested arrays, checking they are rectangular; returns the data and its shape. */
function flatten(data: TensorData): [number[] | Float32Array | Float64Array, number[]] {
  if (data instanceof Float32Array || data instanceof Float64Array) return [data, [data.length]];
  if (typeof data === 'number') return [[data], []];
  if (!Array.isArray(data)) throw new InvalidArgumentError(`tensor: data must be a number, a (nested) array of numbers or a Float32Array, got ${typeof data}`);
  const shape: number[] = [];
  for (let level: unknown = data; Array.isArray(level); level = level[0]) shape.push(level.length);
  const flat: number[] = [];
  const walk = (x: unknown, depth: number, path: number[]) => {
    if (depth === shape.length) {
      if (typeof x !== 'number') throw new InvalidArgumentError(`tensor: element at [${path.join('][')}] is ${Array.isArray(x) ? 'an array' : typeof x}, expected a number (ragged nested array?)`);
      flat.push(x);
      return;
    }
    if (!Array.isArray(x) || x.length !== shape[depth]) {
      throw new ShapeError(
        `tensor: ragged nested array: the entry at [${path.join('][')}] has ${Array.isArray(x) ? `length ${x.length}` : 'no array'} where length ${shape[depth]} was expected (shape ${fmt(shape)} from the first entries)`,
      );
    }
    x.forEach((v, i) => {
      walk(v, depth + 1, [...path, i]);
    });
  };
  walk(data, 0, []);
  return [flat, shape];
}

/**
 * A tensor from numbers, nested arrays or a typed array; float32.
 * @example
 * const x = pg.tensor([[0.2, 0.4], [0.6, 0.8]], { requiresGrad: true });
 */
export function tensor(data: TensorData, options: TensorOptions = {}): Tensor {
  const be = activeBackend('tensor');
  const [flat, inferred] = flatten(data);
  let shape: Shape = inferred;
  if (options.shape !== undefined) {
    shape = checkShape('tensor', options.shape);
    if (sizeOf(shape) !== flat.length) {
      throw new ShapeError(`tensor: ${flat.length} values do not fill shape ${fmt(shape)} (${sizeOf(shape)} elements)`);
    }
  }
  return new Tensor(be, be.upload('tensor', shape, flat), shape, options.requiresGrad ?? false);
}

/**
 * Options of the tensors made from a shape (full, zeros, ones, arange, ...).
 * @example
 * pg.zeros([3], { requiresGrad: true });
 */
export interface CreationOptions {
  /**
   * Record ops on the new tensor for backward() (a leaf whose .grad backward() fills). Default false.
   * @example
   * const w = pg.zeros([3], { requiresGrad: true });
   */
  readonly requiresGrad?: boolean;
}

/**
 * A tensor of `shape` filled with `value`, written by a kernel (no upload).
 * @example
 * await pg.full([2], 7).data(); // Float32Array [7, 7]
 */
export function full(shape: readonly number[], value: number, options: CreationOptions = {}): Tensor {
  const be = activeBackend('full');
  const s = checkShape('full', shape);
  if (typeof value !== 'number') throw new InvalidArgumentError(`full: value must be a number, got ${typeof value}`);
  return new Tensor(be, be.fill('full', s, value), s, options.requiresGrad ?? false);
}

/**
 * A tensor of `shape` filled with 0, written by a kernel.
 * @example
 * pg.zeros([2, 3]);
 */
export const zeros = (shape: readonly number[], options: CreationOptions = {}): Tensor => full(shape, 0, options);
/**
 * A tensor of `shape` filled with 1, written by a kernel.
 * @example
 * pg.ones([2, 3]);
 */
export const ones = (shape: readonly number[], options: CreationOptions = {}): Tensor => full(shape, 1, options);
/**
 * A tensor of t's shape filled with 0.
 * @example
 * pg.zerosLike(x).shape; // x.shape
 */
export const zerosLike = (t: Tensor, options: CreationOptions = {}): Tensor => full(t.shape, 0, options);
/**
 * A tensor of t's shape filled with 1.
 * @example
 * pg.onesLike(x).shape; // x.shape
 */
export const onesLike = (t: Tensor, options: CreationOptions = {}): Tensor => full(t.shape, 1, options);

/**
 * Options of pg.rand() and pg.randn().
 * @example
 * pg.rand([2, 2], { seed: 42 });
 */
export interface RandomOptions extends CreationOptions {
  /**
   * Same seed, same numbers, on every backend.
   * @example
   * pg.randn([4], { seed: 1 }); // the same four numbers every run, on every backend
   */
  readonly seed?: number;
}

/**
 * Uniform in [low, high) (default [0, 1)).
 * @example
 * pg.rand([64, 3], { seed: 2, low: -1, high: 1 });
 */
export function rand(shape: readonly number[], options: RandomOptions & { low?: number; high?: number } = {}): Tensor {
  const s = checkShape('rand', shape);
  return tensor(uniformArray(sizeOf(s), options.seed ?? nextSeed(), options.low ?? 0, options.high ?? 1), {
    shape: s,
    requiresGrad: options.requiresGrad ?? false,
  });
}

/**
 * Normal with the given mean and std (default 0, 1).
 * @example
 * pg.randn([256, 8], { seed: 1, std: 0.1, requiresGrad: true });
 */
export function randn(shape: readonly number[], options: RandomOptions & { mean?: number; std?: number } = {}): Tensor {
  const s = checkShape('randn', shape);
  return tensor(normalArray(sizeOf(s), options.seed ?? nextSeed(), options.mean ?? 0, options.std ?? 1), {
    shape: s,
    requiresGrad: options.requiresGrad ?? false,
  });
}

/**
 * Values from start (inclusive) to stop (exclusive) by step; arange(n) is 0..n-1.
 * @example
 * await pg.arange(4).data();        // Float32Array [0, 1, 2, 3]
 * await pg.arange(1, 2, 0.25).data(); // Float32Array [1, 1.25, 1.5, 1.75]
 */
export function arange(start: number, stop?: number, step = 1, options: CreationOptions = {}): Tensor {
  if (stop === undefined) [start, stop] = [0, start];
  if (![start, stop, step].every(Number.isFinite) || step === 0) {
    throw new InvalidArgumentError(`arange: start, stop and step must be finite numbers and step non-zero, got (${start}, ${stop}, ${step})`);
  }
  const n = Math.max(0, Math.ceil((stop - start) / step));
  const data = Float32Array.from({ length: n }, (_, i) => start + i * step);
  return tensor(data, { shape: [n], requiresGrad: options.requiresGrad ?? false });
}
