/**
 * Schedules reused across steps: an eager training loop queues the same graph every step, with
 * new storages and new parameter values but the same structure. The scheduler and the renderer
 * are pure functions of that structure, so their kernels are recorded once per structure and
 * replayed with the step's storages, scratch buffers and parameters (slots in the recorded runs).
 *
 * The structure is a canonical code of the queued definitions and every node they reach: nodes
 * in depth-first post-order (a topological order), storages and parameter arrays numbered by first
 * appearance (so two reads of one storage stay one binding), and what the scheduler looks at
 * besides (which definitions are held, which are one optimizer call's assignments and whether
 * each may be double-buffered).
 */
import { children, type Expr } from '../ir/expr.ts';
import { type GpuStorage, type KernelRun, sizeParams } from './gpu-ops.ts';
import type { Def } from './schedule.ts';

/** A queue's structure and what fills its slots now. */
export interface Signature {
  /**
   * The structure as numbers: each node's op code and fields, every list led by its length (so
   * no two structures share an encoding). Numbers, not text: a step's signature is computed every
   * step, and formatting its shapes and ids as strings cost more than the rest of a replay.
   */
  readonly code: readonly number[];
  /** A hash of `code`: the cache's key (a hit is confirmed by comparing codes: sameStructure). */
  readonly hash: number;
  readonly storages: readonly GpuStorage[];
  readonly paramArrays: readonly (readonly number[])[];
}

/** A binding slot: one of the signature's storages, or the i-th scratch buffer of the schedule. */
type Slot = { readonly from: 'storage' | 'scratch'; readonly i: number };

interface RecordedRun {
  readonly run: KernelRun;
  readonly inputs: readonly Slot[];
  readonly outputs: readonly Slot[];
  /** The signature's parameter arrays (by index) or the run's sizes, whose concatenation is the run's parameters. */
  readonly params: readonly (number | readonly number[])[];
  readonly swaps: readonly (readonly [Slot, Slot])[];
}

export interface RecordedSchedule {
  /** The structure it was built for (Signature.code). */
  readonly code: readonly number[];
  /** Elements of each scratch buffer, in allocation order, and the storage slot it is the twin of (-1: none). */
  readonly scratch: readonly { readonly n: number; readonly twinOf: number }[];
  readonly runs: readonly RecordedRun[];
}

const slotOf = <K>(m: Map<K, number>, k: K): number => {
  let i = m.get(k);
  if (i === undefined) {
    i = m.size;
    m.set(k, i);
  }
  return i;
};

const OP_CODES: Readonly<Record<Expr['op'], number>> = { src: 1, map: 2, reduce: 3, view: 4, pad: 5, iota: 6, take: 7, scan: 8, scatter: 9 };

export function signature(defs: readonly Def[], context: readonly number[], twinnable: (target: GpuStorage) => boolean): Signature {
  const local = new Map<Expr, number>();
  const storages = new Map<GpuStorage, number>();
  const params = new Map<readonly number[], number>();
  const batches = new Map<number, number>();
  const code: number[] = [context.length, ...context];
  const list = (xs: readonly number[]) => {
    code.push(xs.length);
    for (const x of xs) code.push(x);
  };
  const at = (e: Expr) => code.push(local.get(e)!);
  const encode = (e: Expr) => {
    local.set(e, local.size);
    code.push(OP_CODES[e.op]);
    list(e.shape);
    switch (e.op) {
      case 'src':
        code.push(slotOf(storages, e.storage as GpuStorage));
        break;
      case 'map':
        code.push(e.t.id, e.j, slotOf(params, e.params), e.params.length, e.inputs.length);
        for (const x of e.inputs) at(x);
        break;
      case 'reduce':
        code.push(e.fn === 'sum' ? 0 : 1);
        list(e.axes);
        at(e.x);
        break;
      case 'view':
        list(e.strides);
        code.push(e.base);
        at(e.x);
        break;
      case 'pad':
        list(e.before);
        at(e.x);
        break;
      case 'iota':
        code.push(e.axis);
        break;
      case 'take':
        code.push(e.axis);
        at(e.x);
        at(e.index);
        break;
      case 'scan':
        code.push(e.axis, +e.reverse);
        at(e.x);
        break;
      case 'scatter':
        code.push(e.axis);
        at(e.target);
        at(e.index);
        at(e.values);
        break;
    }
  };
  // Nodes in depth-first post-order from the definitions: operands before their users, and the
  // same order for the same structure (ids, which grow step after step, are not looked at).
  const nodes: Expr[] = [];
  const next: number[] = [];
  for (const d of defs) {
    if (local.has(d.expr)) continue;
    nodes.push(d.expr);
    next.push(0);
    while (nodes.length) {
      const top = nodes.length - 1;
      const e = nodes[top]!;
      const cs = children(e);
      const i = next[top]!;
      if (i < cs.length) {
        next[top] = i + 1;
        const c = cs[i]!;
        if (!local.has(c)) {
          nodes.push(c);
          next.push(0);
        }
      } else {
        nodes.pop();
        next.pop();
        encode(e);
      }
    }
  }
  // What the scheduler looks at besides: each definition's node and storage, its optimizer call
  // (-1: none) and whether that may be double-buffered, and whether the app holds the storage.
  for (const d of defs) {
    at(d.expr);
    code.push(slotOf(storages, d.storage), d.batch === undefined ? -1 : slotOf(batches, d.batch), d.batch !== undefined && twinnable(d.storage) ? 1 : 0, d.storage.refs > 0 ? 1 : 0);
  }
  return { code, hash: hashOf(code), storages: [...storages.keys()], paramArrays: [...params.keys()] };
}

/** 32-bit FNV-1a over the numbers (which are integers below 2^32 in magnitude). */
function hashOf(code: readonly number[]): number {
  let h = 0x811c9dc5;
  for (const x of code) h = Math.imul(h ^ x, 0x01000193);
  return h >>> 0;
}

/** Whether a recorded schedule was built for this signature's structure (equal hashes may differ). */
export function sameStructure(rec: RecordedSchedule, sig: Signature): boolean {
  const a = rec.code;
  const b = sig.code;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * The runs a fresh schedule rendered, as slots to refill; null where a run binds a storage or reads
 * a parameter array the signature does not name (never expected; such a queue is just not cached).
 */
export function record(runs: readonly KernelRun[], sig: Signature, scratch: readonly GpuStorage[]): RecordedSchedule | null {
  const storageSlot = new Map(sig.storages.map((s, i) => [s, i]));
  const scratchSlot = new Map(scratch.map((s, i) => [s, i]));
  const paramSlot = new Map(sig.paramArrays.map((a, i) => [a, i]));
  const slot = (s: GpuStorage): Slot | null => {
    const i = storageSlot.get(s);
    if (i !== undefined) return { from: 'storage', i };
    const j = scratchSlot.get(s);
    return j === undefined ? null : { from: 'scratch', i: j };
  };
  const out: RecordedRun[] = [];
  for (const run of runs) {
    const inputs = run.inputs.map(slot);
    const outputs = run.outputs.map(slot);
    const params = (run.paramArrays ?? []).map((a) => paramSlot.get(a) ?? (sizeParams.has(a) ? a : -1));
    const swaps = (run.swaps ?? []).flatMap(([t, w]) => [slot(t), slot(w)]);
    if ([...inputs, ...outputs, ...swaps].includes(null) || params.includes(-1)) return null;
    if ((run.paramArrays ?? []).flat().length !== (run.params ?? []).length) return null;
    const pairs = swaps.flatMap((x, i) => (i % 2 ? [] : [[x!, swaps[i + 1]!] as const]));
    out.push({ run, inputs: inputs as Slot[], outputs: outputs as Slot[], params, swaps: pairs });
  }
  // A twin is the scratch buffer a run swaps with its target.
  const twinOf = new Map(out.flatMap((r) => r.swaps.flatMap(([t, w]) => (t.from === 'storage' && w.from === 'scratch' ? [[w.i, t.i] as const] : []))));
  return { code: sig.code, scratch: scratch.map((s, i) => ({ n: s.length, twinOf: twinOf.get(i) ?? -1 })), runs: out };
}

/** The recorded runs with this queue's storages, scratch buffers and parameters. */
export function replay(rec: RecordedSchedule, sig: Signature, scratch: readonly GpuStorage[]): KernelRun[] {
  const fill = (s: Slot) => (s.from === 'storage' ? sig.storages[s.i]! : scratch[s.i]!);
  return rec.runs.map(({ run, inputs, outputs, params, swaps }) => ({
    ...run,
    inputs: inputs.map(fill),
    outputs: outputs.map(fill),
    params: params.flatMap((i) => (typeof i === 'number' ? sig.paramArrays[i]! : i)),
    swaps: swaps.map(([t, w]) => [fill(t), fill(w)] as const),
  }));
}
