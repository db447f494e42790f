/**
 * The lazy queue: ops that can be written as expressions (src/ir/expr.ts) do not dispatch
 * anything when called. Each defines its output storage by an expression over its inputs' own
 * expressions, and the queue compiles what is still needed when something needs results (a
 * kernel that is not an expression, a read, a submit): the scheduler (schedule.ts) picks the
 * kernels, the renderer (render.ts) writes them. A chain of elementwise ops, broadcasts and views
 * costs one kernel; a reduction absorbs what it reads and what reads it; nothing that was disposed
 * in the meantime is ever written.
 *
 * Safety: storages read from outside the queue are retained until the emit, so their buffers
 * cannot be reused under the queued expressions; a definition is stored only while its storage is
 * alive, so a buffer freed and handed to someone else is never written. Anything that is not an
 * expression (run, read, flush) emits first, so effects happen in the order of the calls.
 */
import { type Expr, map, type MapTemplate, mapTemplate, reshape, src } from '../ir/expr.ts';
import { type Shape, sizeOf } from '../shape.ts';
import type { GpuStorage, KernelRun, MapRun } from './gpu-ops.ts';
import { renderAll } from './render.ts';
import { type Def, schedule } from './schedule.ts';
import { type RecordedSchedule, record, replay, sameStructure, signature } from './schedule-cache.ts';

/** Definitions queued before the queue compiles what it has anyway: bounds planning and shader size. */
export const MAX_QUEUED = 256;

/** Distinct queue structures whose kernels are kept for reuse. */
const MAX_SCHEDULES = 64;

/** A constant (param 0), e.g. the gradient seed of backward(). */
export const fillTemplate = (): MapTemplate => mapTemplate('fill', () => ({ name: 'fill', loads: [], lets: [], stores: ['param(0u)'], helpers: '' }));

/** What the queue needs from the backend. */
export interface LazyHost {
  /** Records a kernel without emitting the queue first. */
  dispatch(k: KernelRun): void;
  /** `twinOf`: the assignment target whose twin this is (schedule.ts, rule 7). */
  alloc(op: string, shape: Shape, twinOf?: GpuStorage): GpuStorage;
  retain(s: GpuStorage): GpuStorage;
  release(s: GpuStorage): void;
  /** Storage buffers one kernel may bind (maxStorageBuffersPerShaderStage). */
  readonly maxBindings: number;
  /** A CPU adapter (its reductions walk contiguous chunks). */
  isSoftware(): boolean;
  /** Whether an assignment to `target` may be double-buffered now (schedule.ts, rule 7). */
  twinnable(target: GpuStorage): boolean;
}

export class LazyQueue {
  private defs: Def[] = [];
  private readonly queued = new Map<GpuStorage, Def>();
  /** Storages from outside the queue that queued expressions read (retained). */
  private held = new Set<GpuStorage>();
  private batches = 0;
  /** Schedules built (not replayed) so far. */
  schedulesBuilt = 0;
  /** Recorded schedules by structure, oldest first (schedule-cache.ts). */
  private readonly schedules = new Map<number, RecordedSchedule>();

  constructor(private readonly host: LazyHost) {}

  get pending(): boolean {
    return this.defs.length > 0;
  }

  /**
   * Whether to compile what is queued before the next op: the queue is long, or it ends with a
   * step's updates. The updates wait for the next op rather than compiling at step() so that the
   * step's intermediates, still held by its tidy at step(), are freed by then and never stored;
   * they do not wait longer, so a loop that never reads keeps one step queued, not hundreds.
   */
  get due(): boolean {
    return this.defs.length >= MAX_QUEUED || this.endsWithUpdate;
  }

  /** Whether the queue ends with an optimizer's updates (a training step). */
  get endsWithUpdate(): boolean {
    return this.defs.at(-1)?.batch !== undefined;
  }

  /** The expression for storage `s` read as `shape`: a queued output's own expression, or a source. */
  expr(s: GpuStorage, shape: Shape): Expr {
    const d = this.queued.get(s);
    if (d) return d.expr.shape.length === shape.length && d.expr.shape.every((v, i) => v === shape[i]) ? d.expr : reshape(d.expr, shape);
    if (sizeOf(shape) !== s.length) throw new Error(`internal: a storage of ${s.length} read as ${shape}`);
    if (!this.held.has(s)) this.held.add(this.host.retain(s));
    return src(s, shape);
  }

  /** Defines `out` (freshly allocated) as `e`. */
  define(out: GpuStorage, e: Expr): void {
    if (e.size !== out.length) throw new Error(`internal: ${e.size} values defined into a storage of ${out.length}`);
    const d = { expr: e, storage: out };
    this.defs.push(d);
    this.queued.set(out, d);
  }

  /**
   * Overwrites `target` in place with `values` (an optimizer's update): expressions queued before
   * read the old values, those queued after read the new ones. `values[i]` goes to `targets[i]`;
   * one call's assignments are computed together, so each may read every target's old values.
   */
  assign(targets: readonly GpuStorage[], values: readonly Expr[]): void {
    const batch = this.batches++;
    targets.forEach((target, i) => {
      const e = values[i]!;
      if (e.size !== target.length) throw new Error(`internal: ${e.size} values assigned to a storage of ${target.length}`);
      // Held until the emit, whatever its owner does meanwhile.
      if (!this.held.has(target)) this.held.add(this.host.retain(target));
      const d = { expr: e, storage: target, batch };
      this.defs.push(d);
      this.queued.set(target, d);
    });
  }

  /** An elementwise template over flat storages (ops that have no shapes at hand). */
  map(m: MapRun): void {
    const shape = [m.n];
    const inputs = m.inputs.map((s) => this.expr(s, shape));
    m.outputs.forEach((out, j) => {
      this.define(out, map(m.template, inputs, m.params ?? [], j, shape));
    });
  }

  /** Records kernels for every queued definition still held. */
  emit(): void {
    if (!this.defs.length) return;
    const defs = this.defs;
    const held = this.held;
    this.clear();
    const scratch: GpuStorage[] = [];
    const isSoftware = this.host.isSoftware();
    const twinnable = (t: GpuStorage) => this.host.twinnable(t);
    const alloc = (n: number, twinOf?: GpuStorage) => {
      const s = this.host.alloc('fused intermediate', [n], twinOf);
      scratch.push(s);
      return s;
    };
    try {
      const sig = signature(defs, [+isSoftware, this.host.maxBindings], twinnable);
      const known = this.schedules.get(sig.hash);
      if (known && sameStructure(known, sig)) {
        for (const { n, twinOf } of known.scratch) alloc(n, twinOf < 0 ? undefined : sig.storages[twinOf]);
        for (const k of replay(known, sig, scratch)) this.host.dispatch(k);
        return;
      }
      this.schedulesBuilt++;
      const runs = renderAll(schedule(defs, { scratch: alloc, maxBindings: this.host.maxBindings, isSoftware, twinnable }), this.host.maxBindings);
      const rec = record(runs, sig, scratch);
      if (rec) {
        // A program that never repeats (new shapes every call) must not grow this without bound.
        // (Another structure with the same hash gives up its place.)
        this.schedules.delete(sig.hash);
        if (this.schedules.size >= MAX_SCHEDULES) this.schedules.delete(this.schedules.keys().next().value!);
        this.schedules.set(sig.hash, rec);
      }
      for (const k of runs) this.host.dispatch(k);
    } finally {
      for (const s of held) this.host.release(s);
      for (const s of scratch) this.host.release(s);
    }
  }

  /** Drops the queue without recording it (the device was lost or shut down), giving back what it held. */
  discard(): void {
    const held = this.held;
    this.clear();
    for (const s of held) this.host.release(s);
  }

  private clear(): void {
    this.defs = [];
    this.queued.clear();
    this.held = new Set();
  }
}
