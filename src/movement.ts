/**
 * Movement ops built on views: flip (a negative-stride view), roll (two slices joined) and pad
 * (zeros through the IR's pad node, reflect and replicate as flipped or broadcast edge slices
 * joined). Parts are joined with cat, which merges a few zero-padded views bit for bit in the
 * kernel that reads the result, so none of these ops dispatches a kernel of its own. Roll and the reflect and
 * replicate pads have no gradient of their own: autograd composes those of the parts, so a border
 * element that is copied receives the gradients of all its copies.
 */
import { full } from './creation.ts';
import { castValue } from './dtype.ts';
import { InvalidArgumentError } from './errors.ts';
import { catOp } from './ops/concat.ts';
import { flipOp } from './ops/flip.ts';
import { padOp } from './ops/pad.ts';
import { tidy } from './runtime.ts';
import { fmt, normalizeAxes, normalizeAxis } from './shape.ts';
import { apply, Tensor } from './tensor.ts';
import { checkOptions, repr } from './validate.ts';

function tensorArg(fn: string, x: unknown): Tensor {
  if (!(x instanceof Tensor)) throw new InvalidArgumentError(`${fn}: expected a Tensor, got ${repr(x)}`);
  return x;
}

/**
 * Reverses the order of elements along `axes` (one axis or several; all of them when left out).
 * A view with negative strides: no copy, index arithmetic in whatever reads it; the gradient is
 * the flipped gradient. (A function, not a Tensor method, so that bundles without it drop it.)
 * @example
 * await pg.flip(pg.tensor([1, 2, 3]), 0).data(); // Float32Array [3, 2, 1]
 * await pg.flip(pg.arange(6).reshape([2, 3]), 1).toArray(); // [[2, 1, 0], [5, 4, 3]]
 */
export function flip(x: Tensor, axes?: number | readonly number[]): Tensor {
  tensorArg('flip', x);
  return apply(flipOp, [x], { axes: normalizeAxes('flip', axes, x.rank) });
}

/** Part [from, to) of axis `axis`. */
const along = (x: Tensor, axis: number, from: number, to: number) =>
  x.slice(
    x.shape.map((_, d) => (d === axis ? from : 0)),
    x.shape.map((n, d) => (d === axis ? to : n)),
  );

/**
 * Shifts elements along axes with wrap-around, as torch.roll: element i of an axis of size n
 * moves to (i + shift) mod n, negative shifts move the other way. With `axes` left out the tensor
 * is rolled as if flattened. Differentiable (the gradient is rolled back).
 * @example
 * await pg.roll(pg.tensor([1, 2, 3, 4]), 1).data(); // Float32Array [4, 1, 2, 3]
 * await pg.roll(pg.arange(6).reshape([2, 3]), [1, -1], [0, 1]).toArray(); // [[4, 5, 3], [1, 2, 0]]
 */
export function roll(x: Tensor, shifts: number | readonly number[], axes?: number | readonly number[]): Tensor {
  tensorArg('roll', x);
  const sh = typeof shifts === 'number' ? [shifts] : shifts;
  if (!Array.isArray(sh) || !sh.every((s) => Number.isSafeInteger(s))) throw new InvalidArgumentError(`roll: shifts must be an integer or an array of integers, got ${repr(shifts)}`);
  if (axes === undefined || axes === null) {
    if (sh.length !== 1) throw new InvalidArgumentError(`roll: without axes, shifts must be one integer (the tensor is rolled flattened), got ${repr(shifts)}`);
    return tidy(() => rollAxis(x.flatten(), sh[0]!, 0).reshape(x.shape));
  }
  const ax = typeof axes === 'number' ? [axes] : axes;
  if (!Array.isArray(ax) || ax.length !== sh.length) {
    throw new InvalidArgumentError(`roll: shifts ${repr(shifts)} and axes ${repr(axes)} must have the same length (one shift per axis)`);
  }
  const norm = ax.map((a) => normalizeAxis('roll', a, x.rank));
  return tidy(() => norm.reduce((y, a, i) => rollAxis(y, sh[i]!, a), x.reshape(x.shape)));
}

/** The parts side by side along `axis` (same sizes elsewhere): cat, which joins a few parts as padded views in the reader. */
function join(parts: readonly Tensor[], axis: number): Tensor {
  return apply(catOp, parts, { axis });
}

function rollAxis(x: Tensor, shift: number, axis: number): Tensor {
  // A 0-d tensor takes axis 0 (as PyTorch) and has nothing to move.
  const n = x.shape[axis] ?? 1;
  const s = n === 0 ? 0 : ((shift % n) + n) % n;
  if (s === 0) return x;
  return join([along(x, axis, n - s, n), along(x, axis, 0, n - s)], axis);
}

/** Options of pg.pad(). */
export interface PadOptions {
  /**
   * 'constant' (the default) fills with `value`; 'reflect' mirrors the elements next to the edge,
   * not repeating it (PyTorch's reflect, NumPy's 'reflect'); 'replicate' repeats the edge element.
   */
  readonly mode?: 'constant' | 'reflect' | 'replicate';
  /** The fill of 'constant' mode (default 0). */
  readonly value?: number;
}

/** The per-axis pairs, or a clear error (the flat PyTorch form gets its translation in the message). */
function checkPads(x: Tensor, pads: unknown): [number, number][] {
  const s = x.shape;
  if (Array.isArray(pads) && pads.length > 0 && pads.every((p) => typeof p === 'number')) {
    const pairs: number[][] = [];
    for (let i = pads.length - 2; i >= 0; i -= 2) pairs.push([pads[i] as number, pads[i + 1] as number]);
    throw new InvalidArgumentError(
      `pad: pads ${repr(pads)} is a flat list (PyTorch's F.pad order, last axis first); pg.pad takes one [before, after] pair per axis, first axis first, e.g. [${pairs.map((p) => `[${p.join(', ')}]`).join(', ')}] for the trailing axes of shape ${fmt(s)}`,
    );
  }
  if (!Array.isArray(pads) || !pads.every((p) => Array.isArray(p) && p.length === 2 && p.every((v) => Number.isSafeInteger(v)))) {
    throw new InvalidArgumentError(`pad: pads must be an array of [before, after] integer pairs, one per axis, got ${repr(pads)}`);
  }
  if (pads.length > s.length) throw new InvalidArgumentError(`pad: ${pads.length} [before, after] pairs for shape ${fmt(s)}, which has ${s.length} axes`);
  const all = [...s.slice(pads.length).map((): [number, number] => [0, 0]), ...(pads as [number, number][])];
  const neg = all.findIndex(([b, a]) => b < 0 || a < 0);
  if (neg >= 0) throw new InvalidArgumentError(`pad: axis ${neg} of shape ${fmt(s)} has negative padding ${repr(all[neg])}; use slice to crop`);
  return all;
}

/**
 * Pads each axis with `[before, after]` elements. `pads` lists one pair per axis, first axis
 * first; with fewer pairs than axes they apply to the last axes (the leading ones are left as
 * they are). PyTorch's flat F.pad list (last axis first) is refused with the pairs it means.
 * Modes: 'constant' (fill with `value`, default 0), 'reflect' (mirror without repeating the edge:
 * each pad must be below the axis's size) and 'replicate' (repeat the edge element).
 * Differentiable: the gradient of a reflected or replicated element is added to the element it
 * copies.
 * @example
 * await pg.pad(pg.tensor([1, 2, 3]), [[2, 1]], { mode: 'reflect' }).data(); // Float32Array [3, 2, 1, 2, 3, 2]
 * pg.pad(pg.zeros([4, 4, 3]), [[1, 1], [1, 1], [0, 0]], { value: 1 }).shape; // [6, 6, 3]
 * pg.pad(pg.zeros([4, 4, 3]), [[1, 1], [1, 1]]).shape; // [4, 6, 5]: two pairs pad the last two axes
 */
export function pad(x: Tensor, pads: readonly (readonly [number, number])[], options?: PadOptions): Tensor {
  tensorArg('pad', x);
  const o = checkOptions('pad', options);
  const mode = o.mode ?? 'constant';
  if (mode !== 'constant' && mode !== 'reflect' && mode !== 'replicate') {
    throw new InvalidArgumentError(`pad: mode must be 'constant', 'reflect' or 'replicate', got ${repr(mode)}`);
  }
  const value = o.value ?? 0;
  if (typeof value !== 'number') throw new InvalidArgumentError(`pad: value must be a number, got ${repr(value)}`);
  if (mode !== 'constant' && o.value !== undefined) throw new InvalidArgumentError(`pad: value applies to mode 'constant' only, not ${repr(mode)}`);
  const all = checkPads(x, pads);
  if (mode === 'constant') {
    const attrs = { before: all.map((p) => p[0]), after: all.map((p) => p[1]) };
    if (value === 0) return apply(padOp, [x], attrs);
    // value where the zero padding is: a padded mask of ones marks x's window exactly (no x - v + v rounding).
    // An int32 or bool tensor keeps its dtype: the value as it holds it, the sums in int32.
    const v = castValue('pad', x.dtype, value);
    return tidy(() => {
      const ones = full(x.shape, 1, { dtype: x.dtype === 'float32' ? 'float32' : 'int32' });
      const r = apply(padOp, [x], attrs).add(apply(padOp, [ones], attrs).mul(-v).add(v));
      return x.dtype === 'bool' ? r.to('bool') : r;
    });
  }
  all.forEach(([b, a], d) => {
    const n = x.shape[d]!;
    if (mode === 'reflect' && (b >= n || a >= n) && b + a > 0) {
      throw new InvalidArgumentError(`pad: reflect padding ${repr([b, a])} on axis ${d} of shape ${fmt(x.shape)} must be below the axis's size ${n}`);
    }
    if (mode === 'replicate' && n === 0 && b + a > 0) throw new InvalidArgumentError(`pad: replicate padding on axis ${d} of shape ${fmt(x.shape)}, which is empty`);
  });
  return tidy(() =>
    all.reduce((y, [b, a], d) => {
      if (b === 0 && a === 0) return y;
      const n = y.shape[d]!;
      const repeat = (at: number, count: number) => along(y, d, at, at + 1).expand(y.shape.map((m, k) => (k === d ? count : m)));
      const before = () => (mode === 'reflect' ? flip(along(y, d, 1, b + 1), d) : repeat(0, b));
      const after = () => (mode === 'reflect' ? flip(along(y, d, n - 1 - a, n - 1), d) : repeat(n - 1, a));
      const parts = [...(b > 0 ? [before()] : []), y, ...(a > 0 ? [after()] : [])];
      return join(parts, d);
    }, x.reshape(x.shape)),
  );
}
