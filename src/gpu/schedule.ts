/**
 * The scheduler: every fusion decision, in one function. It takes the queued definitions (a
 * storage and the expression that computes it, src/ir/expr.ts) and decides which expression nodes
 * are stored and which kernels store them, in an order that respects every dependency.
 *
 * The rules, in the order schedule() applies them:
 *
 * 1. A definition whose storage somebody still holds (a tensor, a graph node that saved it, an
 *    optimizer) is stored. One nobody holds any more is dead: it is never written, and whatever
 *    reads it computes it inline instead.
 * 2. Every other node is recomputed where it is read (inlined), except a reduction that is read
 *    more than once, or read through a broadcasting view (each of its values would be recomputed
 *    per reader: softmax's row max, a max's tie count), and a map that a broadcasting view spreads
 *    over at least 64 times its own elements (a palette's sigmoid read at every pixel): those are
 *    stored in scratch memory. Other elementwise work is cheaper to recompute than to store and
 *    load back.
 *    Running sums and scatters (cumsum, a long scatterAdd) are always stored, by kernels of their
 *    own that compute their operands inline.
 * 3. Stored nodes with no inlined reduction and the same element count share one elementwise
 *    kernel (four elements per thread), as long as its bindings and parameters fit the device;
 *    a member read by another member at the same element costs nothing (it is in a register),
 *    at another element it is recomputed.
 * 4. A stored node with an inlined reduction gets a kernel of its own: one thread per output,
 *    each looping over its reduced elements (the reduction's producers computed inside the loop,
 *    its consumers after it). With few outputs and long reductions, each outermost reduction is
 *    split: threads sum interleaved parts into partials (CPU adapters: contiguous chunks, see
 *    walkBounds), and a second kernel sums the partials and applies the consumers. Scalar sums
 *    over operands of nearly one shape (a loss's terms over an image and its shifted slices)
 *    share one partials pass (siblingSums).
 * 5. A kernel that reads a stored node waits for the kernel that stores it; a still-open
 *    elementwise kernel is closed (recorded) first when something outside it reads its stores.
 * 6. In-place assignments (optimizer updates) run in the order they were queued among the
 *    stored nodes: after every kernel queued before them (which read the old values), before
 *    every kernel queued after (which read the new ones); an inlined read of old values by a node
 *    queued after is stored first. Each optimizer call's assignments are one elementwise kernel
 *    that reads its element's old values and writes the new ones.
 * 7. An assignment whose operands read other elements of its target (a neighbour, as a total
 *    variation's gradient does) writes into a twin buffer, which the target takes over after the
 *    kernel (double buffering); while a compiled function is traced, or when the target is an
 *    app's own buffer, those operands are stored first instead.
 */
import { broadcasts, children, type Expr, isContiguous, type ReduceExpr, reduce as reduceExpr, reshape, type ScanExpr, type ScatterExpr, scan as scanExpr, src, view } from '../ir/expr.ts';
import { ROW_OUTPUTS, SCAN_CHUNK, UNROLL } from './render.ts';
import { around } from '../shape.ts';
import { findWalk, rowReductions, type Walk } from './walks.ts';
import { elementwiseWalkers, walkers, walkShape } from './tuner.ts';
import type { GpuStorage } from './gpu-ops.ts';
import { MAX_PARAMS } from './quirks.ts';

export interface Def {
  readonly expr: Expr;
  readonly storage: GpuStorage;
  /** Set on an in-place assignment (an optimizer's update): the defs of one call share it. */
  readonly batch?: number;
}

export interface Store {
  readonly expr: Expr;
  readonly storage: GpuStorage;
  /** An assignment written into a twin (`storage`): after the kernel, this target takes the twin's buffer. */
  readonly target?: GpuStorage;
}

/** What a kernel computes; the renderer (src/gpu/render.ts) turns it into WGSL. */
export type KernelPlan =
  /**
   * Stores of equal element count, four elements per thread; on a CPU adapter `walkers` threads
   * instead, each walking a contiguous run, where the stores read neighbouring elements (a
   * stencil's gradient: see the renderer's slidingElementwise).
   */
  | { readonly kind: 'elementwise'; readonly n: number; readonly stores: readonly Store[]; readonly loads: ReadonlyMap<Expr, GpuStorage>; readonly walkers?: number }
  /** One thread per output element; `replace` swaps a node for another (a split reduction's second pass). */
  | { readonly kind: 'rows'; readonly store: Store; readonly loads: ReadonlyMap<Expr, GpuStorage>; readonly replace?: ReadonlyMap<Expr, Expr> }
  /** P threads per output of `reduce`, each storing its partial at out[o * P + p]. */
  | {
      readonly kind: 'partials';
      readonly reduce: ReduceExpr;
      readonly P: number;
      readonly chunked: boolean;
      readonly partial: GpuStorage;
      readonly loads: ReadonlyMap<Expr, GpuStorage>;
    }
  /**
   * P threads each summing a part of `domain` for several scalar sums at once (a loss's terms over
   * one image and its shifted slices), each operand read where it lies inside the domain; thread
   * p stores reduction k's partial at partial[k * P + p] (one buffer, one binding).
   */
  | {
      readonly kind: 'siblings';
      readonly domain: readonly number[];
      readonly reduces: readonly ReduceExpr[];
      /** Elementwise stores of the domain's size, written as the walk passes each element. */
      readonly stores: readonly Store[];
      readonly P: number;
      readonly chunked: boolean;
      readonly partial: GpuStorage;
      readonly loads: ReadonlyMap<Expr, GpuStorage>;
    }
  /**
   * Running sums along `scan`'s axis, a thread per chunk of SCAN_CHUNK elements of a line, its
   * operand computed inline: `out` gets each chunk's total ('totals') or the sums themselves,
   * each chunk starting from the scanned total of the chunks before it (`offsets`).
   */
  | {
      readonly kind: 'scan';
      readonly scan: ScanExpr;
      readonly totals: boolean;
      readonly out: GpuStorage;
      readonly offsets: GpuStorage | null;
      readonly loads: ReadonlyMap<Expr, GpuStorage>;
    }
  /** `scatter`'s values added into `out` (which holds its target), a thread per value. */
  | { readonly kind: 'scatter'; readonly scatter: ScatterExpr; readonly out: GpuStorage; readonly loads: ReadonlyMap<Expr, GpuStorage> }
  /**
   * P threads walking the rows of an axis of length N (src/gpu/walks.ts): row stores, and the
   * partials of each reduction at partial[offset + q * P + p], all reductions in one buffer (one
   * binding: a binding per reduction left no room for the rows a step keeps, such as its output image).
   */
  | {
      readonly kind: 'walk';
      readonly N: number;
      readonly P: number;
      readonly chunked: boolean;
      readonly rows: readonly Store[];
      readonly partials: readonly { readonly reduce: ReduceExpr; readonly axis: number; readonly offset: number }[];
      readonly partial: GpuStorage;
      readonly loads: ReadonlyMap<Expr, GpuStorage>;
    };

export interface ScheduleHost {
  /**
   * Scratch memory for a stored node nobody holds, or for the twin of assignment target `twinOf`;
   * freed by the caller after the kernels are recorded.
   */
  scratch(elements: number, twinOf?: GpuStorage): GpuStorage;
  readonly maxBindings: number;
  readonly isSoftware: boolean;
  /** Whether an assignment to `target` may write into a twin buffer that the target then takes over (rule 7). */
  twinnable(target: GpuStorage): boolean;
}

/** A map read through a broadcast this many times per element or more is stored (rule 2). */
const SPREAD_STORE = 64;
/** Threads worth launching for a reduction with few outputs (below this, rule 4 splits it). */
const TARGET_THREADS = 16384;
const MAX_PARTIALS = 1024;
/** A map read by two kernels is stored when computing it reads this many values. */
const HEAVY_LOADS = 8;

/** Kernels, in the order they must be recorded, that compute every definition still held. */
export function schedule(defs: readonly Def[], host: ScheduleHost): KernelPlan[] {
  // Rule 1: the roots. Assignments always run.
  const stored = new Map<Expr, GpuStorage>();
  const extraStores: Store[] = [];
  const batches = new Map<number, Store[]>();
  const assigns = new Set<Expr>();
  for (const d of defs) {
    if (d.batch !== undefined) {
      if (stored.has(d.expr)) throw new Error('internal: an assignment of a value that is stored elsewhere');
      stored.set(d.expr, d.storage);
      assigns.add(d.expr);
      batches.set(d.batch, [...(batches.get(d.batch) ?? []), d]);
    } else if (d.storage.refs > 0) {
      if (stored.has(d.expr)) extraStores.push(d);
      else stored.set(d.expr, d.storage);
    }
  }
  if (!stored.size) return [];
  // Rule 2b: a running sum or a scatter is stored, by kernels of its own (scanPlans; a copy of the
  // scatter's target, then its adds), which compute their operands inline.
  for (const e of reachable([...stored.keys()])) if ((e.op === 'scan' || e.op === 'scatter') && !stored.has(e)) stored.set(e, host.scratch(e.size));

  // Rule 7: each thread of an assignment kernel writes its own elements, so what it reads of a
  // storage the kernel assigns must be those elements, or the old values must stay where they are.
  // When an operand reads another element (a neighbour through a slice's gradient, a transpose, a
  // broadcast), the kernel writes the new values into a twin buffer that the target then takes over
  // (double buffering: one pass, no stored operand). Where the target must keep its buffer, the
  // whole operand (a gradient, not each read: one buffer, not one per read) is stored first.
  const twins = new Map<Expr, GpuStorage>();
  for (const batch of batches.values()) {
    const targets = new Set(batch.map((st) => st.storage));
    const moved = [...new Set(batch.flatMap(({ expr }) => children(expr).filter((c) => !stored.has(c) && readsMoved(c, stored, targets))))];
    if (!moved.length) continue;
    const read = batch.filter((st) => moved.some((c) => readsMoved(c, stored, new Set([st.storage]))));
    if (read.every((st) => host.twinnable(st.storage))) for (const st of read) twins.set(st.expr, host.scratch(st.storage.length, st.storage));
    else for (const c of moved) stored.set(c, host.scratch(c.size));
  }
  /** How an assignment (or any stored node) is written: into its twin when it has one. */
  const storeOf = (e: Expr): Store => {
    const twin = twins.get(e);
    return twin ? { expr: e, storage: twin, target: stored.get(e)! } : { expr: e, storage: stored.get(e)! };
  };

  // The walk (src/gpu/walks.ts): its reductions' finished values are stored, what they read across
  // the walked axis is stored before it, and what depends on them runs after it.
  const batchOf = new Map<Expr, Expr[]>();
  for (const stores of batches.values()) for (const st of stores) batchOf.set(st.expr, stores.map((x) => x.expr));
  let walk = findWalk(stored, assigns, batchOf, host.maxBindings);
  for (let shared = walk && sharedWithWalk(walk, stored); shared?.length; shared = walk && sharedWithWalk(walk, stored)) {
    for (const r of shared) stored.set(r, host.scratch(r.size));
    walk = findWalk(stored, assigns, batchOf, host.maxBindings);
  }
  const walkRows = new Set(walk?.rows);
  const walkPos = walk ? Math.max(...walk.rows.map((e) => e.id), ...[...walk.reduces.keys()].map((r) => r.id)) : -1;
  if (walk) {
    for (const b of walk.before) if (!stored.has(b)) stored.set(b, host.scratch(b.size));
    for (const r of walk.reduces.keys()) if (!stored.has(r)) stored.set(r, host.scratch(r.size));
    for (const [id, stores] of batches) {
      const rest = stores.filter((st) => !walkRows.has(st.expr));
      if (rest.length) batches.set(id, rest);
      else batches.delete(id);
    }
  }
  /**
   * Where a node runs among the queued ones: its own place, or just after the walk if it depends
   * on it. Nodes older than the walk's newest member that depend on it keep their creation order
   * (a topological order) inside (walkPos + 0.5, walkPos + 1): one shared place would leave their
   * order to the stored map's, where rule 2 adds scratch reductions readers first.
   */
  const pos = (e: Expr) => {
    if (walkRows.has(e) || walk?.reduces.has(e as ReduceExpr)) return walkPos;
    if (!walk?.after.has(e)) return e.id;
    return e.id > walkPos ? e.id + 0.5 : walkPos + 0.5 + (0.5 * e.id) / (walkPos + 1);
  };
  /** Each batch at the place of its newest node: what was queued before it reads the old values. */
  const batchAt = [...batches.values()].map((stores) => ({ id: Math.max(...stores.map((st) => pos(st.expr))), stores }));

  // Rule 2: parents before children (ids descend), counting readers and broadcast reads.
  const nodes = reachable([...stored.keys()]);
  const rowLocal = rowLocalReductions(stored, (e) => walkRows.has(e) || !!walk?.reduces.has(e as ReduceExpr));
  const uses = new Map<Expr, number>();
  /** Nodes read through a broadcasting view: the most elements a reader spreads each one over. */
  const spread = new Map<Expr, number>();
  for (const e of nodes) {
    // What the walk computes inline counts only the readers outside it.
    if (walk?.inline.has(e) || walkRows.has(e) || walk?.reduces.has(e as ReduceExpr)) continue;
    const fan = spread.get(e) ?? 0;
    if (!stored.has(e) && e.op === 'reduce' && ((uses.get(e) ?? 0) > 1 || fan > 0) && !rowLocal.has(e)) stored.set(e, host.scratch(e.size));
    // A small map of real operands spread over many elements (a palette's sigmoid read at every
    // pixel) is computed once and loaded, not once per element that reads it.
    // (Constants alone, a loss term's weight times the gradient seed, cost less than a load: inlined.)
    if (!stored.has(e) && e.op === 'map' && fan >= SPREAD_STORE * e.size && loadSites(e, stored) > 0) stored.set(e, host.scratch(e.size));
    // A take reads its table anywhere: a small one (a lookup table) spreads like a broadcast.
    const fans = (e.op === 'view' && broadcasts(e)) || (e.op === 'take' && e.x.size < e.size);
    const spreads = !stored.has(e) && (fan > 0 || fans);
    const reach = fans ? Math.max(fan, e.size) : fan;
    for (const c of new Set(children(e))) {
      uses.set(c, (uses.get(c) ?? 0) + 1);
      // (A take's index is read once per element, as a map's operand.)
      const r = e.op === 'take' && c === e.index ? fan : reach;
      if (spreads && r > 0) spread.set(c, Math.max(spread.get(c) ?? 0, r));
    }
  }

  // A map that reads many values and that two kernels would compute inline (a softmax's incoming
  // gradient, gathered from each neighbour's smoothness term, read by the softmax's row sum and by
  // the optimizer's update) is stored once.
  // (One optimizer call's assignments are one kernel: its gradient, read by each update, counts once.)
  const inlinedBy = new Map<Expr, Set<Expr>>();
  for (const root of stored.keys()) {
    if (walkRows.has(root) || walk?.reduces.has(root as ReduceExpr)) continue;
    const kernel = batchOf.get(root)?.[0] ?? root;
    for (const e of region(root, stored).nodes) if (e !== root && e.op === 'map') inlinedBy.set(e, (inlinedBy.get(e) ?? new Set()).add(kernel));
  }
  // Newest first: what a stored map computes inline is no longer computed by the two kernels.
  const covered = new Set<Expr>();
  for (const [e, by] of [...inlinedBy].sort((a, b) => b[0].id - a[0].id)) {
    if (by.size < 2 || covered.has(e) || stored.has(e) || loadSites(e, stored) < HEAVY_LOADS) continue;
    stored.set(e, host.scratch(e.size));
    for (const x of region(e, stored).nodes) covered.add(x);
  }

  // Limits: a node whose inlined region binds or passes too much stores the largest part of it
  // that fits one kernel first, until the rest fits too.
  for (let changed = true; changed; ) {
    changed = false;
    for (const e of [...stored.keys()]) {
      if (walkRows.has(e) || walk?.reduces.has(e as ReduceExpr)) continue;
      const r = region(e, stored);
      if (r.bindings.size + 1 <= host.maxBindings && r.params <= MAX_PARAMS) continue;
      const cut = largestFitting(e, stored, host.maxBindings);
      if (!cut) throw new Error(`internal: one ${e.op} node needs ${r.bindings.size + 1} bindings and ${r.params} parameters`);
      stored.set(cut, host.scratch(cut.size));
      changed = true;
    }
  }

  // An assignment's inlined reductions (a gradient nobody holds any more) are stored before it:
  // the assignment itself is one elementwise pass.
  for (const e of assigns) for (const r of walkRows.has(e) ? [] : region(e, stored).reduces) stored.set(r, host.scratch(r.size));

  // Rule 6: a stored node queued after an assignment that inlines a read of the assigned
  // storage's old values stores that read first (it was queued before, and runs before).
  for (let changed = true; changed; ) {
    changed = false;
    for (const e of [...stored.keys()]) {
      if (assigns.has(e) || walkRows.has(e) || walk?.reduces.has(e as ReduceExpr)) continue;
      const before = new Set(batchAt.filter((b) => b.id < pos(e)).flatMap((b) => b.stores.map((st) => st.storage)));
      if (!before.size) continue;
      for (const reader of oldReads(e, stored, before)) {
        stored.set(reader, host.scratch(reader.size));
        changed = true;
      }
    }
  }

  // Rules 3-5, in creation order (a topological order), phase by phase.
  const plans: KernelPlan[] = [];
  const loadsFor = (own: ReadonlySet<Expr>) => new Map([...stored].filter(([e]) => !own.has(e)));
  interface Group {
    readonly n: number;
    readonly stores: Store[];
    readonly members: Set<Expr>;
    bindings: Set<unknown>;
    params: number;
  }
  const open = new Map<number, Group>();
  const groupOf = new Map<Expr, Group>();
  const close = (g: Group) => {
    if (open.get(g.n) !== g) return;
    open.delete(g.n);
    plans.push({ kind: 'elementwise', n: g.n, stores: g.stores, loads: loadsFor(g.members) });
  };
  const closeAll = () => {
    for (const g of [...open.values()]) close(g);
  };
  const place = (e: Expr, storage: GpuStorage) => {
    const group = open.get(e.size);
    // Members of the group e may join are inlined only if it joins: a reduction loads them.
    const joins = e.op !== 'scan' && e.op !== 'scatter' && !region(e, stored).reduces.length;
    const r = region(e, stored, joins ? group?.members : undefined);
    // A stored node this one reads must be recorded first, unless it is a member of the group e joins.
    for (const dep of r.loads) {
      const g = groupOf.get(dep);
      if (g && !(joins && g === group)) close(g);
    }
    if (e.op === 'scan') {
      plans.push(...scanPlans(e, storage, loadsFor(new Set([e])), host));
      return;
    }
    if (e.op === 'scatter') {
      // The target copied (its producers inline), then the values added into the copy.
      const loads = loadsFor(new Set([e]));
      if (e.size) plans.push({ kind: 'elementwise', n: e.size, stores: [{ expr: e.target, storage }], loads }, { kind: 'scatter', scatter: e, out: storage, loads });
      return;
    }
    if (!joins) {
      plans.push(...reductionPlans({ expr: e, storage }, r.reduces, stored, host));
      return;
    }
    let g = open.get(e.size);
    if (g) {
      const bindings = new Set([...g.bindings, ...r.bindings]);
      if (bindings.size + g.stores.length + 1 > host.maxBindings || g.params + r.params > MAX_PARAMS) {
        close(g);
        g = undefined;
      } else {
        g.bindings = bindings;
        g.params += r.params;
      }
    }
    if (!g) {
      // Reads of the closed group's members now go through memory.
      const fresh = region(e, stored);
      g = { n: e.size, stores: [], members: new Set(), bindings: fresh.bindings, params: fresh.params };
      open.set(e.size, g);
    }
    g.stores.push({ expr: e, storage });
    g.members.add(e);
    groupOf.set(e, g);
  };
  const roots = [...stored.keys()].filter((e) => !assigns.has(e) && !walkRows.has(e) && !walk?.reduces.has(e as ReduceExpr));
  const items: { id: number; e: Expr | null; stores: Store[] | null }[] = [
    ...roots.map((e) => ({ id: pos(e), e, stores: null })),
    ...batchAt.map((b) => ({ ...b, e: null })),
    ...(walk ? [{ id: walkPos, e: null, stores: null }] : []),
  ].sort((a, b) => a.id - b.id || +(a.e !== null || a.stores !== null) - +(b.e !== null || b.stores !== null));
  for (const item of items) {
    if (!item.e && !item.stores) {
      closeAll();
      plans.push(...walkPlans(walk!, stored, host, storeOf));
      continue;
    }
    if (item.e) {
      place(item.e, stored.get(item.e)!);
      continue;
    }
    // One optimizer call's assignments in one kernel, after everything queued before it: every
    // thread reads its element's old values, then writes.
    closeAll();
    const stores = item.stores!.map((st) => storeOf(st.expr));
    const n = stores[0]!.expr.size;
    for (const st of stores) {
      if (st.expr.size !== n || region(st.expr, stored).reduces.length) throw new Error('internal: an assignment batch must be elementwise over one size');
    }
    plans.push({ kind: 'elementwise', n, stores, loads: loadsFor(new Set(stores.map((st) => st.expr))) });
  }
  closeAll();
  for (const s of extraStores) plans.push({ kind: 'elementwise', n: s.expr.size, stores: [s], loads: loadsFor(new Set()) });
  const merged = mergeSiblings(
    plans.filter((p) => p.kind !== 'elementwise' || p.n > 0),
    stored,
    host.maxBindings,
  );
  return merged.map((p) => {
    if (p.kind !== 'elementwise' || p.n < TARGET_THREADS) return p;
    const w = elementwiseWalkers(host, partialThreads(1, p.n));
    return w === undefined ? p : { ...p, walkers: w };
  });
}

/**
 * A running sum's kernels: one pass over each line in chunks when it has one chunk; else each
 * chunk's total, the totals' own running sums (recursively), then each chunk again from its offset.
 */
function scanPlans(e: ScanExpr, out: GpuStorage, loads: ReadonlyMap<Expr, GpuStorage>, host: ScheduleHost): KernelPlan[] {
  if (e.size === 0) return [];
  const [O, L, I] = around(e.shape, e.axis);
  const NC = Math.ceil(L / SCAN_CHUNK);
  if (NC === 1) return [{ kind: 'scan', scan: e, totals: false, out, offsets: null, loads }];
  const totals = host.scratch(O * I * NC);
  const offsets = host.scratch(O * I * NC);
  const inner = scanExpr(src(totals, [O * I, NC]), 1, false);
  return [
    { kind: 'scan', scan: e, totals: true, out: totals, offsets: null, loads },
    ...scanPlans(inner, offsets, new Map(), host),
    { kind: 'scan', scan: e, totals: false, out, offsets, loads },
  ];
}

/** The walk kernel, then one finishing kernel per reduction that stores its value. */
function walkPlans(walk: Walk, stored: ReadonlyMap<Expr, GpuStorage>, host: ScheduleHost, storeOf: (e: Expr) => Store): KernelPlan[] {
  const members = new Set<Expr>([...walk.rows, ...walk.reduces.keys()]);
  const loads = new Map([...stored].filter(([e]) => !members.has(e)));
  const { P, chunked } = walkShape(host, walkers(host, walk.N, walk.rowElements));
  let total = 0;
  const partials = [...walk.reduces].map(([reduce, axis]) => {
    total += reduce.size * P;
    return { reduce, axis, offset: total - reduce.size * P };
  });
  const partial = host.scratch(total);
  const plans: KernelPlan[] = [{ kind: 'walk', N: walk.N, P, chunked, rows: walk.rows.map(storeOf), partials, partial, loads }];
  for (const { reduce, offset } of partials) {
    const finish = finished(reduce, partial, total, P, offset);
    plans.push({ kind: 'rows', store: { expr: reduce, storage: stored.get(reduce)! }, loads: new Map(), replace: new Map([[reduce, finish]]) });
  }
  return plans;
}

/**
 * What the walk computes inline that kernels outside it read too, to be stored before the walk
 * (which then loads it): the reductions (a softmax's row max and row sum), and the value built
 * on a reduction that the most outside nodes read, if two or more do (the softmax's weights, read by the
 * smoothness terms at each neighbour). Each outside reader would otherwise recompute them at every
 * element it reads: the demo's objective from plain ops spent 210 of 350 ms recomputing the
 * softmax of every neighbour.
 */
function sharedWithWalk(walk: Walk, stored: ReadonlyMap<Expr, GpuStorage>): Expr[] {
  const found = new Set<Expr>();
  const readers = new Map<Expr, Set<Expr>>();
  const seen = new Set<Expr>();
  const stack = [...stored.keys()].filter((e) => !walk.rows.includes(e) && !walk.reduces.has(e as ReduceExpr));
  while (stack.length) {
    const e = stack.pop()!;
    if (seen.has(e)) continue;
    seen.add(e);
    for (const c of children(e)) {
      if (stored.has(c) || walk.reduces.has(c as ReduceExpr)) continue;
      if (c.op === 'reduce' && walk.inline.has(c)) found.add(c);
      else stack.push(c);
      if (c.op === 'map' && walk.inline.has(c)) readers.set(c, new Set(readers.get(c)).add(e));
    }
  }
  const onReduction = (c: Expr) => {
    const r = region(c, stored);
    return r.reduces.length > 0 || [...r.loads].some((l) => l.op === 'reduce');
  };
  const shared = [...readers].filter(([c, r]) => r.size > 1 && onReduction(c));
  const most = shared.sort((a, b) => b[1].size - a[1].size || b[0].id - a[0].id)[0];
  return [...found, ...(most ? [most[0]] : [])];
}

/** The inlined node below `root` with the most parameters whose own region fits one kernel. */
function largestFitting(root: Expr, stored: ReadonlyMap<Expr, GpuStorage>, maxBindings: number): Expr | null {
  let best: Expr | null = null;
  let bestParams = -1;
  const seen = new Set<Expr>();
  const walk = (e: Expr) => {
    if (seen.has(e) || (e !== root && stored.has(e)) || e.op === 'src') return;
    seen.add(e);
    if (e !== root) {
      const r = region(e, stored);
      if (r.bindings.size + 1 <= maxBindings && r.params <= MAX_PARAMS) {
        if (r.params > bestParams) [best, bestParams] = [e, r.params];
        return;
      }
    }
    for (const c of children(e)) walk(c);
  };
  walk(root);
  return best;
}

/**
 * Whether `root`'s inlined region reads one of `targets` through a view or pad that moves the
 * index (a reshape keeps it). Reductions are not entered: an assignment's reductions are stored
 * or finished before it writes.
 */
function readsMoved(root: Expr, stored: ReadonlyMap<Expr, GpuStorage>, targets: ReadonlySet<GpuStorage>): boolean {
  const seen = new Set<string>();
  const walk = (e: Expr, moved: boolean): boolean => {
    const key = `${e.id}:${moved}`;
    if (seen.has(key) || (e !== root && stored.has(e)) || e.op === 'reduce') return false;
    seen.add(key);
    if (e.op === 'src') return moved && targets.has(e.storage as GpuStorage);
    if (e.op === 'take') return walk(e.x, true) || walk(e.index, moved);
    const moves = e.op === 'pad' || (e.op === 'view' && !(e.base === 0 && e.size === e.x.size && isContiguous(e.shape, e.strides)));
    return children(e).some((c) => walk(c, moved || moves));
  };
  return walk(root, false);
}

/** Inlined nodes of `root`'s region that read the old values of one of `assigned`. */
function oldReads(root: Expr, stored: ReadonlyMap<Expr, GpuStorage>, assigned: ReadonlySet<GpuStorage>): Expr[] {
  const found: Expr[] = [];
  const seen = new Set<Expr>();
  const walk = (e: Expr) => {
    if (seen.has(e) || (e !== root && stored.has(e))) return;
    seen.add(e);
    if (e !== root && children(e).some((c) => c.op === 'src' && assigned.has(c.storage as GpuStorage))) {
      found.push(e);
      return;
    }
    for (const c of children(e)) walk(c);
  };
  walk(root);
  return found;
}

/**
 * The kernels for a stored node with inlined reductions (rule 4): each long outermost reduction
 * (others inlined inside its operand, such as a softmax's row sums inside a loss summed over the
 * pixels, are computed within it) as partial sums over many threads, then the node with each
 * finished in place. A scalar loss of three image-wide means (the demo's error, sparsity and
 * smoothness) otherwise ran on one thread, in a tail: 335 of a 1,470 ms step at 256 × 256.
 */
function reductionPlans(store: Store, reduces: readonly ReduceExpr[], stored: ReadonlyMap<Expr, GpuStorage>, host: ScheduleHost): KernelPlan[] {
  const loads = new Map([...stored].filter(([x]) => x !== store.expr));
  if (store.expr.size === 0) return [];
  const nested = new Set(reduces.flatMap((r) => reachable([r.x])));
  const plans: KernelPlan[] = [];
  const replace = new Map<Expr, Expr>();
  const together = siblingSums(
    reduces.filter((r) => !nested.has(r)),
    loads,
    host.maxBindings,
  );
  for (const group of together) {
    const domain = group[0]!.x.shape.map((_, d) => Math.max(...group.map((r) => r.x.shape[d]!)));
    const { P, chunked } = walkShape(host, partialThreads(1, domain.reduce((a, b) => a * b, 1)));
    const partial = host.scratch(group.length * P);
    plans.push({ kind: 'siblings', domain, reduces: group, stores: [], P, chunked, partial, loads });
    group.forEach((r, k) => {
      replace.set(r, finished(r, partial, group.length * P, P, k * P));
    });
  }
  for (const r of reduces) {
    const O = r.size;
    const Rn = r.x.size / Math.max(1, O);
    if (replace.has(r) || nested.has(r) || O >= TARGET_THREADS || Rn < 64) continue;
    const { P, chunked } = walkShape(host, partialThreads(O, Rn), r.axes.includes(r.x.shape.length - 1));
    if (P <= 1) continue;
    const partial = host.scratch(O * P);
    plans.push({ kind: 'partials', reduce: r, P, chunked, partial, loads });
    replace.set(r, finished(r, partial, O * P, P, 0));
  }
  plans.push({ kind: 'rows', store, loads, ...(replace.size ? { replace } : {}) });
  return plans;
}

/**
 * How many reads of memory computing `e` inline makes, up to HEAVY_LOADS: each source or stored
 * node read, once per path to it (a value read through four shifted views is computed four times).
 */
function loadSites(e: Expr, stored: ReadonlyMap<Expr, GpuStorage>, memo = new Map<Expr, number>()): number {
  let n = memo.get(e);
  if (n !== undefined) return n;
  n = 0;
  for (const c of children(e)) {
    n += c.op === 'src' || stored.has(c) ? 1 : loadSites(c, stored, memo);
    if (n >= HEAVY_LOADS) break;
  }
  n = Math.min(n, HEAVY_LOADS);
  memo.set(e, n);
  return n;
}

/**
 * A loss's sibling sums join a later elementwise kernel over as many elements (total variation's
 * terms and the gradient of the image they are summed over): one pass reads the image for both.
 * The sums move to that kernel's place, and the pass that finishes them right after it, when
 * nothing in between writes what the sums read or reads what the finishing pass writes, and the
 * kernel's stores read neither the sums nor anything the sums' operands read from them.
 */
function mergeSiblings(plans: KernelPlan[], stored: ReadonlyMap<Expr, GpuStorage>, maxBindings: number): KernelPlan[] {
  const reads = (roots: readonly Expr[]) => {
    const r = new Set<unknown>();
    for (const e of roots) for (const b of region(e, stored).bindings) r.add(b);
    return r;
  };
  const readsOf = (p: KernelPlan): Set<unknown> => {
    switch (p.kind) {
      case 'elementwise':
        return reads(p.stores.map((st) => st.expr));
      case 'rows':
        return reads([p.store.expr, ...(p.replace ? p.replace.values() : [])]);
      case 'siblings':
        return new Set([...reads(p.reduces), ...reads(p.stores.map((st) => st.expr))]);
      case 'partials':
        return reads([p.reduce]);
      case 'walk':
        return new Set([...reads(p.rows.map((st) => st.expr)), ...reads(p.partials.map((x) => x.reduce))]);
      case 'scan':
        return new Set([...reads([p.scan]), ...(p.offsets ? [p.offsets] : [])]);
      case 'scatter':
        return reads([p.scatter]);
    }
  };
  const writesOf = (p: KernelPlan): GpuStorage[] => {
    switch (p.kind) {
      case 'elementwise':
        return p.stores.map((st) => st.storage);
      case 'rows':
        return [p.store.storage];
      case 'siblings':
        return [p.partial, ...p.stores.map((st) => st.storage)];
      case 'partials':
        return [p.partial];
      case 'walk':
        return [...p.rows.map((st) => st.storage), p.partial];
      case 'scan':
      case 'scatter':
        return [p.out];
    }
  };
  const out = [...plans];
  for (let i = 0; i < out.length; i++) {
    const S = out[i]!;
    if (S.kind !== 'siblings' || S.stores.length) continue;
    const f = out.findIndex((p, k) => k > i && p.kind === 'rows' && S.reduces.some((r) => p.replace?.has(r)));
    if (f < 0) continue;
    const F = out[f] as Extract<KernelPlan, { kind: 'rows' }>;
    const n = S.domain.reduce((a, b) => a * b, 1);
    const sumReads = readsOf(S);
    const finishWrites = new Set<unknown>(writesOf(F));
    const finishReads = readsOf(F);
    for (let j = f + 1; j < out.length; j++) {
      const E = out[j]!;
      const candidate = E.kind === 'elementwise' && E.n === n;
      if (candidate) {
        const own = new Set<unknown>(writesOf(E));
        const eReads = readsOf(E);
        const bindings = new Set([...sumReads, ...eReads].filter((b) => !own.has(b)));
        const clean =
          ![...own].some((w) => sumReads.has(w) || finishReads.has(w)) &&
          ![...eReads].some((b) => finishWrites.has(b) || b === S.partial) &&
          bindings.size + own.size + 1 <= maxBindings &&
          footprint(S.reduces, stored).params + E.stores.reduce((k, st) => k + region(st.expr, stored).params, 0) <= MAX_PARAMS;
        if (clean) {
          const loads = new Map([...S.loads].filter(([e]) => E.loads.has(e)));
          out[j] = { ...S, stores: E.stores, loads };
          out.splice(j + 1, 0, F);
          out.splice(f, 1);
          out.splice(i, 1);
          i--;
          break;
        }
      }
      // What runs in between must not write what the sums or the finish read, nor read what they write.
      if (writesOf(E).some((w) => sumReads.has(w) || finishReads.has(w)) || [...readsOf(E)].some((b) => finishWrites.has(b) || b === S.partial)) break;
    }
  }
  return out;
}

/**
 * Reduction r finished from its partials: P per output, from element `offset` of a scratch buffer
 * of `total` elements (a walk's or a sibling group's reductions share one buffer).
 */
function finished(r: ReduceExpr, partial: GpuStorage, total: number, P: number, offset: number): Expr {
  return reshape(reduceExpr(r.fn, view(src(partial, [total]), [r.size, P], [P, 1], offset), [1]), r.shape);
}

/** Threads for each of O outputs summing Rn elements: TARGET_THREADS in all, 32 elements each at least. */
const partialThreads = (O: number, Rn: number) => Math.max(1, Math.min(MAX_PARTIALS, Math.ceil(TARGET_THREADS / O), Math.floor(Rn / 32)));

/** A sibling group takes a sum whose operand is at least this share of the group's domain. */
const SIBLING_SHARE = 0.9;

/**
 * Scalar sums over operands of one rank whose shapes nearly coincide (an image's squared error
 * and the differences of its shifted slices), grouped to be summed by one pass over their common
 * domain: each element read once for every sum, where a pass each read the image three times.
 * A sum alone is a group too: the pass reads four elements an iteration as vec4s, where the
 * partials plan read scalars (`a.sub(b).square().mean()` over 2^20 elements: 10.7 to 6.3 ms, the
 * hand-fused mseLoss 6.9).
 */
function siblingSums(reduces: readonly ReduceExpr[], stored: ReadonlyMap<Expr, GpuStorage>, maxBindings: number): ReduceExpr[][] {
  const eligible = reduces.filter((r) => r.fn === 'sum' && r.size === 1 && r.axes.length === r.x.shape.length && r.x.size >= TARGET_THREADS);
  const groups: ReduceExpr[][] = [];
  for (const r of eligible) {
    const fits = groups.find((g) => {
      const x = g[0]!.x.shape;
      if (x.length !== r.x.shape.length) return false;
      const domain = x.map((_, d) => Math.max(r.x.shape[d]!, ...g.map((m) => m.x.shape[d]!)));
      const n = domain.reduce((a, b) => a * b, 1);
      const fit = footprint([...g, r], stored);
      return [...g, r].every((m) => m.x.size >= SIBLING_SHARE * n) && fit.bindings + 1 <= maxBindings && fit.params <= MAX_PARAMS;
    });
    if (fits) fits.push(r);
    else groups.push([r]);
  }
  return groups;
}

/** The storages that computing `reduces` in one kernel binds, and the parameters it passes (an upper bound). */
function footprint(reduces: readonly ReduceExpr[], stored: ReadonlyMap<Expr, GpuStorage>): { bindings: number; params: number } {
  const all = new Set<unknown>();
  let params = 0;
  for (const r of reduces) {
    const reg = region(r, stored);
    for (const b of reg.bindings) all.add(b);
    params += reg.params;
  }
  return { bindings: all.size, params };
}

/** Every node reachable from `roots`, parents before children (descending id). */
function reachable(roots: readonly Expr[]): Expr[] {
  const seen = new Set<Expr>();
  const stack = [...roots];
  while (stack.length) {
    const e = stack.pop()!;
    if (seen.has(e)) continue;
    seen.add(e);
    stack.push(...children(e));
  }
  return [...seen].sort((a, b) => b.id - a.id);
}

/**
 * Short reductions that every kernel reading them computes a row a thread at their own row (a
 * softmax's row max and sum under a per-pixel mix [pixels, 3]): each such kernel computes them
 * once per row, in registers, where storing them took two more kernels. `skip`: roots the walk
 * computes, which rule 2 does not count as readers.
 */
function rowLocalReductions(stored: ReadonlyMap<Expr, GpuStorage>, skip: (e: Expr) => boolean): Set<Expr> {
  const local = new Set<Expr>();
  const elsewhere = new Set<Expr>();
  for (const root of stored.keys()) {
    if (skip(root)) continue;
    const inline = [...region(root, stored).nodes].filter((e): e is ReduceExpr => e !== root && e.op === 'reduce');
    if (!inline.length) continue;
    // The renderer's rows: the last axis, when it holds the whole row (the rest is 1s).
    const C = root.shape.at(-1) ?? 1;
    const rows = root.shape.length >= 2 && C <= ROW_OUTPUTS && root.size === root.shape[0]! * C ? rowReductions(root, stored) : null;
    for (const r of inline) {
      // Unrolled in the row (the renderer's UNROLL), where a row of the kernel computes it once.
      const short = r.x.size <= UNROLL * Math.max(1, r.size);
      (short && rows?.includes(r) ? local : elsewhere).add(r);
    }
  }
  for (const r of elsewhere) local.delete(r);
  return local;
}

interface Region {
  /** The nodes computed inline, `root` included. */
  readonly nodes: Set<Expr>;
  /** Storages the inlined region binds for reading. */
  readonly bindings: Set<unknown>;
  /** Stored nodes it reads from memory. */
  readonly loads: Set<Expr>;
  /** Reductions it computes inline, outermost first (not those inside another one). */
  readonly reduces: ReduceExpr[];
  readonly params: number;
}

/** What computing `root` inline reads, stopping at stored nodes (other than `root` and members of `inline`). */
function region(root: Expr, stored: ReadonlyMap<Expr, GpuStorage>, inline?: ReadonlySet<Expr>): Region {
  const r: Region = { nodes: new Set(), bindings: new Set(), loads: new Set(), reduces: [], params: 0 };
  const paramArrays = new Set<readonly number[]>();
  const seen = new Set<Expr>();
  const walk = (e: Expr, inReduce: boolean) => {
    if (seen.has(e)) return;
    seen.add(e);
    if (e !== root && stored.has(e) && !inline?.has(e)) {
      r.loads.add(e);
      r.bindings.add(stored.get(e));
      return;
    }
    r.nodes.add(e);
    if (e.op === 'src') r.bindings.add(e.storage);
    if (e.op === 'map') paramArrays.add(e.params);
    if (e.op === 'reduce' && !inReduce) r.reduces.push(e);
    for (const c of children(e)) walk(c, inReduce || e.op === 'reduce');
  };
  walk(root, false);
  // Outputs of one multi-output op share their parameter array (and their slots in a kernel).
  return { ...r, params: [...paramArrays].reduce((n, a) => n + a.length, 0) };
}
