/** The WebGPU implementation of the backend contract. */
import type { Backend, BackendStats, BackwardArgs, CapturedWork, Capturing, ProfiledKernels } from '../backend.ts';
import { CompileError, DeviceLostError, GpuError, InvalidArgumentError, LimitError, OutOfMemoryError, type ShaderCompileError } from '../errors.ts';
import * as ir from '../ir/expr.ts';
import type { Expr } from '../ir/expr.ts';
import type { OpDef } from '../ops/op.ts';
import { type UpdateRule, updateTemplate } from '../optim/update-rule.ts';
import { fmt, type Shape, sizeOf } from '../shape.ts';
import memoryWgsl from '../../shaders/memory.wgsl?raw';
import { BufferPool, exchange, type PoolHooks, type PooledBuffer } from './buffer-pool.ts';
import type { KernelList } from './capture.ts';
import type { GpuDeviceInfo } from './device.ts';
import type { GpuOps, GpuStorage, KernelRun, MapRun } from './gpu-ops.ts';
import type { KernelTimer } from './kernel-timer.ts';
import { fillTemplate, LazyQueue } from './lazy.ts';
import { AllocationFailures } from './out-of-memory.ts';
import { PipelineCache } from './pipeline-cache.ts';
import { alignBytes, bufferUsage, checkTensorBytes, dispatchGrid, MapProdder, mapModeRead, PROD_MAX_WORK_BYTES, PROD_WINDOW_MS, readsNeedProdding, UNIFORM_SLOT_BYTES } from './quirks.ts';
import { Recorder } from './recorder.ts';
import { fill, kernelCache, section, wgslModule } from './wgsl.ts';

/** Staging space a read group starts with: a few small reads fit in one map. */
const READ_GROUP_BYTES = 4096;

interface ReadGroup {
  readonly staging: PooledBuffer;
  /** Bytes the group's copies fill (each read 8-byte aligned, as mapAsync needs). */
  used: number;
  /** The mapped bytes, once the map has started (after the submit that carries the copies). */
  readonly mapped: Promise<{ data: Promise<ArrayBuffer> }>;
}

class WebGpuStorage implements GpuStorage {
  refs = 1;
  constructor(
    readonly buf: GpuStorage['buf'],
    readonly length: number,
  ) {}
}

/** Memoized WGSL for the engine's own kernels, keyed by a short string. */
const cached = kernelCache('engine');

export class WebGpuBackend implements Backend, GpuOps, Capturing {
  readonly kind = 'webgpu' as const;
  readonly adapterName: string;
  readonly isSoftware: boolean;
  readonly device: GPUDevice;
  /** The GPU object the device came from, kept alive with the backend (see GpuDeviceInfo.gpu). */
  private gpu: GPU | null;
  /** The engine requested the device (and destroys it at shutdown); false for an app's device. */
  private readonly ownsDevice: boolean;
  /** The device records timestamp queries. */
  private readonly timestamps: boolean;
  /** Ids of app buffers (pg.fromGPUBuffer) count down from -1, apart from the pool's. */
  private nextExternalId = -1;
  /**
   * The last storage made over each app buffer: tensors over one GPUBuffer share it while it lives,
   * and its pooled-buffer entry (its id keys bind groups) for as long as the GPUBuffer lives.
   */
  private readonly wrapped = new WeakMap<GPUBuffer, WebGpuStorage>();
  private readonly onUncapturedError: (ev: Event) => void;
  private readonly pool: BufferPool;
  private readonly readbackPool: BufferPool;
  private readonly pipelines: PipelineCache;
  private readonly recorder: Recorder;
  private readonly queue: LazyQueue;
  readonly maxStorageBuffers: number;
  private lostError: DeviceLostError | null = null;
  private pendingError: Error | null = null;
  /** Reported before pendingError: a broken kernel also makes its submit fail validation. */
  private compileError: ShaderCompileError | null = null;
  private readonly pendingReads = new Set<(e: Error) => void>();
  private uncaptured = 0;
  private readonly lost: Promise<GPUDeviceLostInfo>;
  private readonly limits: Readonly<Pick<GPUSupportedLimits, 'maxBufferSize' | 'maxStorageBufferBindingSize' | 'maxComputeWorkgroupsPerDimension'>>;
  private destroyed = false;
  readonly capture: Capturing = this;
  /** Kernels kept while a compiled function is traced. */
  private capturing: KernelList | null = null;
  /** Allocations the device could not make, and the buffers whose values they took with them. */
  private readonly failures = new AllocationFailures();

  constructor(info: GpuDeviceInfo) {
    this.device = info.device;
    this.gpu = info.gpu;
    this.ownsDevice = info.owned;
    this.timestamps = info.timestamps;
    this.adapterName = info.adapterName;
    this.isSoftware = info.isSoftware;
    this.prodder = new MapProdder(
      this.device.queue,
      () => this.mapping > 0 && !this.lostError && !this.destroyed,
      !readsNeedProdding() ? 0 : info.isSoftware ? PROD_WINDOW_MS.cpu : PROD_WINDOW_MS.gpu,
      info.isSoftware ? PROD_MAX_WORK_BYTES.cpu : PROD_MAX_WORK_BYTES.gpu,
    );
    const usage = bufferUsage();
    // Copied once into a plain object: in Dawn's Node binding every device.limits read builds a
    // fresh object and every field is a native getter; together they cost as much as the
    // writeBuffer of a small tensor.
    const l = this.device.limits;
    this.limits = {
      maxBufferSize: l.maxBufferSize,
      maxStorageBufferBindingSize: l.maxStorageBufferBindingSize,
      maxComputeWorkgroupsPerDimension: l.maxComputeWorkgroupsPerDimension,
    };
    const { maxBufferSize, maxStorageBufferBindingSize } = this.limits;
    const maxBytes = Math.floor(Math.min(maxBufferSize, maxStorageBufferBindingSize) / 16) * 16;
    const hooks: PoolHooks = {
      outOfMemory: (b, bytes, from, pool) => this.outOfMemory(b, bytes, from, pool),
      allocated: (b) => this.uploads.delete(b),
      batch: () => this.recorder.batch,
    };
    this.pool = new BufferPool(this.device, usage.storage, 'pixelgrad tensor', maxBytes, hooks);
    this.readbackPool = new BufferPool(this.device, usage.readback, 'pixelgrad readback', maxBytes, hooks);
    this.pipelines = new PipelineCache(this.device, (e: ShaderCompileError) => {
      this.compileError ??= e;
    });
    this.recorder = new Recorder(this.device);
    this.maxStorageBuffers = l.maxStorageBuffersPerShaderStage;
    this.queue = new LazyQueue({
      dispatch: (k) => this.dispatch(k),
      alloc: (op, shape, twinOf) => this.alloc(op, shape, twinOf),
      retain: (x) => this.retain(x),
      release: (x) => this.release(x),
      maxBindings: this.maxStorageBuffers,
      // Read at each emit: the walk tests switch it to check both forms on one adapter.
      isSoftware: () => this.isSoftware,
      // Not while traced (replays bind the same buffers every call), nor into an app's own buffer.
      twinnable: (t) => !this.capturing && !t.buf.external,
    });
    this.lost = this.device.lost;
    void this.device.lost.then((info) => {
      if (this.destroyed && info.reason === 'destroyed') return;
      this.lostError = new DeviceLostError(info.reason, info.message);
      this.queue.discard();
      for (const reject of this.pendingReads) reject(this.lostError);
      this.pendingReads.clear();
    });
    // On an app's device the app's own errors land here too: pixelgrad cannot tell them apart.
    this.onUncapturedError = (ev) => {
      const msg = (ev as GPUUncapturedErrorEvent).error.message;
      // A broken kernel (already reported as ShaderCompileError) also invalidates the submit that held it.
      const broken = this.pipelines.broken;
      if (broken.size && (/Invalid CommandBuffer/.test(msg) || [...broken].some((name) => msg.includes(`"${name}"`)))) return;
      // A failed allocation (reported as OutOfMemoryError to the reads it affects) also makes the
      // writes and submits that touch its buffer invalid: such errors wait for the allocation
      // checks, and count only if no allocation failed.
      if (/invalid|out of memory/i.test(msg)) {
        if (this.failures.any || this.retried) return;
        if (this.pool.checking || this.readbackPool.checking) {
          this.heldErrors.push(msg);
          void this.allocationsSettled().then(() => this.releaseHeldErrors());
          return;
        }
      }
      this.unexpected(msg);
    };
    this.device.addEventListener('uncapturederror', this.onUncapturedError);
  }

  private heldErrors: string[] = [];

  private releaseHeldErrors(): void {
    const held = this.heldErrors;
    this.heldErrors = [];
    if (!this.failures.any && !this.retried) for (const msg of held) this.unexpected(msg);
    // (The bind groups of a retried allocation's first buffer were invalid: their errors are answered now.)
    if (!this.pool.checking && !this.readbackPool.checking) this.retried = false;
  }

  private unexpected(msg: string): void {
    this.uncaptured++;
    console.error(`pixelgrad: unexpected WebGPU error: ${msg}`);
    this.pendingError ??= new GpuError(`WebGPU reported an unexpected error (please report it as a pixelgrad bug): ${msg}`);
  }

  /**
   * Uploads into buffers the device has not yet answered for: a retried allocation writes them
   * again (the first write went to a buffer that did not exist).
   */
  private readonly uploads = new Map<PooledBuffer, Float32Array>();
  /** An allocation was retried since the checks last settled: WebGPU's errors about its first buffer are expected. */
  private retried = false;

  /**
   * The pool's report that createBuffer failed. The first time, when nothing that binds the buffer
   * was submitted yet (submits wait for these answers, see flushSoon), the pool is given back and
   * the buffer allocated again, and the open batch recorded again with it: the caller never knows.
   * Otherwise (a second failure, or work already submitted) reads of what it touched reject with
   * OutOfMemoryError, and the pool is given back for the next try.
   */
  private outOfMemory(b: PooledBuffer, bytes: number, createdIn: number, pool: BufferPool): boolean {
    const batch = this.recorder.batch;
    const unsubmitted = b.lastBatch === 0 || (b.lastBatch === batch && createdIn === batch && this.recorder.canRerecord);
    if (!b.noRetry && unsubmitted && !this.lostError && !this.destroyed && !this.capturing) {
      this.retried = true;
      // Pooled buffers the open batch binds stay until it is submitted.
      const keep = (x: PooledBuffer) => x.lastBatch === batch;
      this.pipelines.forgetBuffers([...this.pool.trim(keep), ...this.readbackPool.trim(keep), b.id]);
      pool.reallocate(b);
      const data = this.uploads.get(b);
      if (data) this.device.queue.writeBuffer(b.buffer, 0, data.buffer, data.byteOffset, data.byteLength);
      if (b.lastBatch === batch) this.recorder.rerecord();
      return true;
    }
    this.uploads.delete(b);
    const error = new OutOfMemoryError(bytes, this.pool.bytesInUse, this.pool.bytesPooled + this.readbackPool.bytesPooled);
    // The batch being recorded is lost too if it already binds the buffer; later ones are marked as they bind it.
    const now = this.recorder.batch;
    this.failures.fail(b, createdIn, b.lastBatch === now ? now : now - 1, error);
    if (!this.lostError && !this.destroyed) this.releasePooled();
    return false;
  }

  assertUsable(op: string): void {
    if (this.lostError) throw new DeviceLostError(this.lostError.reason, `${op} cannot run`);
    if (this.destroyed) throw new DeviceLostError('destroyed', `${op}: this pixelgrad backend was shut down; call pg.init() again`);
  }

  checkSize(op: string, shape: Shape): void {
    checkTensorBytes(op, sizeOf(shape) * 4, this.limits, shape);
  }

  /** A fresh storage; `twinOf`'s partner buffer when free (a double-buffered update's twin, see PooledBuffer.partner). */
  alloc(op: string, shape: Shape, twinOf?: GpuStorage): GpuStorage {
    this.assertUsable(op);
    const n = sizeOf(shape);
    // A shape an op's rule let through unchecked would make the pool's byte counts NaN.
    if (!Number.isSafeInteger(n) || n < 0) throw new Error(`internal: ${op} allocated a tensor of shape [${shape.join(', ')}]`);
    checkTensorBytes(op, n * 4, this.limits, shape);
    const s = new WebGpuStorage(this.pool.acquire(n * 4, twinOf?.buf.partner), n);
    this.capturing?.fresh.add(s);
    return s;
  }

  allocate(op: string, shape: Shape): GpuStorage {
    return this.alloc(op, shape);
  }

  upload(op: string, shape: Shape, data: ArrayLike<number>): GpuStorage {
    const s = this.alloc(op, shape);
    // A constant fn made: its contents come from this write, not from a kernel.
    this.capturing?.fresh.delete(s);
    const f32 = data instanceof Float32Array ? data : Float32Array.from(data);
    // The pooled buffer may still be read by recorded, unsubmitted work; a queue write would overtake it.
    if (s.buf.lastBatch === this.recorder.batch && this.recorder.pending) this.recorder.flush();
    if (f32.length) this.device.queue.writeBuffer(s.buf.buffer, 0, f32.buffer, f32.byteOffset, f32.byteLength);
    // Kept (a copy: the caller may reuse its array) until the device says the buffer exists.
    if (f32.length && this.pool.unanswered(s.buf) && !s.buf.noRetry) this.uploads.set(s.buf, f32.slice());
    return s;
  }

  fill(op: string, shape: Shape, value: number): GpuStorage {
    const s = this.alloc(op, shape);
    if (s.length) this.map({ template: fillTemplate(), n: s.length, inputs: [], outputs: [s], params: [value] });
    return s;
  }

  retain(s: GpuStorage): GpuStorage {
    s.refs++;
    return s;
  }

  release(s: GpuStorage): void {
    if (--s.refs !== 0) return;
    // An app's buffer is the app's: bind groups naming it go (the app may destroy it), the buffer stays.
    if (s.buf.external) this.pipelines.forgetBuffers([s.buf.id]);
    else this.pool.release(s.buf);
  }

  async wrapBuffer(fn: string, buffer: GPUBuffer, shape: Shape): Promise<GpuStorage> {
    this.assertUsable(fn);
    const n = sizeOf(shape);
    const usage = buffer.usage;
    const needs = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC;
    if ((usage & needs) !== needs) {
      const missing = [(usage & GPUBufferUsage.STORAGE) === 0 ? 'STORAGE' : '', (usage & GPUBufferUsage.COPY_SRC) === 0 ? 'COPY_SRC' : ''].filter(Boolean).join(' and ');
      throw new InvalidArgumentError(
        `${fn}: buffer needs GPUBufferUsage.STORAGE (kernels bind it) and COPY_SRC (reads and pg.compile copy from it); it lacks ${missing} (usage ${usage})`,
      );
    }
    if (buffer.mapState !== 'unmapped') throw new InvalidArgumentError(`${fn}: buffer is ${buffer.mapState === 'mapped' ? 'mapped' : 'being mapped'}; unmap it first (a mapped buffer cannot be used by the GPU)`);
    const need = alignBytes(n * 4);
    if (buffer.size < need) {
      throw new InvalidArgumentError(
        `${fn}: a buffer of ${buffer.size} bytes is too small for shape ${fmt(shape)}: it needs ${need} bytes (4 per float32 element, rounded up to a multiple of 16: kernels read and write whole vec4s)`,
      );
    }
    const cap = this.limits.maxStorageBufferBindingSize;
    if (buffer.size > cap) throw new LimitError(`${fn}: a buffer of ${buffer.size} bytes is above this device's maxStorageBufferBindingSize of ${cap} bytes, so kernels cannot bind it whole`);
    // WebGPU keeps no link from a buffer to its device: binding it, in an error scope, is the check.
    const [layout] = this.pipelines.layoutFor(1, 0);
    this.device.pushErrorScope('validation');
    this.device.createBindGroup({
      layout,
      entries: [
        { binding: 0, resource: { buffer: this.recorder.ring, size: UNIFORM_SLOT_BYTES } },
        { binding: 1, resource: { buffer } },
      ],
    });
    const error = await this.device.popErrorScope().catch(() => null);
    this.assertUsable(fn);
    if (error) {
      throw new InvalidArgumentError(
        `${fn}: the buffer cannot be used on pixelgrad's device (${error.message.trim()}); create it on pg.backend().device, or pass your device to pg.init({ device })`,
      );
    }
    // One storage while it lives: the compiler tells reads and in-place writes apart by storage, and
    // a kernel must never bind one buffer twice with a write.
    const last = this.wrapped.get(buffer);
    if (last && last.refs > 0 && last.length === n) return this.retain(last);
    const buf = last?.buf ?? { buffer, bytes: buffer.size, id: this.nextExternalId--, lastBatch: 0, lastWrite: 0, poisoned: null, failed: false, noRetry: true, external: true };
    const s = new WebGpuStorage(buf, n);
    this.wrapped.set(buffer, s);
    return s;
  }

  bufferOf(fn: string, s: GpuStorage): GPUBuffer {
    this.assertUsable(fn);
    if (this.capturing) {
      this.capturing.misuse ??= new CompileError(`${fn}(): a compiled function cannot hand out GPU buffers while it is traced (a replay would not); return the tensor and call ${fn}() after the call`);
      throw this.capturing.misuse;
    }
    const known = this.failures.errorOf(s.buf);
    if (known) throw known;
    // Everything recorded so far (the tensor's own values among it) is submitted before any work the app submits next.
    this.flush();
    // An optimizer's double-buffered updates copy into it instead of replacing it.
    s.buf.shared = true;
    return s.buf.buffer;
  }

  /** The timer class comes from pg.profile(), so an app that never profiles does not bundle it. */
  startProfile(timer: typeof KernelTimer): void {
    this.assertUsable('profile');
    if (this.recorder.timer) throw new InvalidArgumentError('profile: another pg.profile() is still running; await it before starting the next');
    // Work recorded before the profile is not the profiled function's.
    this.flush();
    this.recorder.timer = new timer(this.device, this.timestamps);
  }

  async endProfile(): Promise<ProfiledKernels> {
    const timer = this.recorder.timer;
    if (!timer) throw new Error('internal: endProfile without startProfile');
    try {
      this.flush();
    } finally {
      this.recorder.timer = null;
    }
    // Done on the GPU, timed or not: the profile's wall time ends there.
    const [kernels] = await Promise.all([timer.results(), this.device.queue.onSubmittedWorkDone().catch(() => undefined)]);
    const untimed = this.timestamps
      ? null
      : this.ownsDevice
        ? `the adapter (${this.adapterName}) does not offer the 'timestamp-query' feature`
        : "the device passed to pg.init({ device }) was created without the 'timestamp-query' feature";
    return { kernels, untimed };
  }

  run(k: KernelRun): void {
    this.assertUsable(k.name);
    this.queue.emit();
    this.dispatch(k);
  }

  map(m: MapRun): void {
    this.assertUsable(m.template.name);
    if (m.n === 0) return;
    this.beforeExpressions();
    this.queue.map(m);
  }

  expr(s: GpuStorage, shape: Shape): Expr {
    return this.queue.expr(s, shape);
  }

  define(out: GpuStorage, e: Expr): void {
    this.queue.define(out, e);
  }

  /**
   * Called before an op builds expressions: nothing may be recorded while it does (its expressions
   * point into the queue). A long queue, or one that ends with a step's updates, is compiled here
   * (not between one step's update() calls, which stay together).
   */
  private beforeExpressions(): void {
    if (!this.queue.due) return;
    const step = this.queue.endsWithUpdate;
    this.queue.emit();
    // A loop of steps in one task (several steps, then one read): each step's kernels go to the
    // GPU as the next step starts recording, so the GPU computes one step while JS records the
    // next, instead of waiting for the whole loop. Not while new buffers await WebGPU's answer
    // (their work must stay unsubmitted so a failed allocation can be retried), nor in a trace.
    if (step && !this.capturing && !this.pool.checking && !this.readbackPool.checking) this.flush();
  }

  /** Records one kernel (queued maps first go through run()). */
  private dispatch(k: KernelRun): void {
    if (k.threads === 0) return;
    const p = this.pipelines.pipeline(k.name, k.wgsl, k.inputs.length, k.outputs.length);
    const bufs = [...k.inputs, ...k.outputs].map((s) => s.buf);
    const bg = this.pipelines.bindGroup(p, this.recorder.ring, bufs);
    const [x, y] = dispatchGrid(Math.ceil(k.threads / p.workgroupSize), this.limits.maxComputeWorkgroupsPerDimension, k.name);
    // Marked with the batch the dispatch landed in: an upload into one of these buffers waits for its submit.
    // (A traced kernel keeps its bind group for replays: a batch with one is not recorded again.)
    const rebind = this.capturing ? null : () => this.pipelines.bindGroup(p, this.recorder.ring, bufs);
    const batch = this.recorder.dispatch(p.pipeline, bg, k.params, x, y, rebind);
    for (const b of bufs) {
      b.lastBatch = batch;
      this.workBytes += b.bytes;
    }
    for (const s of k.outputs) s.buf.lastWrite = batch;
    if (this.failures.any) this.failures.propagate(k.inputs.map((s) => s.buf), k.outputs.map((s) => s.buf), batch);
    this.capturing?.add(k, p, bg, x, y);
    for (const [target, twin] of k.swaps ?? []) {
      // Double buffering (schedule.ts, rule 7): the target takes the buffer the kernel wrote. One
      // that must keep its own (the app holds it, its allocation is not confirmed yet, so a retry
      // would write its upload again) gets a copy.
      if (!this.failures.any && this.pool.canExchange(target.buf, twin.buf)) {
        exchange(target.buf, twin.buf);
        // Rebuilt, the batch's bind groups would name the exchanged buffers.
        this.recorder.pin();
      } else {
        this.recorder.copy(twin.buf, target.buf, target.length * 4);
        target.buf.lastBatch = target.buf.lastWrite = this.recorder.batch;
      }
    }
  }

  /** The list class comes from pg.compile(), so an app that never compiles does not bundle it. */
  startCapture(list: typeof KernelList): void {
    this.assertUsable('compile');
    this.queue.emit();
    this.capturing = new list((s) => this.retain(s));
  }

  endCapture(): CapturedWork {
    try {
      this.queue.emit();
    } catch (e) {
      this.abortCapture();
      throw e;
    }
    const list = this.capturing!;
    if (list.misuse) {
      this.abortCapture();
      throw list.misuse;
    }
    this.capturing = null;
    return list;
  }

  abortCapture(): void {
    try {
      // What fn queued before it failed runs, as it would have without compile, and lets go of what it holds.
      if (this.capturing && !this.lostError && !this.destroyed) this.queue.emit();
    } finally {
      this.capturing?.release((s) => this.release(s));
      this.capturing = null;
    }
  }

  recordQueued(): void {
    this.assertUsable('compiled function');
    this.queue.emit();
  }

  runCaptured(work: CapturedWork, rebind: ReadonlyMap<GpuStorage, GpuStorage>): void {
    this.assertUsable('compiled function');
    const list = work as KernelList;
    this.queue.emit();
    for (const k of list.kernels) {
      let bg = k.bindGroup;
      let storages = k.storages;
      if (rebind.size && storages.some((s) => rebind.has(s))) storages = storages.map((s) => rebind.get(s) ?? s);
      // A storage it binds changed buffers since the trace (an eager step double-buffered a
      // parameter the compiled function reads), or an argument takes a traced input's place.
      if (storages !== k.storages || k.storages.some((s, i) => s.buf.buffer !== k.buffers[i])) {
        // Cached per buffer set: a loop whose arguments and results come from the pool reuses a few.
        bg = this.pipelines.bindGroup(k.pipeline, this.recorder.ring, storages.map((s) => s.buf));
      }
      const batch = this.recorder.dispatch(k.pipeline.pipeline, bg, k.params, k.x, k.y);
      // (Inputs counted as written too: only a failed allocation's window reads lastWrite.)
      for (const s of storages) s.buf.lastBatch = s.buf.lastWrite = batch;
    }
    this.workBytes += list.bytes;
  }

  releaseCaptured(work: CapturedWork): void {
    (work as KernelList).release((s) => this.release(s));
  }

  copyStorage(from: GpuStorage, to: GpuStorage): void {
    this.assertUsable('copy');
    if (from.length !== to.length) throw new Error(`internal: copy of ${from.length} floats into ${to.length}`);
    this.queue.emit();
    const batch = this.recorder.batch;
    from.buf.lastBatch = batch;
    to.buf.lastBatch = to.buf.lastWrite = batch;
    if (from.length) this.recorder.copy(from.buf, to.buf, from.length * 4);
  }

  forward<A>(op: OpDef<A>, inputs: readonly GpuStorage[], shapes: readonly Shape[], attrs: A, outShape: Shape): GpuStorage {
    if (op.alias) return this.retain(inputs[0]!);
    this.beforeExpressions();
    const out = this.alloc(op.name, outShape);
    op.gpu.forward(this, inputs, out, { shapes, attrs, outShape });
    return out;
  }

  backward<A>(op: OpDef<A>, args: BackwardArgs<A, GpuStorage>): (GpuStorage | null)[] {
    this.assertUsable(`${op.name} backward`);
    this.beforeExpressions();
    return op.gpu.backward(this, args);
  }

  accumulate(target: GpuStorage, addend: GpuStorage): void {
    const quads = Math.ceil(target.length / 4);
    const wgsl = cached(`accumulate:${quads}`, () =>
      wgslModule({ inputs: ['addend'], outputs: ['target_'], types: { addend: 'vec4<f32>', target_: 'vec4<f32>' }, threads: quads }, fill(section(memoryWgsl, 'accumulate'), { N: quads })),
    );
    this.run({ name: 'accumulate', wgsl, threads: quads, inputs: [addend], outputs: [target] });
  }

  update(rule: UpdateRule, buffers: readonly GpuStorage[], params: readonly number[]): void {
    const [param, grad, ...state] = buffers;
    // Queued as in-place assignments: the update runs with the kernels around it, after everything
    // queued before it read the old values (src/gpu/schedule.ts, rule 6).
    this.assertUsable(rule.name);
    const shape = [param!.length];
    const t = updateTemplate(rule);
    const inputs = [grad!, param!, ...state].map((s) => this.queue.expr(s, shape));
    // The params are copied (the optimizer refills its array for the next parameter) and shared by the outputs.
    const shared = [...params];
    const values = [param!, ...state].map((_, j) => ir.map(t, inputs, shared, j));
    this.queue.assign([param!, ...state], values);
  }

  flush(): void {
    if (this.lostError) return;
    this.queue.emit();
    this.recorder.flush();
    // Submitted: reads started before this (in this task, sharing the count) have passed it to the prodder.
    this.workBytes = 0;
  }

  /** Submits commands encoded outside the recorder (image upload, canvas draw) after all recorded work; counted in submits. */
  submitAfterRecorded(commands: GPUCommandBuffer): void {
    if (this.capturing) {
      this.capturing.misuse ??= new CompileError('a compiled function cannot upload images or draw to a canvas (a replay would not do it again); do that outside the function');
      throw this.capturing.misuse;
    }
    this.flush();
    // What it wrote cannot be written again: buffers not yet known to exist are not retried.
    this.pool.pinUnanswered();
    this.device.queue.submit([commands]);
    this.recorder.submits++;
  }

  async read(s: GpuStorage, length: number, retried = false): Promise<Float32Array> {
    this.assertUsable('read');
    if (this.capturing) {
      // Thrown again by endCapture: a read's rejection is easy to leave unobserved inside a synchronous function.
      this.capturing.misuse ??= new CompileError('data(): a compiled function cannot read the GPU while it is traced (a replay would not read again); return the tensor and read it after the call');
      throw this.capturing.misuse;
    }
    this.throwPendingError();
    const known = this.failures.errorOf(s.buf);
    if (known) throw known;
    const bytes = length * 4;
    if (bytes === 0) return new Float32Array(0);
    this.queue.emit();
    // Bound in this batch: an upload into the buffer (freed and reused before the submit) must wait for the copy.
    s.buf.lastBatch = this.recorder.batch;
    const copyBatch = this.recorder.batch;
    const group = this.readGroupFor(bytes);
    const offset = group.used;
    group.used += Math.ceil(bytes / 8) * 8;
    group.staging.lastBatch = copyBatch;
    this.recorder.copy(s.buf, group.staging, bytes, offset);
    this.mapping++;
    let rejectRead!: (e: Error) => void;
    const lost = new Promise<never>((_, reject) => {
      rejectRead = reject;
    });
    // Observed now: a shutdown while this read still waits for its map (before the race below) is
    // otherwise an unhandled rejection, which ends a Node process.
    lost.catch(() => undefined);
    this.pendingReads.add(rejectRead);
    try {
      // A submit that failed fails the read (its map would see the buffer without the copy).
      const flushed = this.flushSoon();
      const [data] = await Promise.race([Promise.all([(await group.mapped).data, flushed]), lost]);
      if (this.pipelines.pendingChecks.size) await Promise.all(this.pipelines.pendingChecks);
      // Values from a buffer whose allocation (or an input's) failed are not values.
      await this.allocationsSettled();
      this.releaseHeldErrors();
      const oom = this.failures.errorOf(s.buf);
      if (oom) throw oom;
      // The copy shared a submit with work on a buffer that was never allocated, and was dropped with it.
      if (this.failures.dropped(copyBatch) && !retried) return this.read(s, length, true);
      const out = new Float32Array(data.slice(offset, offset + bytes));
      this.throwPendingError();
      return out;
    } catch (e) {
      if (e instanceof OutOfMemoryError) throw e;
      // A staging buffer that could not be allocated fails its map.
      await this.allocationsSettled();
      const oom = this.failures.errorOf(s.buf) ?? group.staging.poisoned;
      if (oom) throw oom;
      // mapAsync aborts before device.lost resolves; give the loss a moment to be recorded so the error says what happened.
      if (!this.lostError) await Promise.race([this.lost, new Promise((r) => setTimeout(r, 200))]);
      if (this.lostError) throw this.lostError;
      if (this.destroyed) throw e instanceof DeviceLostError ? e : new DeviceLostError('destroyed', 'pixelgrad was shut down while this read was pending');
      throw e;
    } finally {
      this.mapping--;
      this.pendingReads.delete(rejectRead);
    }
  }

  /**
   * The staging buffer reads recorded before the next flushSoon share (Promise.all of several
   * data() calls): their copies land side by side and one map brings them back, as a hand-written
   * step reads its results. A read that does not fit starts another.
   */
  private readGroup: ReadGroup | null = null;

  private readGroupFor(bytes: number): ReadGroup {
    const current = this.readGroup;
    if (current && current.used + bytes <= current.staging.bytes) return current;
    const staging = this.readbackPool.acquire(Math.max(bytes, READ_GROUP_BYTES));
    const work = this.workBytes;
    let resolve!: (m: ReadGroup['mapped'] extends Promise<infer T> ? T : never) => void;
    const group: ReadGroup = { staging, used: 0, mapped: new Promise((r) => { resolve = r; }) };
    this.readGroup = group;
    // Started right after the submit that carries the copies, in the same microtask (see toMap).
    // (Wrapped: a promise resolved with a promise would wait for it.)
    this.toMap.push(() => {
      try {
        const started = performance.now();
        this.prodder.kick(work);
        const used = group.used;
        const data = staging.buffer.mapAsync(mapModeRead(), 0, used).then(() => {
          this.prodder.settled(performance.now() - started);
          const copy = staging.buffer.getMappedRange(0, used).slice(0);
          staging.buffer.unmap();
          this.readbackPool.release(staging);
          return copy;
        });
        // Each read observes it; this keeps a rejection nobody awaits yet from being reported as unhandled.
        data.catch(() => undefined);
        resolve({ data });
      } catch (e) {
        resolve({ data: Promise.reject(e) });
      }
    });
    return group;
  }

  private flushing: Promise<void> | null = null;
  /**
   * Storage bytes bound by the dispatches recorded since the last submit (flush): a read that
   * follows that much work waits for it (MapProdder.kick), one after a submit most likely does not.
   */
  private workBytes = 0;
  /** Reads in flight; the prodder runs while there are any. */
  private mapping = 0;
  private readonly prodder: MapProdder;
  /**
   * Maps of reads waiting for the next flushSoon, started right after its submit in the same
   * microtask: the browser then sends the submit and the maps to its GPU process together. Started
   * a microtask later (after an await of the flush), the README example took 1.04-1.78 ms an
   * iteration against 0.82-1.14 (six same-page sessions, SwiftShader). The prodder's window opens
   * there too, at the submit rather than at the read's call: 0.95-1.40 ms against 1.12-1.69
   * (seven sessions, six of them faster).
   */
  private toMap: (() => void)[] = [];
  flushSoon(): Promise<void> {
    this.flushing ??= Promise.resolve().then(async () => {
      // A buffer this batch binds may yet turn out not to exist: the submit waits for the device's
      // answer, so that a failed allocation can be retried (outOfMemory) before anything ran on it.
      // (Only after new buffers were created: never in a steady training loop.)
      if (this.pool.checking || this.readbackPool.checking) await this.allocationsSettled();
      this.flushing = null;
      try {
        if (!this.destroyed) this.flush();
      } finally {
        const starts = this.toMap;
        this.toMap = [];
        this.readGroup = null;
        for (const s of starts) s();
      }
    });
    return this.flushing;
  }

  /** Waits for WebGPU's answer on every buffer created so far (out of memory or not). */
  private async allocationsSettled(): Promise<void> {
    if (this.pool.checking || this.readbackPool.checking) await Promise.all([this.pool.settled(), this.readbackPool.settled()]);
  }

  /** A compile or validation error seen since the last readback surfaces here, once. */
  private throwPendingError(): void {
    const e = this.compileError ?? this.pendingError;
    if (e) {
      this.compileError = null;
      this.pendingError = null;
      throw e;
    }
  }

  stats(): BackendStats {
    return {
      buffersCreated: this.pool.created + this.readbackPool.created,
      bindGroupsCreated: this.pipelines.bindGroupsCreated,
      pipelinesCreated: this.pipelines.pipelinesCreated,
      schedulesBuilt: this.queue.schedulesBuilt,
      dispatches: this.recorder.dispatches,
      submits: this.recorder.submits,
      paramWrites: this.recorder.paramWrites,
      bytesInUse: this.pool.bytesInUse,
      bytesPooled: this.pool.bytesPooled + this.readbackPool.bytesPooled,
      uncapturedErrors: this.uncaptured,
    };
  }

  /** Frees pooled buffers nobody uses (pg.memory() shows them as bytesPooled). */
  releasePooled(): void {
    // Buffers freed since recorded work bound them must outlive its submit.
    this.flush();
    this.pipelines.forgetBuffers([...this.pool.trim(), ...this.readbackPool.trim()]);
  }

  destroy(): void {
    this.destroyed = true;
    // Reads still waiting get a DeviceLostError now, not the AbortError of their map later.
    const shut = new DeviceLostError('destroyed', 'pixelgrad was shut down (pg.shutdown(), or pg.init() with another backend) while this read was pending');
    for (const reject of this.pendingReads) reject(shut);
    this.pendingReads.clear();
    this.prodder.close();
    this.queue.discard();
    this.recorder.timer = null;
    if (!this.ownsDevice) {
      // The app keeps its device: everything the engine made on it goes (app buffers stay).
      this.flush();
      this.pool.destroyAll();
      this.readbackPool.destroyAll();
      this.recorder.destroy();
      this.device.removeEventListener('uncapturederror', this.onUncapturedError);
      this.gpu = null;
      return;
    }
    // Destroyed once the GPU has finished what was submitted, and the GPU object held until then.
    // Dawn's Node binding (the webgpu package, on SwiftShader) tears down its threads when the
    // process exits; with the device destroyed while work was still in flight, that teardown
    // aborted (std::system_error, a pthread assertion) or crashed in 10 of 25 runs of the README
    // example followed by shutdown() under load, and in 0 of 25 after onSubmittedWorkDone.
    // (A lost device may never answer: after a second it is destroyed anyway.)
    const device = this.device;
    const gpu = this.gpu;
    this.gpu = null;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<void>((r) => {
      timer = setTimeout(r, 1000);
    });
    void Promise.race([device.queue.onSubmittedWorkDone().catch(() => undefined), timeout]).then(() => {
      clearTimeout(timer);
      device.destroy();
      return gpu;
    });
  }
}
