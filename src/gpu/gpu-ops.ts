/** What an op's GPU code may do: allocate outputs, run a kernel, call another registry op. */
import type { Storage } from '../backend.ts';
import type { Expr, MapTemplate } from '../ir/expr.ts';
import type { OpDef } from '../ops/op.ts';
import type { UpdateRule } from '../optim/update-rule.ts';
import type { Shape } from '../shape.ts';
import type { PooledBuffer } from './buffer-pool.ts';

export interface GpuStorage extends Storage {
  readonly buf: PooledBuffer;
}

export interface KernelRun {
  /** Shown in errors and profiles, e.g. "mul_backward". */
  readonly name: string;
  /** Complete module from wgslModule(); pipelines are cached by this text. */
  readonly wgsl: string;
  /** Invocations needed (one workgroup per workgroup width of the module); the grid goes 2-D past 65,535 groups. */
  readonly threads: number;
  readonly inputs: readonly GpuStorage[];
  readonly outputs: readonly GpuStorage[];
  /** Up to 16 floats, read in WGSL with param(i). */
  readonly params?: readonly number[];
  /** The expressions' parameter arrays that `params` concatenates (a replayed schedule refills them: schedule-cache.ts). */
  readonly paramArrays?: readonly (readonly number[])[];
}

export interface MapRun {
  readonly template: MapTemplate;
  /** Elements of every input and output. */
  readonly n: number;
  readonly inputs: readonly GpuStorage[];
  /** Freshly allocated storages, one per template store. */
  readonly outputs: readonly GpuStorage[];
  readonly params?: readonly number[];
}

/** An optimizer update to run inside a deferred loss kernel: the rule, the state storages, its params. */
export interface FusedUpdate {
  readonly rule: UpdateRule;
  readonly state: readonly GpuStorage[];
  readonly params: readonly number[];
}

/** A parameter whose optimizer update may run inside a held-back loss, and its gradient as the loss's kernels write it. */
export interface FusableParam {
  readonly param: GpuStorage;
  readonly grad: GpuStorage;
}

/**
 * A fused loss's kernels held back until something else needs the GPU, so that optimizer updates
 * can run inside them: each parameter in `fusable` may have its update applied where its gradient
 * is computed (colorMixLoss: the weights' in the per-pixel pass, the palette's in the pass that
 * sums its gradient), the parameter read once per step. By the time the kernels are recorded a
 * gradient may have been dropped (zeroGrad), and then it is not stored at all.
 */
export interface DeferredLoss {
  /** What the kernels read, and anything else they must keep alive: held until they are recorded. */
  readonly reads: readonly GpuStorage[];
  /**
   * What they write. A map reading any of these records the loss first. Gradients here are not
   * held (a gradient must reach .grad with one owner): `record` skips any that was freed meanwhile,
   * whose memory may be someone else's.
   */
  readonly writes: readonly GpuStorage[];
  readonly fusable: readonly FusableParam[];
  /** Whether `record` can take this update for fusable[slot] (bindings and parameters fit; the backend rules out aliasing). */
  canFuse(slot: number, update: FusedUpdate): boolean;
  /** Records the kernels, with updates[slot] (if any) applied to fusable[slot].param and its state in place. */
  record(updates: readonly (FusedUpdate | null)[]): void;
}

export interface GpuOps {
  alloc(op: string, shape: Shape): GpuStorage;
  run(k: KernelRun): void;
  /** An elementwise kernel over flat storages; queued like define(). */
  map(m: MapRun): void;
  /** The expression for reading `s` as `shape` (src/ir/expr.ts): queued work is read as its own expression. */
  expr(s: GpuStorage, shape: Shape): Expr;
  /** Defines a freshly allocated `out` as `e`: queued, and compiled with its neighbours when results are needed (src/gpu/lazy.ts). */
  define(out: GpuStorage, e: Expr): void;
  /** Holds a fused loss's kernels back (see DeferredLoss); anything else that needs the GPU records them first. */
  defer(d: DeferredLoss): void;
  /** Storage buffers one kernel may bind. */
  readonly maxStorageBuffers: number;
  retain(s: GpuStorage): GpuStorage;
  release(s: GpuStorage): void;
  /** Runs another registry op's forward (e.g. sum for a reduction inside a backward). */
  forward<A>(op: OpDef<A>, inputs: readonly GpuStorage[], shapes: readonly Shape[], attrs: A, outShape: Shape): GpuStorage;
  /** The adapter has the `subgroups` feature and the device enabled it. */
  readonly subgroups: boolean;
  /**
   * The adapter is a CPU (SwiftShader and the like). One of them runs a workgroup on one core and
   * pays ~0.2-0.8 ms for each barrier in it, so kernels that finish a reduction in one workgroup
   * sum serially instead (a GPU would idle most of its lanes that way).
   */
  readonly isSoftware: boolean;
}

export type { MapTemplate };
