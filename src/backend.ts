/**
 * The contract between tensors and a device: allocate, write, read, run an op's forward or
 * backward, update in place, release. One WebGPU implementation (src/gpu/) and one float64 CPU
 * reference implementation (src/cpu/); tests run the same cases against both.
 */
import type { OpDef } from './ops/op.ts';
import type { UpdateRule } from './optim/update-rule.ts';
import type { Shape } from './shape.ts';
import type { KernelList } from './gpu/capture.ts';
import type { KernelTimer } from './gpu/kernel-timer.ts';

/** A reference-counted block of device memory holding `length` float32 (or float64 on the CPU) values. */
export interface Storage {
  readonly length: number;
  /** Owners: tensors, graph nodes that saved it, gradient maps. Freed at zero. */
  refs: number;
}

/**
 * Counters of device objects created and work submitted since init (part of pg.memory()).
 * @example
 * const { dispatches, submits } = pg.memory();
 */
export interface BackendStats {
  /**
   * Buffers the device has created since init (flat in steady state).
   * @example
   * pg.memory().buffersCreated;
   */
  buffersCreated: number;
  /**
   * Bind groups created since init (cached by buffer set: flat in steady state).
   * @example
   * pg.memory().bindGroupsCreated;
   */
  bindGroupsCreated: number;
  /**
   * Compute pipelines created since init (cached by WGSL text).
   * @example
   * pg.memory().pipelinesCreated;
   */
  pipelinesCreated: number;
  /**
   * Kernel schedules the fusing compiler built since init: one per distinct structure of queued
   * work, so flat in a steady loop, which replays the schedule its first step built.
   * @example
   * const before = pg.memory().schedulesBuilt;
   * step();
   * pg.memory().schedulesBuilt - before; // 0 after the first steps
   */
  schedulesBuilt: number;
  /**
   * Compute dispatches recorded since init.
   * @example
   * const before = pg.memory().dispatches;
   * step();
   * pg.memory().dispatches - before; // kernels per step
   */
  dispatches: number;
  /**
   * Queue submits since init.
   * @example
   * pg.memory().submits;
   */
  submits: number;
  /**
   * Uploads of kernel parameters (one per submit whose parameters changed since the last).
   * @example
   * pg.memory().paramWrites;
   */
  paramWrites: number;
  /**
   * Bytes of device memory held by live tensors (and optimizer state).
   * @example
   * pg.memory().bytesInUse;
   */
  bytesInUse: number;
  /**
   * Bytes of freed buffers kept for reuse; pg.releasePooled() gives them back.
   * @example
   * pg.memory().bytesPooled;
   */
  bytesPooled: number;
  /**
   * WebGPU errors nobody expected (should stay 0).
   * @example
   * pg.memory().uncapturedErrors; // 0
   */
  uncapturedErrors: number;
}

/**
 * The active device as pg.init() and pg.backend() return it: which kind, which adapter, and its
 * counters. (Its other members are the engine's contract with the device and not public.)
 * @example
 * const be = await pg.init();
 * if (be.isSoftware) console.warn(`WebGPU runs on the CPU here (${be.adapterName})`);
 */
export interface Backend {
  /**
   * 'webgpu', or 'cpu' for the float64 reference backend.
   * @example
   * pg.backend()?.kind; // 'webgpu' on WebGPU, 'cpu' on the CPU backend
   */
  readonly kind: 'webgpu' | 'cpu';
  /**
   * Adapter description (vendor, architecture), or "cpu float64 reference".
   * @example
   * pg.backend()?.adapterName;
   */
  readonly adapterName: string;
  /**
   * True where WebGPU runs on the CPU (SwiftShader, llvmpipe, WARP), and for the CPU backend.
   * @example
   * pg.backend()?.isSoftware;
   */
  readonly isSoftware: boolean;
  /**
   * The WebGPU device the webgpu backend runs on (the one passed to pg.init({ device }), or the one
   * it requested); undefined on the CPU backend. Create buffers to share with pg.fromGPUBuffer() on it.
   * @example
   * const device = pg.backend()!.device!;
   * const buffer = device.createBuffer({ size: 64, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC });
   */
  readonly device?: GPUDevice;
  /** @internal Throws LimitError when a tensor of `shape` is above what this backend can hold: called before any data for it is built. */
  checkSize(op: string, shape: Shape): void;
  /** @internal A new storage for `shape`, contents undefined. Checks device limits first. */
  allocate(op: string, shape: Shape): Storage;
  /** @internal */
  upload(op: string, shape: Shape, data: ArrayLike<number>): Storage;
  /** @internal */
  fill(op: string, shape: Shape, value: number): Storage;
  /** @internal */
  read(s: Storage, length: number): Promise<Float32Array>;
  /** @internal */
  release(s: Storage): void;
  /** @internal */
  forward<A>(op: OpDef<A>, inputs: readonly Storage[], shapes: readonly Shape[], attrs: A, outShape: Shape): Storage;
  /** @internal */
  backward<A>(op: OpDef<A>, args: BackwardArgs<A, Storage>): (Storage | null)[];
  /** @internal target += addend, elementwise, in place (gradient accumulation). */
  accumulate(target: Storage, addend: Storage): void;
  /** @internal One fused optimizer step over [param, grad, ...state], all updated in place. */
  update(rule: UpdateRule, buffers: readonly Storage[], params: readonly number[]): void;
  /** @internal Submits recorded work now. */
  flush(): void;
  /**
   * @internal
   * Submits recorded work once the current task's synchronous code has run, so a step's
   * backward(), optimizer update and the reads that follow share one submit.
   */
  flushSoon(): Promise<void>;
  /**
   * The counters behind pg.memory().
   * @example
   * pg.backend()?.stats().dispatches;
   */
  stats(): BackendStats;
  /** @internal Frees pooled memory that no tensor uses (it is kept for reuse otherwise). */
  releasePooled(): void;
  /** @internal Throws DeviceLostError (or the pending GPU error) if the device cannot be used. */
  assertUsable(op: string): void;
  /** @internal */
  destroy(): void;
  /** @internal A storage over an app's GPUBuffer, neither pooled nor destroyed by the engine (pg.fromGPUBuffer); absent where there is no GPU. */
  wrapBuffer?(fn: string, buffer: GPUBuffer, shape: Shape): Promise<Storage>;
  /** @internal The GPUBuffer behind `s` once all work recorded so far is submitted (Tensor.gpuBuffer). */
  bufferOf?(fn: string, s: Storage): GPUBuffer;
  /** @internal Starts listing (and, with timestamp queries, timing) every dispatch (pg.profile). */
  startProfile?(timer: typeof KernelTimer): void;
  /** @internal Submits, stops listing, and returns the kernels with their times once the GPU is done. */
  endProfile?(): Promise<ProfiledKernels>;
  /** @internal Recording kernels once and replaying them (pg.compile); null where every call runs eagerly. */
  readonly capture: Capturing | null;
}

/**
 * One dispatch seen by pg.profile(): the kernel's name (its pipeline's label) and its GPU time.
 * @example
 * const { kernels } = await pg.profile(() => x.mul(2).sum());
 * kernels[0]; // { name: 'fused_…', ms: 0.012 } (ms null without timestamp queries)
 */
export interface KernelTime {
  /**
   * The kernel's name, as its compute pipeline is labelled.
   * @example
   * kernels.map((k) => k.name);
   */
  readonly name: string;
  /**
   * Milliseconds between the start and end of its compute pass on the GPU; null where the device
   * has no timestamp queries.
   * @example
   * kernels.reduce((a, k) => a + (k.ms ?? 0), 0);
   */
  readonly ms: number | null;
}

/** What a backend's endProfile() gives: each dispatch, and why there are no times where there are none. */
export interface ProfiledKernels {
  readonly kernels: KernelTime[];
  /** Null when the kernels were timed; else why not. */
  readonly untimed: string | null;
}

/** Kernels a backend captured while a compiled function was traced; opaque outside the backend. */
export interface CapturedWork {
  /** Whether a captured kernel binds `s` (the capture then holds a reference to it). */
  holds(s: Storage): boolean;
  /** Whether a call may bind `arg` in place of the traced input storage `input` (no copy). */
  canBindInput(input: Storage, arg: Storage): boolean;
  /** Whether a call may have the kernels write the traced `output` into a new storage (no copy out). */
  canRebindOutput(output: Storage): boolean;
  /**
   * Rewrites, on later replays, the parameters an optimizer update passed for `target` (found by
   * the values it passed when traced); null if no captured kernel wrote `target` with them.
   */
  paramSetter(target: Storage, values: readonly number[]): ((values: readonly number[]) => void) | null;
}

export interface Capturing {
  /** Records the work queued so far, then keeps every kernel recorded until endCapture(). */
  startCapture(list: typeof KernelList): void;
  /** Records what is still queued and returns the kept kernels, which hold everything they bind. */
  endCapture(): CapturedWork;
  /** Stops keeping kernels after a failed trace, giving back what they held. */
  abortCapture(): void;
  /** Records the work queued so far (fused elementwise ops, a held-back loss). */
  recordQueued(): void;
  /** Records the captured kernels again, with their parameters as last set, binding `rebind`'s values where the trace bound its keys. */
  runCaptured(work: CapturedWork, rebind: ReadonlyMap<Storage, Storage>): void;
  releaseCaptured(work: CapturedWork): void;
  /** Records a copy of `from` into `to` (same length) after all earlier work. */
  copyStorage(from: Storage, to: Storage): void;
}

export interface ForwardArgs<A> {
  readonly shapes: readonly Shape[];
  readonly attrs: A;
  readonly outShape: Shape;
}

export interface BackwardArgs<A, S> extends ForwardArgs<A> {
  /** Saved inputs (null where the op did not save it). */
  readonly inputs: readonly (S | null)[];
  /** Saved output (null unless the op saves it). */
  readonly output: S | null;
  /** dLoss/dOutput, shape outShape. */
  readonly grad: S;
  /** Which inputs need a gradient. */
  readonly needs: readonly boolean[];
}

export const retain = <S extends Storage>(s: S): S => {
  s.refs++;
  return s;
};
