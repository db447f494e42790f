/**
 * Every WebGPU peculiarity pixelgrad depends on, in one place: flag values read lazily (never at
 * import, so importing the library works where WebGPU does not exist), the limits we request, the
 * 65,535-workgroup grid cap, and alignment rules.
 */
import { LimitError } from '../errors.ts';

/** Threads per workgroup for 1-D kernels: the WebGPU default maximum, and a multiple of every subgroup size. */
export const WORKGROUP_SIZE = 256;

/**
 * Threads per workgroup for a kernel of `threads` invocations whose threads share nothing (no
 * workgroup memory, barriers or subgroup operations): WORKGROUP_SIZE, or the next power of two
 * at or above a smaller count. On a CPU adapter every invocation of a workgroup runs, even those
 * that return at once, and a small read's latency turns on whether the work is done when the
 * browser's GPU process first looks for it: the README example's fused kernel (1 thread) made the
 * seed take 2.5-2.8 ms with 256-wide workgroups and 0.35-0.55 ms with 1-wide ones (raw: 0.4-0.7),
 * in the same page. On a GPU it only idles fewer lanes.
 */
export function workgroupFor(threads: number): number {
  return threads >= WORKGROUP_SIZE ? WORKGROUP_SIZE : 2 ** Math.ceil(Math.log2(Math.max(1, threads)));
}

/**
 * Invocations a CPU adapter runs in step as one SIMD group (SwiftShader: 4), consecutive in
 * local_invocation_index. A group runs its whole loop before the next group starts, so in a
 * grid-stride walk each of its steps jumps T items ahead: every load misses the cache and no
 * prefetcher follows. Walking one contiguous chunk per group instead (walkBounds) made the raw
 * layers step 9-27% faster at S=512 and 1024 and between 4% slower and 20% faster at S=256 (two
 * same-page browser runs), and its kernel about 2x faster in Node at S=512. A GPU keeps the grid
 * stride: a warp's loads then coalesce.
 */
export const CPU_SIMD_LANES = 4;
/**
 * On a CPU adapter, the items (vec4s or pixel groups) a per-pixel pass's thread takes (the tuner
 * sizes walks from it), and the width of such kernels' workgroups. Long chunks mean fewer partials
 * to write and sum: the raw layers step with 64 items a thread ran 15-20% faster than with 16
 * (S=256 to 1024, same page), and 128 was no faster. Narrow workgroups leave SwiftShader a dozen or more to spread over its
 * worker threads even at S=256 (768 threads).
 */
export const CPU_WALK_ITEMS = 64;
export const CPU_WALK_WIDTH = 64;

/** Dynamic uniform offsets must be multiples of minUniformBufferOffsetAlignment (256 on every adapter seen). */
export const UNIFORM_SLOT_BYTES = 256;

/** Float parameters one dispatch may pass through the uniform ring: its whole slot (a vec4 array of 16). */
export const MAX_PARAMS = UNIFORM_SLOT_BYTES / 4;

export const bufferUsage = () => ({
  storage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
  readback: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
  uniform: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
});

export const mapModeRead = () => GPUMapMode.READ;

/**
 * How long after a map starts the queue is prodded (longer waits are for long work, which the
 * browser's own timer serves). Shorter on a CPU adapter, where the prodding loop takes a core from
 * the work itself: layers at S=256 read every step took 4.8 ms a step with a 4 ms window against
 * raw's 3.3.
 */
export const PROD_WINDOW_MS = { gpu: 4, cpu: 3 } as const;
/**
 * Storage bytes bound by the work recorded since the last submit above which a read is not prodded
 * on a CPU adapter: a MiB is most of a millisecond of work there, which the browser's timer serves
 * as well, and prodding through it takes a core from that work (layers at S=256 read every step,
 * 4 MB a step, four same-page runs: prodded steps took -1% to +14% longer, +7.5% typically). Any
 * read is prodded on a GPU.
 */
export const PROD_MAX_WORK_BYTES = { gpu: Number.POSITIVE_INFINITY, cpu: 2 ** 20 } as const;
/**
 * Whether reads need prodding at all: the stall is a browser's (its GPU process polls for finished
 * work on a timer). Dawn in Node (the webgpu package) delivers map callbacks from its own event
 * pump, and there the prodding loop only slows reads: the seed example took 1.8-2.0 ms an
 * iteration prodded and 0.65-0.75 without (SwiftShader).
 */
export function readsNeedProdding(): boolean {
  const g = globalThis as { window?: unknown; document?: unknown; WorkerGlobalScope?: unknown };
  return (g.window !== undefined && g.document !== undefined) || g.WorkerGlobalScope !== undefined;
}

/** Reads left unprodded after a prodded one outlasted the window. */
const SKIP_AFTER_LONG = 4;
/** Prodded reads in a row that must outlast the window before reads go unprodded: one alone is a hiccup (a collection, a busy core), not long work. */
const LONG_READS_BEFORE_SKIP = 2;
/** Least time between two prods: often enough to beat the browser's timer, rarely enough to leave the CPU to the work. */
const PROD_GAP_MS = 0.3;

/** scheduler.postTask, where the browser has it (Chromium; not Node). */
type PostTask = (task: () => void, options: { priority: 'background' }) => Promise<unknown>;

/**
 * Chrome's GPU process looks for finished work when commands arrive and otherwise on a timer of a
 * few milliseconds, so a small readback often waits for the timer long after the GPU is done. An
 * empty submit makes it look again: while a map is pending, for its first few milliseconds only,
 * the queue gets one every PROD_GAP_MS. Seed example, one page, methods interleaved (SwiftShader,
 * two sessions): no prodding 2.3-2.4 ms, setTimeout prodding 1.8-2.0, prods at least 0.05 / 0.2 /
 * 0.4 / 0.8 / 1.2 ms apart 1.4-1.5 / 1.1-1.7 / 1.0-1.3 / 1.3 / 1.5. With the first prod one gap
 * after the map, three more sessions: gaps of 0.3 / 0.4 / 0.5 ms gave 0.93-0.96 / 1.02-1.12 /
 * 0.95-1.11. Firefox shows the same stall (jwmcglynn/donner#1161); gpuweb/gpuweb#4432 reports
 * 5-15 ms maps.
 *
 * The loop turns on background-priority tasks (scheduler.postTask) where the browser has them, so
 * that the task delivering the map itself goes first; elsewhere on MessageChannel messages (nested
 * setTimeout(0) is clamped to 4 ms). The raw seed step, four same-page sessions: turning at
 * normal priority (messages) with no prods 1.77-1.93 ms a step against 0.54-1.27 not turning at
 * all; with prods, 0.83-0.97 at normal priority and 0.34-0.63 at background priority. The
 * channel is made once: making, using and closing one per read cost 0.07 ms in Chromium.
 */
export class MapProdder {
  private start = 0;
  private last = 0;
  private channel: MessageChannel | null = null;
  private turning = false;
  /** Bumped by close(): turns queued before it do nothing. */
  private generation = 0;
  /** Reads left to leave unprodded, and whether the latest read was prodded. */
  private skip = 0;
  private prodded = false;
  /** Prodded reads in a row that outlasted the window. */
  private longInARow = 0;

  constructor(
    private readonly queue: GPUQueue,
    private readonly pending: () => boolean,
    /** PROD_WINDOW_MS for the adapter. */
    private readonly windowMs: number = PROD_WINDOW_MS.gpu,
    /** PROD_MAX_WORK_BYTES for the adapter. */
    private readonly maxWorkBytes: number = PROD_MAX_WORK_BYTES.gpu,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /**
   * A read took `ms` from its start to its data. Prodded reads that outlast the window, two in a
   * row, wait for long work, which the browser's timer serves about as well: prodding through such
   * reads only takes a CPU core from the work, which on a CPU adapter is the GPU (layers at S=256
   * read every step: 4.8 ms a step, raw 3.3). The next SKIP_AFTER_LONG reads are not prodded; then
   * one is again, to notice when reads have become short. One long read alone is a hiccup: the
   * seed example's reads take 0.6-1 ms with one of 3-5 ms every few dozen, and each such read used
   * to leave the next four to the timer (2-3 ms each). (An unprodded read says nothing: it waits
   * for the browser's timer however short its work.)
   */
  settled(ms: number): void {
    if (!this.prodded) return;
    if (ms <= this.windowMs) {
      this.longInARow = 0;
      return;
    }
    if (++this.longInARow >= LONG_READS_BEFORE_SKIP) {
      this.longInARow = 0;
      this.skip = SKIP_AFTER_LONG;
    }
  }

  /** Whether the loop still turns. */
  get running(): boolean {
    return this.turning;
  }

  /** Stops the loop and closes the channel (the backend is shutting down); a later kick starts afresh. */
  close(): void {
    this.turning = false;
    this.generation++;
    this.channel?.port1.close();
    this.channel?.port2.close();
    this.channel = null;
  }

  /**
   * A map began: opens a fresh window, first prod one gap from now. A loop still turning from an
   * earlier map is reused with the fresh window; inheriting its old one would leave a map that
   * starts late in it unprodded. Reads after a long one may go unprodded (see settled), and so
   * do reads that follow more than maxWorkBytes of work (`workBytes`: storage bound by the
   * dispatches recorded since the last submit).
   */
  kick(workBytes = 0): void {
    if (this.windowMs <= 0 || workBytes > this.maxWorkBytes) {
      this.prodded = false;
      return;
    }
    this.prodded = this.skip === 0;
    if (!this.prodded) {
      this.skip--;
      return;
    }
    this.start = this.last = this.now();
    if (this.turning) return;
    this.turning = true;
    this.next();
  }

  private next(): void {
    const generation = this.generation;
    const scheduler = (globalThis as { scheduler?: { postTask?: PostTask } }).scheduler;
    if (scheduler?.postTask) {
      void scheduler.postTask(() => this.turn(generation), { priority: 'background' }).catch(() => undefined);
      return;
    }
    this.channel ??= this.open();
    this.channel.port2.postMessage(generation);
  }

  private turn(generation: number): void {
    if (generation !== this.generation || !this.turning) return;
    const now = this.now();
    if (!this.pending() || now - this.start > this.windowMs) {
      this.turning = false;
      return;
    }
    if (now - this.last >= PROD_GAP_MS) {
      this.queue.submit([]);
      this.last = now;
    }
    this.next();
  }

  private open(): MessageChannel {
    const channel = new MessageChannel();
    channel.port1.onmessage = (e: MessageEvent<number>) => this.turn(e.data);
    // Node keeps a process alive while a port listens; the loop must not.
    (channel.port1 as MessagePort & { unref?: () => void }).unref?.();
    return channel;
  }
}
export const computeStage = () => GPUShaderStage.COMPUTE;

/** The limits worth raising above the spec defaults: big images need big bindings. */
const RAISED_LIMITS = [
  'maxBufferSize',
  'maxStorageBufferBindingSize',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxStorageBuffersPerShaderStage',
] as const;

export function requiredLimits(adapter: GPUAdapter): Record<string, number> {
  const out: Record<string, number> = {};
  for (const name of RAISED_LIMITS) out[name] = adapter.limits[name];
  return out;
}

/** Workgroup grid for `workgroups` groups: 1-D up to the per-dimension cap, then 2-D. Kernels rebuild the linear index. */
export function dispatchGrid(workgroups: number, maxPerDim: number, kernel: string): [number, number] {
  if (workgroups <= maxPerDim) return [Math.max(1, workgroups), 1];
  const y = Math.ceil(workgroups / maxPerDim);
  if (y > maxPerDim) {
    throw new LimitError(`${kernel}: needs ${workgroups} workgroups, more than the device's ${maxPerDim}² grid allows`);
  }
  return [Math.ceil(workgroups / y), y];
}

/** Round a byte count up so vec4 loads never read past a buffer's end. */
export const alignBytes = (bytes: number): number => Math.max(16, Math.ceil(bytes / 16) * 16);

/** Throws LimitError before createBuffer when a tensor could not be bound to a kernel. */
export function checkTensorBytes(op: string, bytes: number, limits: Pick<GPUSupportedLimits, 'maxStorageBufferBindingSize' | 'maxBufferSize'>, shape: readonly number[]): void {
  const cap = Math.min(limits.maxStorageBufferBindingSize, limits.maxBufferSize);
  if (alignBytes(bytes) > cap) {
    throw new LimitError(
      `${op}: a tensor of shape [${shape.join(', ')}] needs ${bytes} bytes, above this device's limit of ${cap} bytes ` +
        '(min of maxStorageBufferBindingSize and maxBufferSize). Split it into smaller tensors or use a device with larger limits.',
    );
  }
}

/** Software adapters (SwiftShader, WARP, llvmpipe) run kernels on the CPU: benchmarks label them. */
export function isSoftwareAdapter(info: GPUAdapterInfo, adapter: GPUAdapter | null): boolean {
  const fallback = (adapter as (GPUAdapter & { isFallbackAdapter?: boolean }) | null)?.isFallbackAdapter === true || (info as { isFallbackAdapter?: boolean }).isFallbackAdapter === true;
  return fallback || /swiftshader|llvmpipe|lavapipe|warp|software/i.test(`${info.vendor} ${info.architecture} ${info.device} ${info.description}`);
}
