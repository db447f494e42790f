/**
 * The kernels a compiled function recorded when it was traced (pg.compile), kept with everything
 * they bind, so that a later call records them again as they are: no graph, no fusion planning, no
 * cache lookups, only the dispatches. The list holds every storage its kernels bind, so no buffer
 * of theirs goes back to the pool (and to another tensor) while the list lives.
 */
import type { CapturedWork, Storage } from '../backend.ts';
import type { CompileError } from '../errors.ts';
import type { PooledBuffer } from './buffer-pool.ts';
import type { GpuStorage, KernelRun } from './gpu-ops.ts';

export interface CapturedKernel {
  readonly pipeline: GPUComputePipeline;
  readonly bindGroup: GPUBindGroup;
  /** The kernel's parameters, owned here: a replay may refresh some (see placeParams). */
  readonly params: number[] | undefined;
  readonly x: number;
  readonly y: number;
  readonly bufs: readonly PooledBuffer[];
  readonly outputs: readonly GpuStorage[];
}

/** Where a run of a kernel's parameters lives, so a replay can write fresh values there. */
export interface ParamSlot {
  readonly kernel: CapturedKernel;
  readonly offset: number;
}

export class KernelList implements CapturedWork {
  readonly kernels: CapturedKernel[] = [];
  /** Something the trace did that a replay cannot repeat (a read, an image upload). */
  misuse: CompileError | null = null;
  /** Storage bytes the kernels bind, for the prodder's estimate of how long a read will wait. */
  bytes = 0;
  private readonly held = new Set<GpuStorage>();

  constructor(private readonly retain: (s: GpuStorage) => void) {}

  add(k: KernelRun, pipeline: GPUComputePipeline, bindGroup: GPUBindGroup, x: number, y: number): void {
    const bufs: PooledBuffer[] = [];
    for (const s of [...k.inputs, ...k.outputs]) {
      if (!this.held.has(s)) {
        this.held.add(s);
        this.retain(s);
      }
      bufs.push(s.buf);
      this.bytes += s.buf.bytes;
    }
    this.kernels.push({ pipeline, bindGroup, params: k.params ? [...k.params] : undefined, x, y, bufs, outputs: k.outputs });
  }

  get kernelCount(): number {
    return this.kernels.length;
  }

  paramSetter(target: Storage, values: readonly number[]): ((values: readonly number[]) => void) | null {
    const slot = this.placeParams(target as GpuStorage, values);
    if (!slot) return null;
    const params = slot.kernel.params!;
    return (fresh) => {
      for (let i = 0; i < fresh.length; i++) params[slot.offset + i] = fresh[i]!;
    };
  }

  /** Whether a kernel binds this storage (so the list keeps it alive). */
  holds(s: Storage): boolean {
    return this.held.has(s as GpuStorage);
  }

  /** Kernels whose parameters an update of a storage already claimed. */
  private readonly claimed = new Map<GpuStorage, Set<CapturedKernel>>();

  /**
   * The first kernel not yet claimed for `target` that wrote it with `values` among its
   * parameters (an optimizer's update, alone or fused into a loss), and where they start: updates
   * are claimed in the order they ran, so a step unrolled in fn gets one kernel per update. Within
   * a kernel the last match wins (an update's parameters follow the kernel's own).
   */
  placeParams(target: GpuStorage, values: readonly number[]): ParamSlot | null {
    let taken = this.claimed.get(target);
    if (!taken) {
      taken = new Set();
      this.claimed.set(target, taken);
    }
    for (const kernel of this.kernels) {
      const p = kernel.params;
      if (!p || taken.has(kernel) || !kernel.outputs.includes(target)) continue;
      for (let off = p.length - values.length; off >= 0; off--) {
        if (values.every((v, i) => Object.is(p[off + i], v))) {
          taken.add(kernel);
          return { kernel, offset: off };
        }
      }
    }
    return null;
  }

  /** Gives back every storage the list held. */
  release(release: (s: GpuStorage) => void): void {
    for (const s of this.held) release(s);
    this.held.clear();
    this.kernels.length = 0;
  }
}
