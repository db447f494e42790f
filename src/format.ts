/**
 * Printing tensors as PyTorch does: `await pg.format(t)` reads the values and lays them out in
 * nested brackets with the shape and the autograd flags; tensors over `threshold` elements show
 * `edgeItems` values at each end of every axis and `...` between. `describeTensor(t)` (toString,
 * Node's util.inspect) and `summary(t)` (toJSON) say what is known without a read.
 */
import { InvalidArgumentError } from './errors.ts';
import { fmt, stridesOf } from './shape.ts';
import type { Tensor } from './tensor.ts';
import type { DType } from './dtype.ts';

/**
 * How `pg.format` and `t.print()` lay out values.
 * @example
 * await pg.format(t, { precision: 2, threshold: 100, edgeItems: 2 });
 */
export interface FormatOptions {
  /**
   * Digits after the decimal point (or of the mantissa in scientific notation). Default 4.
   * @example
   * await pg.format(pg.tensor([1 / 3]), { precision: 2 }); // 'tensor([0.33], shape=[1])'
   */
  readonly precision?: number;
  /**
   * Tensors with more elements than this are summarised: each axis longer than 2 × `edgeItems`
   * shows its first and last `edgeItems` entries and `...` between. Default 1000.
   * @example
   * await pg.format(pg.arange(10), { threshold: 5, edgeItems: 2 }); // 'tensor([0., 1., ..., 8., 9.], shape=[10])'
   */
  readonly threshold?: number;
  /**
   * Entries shown at each end of a summarised axis. Default 3.
   * @example
   * await pg.format(pg.arange(2000), { edgeItems: 1 }); // 'tensor([   0., ..., 1999.], shape=[2000])' (entries padded to one width, as PyTorch)
   */
  readonly edgeItems?: number;
}

/**
 * What `t.toJSON()` gives (and so `JSON.stringify(t)`): what is known without reading the data.
 * @example
 * JSON.stringify(pg.zeros([2])); // '{"type":"Tensor","id":1,"shape":[2],"size":2,"requiresGrad":false}'
 */
export interface TensorSummary {
  /**
   * Always "Tensor".
   * @example
   * JSON.parse(JSON.stringify(t)).type; // 'Tensor'
   */
  readonly type: 'Tensor';
  /**
   * The tensor's id.
   * @example
   * JSON.parse(JSON.stringify(t)).id === t.id; // true
   */
  readonly id: number;
  /**
   * The tensor's shape.
   * @example
   * pg.zeros([2, 3]).toJSON().shape; // [2, 3]
   */
  readonly shape: readonly number[];
  /**
   * The number of elements.
   * @example
   * pg.zeros([2, 3]).toJSON().size; // 6
   */
  readonly size: number;
  /**
   * Whether ops on the tensor are recorded for backward().
   * @example
   * pg.zeros([2], { requiresGrad: true }).toJSON().requiresGrad; // true
   */
  readonly requiresGrad: boolean;
  /**
   * The dtype, present when it is not float32.
   * @example
   * pg.tensor([1], { dtype: 'int32' }).toJSON().dtype; // 'int32'
   */
  readonly dtype?: Exclude<DType, 'float32'>;
  /**
   * The op that made the tensor (non-leaf tensors in a graph), else absent.
   * @example
   * x.mul(2).toJSON().gradFn; // 'mul_scalar' when x requires grad
   */
  readonly gradFn?: string;
  /**
   * Present (true) once the tensor was disposed.
   * @example
   * t.dispose();
   * t.toJSON().disposed; // true
   */
  readonly disposed?: true;
}

const PREFIX = 'tensor(';
const LINE_WIDTH = 80;

/** The op that made t, where autograd recorded one. */
const gradFnOf = (t: Tensor): string | undefined => (t._node && !t._node.leaf ? (t._node.op?.name ?? undefined) : undefined);

const dtypeNote = (d: DType): string => (d === 'float32' ? '' : `, dtype=${d}`);

/**
 * A one-line description from what is known without a read (shape, dtype, flags): what `String(t)`,
 * template literals and Node's `util.inspect` (`console.log(t)`) show.
 * @example
 * describeTensor(pg.zeros([2, 3])); // 'Tensor(id=1, shape=[2, 3])'
 */
export function describeTensor(t: Tensor): string {
  const fn = gradFnOf(t);
  return `Tensor(id=${t.id}, shape=${fmt(t.shape)}${dtypeNote(t.dtype)}${t.requiresGrad ? ', requiresGrad' : ''}${fn ? `, gradFn=${fn}` : ''}${t.isDisposed ? ', disposed' : ''})`;
}

/**
 * The plain object `t.toJSON()` returns.
 * @example
 * summary(pg.zeros([2])).shape; // [2]
 */
export function summary(t: Tensor): TensorSummary {
  const fn = gradFnOf(t);
  return {
    type: 'Tensor',
    id: t.id,
    shape: [...t.shape],
    size: t.size,
    requiresGrad: t.requiresGrad,
    ...(t.dtype !== 'float32' ? { dtype: t.dtype } : {}),
    ...(fn ? { gradFn: fn } : {}),
    ...(t.isDisposed ? { disposed: true as const } : {}),
  };
}

function checkInt(name: string, v: unknown, min: number, max: number): number {
  if (typeof v !== 'number' || !(Number.isInteger(v) || v === Number.POSITIVE_INFINITY) || v < min || v > max) {
    throw new InvalidArgumentError(`format: options.${name} must be an integer from ${min} to ${max}, got ${String(v)}`);
  }
  return v;
}

/**
 * The tensor's values as PyTorch prints them, with its shape and autograd flags. Reads the data
 * (one GPU readback). Tensors over `threshold` elements are summarised with `...`.
 *
 * @example
 * const t = pg.tensor([[1, 2.5], [-3, 4]], { requiresGrad: true });
 * await pg.format(t);
 * // tensor([[ 1.0000,  2.5000],
 * //         [-3.0000,  4.0000]], shape=[2, 2], requiresGrad=true)
 */
export async function format(t: Tensor, options: FormatOptions = {}): Promise<string> {
  if (!t || typeof t !== 'object' || typeof (t as { data?: unknown }).data !== 'function' || !Array.isArray(t.shape)) {
    throw new InvalidArgumentError(`format: expected a Tensor, got ${t === null ? 'null' : typeof t}`);
  }
  if (!options || typeof options !== 'object') throw new InvalidArgumentError(`format: options must be an object, got ${String(options)}`);
  const precision = checkInt('precision', options.precision ?? 4, 0, 20);
  const threshold = checkInt('threshold', options.threshold ?? 1000, 0, Number.POSITIVE_INFINITY);
  const edgeItems = checkInt('edgeItems', options.edgeItems ?? 3, 1, Number.MAX_SAFE_INTEGER);
  const fn = gradFnOf(t);
  // As PyTorch: int32 says its dtype, bool's True/False say theirs (an empty one says it).
  const named = t.dtype === 'int32' || (t.dtype === 'bool' && (t.size === 0 || t.isDisposed)) ? `dtype=${t.dtype}, ` : '';
  const suffix = `${named}shape=${fmt(t.shape)}${t.requiresGrad ? ', requiresGrad=true' : ''}${fn ? `, gradFn=${fn}` : ''}`;
  if (t.isDisposed) return `${PREFIX}<disposed>, ${suffix})`;
  const data = await t.data<DType>();
  if (t.size === 0) return `${PREFIX}[], ${suffix})`;

  // The indices shown on each axis; null stands for the `...` of a summarised axis.
  const summarise = t.size > threshold;
  const picked = t.shape.map((d) => {
    const all = Array.from({ length: d }, (_, i) => i);
    return summarise && d > 2 * edgeItems ? [...all.slice(0, edgeItems), null, ...all.slice(d - edgeItems)] : all;
  });
  const strides = stridesOf(t.shape);
  const values: number[] = [];
  const gather = (dim: number, offset: number): void => {
    if (dim === t.rank) {
      values.push(data[offset]!);
      return;
    }
    for (const i of picked[dim]!) if (i !== null) gather(dim + 1, offset + i * strides[dim]!);
  };
  gather(0, 0);
  const number = numberFormat(values, precision, t.dtype);

  const block = (dim: number, offset: number, indent: number): string => {
    if (dim === t.rank) return number(data[offset]!);
    const indices = picked[dim]!;
    if (dim === t.rank - 1) {
      const items = indices.map((i) => (i === null ? '...' : number(data[offset + i * strides[dim]!]!)));
      const width = items.reduce((w, s) => Math.max(w, s.length), 0) + 2;
      const perLine = Math.max(1, Math.floor((LINE_WIDTH - indent - 1) / width));
      const lines: string[] = [];
      for (let i = 0; i < items.length; i += perLine) lines.push(items.slice(i, i + perLine).join(', '));
      return `[${lines.join(`,\n${' '.repeat(indent + 1)}`)}]`;
    }
    const parts = indices.map((i) => (i === null ? '...' : block(dim + 1, offset + i * strides[dim]!, indent + 1)));
    return `[${parts.join(`,${'\n'.repeat(t.rank - dim - 1)}${' '.repeat(indent + 1)}`)}]`;
  };
  return `${PREFIX}${block(0, 0, PREFIX.length)}, ${suffix})`;
}

/**
 * PyTorch's choice of notation over the values shown: int32 as `3`, bool as `True`, float integers as `3.`, scientific when the
 * magnitudes span more than 1000× or leave [1e-4, 1e8), fixed-point otherwise; every value padded
 * to one width so columns line up.
 */
function numberFormat(values: readonly number[], precision: number, dtype: DType): (v: number) => string {
  const finite = values.filter(Number.isFinite);
  const magnitudes = finite.map(Math.abs).filter((v) => v > 0);
  const max = magnitudes.reduce((a, b) => Math.max(a, b), 0);
  const min = magnitudes.reduce((a, b) => Math.min(a, b), Number.POSITIVE_INFINITY);
  const integers = finite.every(Number.isInteger);
  const scientific = integers ? max > 1e8 : max > 1e8 || min < 1e-4 || max / min > 1000;
  const plain = (v: number): string => {
    if (dtype === 'bool') return v ? 'True' : 'False';
    if (dtype === 'int32') return String(v);
    if (Number.isNaN(v)) return 'nan';
    if (!Number.isFinite(v)) return v > 0 ? 'inf' : '-inf';
    if (scientific) return v.toExponential(precision).replace(/e([+-])(\d)$/, 'e$10$2');
    if (integers) return `${v.toFixed(0)}.`;
    return v.toFixed(precision);
  };
  const width = values.reduce((w, v) => Math.max(w, plain(v).length), 0);
  return (v) => plain(v).padStart(width);
}
