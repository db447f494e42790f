/**
 * GPU buffers pooled by size class (four classes per power of two), so a training loop reuses the
 * same buffers step after step and never calls createBuffer in steady state.
 */
import type { OutOfMemoryError } from '../errors.ts';
import { alignBytes } from './quirks.ts';

export interface PooledBuffer {
  /** Replaced once when its allocation failed and was retried (BufferPool.reallocate). */
  buffer: GPUBuffer;
  /** Size class in bytes (the buffer's real size). */
  readonly bytes: number;
  /** Stable id, used in bind-group cache keys. */
  readonly id: number;
  /** Recorder batch that last bound this buffer: a queue write to it must wait for that batch's submit. */
  lastBatch: number;
  /** Recorder batch of the last kernel that wrote this buffer (0: none since it was handed out). */
  lastWrite: number;
  /** Set when this buffer's values are known to be missing (its allocation, or an input's, failed). */
  poisoned: OutOfMemoryError | null;
  /** The device could not allocate it: destroyed on release, never handed out again. */
  failed: boolean;
  /**
   * A failed allocation of it is not retried: it was retried already, or its first contents went
   * to the GPU in a way the backend cannot repeat.
   */
  noRetry: boolean;
  /** A user's buffer (pg.fromGPUBuffer): the engine neither pools nor destroys it. */
  readonly external?: boolean;
  /** Handed to the app (t.gpuBuffer()): it keeps its GPU buffer until released. */
  shared?: boolean;
  /**
   * The buffer this one last exchanged with (a double-buffered update): its next twin, when free,
   * so a parameter's buffers alternate between two and its kernels between two bind groups.
   */
  partner?: PooledBuffer;
}

/**
 * Exchanges what two pooled buffers hold, the GPU buffer with its id and history, so every storage
 * that holds `a` now reads what was written into `b` (a double-buffered update, schedule.ts rule 7).
 */
export function exchange(a: PooledBuffer, b: PooledBuffer): void {
  const held = { ...a };
  Object.assign(a, b);
  Object.assign(b, held);
  a.partner = b;
  b.partner = undefined;
}

/** What a pool reports allocation failures to (the backend). */
export interface PoolHooks {
  /**
   * createBuffer of `bytes` failed with out-of-memory (reported after the call, asynchronously).
   * Returns true when the hook gave the pool back and allocated `b` again (see reallocate).
   */
  outOfMemory(b: PooledBuffer, bytes: number, createdInBatch: number, pool: BufferPool): boolean;
  /** The device answered that `b` is allocated. */
  allocated(b: PooledBuffer): void;
  /** The recorder batch being recorded now. */
  batch(): number;
}

export function sizeClass(bytes: number): number {
  const b = alignBytes(bytes);
  if (b <= 256) return 256;
  const step = 2 ** (Math.floor(Math.log2(b - 1)) - 2);
  return Math.ceil(b / step) * step;
}

export class BufferPool {
  private readonly free = new Map<number, PooledBuffer[]>();
  /** Every buffer this pool created and has not destroyed, in use or free (destroyAll on a device the engine does not own). */
  private readonly all = new Set<GPUBuffer>();
  private nextId = 1;
  created = 0;
  bytesInUse = 0;
  bytesPooled = 0;

  constructor(
    private readonly device: GPUDevice,
    private readonly usage: GPUBufferUsageFlags,
    private readonly label: string,
    /** Largest buffer the device can create and bind, rounded down to 16 bytes. */
    private readonly maxBytes: number,
    /** With hooks, each createBuffer runs in an 'out-of-memory' error scope that reports to them. */
    private readonly hooks: PoolHooks | null = null,
  ) {}

  /** Out-of-memory checks of created buffers that WebGPU has not answered yet. */
  private readonly checks = new Set<Promise<void>>();

  /** Resolves once every buffer created so far is known to be allocated (or reported as failed). */
  async settled(): Promise<void> {
    while (this.checks.size) await Promise.all(this.checks);
  }

  get checking(): boolean {
    return this.checks.size > 0;
  }

  /** A buffer of at least `bytes`: `prefer` when it is free and of that class, else the lowest free id, else a new one. */
  acquire(bytes: number, prefer?: PooledBuffer): PooledBuffer {
    // A size class never goes past the device's limit (limits need not be powers of two); a
    // request that close to it gets its own exact size instead.
    const cls = Math.max(alignBytes(bytes), Math.min(sizeClass(bytes), this.maxBytes));
    const list = this.free.get(cls);
    const at = prefer && list ? list.indexOf(prefer) : -1;
    const reused = at >= 0 ? list!.splice(at, 1)[0] : list?.pop();
    this.bytesInUse += cls;
    if (reused) {
      this.bytesPooled -= cls;
      reused.lastWrite = 0;
      reused.poisoned = null;
      reused.shared = false;
      return reused;
    }
    const id = this.nextId++;
    const b: PooledBuffer = { buffer: this.create(cls, id), bytes: cls, id, lastBatch: 0, lastWrite: 0, poisoned: null, failed: false, noRetry: false };
    this.check(b);
    return b;
  }

  /** Buffers whose out-of-memory check WebGPU has not answered yet. */
  private readonly waiting = new Set<PooledBuffer>();

  /** createBuffer, inside an 'out-of-memory' error scope when there are hooks (check() pops it). */
  private create(bytes: number, id: number): GPUBuffer {
    this.created++;
    if (this.hooks) this.device.pushErrorScope('out-of-memory');
    const buffer = this.device.createBuffer({ size: bytes, usage: this.usage, label: `${this.label}#${id}` });
    this.all.add(buffer);
    return buffer;
  }

  /** Pops the scope create() pushed and reports its answer to the hooks. */
  private check(b: PooledBuffer): void {
    const hooks = this.hooks;
    if (!hooks) return;
    const createdIn = hooks.batch();
    this.waiting.add(b);
    const check = this.device.popErrorScope().then(
      (e) => {
        this.checks.delete(check);
        this.waiting.delete(b);
        if (!e) hooks.allocated(b);
        else if (!hooks.outOfMemory(b, b.bytes, createdIn, this)) b.failed = true;
      },
      // The device was lost or destroyed: the loss is reported on its own.
      () => {
        this.checks.delete(check);
        this.waiting.delete(b);
      },
    );
    this.checks.add(check);
  }

  /**
   * The retry of a failed allocation: `b` gets a new GPU buffer of the same size (its id stays, so
   * caches keyed by it must forget it), checked like the first; a second failure is not retried.
   */
  reallocate(b: PooledBuffer): void {
    b.noRetry = true;
    this.all.delete(b.buffer);
    b.buffer.destroy();
    b.buffer = this.create(b.bytes, b.id);
    this.check(b);
  }

  /** Whether exchange(a, b) is safe: one size class, both known to exist, neither held outside the engine. */
  canExchange(a: PooledBuffer, b: PooledBuffer): boolean {
    const free = (x: PooledBuffer) => !x.external && !x.shared && !x.failed && !x.poisoned && !this.waiting.has(x);
    return a.bytes === b.bytes && free(a) && free(b);
  }

  /** Whether the device has not yet answered whether `b` was allocated. */
  unanswered(b: PooledBuffer): boolean {
    return this.waiting.has(b);
  }

  /** Buffers not yet known to be allocated can no longer be retried (their contents went out another way). */
  pinUnanswered(): void {
    for (const b of this.waiting) b.noRetry = true;
  }

  release(b: PooledBuffer): void {
    this.bytesInUse -= b.bytes;
    if (b.failed) {
      this.all.delete(b.buffer);
      b.buffer.destroy();
      return;
    }
    this.bytesPooled += b.bytes;
    // Kept in descending id order, so acquire() hands out the lowest free id: which buffer a step
    // gets then depends only on which are free, not on the order they were released in, so a
    // repeated step binds the same buffers and reuses its cached bind groups.
    const list = this.free.get(b.bytes);
    if (!list) {
      this.free.set(b.bytes, [b]);
      return;
    }
    let at = list.length;
    while (at > 0 && list[at - 1]!.id < b.id) at--;
    list.splice(at, 0, b);
  }

  /**
   * Destroys every pooled (not in-use) buffer, except those `keep` names (bound by work not
   * submitted yet); returns their ids so caches can forget them.
   */
  trim(keep?: (b: PooledBuffer) => boolean): number[] {
    const ids: number[] = [];
    for (const [cls, list] of this.free) {
      const kept = keep ? list.filter(keep) : [];
      for (const b of list) {
        if (kept.includes(b)) continue;
        this.all.delete(b.buffer);
        b.buffer.destroy();
        ids.push(b.id);
        this.bytesPooled -= b.bytes;
      }
      if (kept.length) this.free.set(cls, kept);
      else this.free.delete(cls);
    }
    return ids;
  }

  /** Destroys every buffer this pool created, in use or not: the engine is done with a device it does not own. */
  destroyAll(): void {
    for (const buffer of this.all) buffer.destroy();
    this.all.clear();
    this.free.clear();
    this.bytesPooled = 0;
    this.bytesInUse = 0;
  }
}
