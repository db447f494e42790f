/** Making tensors: from JS data, constants, ranges and seeded random numbers. */
import { activeBackend } from './engine.ts';
import { InvalidArgumentError, LimitError, ShapeError } from './errors.ts';
import { nextSeed, normalArray, uniformArray } from './random.ts';
import { checkShape, fmt, type Shape, sizeOf } from './shape.ts';
import { checkGradDtype, type NestedArray, Tensor } from './tensor.ts';
import { castValue, checkDtype, type DType } from './dtype.ts';
import { checkBool, checkFinite, checkOptions, repr } from './validate.ts';

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
  /**
   * The element type (see DType). Default: 'int32' for an Int32Array, 'bool' for a Uint8Array or
   * booleans, 'float32' otherwise (whole numbers too, unlike PyTorch's int64, so existing code keeps
   * float32). Int32 values are truncated toward zero; beyond ±2^24 is a LimitError (int32 values
   * are float32 underneath, exact up to 2^24). Bool values are `!= 0`.
   * @example
   * pg.tensor([1, 2], { dtype: 'int32' }).dtype;  // 'int32'
   * pg.tensor(new Int32Array([1, 2])).dtype;        // 'int32'
   * pg.tensor([true, false]).dtype;                 // 'bool'
   */
  readonly dtype?: DType;
}

/**
 * What pg.tensor() takes: a number or boolean (a scalar), nested arrays of numbers or booleans, or
 * a flat typed array (Int32Array makes an int32 tensor, Uint8Array a bool one).
 * @example
 * pg.tensor(3);                  // shape []
 * pg.tensor([[1, 2], [3, 4]]);   // shape [2, 2]
 * pg.tensor(new Float32Array(4)); // shape [4]
 */
export type TensorData = NestedArray | readonly NestedArray[] | Float32Array | Float64Array | Int32Array | Uint8Array | readonly number[] | readonly boolean[];

type Flat = number[] | Float32Array | Float64Array | Int32Array | Uint8Array;

/** Deepest nesting tensor() reads from JavaScript arrays. */
const MAX_RANK = 64;

/** Flattens nested arrays, checking they are rectangular; returns the data, its shape and the dtype it implies. */
function flatten(data: TensorData): [Flat, number[], DType] {
  if (data instanceof Float32Array || data instanceof Float64Array) return [data, [data.length], 'float32'];
  if (data instanceof Int32Array) return [data, [data.length], 'int32'];
  if (data instanceof Uint8Array) return [data, [data.length], 'bool'];
  if (typeof data === 'number') return [[data], [], 'float32'];
  if (typeof data === 'boolean') return [[+data], [], 'bool'];
  if (!Array.isArray(data)) throw new InvalidArgumentError(`tensor: data must be a number, a boolean, a (nested) array of them or a typed array, got ${repr(data)}`);
  const shape: number[] = [];
  for (let level: unknown = data; Array.isArray(level); level = level[0]) {
    // An array that contains itself would nest forever.
    if (shape.length === MAX_RANK) throw new ShapeError(`tensor: data nests deeper than ${MAX_RANK} levels`);
    shape.push(level.length);
  }
  const flat: number[] = [];
  let bools = 0;
  const walk = (x: unknown, depth: number, path: number[]) => {
    if (depth === shape.length) {
      if (typeof x === 'boolean') bools++;
      else if (typeof x !== 'number') throw new InvalidArgumentError(`tensor: element at [${path.join('][')}] is ${Array.isArray(x) ? 'an array' : repr(x)}, expected a number or a boolean (ragged nested array?)`);
      flat.push(+x);
      return;
    }
    if (!Array.isArray(x) || x.length !== shape[depth]) {
      throw new ShapeError(
        `tensor: ragged nested array: the entry at [${path.join('][')}] has ${Array.isArray(x) ? `length ${x.length}` : 'no array'} where length ${shape[depth]} was expected (shape ${fmt(shape)} from the first entries)`,
      );
    }
    // Indexed, not forEach: a hole in a sparse array is a missing element, not a skipped one.
    for (let i = 0; i < x.length; i++) walk(x[i], depth + 1, [...path, i]);
  };
  walk(data, 0, []);
  // All booleans make a bool tensor (as PyTorch); mixed with numbers they are 1 and 0 of float32.
  return [flat, shape, bools > 0 && bools === flat.length ? 'bool' : 'float32'];
}

/** The dtype and requiresGrad options, checked together (only float32 takes a gradient). */
function dtypeOptions(fn: string, o: { dtype?: DType; requiresGrad?: boolean }, implied: DType): [DType, boolean] {
  const dtype = o.dtype === undefined ? implied : checkDtype(fn, o.dtype);
  const requiresGrad = checkBool(fn, 'requiresGrad', o.requiresGrad, false);
  if (requiresGrad) checkGradDtype(fn, dtype);
  return [dtype, requiresGrad];
}

/** Values as `dtype` holds them (a copy where any changes), checked against int32's range. */
function cast(fn: string, dtype: DType, flat: Flat): Flat {
  if (dtype === 'float32') return flat;
  return Float32Array.from(flat as ArrayLike<number>, (v) => castValue(fn, dtype, v));
}

/**
 * A tensor from numbers, booleans, nested arrays or a typed array: float32 unless the data
 * (Int32Array, Uint8Array, booleans) or options.dtype say otherwise.
 * @example
 * const x = pg.tensor([[0.2, 0.4], [0.6, 0.8]], { requiresGrad: true });
 * pg.tensor([3, 1, 2], { dtype: 'int32' });
 */
export function tensor(data: TensorData, options?: TensorOptions, fn = 'tensor'): Tensor {
  const o = checkOptions(fn, options);
  const be = activeBackend(fn);
  const [raw, inferred, implied] = flatten(data);
  const [dtype, requiresGrad] = dtypeOptions(fn, o, implied);
  const flat = cast(fn, dtype, raw);
  let shape: Shape = inferred;
  if (o.shape !== undefined) {
    shape = checkShape('tensor', o.shape);
    if (sizeOf(shape) !== flat.length) {
      throw new ShapeError(`tensor: ${flat.length} values do not fill shape ${fmt(shape)} (${sizeOf(shape)} elements)`);
    }
  }
  be.checkSize('tensor', shape);
  return new Tensor(be, be.upload('tensor', shape, flat as number[] | Float32Array), shape, requiresGrad, true, dtype);
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
  /**
   * The element type (see DType); default 'float32' (zerosLike and onesLike: the tensor's). A
   * value is held as the dtype holds it: truncated for int32 (beyond ±2^24 is a LimitError), `!= 0`
   * for bool.
   * @example
   * pg.zeros([3], { dtype: 'int32' });
   * pg.full([2], 1, { dtype: 'bool' });
   */
  readonly dtype?: DType;
}

/**
 * A tensor of `shape` filled with `value`, written by a kernel (no upload).
 * @example
 * await pg.full([2], 7).data(); // Float32Array [7, 7]
 */
export function full(shape: readonly number[], value: number, options?: CreationOptions, fn = 'full', implied: DType = 'float32'): Tensor {
  const [dtype, requiresGrad] = dtypeOptions(fn, checkOptions(fn, options), implied);
  const be = activeBackend(fn);
  const s = checkShape(fn, shape);
  if (typeof value !== 'number') throw new InvalidArgumentError(`${fn}: value must be a number, got ${repr(value)}`);
  return new Tensor(be, be.fill(fn, s, castValue(fn, dtype, value)), s, requiresGrad, true, dtype);
}

/**
 * A tensor of `shape` filled with 0, written by a kernel.
 * @example
 * pg.zeros([2, 3]);
 */
export const zeros = (shape: readonly number[], options?: CreationOptions): Tensor => full(shape, 0, options, 'zeros');
/**
 * A tensor of `shape` filled with 1, written by a kernel.
 * @example
 * pg.ones([2, 3]);
 */
export const ones = (shape: readonly number[], options?: CreationOptions): Tensor => full(shape, 1, options, 'ones');

function like(fn: string, t: Tensor, value: number, options: CreationOptions | undefined): Tensor {
  if (!(t instanceof Tensor)) throw new InvalidArgumentError(`${fn}: expected a Tensor, got ${repr(t)}`);
  return full(t.shape, value, options, fn, t.dtype);
}
/**
 * A tensor of t's shape (and dtype, unless options.dtype says otherwise) filled with 0.
 * @example
 * pg.zerosLike(x).shape; // x.shape
 */
export const zerosLike = (t: Tensor, options?: CreationOptions): Tensor => like('zerosLike', t, 0, options);
/**
 * A tensor of t's shape (and dtype, unless options.dtype says otherwise) filled with 1.
 * @example
 * pg.onesLike(x).shape; // x.shape
 */
export const onesLike = (t: Tensor, options?: CreationOptions): Tensor => like('onesLike', t, 1, options);

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

/** The shape, options and seed of a random tensor, checked (size included) before any number is drawn. */
function randomSetup<O extends RandomOptions>(fn: string, shape: readonly number[], options: O | undefined) {
  const o = checkOptions(fn, options);
  const requiresGrad = checkBool(fn, 'requiresGrad', o.requiresGrad, false);
  const be = activeBackend(fn);
  const s = checkShape(fn, shape);
  be.checkSize(fn, s);
  const seed = o.seed === undefined ? undefined : checkFinite(fn, 'seed', o.seed, 0, { integer: true });
  return { o, s, requiresGrad, seed: () => seed ?? nextSeed() };
}

/**
 * Uniform in [low, high) (default [0, 1)).
 * @example
 * pg.rand([64, 3], { seed: 2, low: -1, high: 1 });
 */
export function rand(shape: readonly number[], options?: RandomOptions & { low?: number; high?: number }): Tensor {
  const { o, s, requiresGrad, seed } = randomSetup('rand', shape, options);
  const low = checkFinite('rand', 'low', o.low, 0);
  const high = checkFinite('rand', 'high', o.high, 1);
  if (low > high) throw new InvalidArgumentError(`rand: low (${low}) must not be above high (${high})`);
  return tensor(uniformArray(sizeOf(s), seed(), low, high), { shape: s, requiresGrad });
}

/**
 * Normal with the given mean and std (default 0, 1).
 * @example
 * pg.randn([256, 8], { seed: 1, std: 0.1, requiresGrad: true });
 */
export function randn(shape: readonly number[], options?: RandomOptions & { mean?: number; std?: number }): Tensor {
  const { o, s, requiresGrad, seed } = randomSetup('randn', shape, options);
  const mean = checkFinite('randn', 'mean', o.mean, 0);
  const std = checkFinite('randn', 'std', o.std, 1, { min: 0 });
  return tensor(normalArray(sizeOf(s), seed(), mean, std), { shape: s, requiresGrad });
}

/**
 * Values from start (inclusive) to stop (exclusive) by step; arange(n) is 0..n-1. Float32 unless
 * options.dtype says otherwise, even for whole numbers (PyTorch gives int64 there; float32 keeps
 * existing code working); with dtype 'int32' each value is truncated toward zero.
 * @example
 * await pg.arange(4).data();        // Float32Array [0, 1, 2, 3]
 * await pg.arange(1, 2, 0.25).data(); // Float32Array [1, 1.25, 1.5, 1.75]
 * await pg.arange(3, undefined, 1, { dtype: 'int32' }).data<'int32'>(); // Int32Array [0, 1, 2]
 */
export function arange(start: number, stop?: number, step = 1, options?: CreationOptions): Tensor {
  const [dtype, requiresGrad] = dtypeOptions('arange', checkOptions('arange', options), 'float32');
  const be = activeBackend('arange');
  if (stop === undefined) [start, stop] = [0, start];
  if (![start, stop, step].every((v) => typeof v === 'number' && Number.isFinite(v)) || step === 0) {
    throw new InvalidArgumentError(`arange: start, stop and step must be finite numbers and step non-zero, got (${repr(start)}, ${repr(stop)}, ${repr(step)})`);
  }
  const n = Math.max(0, Math.ceil((stop - start) / step));
  // Before the values are built: arange(0, 1e10) is a LimitError at once, not a RangeError (or a minute) later.
  if (!Number.isSafeInteger(n)) throw new LimitError(`arange: (${start}, ${stop}, ${step}) has ${n} values, too many for one tensor`);
  be.checkSize('arange', [n]);
  // float32 as before; int32 truncates the exact value, not its float32 rounding.
  const data = Float64Array.from({ length: n }, (_, i) => start + i * step);
  return tensor(dtype === 'float32' ? Float32Array.from(data) : data, { shape: [n], requiresGrad, dtype }, 'arange');
}
