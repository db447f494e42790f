/** Making tensors: from JS data, constants, ranges and seeded random numbers. */
import { activeBackend } from './engine.ts';
import { InvalidArgumentError, ShapeError } from './errors.ts';
import { nextSeed, normalArray, uniformArray } from './random.ts';
import { checkShape, fmt, type Shape, sizeOf } from './shape.ts';
import { type NestedArray, Tensor } from './tensor.ts';

export interface TensorOptions {
  /** Shape of the data (required to reshape flat data; inferred from nested arrays). */
  readonly shape?: readonly number[];
  readonly requiresGrad?: boolean;
}

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

/** A tensor from numbers, nested arrays or a typed array; float32. */
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

export interface CreationOptions {
  readonly requiresGrad?: boolean;
}

/** A tensor of `shape` filled with `value`, written by a kernel (no upload). */
export function full(shape: readonly number[], value: number, options: CreationOptions = {}): Tensor {
  const be = activeBackend('full');
  const s = checkShape('full', shape);
  if (typeof value !== 'number') throw new InvalidArgumentError(`full: value must be a number, got ${typeof value}`);
  return new Tensor(be, be.fill('full', s, value), s, options.requiresGrad ?? false);
}

export const zeros = (shape: readonly number[], options: CreationOptions = {}): Tensor => full(shape, 0, options);
export const ones = (shape: readonly number[], options: CreationOptions = {}): Tensor => full(shape, 1, options);
export const zerosLike = (t: Tensor, options: CreationOptions = {}): Tensor => full(t.shape, 0, options);
export const onesLike = (t: Tensor, options: CreationOptions = {}): Tensor => full(t.shape, 1, options);

export interface RandomOptions extends CreationOptions {
  /** Same seed, same numbers, on every backend. */
  readonly seed?: number;
}

/** Uniform in [low, high) (default [0, 1)). */
export function rand(shape: readonly number[], options: RandomOptions & { low?: number; high?: number } = {}): Tensor {
  const s = checkShape('rand', shape);
  return tensor(uniformArray(sizeOf(s), options.seed ?? nextSeed(), options.low ?? 0, options.high ?? 1), {
    shape: s,
    requiresGrad: options.requiresGrad ?? false,
  });
}

/** Normal with the given mean and std (default 0, 1). */
export function randn(shape: readonly number[], options: RandomOptions & { mean?: number; std?: number } = {}): Tensor {
  const s = checkShape('randn', shape);
  return tensor(normalArray(sizeOf(s), options.seed ?? nextSeed(), options.mean ?? 0, options.std ?? 1), {
    shape: s,
    requiresGrad: options.requiresGrad ?? false,
  });
}

/** Values from start (inclusive) to stop (exclusive) by step; arange(n) is 0..n-1. */
export function arange(start: number, stop?: number, step = 1, options: CreationOptions = {}): Tensor {
  if (stop === undefined) [start, stop] = [0, start];
  if (![start, stop, step].every(Number.isFinite) || step === 0) {
    throw new InvalidArgumentError(`arange: start, stop and step must be finite numbers and step non-zero, got (${start}, ${stop}, ${step})`);
  }
  const n = Math.max(0, Math.ceil((stop - start) / step));
  const data = Float32Array.from({ length: n }, (_, i) => start + i * step);
  return tensor(data, { shape: [n], requiresGrad: options.requiresGrad ?? false });
}
