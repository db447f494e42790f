/**
 * sort, argsort and topk as compositions, with no kernel of their own: each element's rank is the
 * number of elements ordered before it (a comparison over every pair of its row, which the
 * compiler fuses into one reduction with no n × n buffer), the ranks place the indices with one
 * scatter, and the values are the input gathered at those indices, so the gradient is
 * takeAlongAxis's (a scatter-add back to where each value came from). Comparing every pair costs
 * n² per row: cheap for the short rows of image work (channels, a palette, a window), and capped.
 */
import { arange } from './creation.ts';
import { InvalidArgumentError, LimitError } from './errors.ts';
import { logicalOr } from './logic.ts';
import { tidy } from './runtime.ts';
import { fmt, normalizeAxis } from './shape.ts';
import { Tensor } from './tensor.ts';
import { checkBool, checkOptions, repr } from './validate.ts';

/** Longest axis sort compares every pair of: 2^14 elements, 2.7·10^8 comparisons per row. */
export const SORT_MAX_AXIS = 1 << 14;

/**
 * Options of pg.sort and pg.argsort.
 * @example
 * pg.sort(x, { axis: 0, descending: true });
 */
export interface SortOptions {
  /**
   * The axis to sort along; the last by default.
   * @example
   * pg.sort(x, { axis: 0 });
   */
  readonly axis?: number;
  /**
   * Largest first. Default false (smallest first).
   * @example
   * pg.sort(x, { descending: true });
   */
  readonly descending?: boolean;
}

/**
 * What pg.sort and pg.topk return.
 * @example
 * const { values, indices }: pg.Sorted = pg.sort(pg.tensor([3, 1, 2]));
 */
export interface Sorted {
  /**
   * The sorted elements (differentiable: the gradient goes back to where each came from).
   * @example
   * await pg.sort(pg.tensor([3, 1, 2])).values.data(); // Float32Array [1, 2, 3]
   */
  readonly values: Tensor;
  /**
   * Where each sorted element was along the axis (int32, no gradient).
   * @example
   * await pg.sort(pg.tensor([3, 1, 2])).indices.data(); // Int32Array [1, 2, 0]
   */
  readonly indices: Tensor;
}

function checkArgs(fn: string, x: unknown, options: SortOptions | undefined): { x: Tensor; axis: number; descending: boolean } {
  if (!(x instanceof Tensor)) throw new InvalidArgumentError(`${fn}: expected a Tensor, got ${repr(x)}`);
  const o = checkOptions(fn, options);
  const axis = normalizeAxis(fn, o.axis ?? -1, Math.max(1, x.rank));
  const n = x.rank === 0 ? 1 : x.shape[axis]!;
  if (n > SORT_MAX_AXIS) {
    throw new LimitError(`${fn}: axis ${axis} of shape ${fmt(x.shape)} has ${n} elements; sorting compares every pair, so at most ${SORT_MAX_AXIS} (sort shorter rows, or reshape the axis into several)`);
  }
  return { x, axis, descending: checkBool(fn, 'descending', o.descending, false) };
}

/**
 * Indices that sort x along its last axis (x has its sort axis last). Stable: equal elements keep
 * their order. NaN counts as larger than every number (PyTorch's order): last ascending, first
 * descending.
 */
function lastAxisOrder(x: Tensor, descending: boolean): Tensor {
  const n = x.shape.at(-1)!;
  // The masks die inside this tidy, before the scatter below makes the queue run: nothing holds
  // them then, so the compiler computes them inside the reduction instead of storing n × n values.
  const rank = tidy(() => {
    const a = x.unsqueeze(-1); // element i, along the rows of a pair table
    const b = x.unsqueeze(-2); // element j, along its columns
    const nanA = a.ne(a);
    const nanB = b.ne(b);
    const pos = arange(n);
    const jBeforeI = pos.unsqueeze(0).lt(pos.unsqueeze(1));
    // j goes first: it is strictly before i in the order, or tied with i and earlier in the row.
    const strictly = descending ? logicalOr(b.gt(a), nanB.logicalAnd(nanA.logicalNot())) : logicalOr(b.lt(a), nanA.logicalAnd(nanB.logicalNot()));
    const tied = logicalOr(b.eq(a), nanA.logicalAnd(nanB)).logicalAnd(jBeforeI);
    return strictly.logicalOr(tied).sum(-1);
  });
  // Element i goes to position rank[i]: the index i lands there (each position receives exactly one).
  return tidy(() => rank.mul(0).scatterAdd(-1, rank, arange(0, n, 1, { dtype: 'int32' }).expand(x.shape)));
}

function sorted(fn: string, x0: unknown, options: SortOptions | undefined, k?: number): Sorted {
  const { x, axis, descending } = checkArgs(fn, x0, options);
  return tidy(() => {
    const v = x.rank === 0 ? x.reshape([1]) : x;
    const last = v.rank - 1;
    const moved = axis === last ? v : v.transpose(axis, last);
    let indices = lastAxisOrder(moved.detach(), descending);
    if (k !== undefined) indices = indices.slice(indices.shape.map(() => 0), [...indices.shape.slice(0, -1), k]);
    let values = moved.takeAlongAxis(indices, last);
    if (axis !== last) [values, indices] = [values.transpose(axis, last), indices.transpose(axis, last)];
    if (x.rank === 0) [values, indices] = [values.reshape([]), indices.reshape([])];
    return { values, indices };
  });
}

/**
 * x sorted along an axis (the last by default), with the indices the elements came from
 * (torch.sort, stable). NaN sorts as the largest value. Differentiable in x: each sorted
 * element's gradient goes back to its place. Compares every pair along the axis (n² per row,
 * fused into one reduction), so the axis may hold at most 2^14 elements (LimitError above).
 * @example
 * const { values, indices } = pg.sort(pg.tensor([[3, 1, 2], [0, 5, 4]]));
 * await values.toArray();  // [[1, 2, 3], [0, 4, 5]]
 * await indices.toArray(); // [[1, 2, 0], [0, 2, 1]]
 */
export function sort(x: Tensor, options?: SortOptions): Sorted {
  return sorted('sort', x, options);
}

/**
 * The indices that sort x along an axis (torch.argsort, stable): int32, no gradient.
 * @example
 * await pg.argsort(pg.tensor([3, 1, 2]), { descending: true }).data(); // Int32Array [0, 2, 1]
 */
export function argsort(x: Tensor, options?: SortOptions): Tensor {
  const { values, indices } = sorted('argsort', x, options);
  values.dispose();
  return indices;
}

/**
 * Options of pg.topk.
 * @example
 * pg.topk(x, 3, { axis: 0, largest: false });
 */
export interface TopkOptions {
  /**
   * The axis to search along; the last by default.
   * @example
   * pg.topk(x, 2, { axis: 0 });
   */
  readonly axis?: number;
  /**
   * The k largest (default) or, with false, the k smallest.
   * @example
   * pg.topk(x, 2, { largest: false });
   */
  readonly largest?: boolean;
}

/**
 * The k largest (or smallest) elements along an axis, in order, with their indices (torch.topk;
 * ties keep the earlier element first). Differentiable in x. The same pairwise ranking as sort.
 * @example
 * const { values, indices } = pg.topk(pg.tensor([1, 9, 4, 7]), 2);
 * await values.data();  // Float32Array [9, 7]
 * await indices.data(); // Int32Array [1, 3]
 */
export function topk(x: Tensor, k: number, options?: TopkOptions): Sorted {
  const o = checkOptions('topk', options);
  const largest = checkBool('topk', 'largest', o.largest, true);
  const { axis } = checkArgs('topk', x, { axis: o.axis });
  const n = x.rank === 0 ? 1 : x.shape[axis]!;
  if (!Number.isSafeInteger(k) || k < 0 || k > n) {
    throw new InvalidArgumentError(`topk: k must be an integer from 0 to ${n} (the size of axis ${axis} of shape ${fmt(x.shape)}), got ${repr(k)}`);
  }
  return sorted('topk', x, { axis, descending: largest }, k);
}
