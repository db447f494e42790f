/**
 * Dtypes: what a tensor's values mean, decided per op. Storage stays float (float32 on the GPU,
 * float64 on the CPU backend) and the compiler is float-only; an int32 tensor holds whole numbers,
 * exact up to 2^24 in magnitude, and a bool tensor holds 0 and 1. PyTorch's promotion, with one
 * dtype per category: bool < int32 < float32; a JS number is an int when Number.isInteger, else a
 * float, and only raises the category (as a Python scalar does).
 */
import { InvalidArgumentError, LimitError } from './errors.ts';
import { repr } from './validate.ts';

/**
 * A tensor's element type: 'float32' (the default), 'int32' (whole numbers, exact up to 2^24 in
 * magnitude) or 'bool' (0 and 1, read back as true and false).
 * @example
 * const d: pg.DType = pg.tensor([1, 2], { dtype: 'int32' }).dtype; // 'int32'
 */
export type DType = 'float32' | 'int32' | 'bool';

/**
 * The typed array data() gives for a dtype: Float32Array, Int32Array or Uint8Array (0 and 1).
 * @example
 * const ids: pg.ArrayFor<'int32'> = await x.argmax(1).data<'int32'>(); // Int32Array
 */
export type ArrayFor<D extends DType> = D extends 'int32' ? Int32Array : D extends 'bool' ? Uint8Array : Float32Array;

/** Int32 values are float32 underneath: every whole number up to 2^24 in magnitude is exact. */
export const INT_LIMIT = 2 ** 24;

const RANK: Readonly<Record<DType, number>> = { bool: 0, int32: 1, float32: 2 };
const BY_RANK: readonly DType[] = ['bool', 'int32', 'float32'];

/** The dtype option checked: one of the three names. */
export function checkDtype(op: string, d: unknown): DType {
  if (d !== 'float32' && d !== 'int32' && d !== 'bool') throw new InvalidArgumentError(`${op}: dtype must be 'float32', 'int32' or 'bool', got ${repr(d)}`);
  return d;
}

/** The promoted dtype of tensor dtypes and JS numbers. */
export function promote(dtypes: readonly DType[], numbers: readonly number[] = []): DType {
  let r = 0;
  for (const d of dtypes) r = Math.max(r, RANK[d]);
  for (const n of numbers) r = Math.max(r, Number.isInteger(n) ? 1 : 2);
  return BY_RANK[r]!;
}

/** A user's value as the dtype holds it: int32 truncates toward zero (beyond ±2^24 is a LimitError), bool is `!= 0`. */
export function castValue(op: string, dtype: DType, v: number): number {
  if (dtype === 'bool') return +(v !== 0);
  if (dtype === 'float32') return v;
  if (Number.isNaN(v)) throw new InvalidArgumentError(`${op}: NaN has no int32 value`);
  if (Math.abs(v) > INT_LIMIT) {
    throw new LimitError(`${op}: int32 value ${v} is beyond ±2^24 (${INT_LIMIT}), the largest held exactly (int32 is float32 underneath)`);
  }
  return Math.trunc(v) + 0;
}

/** The values read back (float32) in the dtype's array. */
export function typedFor(dtype: DType, v: Float32Array): Float32Array | Int32Array | Uint8Array {
  return dtype === 'float32' ? v : dtype === 'int32' ? Int32Array.from(v) : Uint8Array.from(v, (x) => +(x !== 0));
}

// Result rules by op name (a `_scalar` variant shares its tensor op's rule); ops not named give float32.
// Sums of bools count (int32; PyTorch: int64); square is pow 2, so a bool squared is int32 too.
const RULES = {
  keep: ' reshape permute expand slice flip pad max takeAlongAxis scatterAdd relu abs neg ',
  promote: ' add sub mul maximum minimum pow matmul cat clamp where ',
  bool: ' eq ne lt le gt ge logicalAnd logicalOr logicalNot ',
  int32: ' argmax argmin toInt32 ',
  count: ' sum cumsum square ',
} as const;

/**
 * The dtype of op `name`'s result, checking the combinations PyTorch refuses.
 * @example
 * resultDtype('add_scalar', ['int32'], { scalar: 0.5 }); // 'float32'
 */
export function resultDtype(name: string, inputs: readonly DType[], attrs: unknown): DType {
  const scalar = name.endsWith('_scalar');
  const op = scalar ? name.slice(0, -7) : name;
  const a = attrs as { scalar?: number; params?: readonly number[] };
  const numbers = scalar ? [a.scalar!] : op === 'clamp' ? (a.params ?? []) : [];
  const first = inputs[0] ?? 'float32';
  if (op === 'mean' && first !== 'float32') throw new InvalidArgumentError(`mean: needs a float32 tensor, got ${first} (as PyTorch); use t.to('float32').mean()`);
  if ((op === 'neg' && first === 'bool') || (op === 'sub' && !scalar && inputs[0] === 'bool' && inputs[1] === 'bool')) {
    throw new InvalidArgumentError(`${op}: not supported on bool tensors (as PyTorch); use logicalNot() for a mask's inverse, or .to('int32') first`);
  }
  if (op === 'pow' && scalar && first !== 'float32' && Number.isInteger(a.scalar) && a.scalar! < 0) {
    throw new InvalidArgumentError(`pow: ${first} to a negative integer power (${a.scalar}) is not allowed (as PyTorch); use .to('float32') first`);
  }
  const rule = (Object.keys(RULES) as (keyof typeof RULES)[]).find((r) => RULES[r].includes(` ${op} `));
  switch (rule) {
    case 'keep':
      return first;
    case 'promote':
      return promote(op === 'where' ? inputs.slice(1) : inputs, numbers);
    case 'bool':
      return 'bool';
    case 'int32':
      return 'int32';
    case 'count':
      return first === 'float32' ? 'float32' : 'int32';
    default:
      return 'float32';
  }
}
