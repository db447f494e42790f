/** What an op's GPU code may do: allocate outputs, run a kernel, call another registry op. */
import type { Storage } from '../backend.ts';
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
  /** Invocations needed (one workgroup per WORKGROUP_SIZE of them); the grid goes 2-D past 65,535 groups. */
  readonly threads: number;
  readonly inputs: readonly GpuStorage[];
  readonly outputs: readonly GpuStorage[];
  /** Up to 16 floats, read in WGSL with param(i). */
  readonly params?: readonly number[];
}

/**
 * An elementwise kernel as data, so the backend can fuse a chain of them into one dispatch: each
 * output is one WGSL f32 expression of the scalar loads (one element of each input), of the `lets`
 * and of param(i). Made once per op variant by mapTemplate() (src/gpu/fusion.ts).
 */
export interface MapTemplate {
  readonly id: number;
  /** The kernel's name when it runs alone (profiles, errors). */
  readonly name: string;
  /** Scalar names of the inputs, in MapRun.inputs order. */
  readonly loads: readonly string[];
  /** Named scalar expressions the outputs may use: [name, expression]. */
  readonly lets: readonly (readonly [string, string])[];
  /** One expression per output, in MapRun.outputs order. */
  readonly stores: readonly string[];
  /** WGSL functions the expressions call (shared text, included once per kernel). */
  readonly helpers: string;
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

/**
 * A fused loss's kernels held back until something needs them, so that an optimizer step can run
 * inside them: a stage names the parameter whose gradient it writes, and an update of that
 * parameter becomes part of the stage (the parameter read once per step, its update applied where
 * its gradient is computed). Recording a stage may hold back the next one (colorMixLoss: the
 * weights' step in the per-pixel pass, then the palette's in the pass that sums its gradient).
 */
export interface DeferredLoss {
  /** What the kernels read: held until they are recorded. */
  readonly reads: readonly GpuStorage[];
  /**
   * What this stage and the ones after it write. Not held (a gradient must reach .grad with one
   * owner): `record` writes a scratch buffer instead of any that was freed meanwhile.
   */
  readonly writes: readonly GpuStorage[];
  /** The parameter an update may fuse with, and its gradient as these kernels write it. */
  readonly param: GpuStorage;
  readonly grad: GpuStorage;
  /** Whether `record` can take this update (bindings and parameters fit; the backend rules out aliasing). */
  canFuse(update: FusedUpdate): boolean;
  /** Records the kernels (with an update, applied to `param` and the state in place); returns the next stage to hold back, if any. */
  record(update: FusedUpdate | null): DeferredLoss | null;
}

export interface GpuOps {
  alloc(op: string, shape: Shape): GpuStorage;
  run(k: KernelRun): void;
  /** An elementwise kernel; the backend may defer it and fuse it with its neighbours. */
  map(m: MapRun): void;
  /** Holds a fused loss's kernels back (see DeferredLoss); anything else that needs the GPU records every stage first. */
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
