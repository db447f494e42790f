/**
 * The kernels a compiled function recorded when it was traced (pg.compile), kept with everything
 * they bind, so that a later call records them again as they are: no graph, no fusion planning, no
 * cache lookups, only the dispatches. The list holds every storage its kernels bind, so no buffer
 * of theirs goes back to the pool (and to another tensor) while the list lives.
 */
import type { CapturedWork, Storage } from '../backend.ts';
import type { CompileError } from '../errors.ts';
import { type GpuStorage, type KernelRun, sizeParams } from './gpu-ops.ts';
import type { CachedPipeline } from './pipeline-cache.ts';

export interface CapturedKernel {
  readonly pipeline: CachedPipeline;
  readonly bindGroup: GPUBindGroup;
  /** The kernel's parameters, owned here: a replay may refresh some (see paramSetter). */
  readonly params: number[] | undefined;
  /** Parameter slots that hold the kernel's sizes (render.ts, Body.size): never an update's. */
  readonly sizeSlots: readonly number[];
  readonly x: number;
  readonly y: number;
  /** What it binds, inputs then outputs, as traced. */
  readonly storages: readonly GpuStorage[];
  /** Their GPU buffers when traced: one that has since changed hands (a double-buffered update) is bound anew. */
  readonly buffers: readonly GPUBuffer[];
  readonly outputs: readonly GpuStorage[];
}

export class KernelList implements CapturedWork {
  readonly kernels: CapturedKernel[] = [];
  /** Something the trace did that a replay cannot repeat (a read, an image upload). */
  misuse: CompileError | null = null;
  /** Storage bytes the kernels bind, for the prodder's estimate of how long a read will wait. */
  bytes = 0;
  private readonly held = new Set<GpuStorage>();
  /** Storages some kernel writes. */
  private readonly written = new Set<GpuStorage>();
  /** Storages whose first binding is as an output: the program writes them before it reads them. */
  private readonly writtenFirst = new Set<GpuStorage>();
  /** Storages allocated while tracing and not uploaded into. */
  readonly fresh = new Set<GpuStorage>();

  constructor(private readonly retain: (s: GpuStorage) => void) {}

  add(k: KernelRun, pipeline: CachedPipeline, bindGroup: GPUBindGroup, x: number, y: number): void {
    for (const [i, s] of [...k.inputs, ...k.outputs].entries()) {
      const output = i >= k.inputs.length;
      if (!this.held.has(s)) {
        this.held.add(s);
        this.retain(s);
        if (output) this.writtenFirst.add(s);
      }
      if (output) this.written.add(s);
      this.bytes += s.buf.bytes;
    }
    this.kernels.push({ pipeline, bindGroup, params: k.params ? [...k.params] : undefined, sizeSlots: sizeSlotsOf(k), x, y, storages: [...k.inputs, ...k.outputs], buffers: [...k.inputs, ...k.outputs].map((s) => s.buf.buffer), outputs: k.outputs });
  }

  /**
   * Whether a call may bind `arg` where the trace bound `input` instead of copying it there: no
   * kernel writes either (a weight passed as an argument is copied, or a kernel would bind it
   * twice, once writable).
   */
  canBindInput(input: Storage, arg: Storage): boolean {
    return !this.written.has(input as GpuStorage) && !this.written.has(arg as GpuStorage);
  }

  /**
   * Whether a call may have the kernels write `output` into a new storage instead of copying it
   * out: the trace allocated it, and the first kernel that binds it writes it (so nothing before
   * that kernel in a call reads what an earlier call left there).
   */
  canRebindOutput(output: Storage): boolean {
    const s = output as GpuStorage;
    return this.fresh.has(s) && this.writtenFirst.has(s);
  }

  /** Whether a kernel binds this storage (so the list keeps it alive). */
  holds(s: Storage): boolean {
    return this.held.has(s as GpuStorage);
  }

  /** Per kernel, the parameter slots an update already claimed. */
  private readonly claimed = new Map<CapturedKernel, Set<number>>();

  /**
   * Finds the first parameter block not yet claimed, in a kernel that wrote `target`, that holds
   * `values` (an optimizer's update, alone, fused into a loss, or one of several in a tail
   * kernel): updates are claimed in the order they ran, so a step unrolled in fn gets one block
   * per update.
   */
  paramSetter(target: Storage, values: readonly number[]): ((values: readonly number[]) => void) | null {
    const s = target as GpuStorage;
    for (const kernel of this.kernels) {
      const p = kernel.params;
      if (!p || !kernel.outputs.includes(s)) continue;
      // One kernel may run several updates with equal parameters (a tail kernel): each claims the
      // first unclaimed block that matches, in the order the updates were made.
      let claimed = this.claimed.get(kernel);
      if (!claimed) {
        claimed = new Set(kernel.sizeSlots);
        this.claimed.set(kernel, claimed);
      }
      for (let off = 0; off + values.length <= p.length; off++) {
        if (values.some((_, i) => claimed.has(off + i)) || !values.every((v, i) => Object.is(p[off + i], v))) continue;
        for (let i = 0; i < Math.max(1, values.length); i++) claimed.add(off + i);
        return (fresh) => {
          for (let i = 0; i < fresh.length; i++) p[off + i] = fresh[i]!;
        };
      }
    }
    return null;
  }

  /** Gives back every storage the list held. */
  release(release: (s: GpuStorage) => void): void {
    for (const s of this.held) release(s);
    this.held.clear();
    this.fresh.clear();
    this.kernels.length = 0;
  }
}

/** The slots of `k.params` that its size arrays fill. */
function sizeSlotsOf(k: KernelRun): number[] {
  const slots: number[] = [];
  let at = 0;
  for (const a of k.paramArrays ?? []) {
    if (sizeParams.has(a)) slots.push(...a.map((_, i) => at + i));
    at += a.length;
  }
  return slots;
}
