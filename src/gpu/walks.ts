/**
 * Walks: the scheduler's plan for a step over pixels. Reductions whose few outputs sum over one
 * long axis (a scalar loss, a palette's gradient: every pixel contributes) are computed together
 * in one kernel whose threads each walk a range of that axis's rows, accumulating every such
 * reduction's partial sums at once; values stored row by row along the same axis (a per-pixel
 * parameter's gradient and its optimizer update) are written by the same kernel as it passes each
 * row. Everything a row needs (a softmax over its K weights, its mix of the palette) is computed
 * once per row, in registers, and never stored. A small second kernel finishes the partial sums.
 *
 * findWalk decides what goes in; it checks that each member reads the walked axis element by
 * element (a row's values depend only on that row, besides what is the same for every row), and
 * that an in-place update in the walk reads its target only at the row it writes.
 */
import { children, type Expr, isContiguous, type ReduceExpr, reduce as reduceExpr, reshape, sameDims } from '../ir/expr.ts';
import { sizeOf, stridesOf } from '../shape.ts';
import { viewAxes } from './coords.ts';
import type { GpuStorage } from './gpu-ops.ts';
import { MAX_PARAMS } from './quirks.ts';

/** Reductions with at most this many outputs join a walk (each thread keeps one accumulator per output). */
const MAX_WALK_OUTPUTS = 64;
/** A reduction joins a walk when it sums at least this many elements per output. */
const MIN_WALK_LENGTH = 4096;
/** A stored node is written row by row when a row has at most this many elements (unrolled). */
const MAX_ROW = 64;

export interface Walk {
  /** Length of the walked axis. */
  readonly N: number;
  /** Reductions over the walked axis, each with the axis of its operand that is walked (walkedForm: 0 where its leading axes make the rows). */
  readonly reduces: ReadonlyMap<ReduceExpr, number>;
  /** Stored nodes written row by row (their axis 0 is walked). */
  readonly rows: readonly Expr[];
  /** Stored nodes the walk reads. */
  readonly loads: ReadonlySet<Expr>;
  /** Reductions across the walked axis that members read: stored before the walk. */
  readonly before: ReadonlySet<Expr>;
  /** Nodes the walk computes inline. */
  readonly inline: ReadonlySet<Expr>;
  /** Nodes that depend on the walk's reductions or rows (them included). */
  readonly after: ReadonlySet<Expr>;
  /** The most elements a row reads from one stored tensor or source. */
  readonly rowElements: number;
}

interface Scan {
  readonly loads: Set<Expr>;
  readonly before: Set<Expr>;
  readonly bindings: Set<unknown>;
  readonly params: Set<readonly number[]>;
  /** Each source read: its storage, and where the row is in it (-1: the same for every row). */
  readonly reads: { storage: unknown; shape: readonly number[]; at: At }[];
  readonly seen: Set<string>;
  readonly nodes: Set<Expr>;
}

/**
 * Where the walked row o is in a node's index: coordinate p is (o + off) · B + j, with j < B.
 * With `m`, the axes before p are part of the row too (o walks them and p together, row-major: an
 * [H, W, 3] image walked as [H·W, 3] pixels); without it they are outer axes every row spans
 * (K images [K, N, 3] walked by pixel).
 */
interface At {
  readonly p: number;
  readonly B: number;
  readonly off: number;
  readonly m: boolean;
}
const NONE: At = { p: -1, B: 1, off: 0, m: false };

const newScan = (): Scan => ({ loads: new Set(), before: new Set(), bindings: new Set(), params: new Set(), reads: [], seen: new Set(), nodes: new Set() });

/** The row's place in `xs` when a node of shape `shape` is read as `xs` in row-major order. */
function reshaped(shape: readonly number[], at: At, xs: readonly number[]): At | null {
  // The row is the block [(o + off) · W, (o + off + 1) · W) of the linear index.
  const W = at.B * stridesOf(shape)[at.p]!;
  const xst = stridesOf(xs);
  const k = xs.findIndex((d, kk) => W % xst[kk]! === 0 && (d * xst[kk]!) % W === 0 && d * xst[kk]! >= W);
  if (k < 0) return null;
  // Row o of axis 0 (or of a merged prefix) lands on a later axis: the axes before it step with o.
  const m = (at.p === 0 || at.m) && xs.slice(0, k).some((d) => d !== 1);
  return { p: k, B: W / xst[k]!, off: at.off, m };
}

/**
 * Follows the walked row down from `e` to the sources and stored nodes. False where an index
 * mixes the row with other rows (an axis that steps over several rows at once).
 */
function scan(e: Expr, at: At, root: Expr, stored: ReadonlyMap<Expr, GpuStorage>, s: Scan): boolean {
  const key = `${e.id}:${at.p}:${at.B}:${at.off}:${+at.m}`;
  if (s.seen.has(key)) return true;
  s.seen.add(key);
  if (e !== root && stored.has(e)) {
    s.loads.add(e);
    s.bindings.add(stored.get(e));
    s.reads.push({ storage: stored.get(e), shape: e.shape, at });
    return true;
  }
  s.nodes.add(e);
  switch (e.op) {
    case 'iota':
      return true;
    case 'src':
      s.bindings.add(e.storage);
      s.reads.push({ storage: e.storage, shape: e.shape, at });
      return true;
    case 'map':
      s.params.add(e.params);
      return e.inputs.every((x) => {
        if (at.p < 0 || sameDims(x.shape, e.shape)) return scan(x, at, root, stored, s);
        const a = reshaped(e.shape, at, x.shape);
        return a !== null && scan(x, a, root, stored, s);
      });
    case 'view': {
      if (at.p < 0 || e.strides[at.p] === 0) return scan(e.x, NONE, root, stored, s);
      // A flipped walked axis visits its rows backwards, which a walk's row order cannot follow.
      if (e.strides[at.p]! < 0 && e.shape[at.p]! > 1) return false;
      if (e.base === 0 && e.size === e.x.size && isContiguous(e.shape, e.strides)) {
        const a = reshaped(e.shape, at, e.x.shape);
        return a !== null && scan(e.x, a, root, stored, s);
      }
      // The row's block in operand axis k is B·m wide; what the other axes add must stay inside it.
      const a = viewAxes(e.shape, e.strides, e.base, e.x.shape);
      const k = a?.k[at.p] ?? -1;
      if (!a || k < 0) return false;
      // Axes merged into the row are read as they are: a slice, step, flip or move of one of them,
      // or of axis p (whose length numbers the rows with them), reads other rows or renumbers them.
      const same = (d: number) => e.shape[d] === e.x.shape[d] && (e.shape[d] === 1 || (a.k[d] === d && a.m[d] === 1 && a.off[d] === 0 && e.strides[d]! > 0));
      if (at.m && !Array.from({ length: at.p + 1 }, (_, d) => d).every(same)) return false;
      const W = at.B * a.m[at.p]!;
      let spread = (at.B - 1) * a.m[at.p]! + (a.off[k]! % W);
      a.k.forEach((kk, d) => {
        if (kk === k && d !== at.p) spread += (e.shape[d]! - 1) * a.m[d]!;
      });
      if (spread >= W) return false;
      return scan(e.x, { p: k, B: W, off: at.off + Math.floor(a.off[k]! / W), m: at.m }, root, stored, s);
    }
    case 'scan':
    case 'scatter':
      // Stored by kernels of their own, never a row (only a walk's root gets here).
      return false;
    case 'take':
      // The index follows the row; x too, but along `axis` a row may read any of x's rows.
      if (at.p >= 0 && (at.p === e.axis || (at.m && e.axis < at.p))) return false;
      return scan(e.index, at, root, stored, s) && scan(e.x, at, root, stored, s);
    case 'pad':
      // Rows stay rows where the walked axis is not padded; a padded one shifts them.
      if (at.p < 0) return scan(e.x, NONE, root, stored, s);
      return e.x.shape.every((d, i) => d === e.shape[i] || i > at.p || (i < at.p && !at.m)) && scan(e.x, at, root, stored, s);
    case 'reduce':
      // Across the walked axis, or the same for every row (a softmax's max, broadcast back): either
      // way computed once before the walk, never once per row.
      if ((at.p >= 0 && e.axes.some((a) => a === at.p || (at.m && a < at.p))) || (at.p < 0 && e.x.size > MAX_ROW)) {
        s.before.add(e);
        return true;
      }
      return scan(e.x, at, root, stored, s);
  }
}

/**
 * The reductions that row o of a node (its elements at coordinate o of axis 0) computes from row o
 * alone (a softmax's row max and sum under a per-pixel mix of its weights), or null where an index
 * mixes rows.
 */
export function rowReductions(root: Expr, stored: ReadonlyMap<Expr, GpuStorage>): ReduceExpr[] | null {
  const s = newScan();
  if (!root.shape.length || !scan(root, { p: 0, B: 1, off: 0, m: false }, root, stored, s)) return null;
  return [...s.nodes].filter((e): e is ReduceExpr => e !== root && e.op === 'reduce');
}

/** Reductions inlined below the stored nodes (not inside another reduction's operand walk). */
function reductionsBelow(roots: Iterable<Expr>, stored: ReadonlyMap<Expr, GpuStorage>): ReduceExpr[] {
  const seen = new Set<Expr>();
  const found: ReduceExpr[] = [];
  const stack = [...roots].map((e) => [e, e] as const);
  while (stack.length) {
    const [e, root] = stack.pop()!;
    if (seen.has(e) || (e !== root && stored.has(e))) continue;
    seen.add(e);
    if (e.op === 'reduce') found.push(e);
    for (const c of children(e)) stack.push([c, root]);
  }
  return found.sort((a, b) => a.id - b.id);
}

/** The walked axis of a reduction that can join a walk: its longest reduced axis. */
function walkedAxis(r: ReduceExpr): number {
  if (r.size > MAX_WALK_OUTPUTS || r.x.size / Math.max(1, r.size) < MIN_WALK_LENGTH) return -1;
  return r.axes.reduce((best, a) => (r.x.shape[a]! > r.x.shape[best]! ? a : best), r.axes[0]!);
}

/**
 * A walked reduction as the walk reads it: itself where its walked axis has the walk's N rows;
 * else (a reduction of every element whose leading axes make N rows, a loss over an [H, W, 3]
 * image in a walk over its H·W pixels) the same sum over its elements read as [N, size / N].
 */
export function walkedForm(r: ReduceExpr, axis: number, N: number): { readonly r: ReduceExpr; readonly axis: number } {
  if (r.x.shape[axis] === N) return { r, axis };
  return { r: reduceExpr(r.fn, reshape(r.x, [N, r.x.size / N]), [0, 1]) as ReduceExpr, axis: 0 };
}

/** Whether a reduction of every element can join a walk of N rows: its leading axes make N rows. */
function fullOver(r: ReduceExpr, N: number): boolean {
  if (r.size !== 1) return false;
  let rows = 1;
  for (const d of r.x.shape) {
    rows *= d;
    if (rows === N) return true;
    if (rows > N) return false;
  }
  return false;
}

/**
 * The walk for a schedule's stored nodes, or null: the largest group of long reductions over
 * axes of one length (and reductions of every element whose leading axes make that many rows),
 * with the stored nodes that can be written row by row beside them.
 */
export function findWalk(stored: ReadonlyMap<Expr, GpuStorage>, assigns: ReadonlySet<Expr>, batchOf: ReadonlyMap<Expr, readonly Expr[]>, maxBindings: number): Walk | null {
  const candidates = reductionsBelow(stored.keys(), stored).filter((r) => walkedAxis(r) >= 0);
  if (!candidates.length) return null;
  const byN = new Map<number, ReduceExpr[]>();
  for (const r of candidates) {
    const N = r.x.shape[walkedAxis(r)]!;
    byN.set(N, [...(byN.get(N) ?? []), r]);
  }
  // The axis whose reductions have the most outputs: each output of a reduction left out costs a
  // partial-sums pass that recomputes the row, where a scalar loss costs one.
  const outputs = (rs: readonly ReduceExpr[]) => rs.reduce((n, r) => n + r.size, 0);
  const [N, best] = [...byN].sort((a, b) => outputs(b[1]) - outputs(a[1]) || b[0] - a[0])[0]!;
  const group = [...best, ...candidates.filter((r) => !best.includes(r) && fullOver(r, N))];
  const order = new Set<Expr>();
  const stack = [...stored.keys()];
  while (stack.length) {
    const e = stack.pop()!;
    if (order.has(e)) continue;
    order.add(e);
    stack.push(...children(e));
  }
  const sorted = [...order].sort((a, b) => a.id - b.id);
  /** The nodes that depend on any of `from` (them included). */
  const dependents = (from: Iterable<Expr>) => {
    const set = new Set<Expr>(from);
    for (const e of sorted) if (children(e).some((c) => set.has(c))) set.add(e);
    return set;
  };
  // What a walked reduction reads from before the walk must not itself wait for a reduction of
  // the walk (it would recompute that reduction per element).
  const afterCandidates = dependents(group);
  const all = newScan();
  const reduces = new Map<ReduceExpr, number>();
  for (const r of group) {
    const s = newScan();
    const w = walkedForm(r, best.includes(r) ? walkedAxis(r) : 0, N);
    if (!scan(w.r.x, { p: w.axis, B: 1, off: 0, m: false }, r, stored, s) || [...s.before, ...s.loads].some((b) => afterCandidates.has(b))) continue;
    reduces.set(r, w.axis);
    merge(all, s);
  }
  if (!reduces.size) return null;

  // What depends on a reduction of the walk runs after it.
  const reaching = dependents(reduces.keys());
  const reachesWalk = (e: Expr) => reaching.has(e);

  // Stored nodes along the same axis join as rows, if each row reads only what rows before the walk made.
  const rows: Expr[] = [];
  const scans = new Map<Expr, Scan>();
  for (const [e] of stored) {
    if (!e.shape.length || e.shape[0]! % N !== 0 || e.size / N > MAX_ROW || reachesWalk(e)) continue;
    const s = newScan();
    if (!scan(e, { p: 0, B: e.shape[0]! / N, off: 0, m: false }, e, stored, s) || [...s.before, ...s.loads].some(reachesWalk)) continue;
    rows.push(e);
    scans.set(e, s);
  }
  // An update joins only if everything in the walk reads its target at the row it writes.
  const everyScan = [all, ...scans.values()];
  const accepted = rows.filter((e) => {
    const target = stored.get(e);
    return !assigns.has(e) || everyScan.every((s) => s.reads.every((r) => r.storage !== target || (r.at.p === 0 && r.at.off === 0 && r.shape[0] === r.at.B * N)));
  });
  // A value overwritten by an update in the same walk is stored by a kernel of its own before it
  // (a kernel cannot bind one buffer twice for writing).
  const written = new Set(accepted.filter((e) => assigns.has(e)).map((e) => stored.get(e)));
  const members = accepted.filter((e) => assigns.has(e) || !written.has(stored.get(e)));
  // Rows are dropped, newest first, until the kernel's bindings and parameters fit.
  for (;;) {
    // The rest of an update's batch runs after the walk: it must not read what the walk overwrote.
    const unsafe = members.findIndex((e) => assigns.has(e) && !restSafe(e, members, batchOf, stored));
    if (unsafe >= 0) {
      members.splice(unsafe, 1);
      continue;
    }
    const total = newScan();
    merge(total, all);
    for (const e of members) merge(total, scans.get(e)!);
    // A row that a value the walk loads depends on would be read before the walk writes it.
    const early = members.findIndex((m) => {
      const after = dependents([m]);
      return [...total.loads].some((l) => l !== m && !members.includes(l) && after.has(l));
    });
    if (early >= 0) {
      members.splice(early, 1);
      continue;
    }
    const outputs = new Set<unknown>(members.map((e) => stored.get(e)));
    const inputs = [...total.bindings].filter((b) => !outputs.has(b)).length;
    const params = [...total.params].reduce((n, a) => n + a.length, 0);
    // A walk computes each row's shared values once for every output of every reduction in it; a
    // single output with no update written as the walk passes does as well with the partial sums'
    // plan (src/gpu/schedule.ts, rule 4). (A layers gradient, 4 outputs over 786K elements, was 4×
    // slower there: each output recomputed the row.)
    const reduced = [...reduces.keys()].reduce((n, r) => n + r.size, 0);
    if (reduced < 2 && !members.some((e) => assigns.has(e))) return null;
    // The reductions' partial sums share one buffer.
    if (inputs + outputs.size + 1 <= maxBindings && params <= MAX_PARAMS) {
      // Elements of stored tensors a row reads (the largest read along the walk), for the tuner.
      const rowElements = Math.max(1, ...total.reads.filter((r) => r.at.p >= 0).map((r) => sizeOf(r.shape) / N));
      // Long rows and nothing written row by row (an image's rows summed in loops: a total
      // variation loss): a walker's neighbours read rows far apart, where the partial sums' plans
      // read neighbouring elements.
      if (!members.length && rowElements > MAX_ROW) return null;
      return { N, reduces, rows: members, loads: total.loads, before: total.before, inline: total.nodes, after: dependents([...reduces.keys(), ...members]), rowElements };
    }
    if (!members.length) return null;
    members.pop();
  }
}

/** Whether the members of `e`'s batch that stay out of the walk read no target the walk writes. */
function restSafe(e: Expr, members: readonly Expr[], batchOf: ReadonlyMap<Expr, readonly Expr[]>, stored: ReadonlyMap<Expr, GpuStorage>): boolean {
  const targets = new Set(members.map((m) => stored.get(m)));
  return (batchOf.get(e) ?? [])
    .filter((x) => !members.includes(x))
    .every((x) => {
      const s = newScan();
      scan(x, NONE, x, stored, s);
      return s.reads.every((r) => !targets.has(r.storage as GpuStorage));
    });
}

function merge(into: Scan, s: Scan): void {
  for (const x of s.loads) into.loads.add(x);
  for (const x of s.before) into.before.add(x);
  for (const x of s.bindings) into.bindings.add(x);
  for (const x of s.params) into.params.add(x);
  for (const x of s.nodes) into.nodes.add(x);
  into.reads.push(...s.reads);
}
