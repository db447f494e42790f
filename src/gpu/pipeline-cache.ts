/**
 * Compute pipelines compiled once per WGSL text, against explicit bind-group layouts shared by
 * every kernel with the same number of inputs and outputs; bind groups cached per buffer set.
 */
import { ShaderCompileError } from '../errors.ts';
import { computeStage, UNIFORM_SLOT_BYTES } from './quirks.ts';
import { workgroupSizeOf } from './wgsl.ts';

export interface CachedPipeline {
  readonly pipeline: GPUComputePipeline;
  readonly layoutKey: string;
  readonly layout: GPUBindGroupLayout;
  readonly name: string;
  /** The module's workgroup width: dispatches need ceil(threads / workgroupSize) workgroups. */
  readonly workgroupSize: number;
}

/** Reads compiler messages into "line:col: error: text" lines; empty when the shader compiled. */
export async function compileErrors(module: GPUShaderModule): Promise<string[]> {
  const info = await module.getCompilationInfo();
  return info.messages.filter((m) => m.type === 'error').map((m) => `${m.lineNum}:${m.linePos}: error: ${m.message}`);
}

/**
 * Pipelines kept, least recently used dropped first. Sizes are written into the kernels, so a
 * program whose shapes never repeat (a new crop every frame) compiles new ones, and without a
 * bound would keep every one it ever compiled; an app's working set is a few dozen.
 */
export const MAX_PIPELINES = 256;

export class PipelineCache {
  /** By WGSL text, each stamped with its last use. */
  private readonly pipelines = new Map<string, CachedPipeline & { lastUse: number }>();
  private uses = 0;
  private readonly layouts = new Map<string, [GPUBindGroupLayout, GPUPipelineLayout]>();
  private readonly bindGroups = new Map<string, GPUBindGroup>();
  pipelinesCreated = 0;
  bindGroupsCreated = 0;
  /** Compile checks still running: a readback waits for them so a broken kernel is reported by that read. */
  readonly pendingChecks = new Set<Promise<void>>();
  /** Kernels that failed to compile; WebGPU's follow-up "invalid pipeline" errors for them are not news. */
  readonly broken = new Set<string>();

  constructor(
    private readonly device: GPUDevice,
    /** Where asynchronous compile failures go; the backend rejects the next readback with them. */
    private readonly onCompileError: (e: ShaderCompileError) => void,
    private readonly capacity = MAX_PIPELINES,
  ) {}

  /** Pipelines held now (at most the capacity). */
  get size(): number {
    return this.pipelines.size;
  }

  layoutFor(inputs: number, outputs: number): [GPUBindGroupLayout, GPUPipelineLayout] {
    const key = `${inputs}:${outputs}`;
    let l = this.layouts.get(key);
    if (!l) {
      const entries: GPUBindGroupLayoutEntry[] = [
        { binding: 0, visibility: computeStage(), buffer: { type: 'uniform', hasDynamicOffset: true, minBindingSize: UNIFORM_SLOT_BYTES } },
      ];
      for (let i = 0; i < inputs + outputs; i++) {
        entries.push({ binding: i + 1, visibility: computeStage(), buffer: { type: i < inputs ? 'read-only-storage' : 'storage' } });
      }
      const bgl = this.device.createBindGroupLayout({ entries, label: `pixelgrad ${key}` });
      l = [bgl, this.device.createPipelineLayout({ bindGroupLayouts: [bgl] })];
      this.layouts.set(key, l);
    }
    return l;
  }

  pipeline(name: string, wgsl: string, inputs: number, outputs: number): CachedPipeline {
    const hit = this.pipelines.get(wgsl);
    if (hit) {
      // A stamp, not a reordering of the map: this runs for every dispatch.
      hit.lastUse = ++this.uses;
      return hit;
    }
    const [layout, pipelineLayout] = this.layoutFor(inputs, outputs);
    // A scope keeps compile errors out of 'uncapturederror', so they surface as ShaderCompileError with the source.
    this.device.pushErrorScope('validation');
    const module = this.device.createShaderModule({ code: wgsl, label: name });
    const pipeline = this.device.createComputePipeline({ layout: pipelineLayout, compute: { module, entryPoint: 'main' }, label: name });
    const check = this.device.popErrorScope().then(async (err) => {
      if (!err) return;
      this.pipelines.delete(wgsl);
      this.broken.add(name);
      const messages = await compileErrors(module);
      this.onCompileError(new ShaderCompileError(name, messages.length ? messages : [err.message], wgsl));
    });
    this.pendingChecks.add(check);
    void check.finally(() => this.pendingChecks.delete(check));
    this.pipelinesCreated++;
    const entry = { pipeline, layoutKey: `${inputs}:${outputs}`, layout, name, workgroupSize: workgroupSizeOf(wgsl), lastUse: ++this.uses };
    // The least recently used goes, found by a scan only when a new pipeline is compiled anyway. A
    // dropped pipeline is only unreferenced here: recorded work and compiled traces keep their own.
    if (this.pipelines.size >= this.capacity) {
      let oldest: string | undefined;
      let at = Number.POSITIVE_INFINITY;
      for (const [key, p] of this.pipelines) {
        if (p.lastUse < at) [oldest, at] = [key, p.lastUse];
      }
      this.pipelines.delete(oldest!);
    }
    this.pipelines.set(wgsl, entry);
    return entry;
  }

  bindGroup(p: CachedPipeline, uniform: GPUBuffer, buffers: readonly { buffer: GPUBuffer; id: number }[]): GPUBindGroup {
    let key = p.layoutKey;
    for (const b of buffers) key += `,${b.id}`;
    let bg = this.bindGroups.get(key);
    if (!bg) {
      if (this.bindGroups.size > 8192) this.bindGroups.clear();
      const entries: GPUBindGroupEntry[] = [{ binding: 0, resource: { buffer: uniform, size: UNIFORM_SLOT_BYTES } }];
      buffers.forEach((b, i) => {
        entries.push({ binding: i + 1, resource: { buffer: b.buffer } });
      });
      bg = this.device.createBindGroup({ layout: p.layout, entries });
      this.bindGroupsCreated++;
      this.bindGroups.set(key, bg);
    }
    return bg;
  }

  /** Buffers were destroyed: bind groups that name them must go. */
  forgetBuffers(ids: readonly number[]): void {
    if (!ids.length) return;
    const dead = new Set(ids);
    for (const key of this.bindGroups.keys()) {
      if (key.split(',').slice(1).some((id) => dead.has(Number(id)))) this.bindGroups.delete(key);
    }
  }
}
