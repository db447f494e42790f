/**
 * A small helper for the hand-written raw WebGPU implementations: one device per raw instance,
 * every buffer, bind group and pipeline created at setup (and counted, so the table can show that
 * steady state creates nothing), one command encoder and one submit per step.
 */
import type { Instance } from './common.ts';

export async function requestAdapter(): Promise<GPUAdapter> {
  const gpu = navigator.gpu;
  if (!gpu) throw new Error('navigator.gpu is missing: launch Chromium with --enable-unsafe-webgpu');
  const adapter = await gpu.requestAdapter();
  if (!adapter) throw new Error('requestAdapter() returned null');
  return adapter;
}

export class RawGpu {
  buffersCreated = 0;
  bindGroupsCreated = 0;
  pipelinesCreated = 0;
  dispatches = 0;
  submits = 0;
  private readonly owned: GPUBuffer[] = [];

  private constructor(
    readonly device: GPUDevice,
    /** A CPU adapter (SwiftShader and the like): one-workgroup finishers sum serially there, as pixelgrad's do, since a barrier costs more than the sums. */
    readonly cpuAdapter: boolean,
  ) {}

  static async create(): Promise<RawGpu> {
    const adapter = await requestAdapter();
    const limits: Record<string, number> = {};
    for (const k of ['maxBufferSize', 'maxStorageBufferBindingSize', 'maxComputeWorkgroupStorageSize', 'maxComputeInvocationsPerWorkgroup', 'maxComputeWorkgroupSizeX', 'maxStorageBuffersPerShaderStage'] as const) {
      limits[k] = adapter.limits[k];
    }
    const device = await adapter.requestDevice({ requiredLimits: limits });
    device.addEventListener('uncapturederror', (ev) => console.error(`[bench] raw WebGPU error: ${(ev as GPUUncapturedErrorEvent).error.message}`));
    const info = adapter.info;
    const cpu = (info as { isFallbackAdapter?: boolean }).isFallbackAdapter === true || /swiftshader|llvmpipe|lavapipe|warp/i.test(`${info.vendor} ${info.architecture} ${info.description}`);
    return new RawGpu(device, cpu);
  }

  buffer(bytes: number, label: string, data?: Float32Array, extraUsage = 0): GPUBuffer {
    const size = Math.max(16, Math.ceil(bytes / 16) * 16);
    const b = this.device.createBuffer({ size, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST | extraUsage, label });
    this.buffersCreated++;
    this.owned.push(b);
    if (data) this.device.queue.writeBuffer(b, 0, data.buffer, data.byteOffset, data.byteLength);
    return b;
  }

  readback(bytes: number, label = 'readback'): GPUBuffer {
    const b = this.device.createBuffer({ size: Math.max(16, Math.ceil(bytes / 16) * 16), usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST, label });
    this.buffersCreated++;
    this.owned.push(b);
    return b;
  }

  uniform(bytes: number, label: string): GPUBuffer {
    const b = this.device.createBuffer({ size: Math.max(16, bytes), usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST, label });
    this.buffersCreated++;
    this.owned.push(b);
    return b;
  }

  /** A pipeline (layout 'auto') and its bind group over `buffers`, bound at 0..n-1 in order. */
  kernel(label: string, wgsl: string, buffers: readonly GPUBuffer[]): Kernel {
    const module = this.device.createShaderModule({ code: wgsl, label });
    void module.getCompilationInfo().then((info) => {
      for (const m of info.messages) if (m.type === 'error') console.error(`[bench] ${label}: ${m.lineNum}:${m.linePos} ${m.message}`);
    });
    const pipeline = this.device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' }, label });
    this.pipelinesCreated++;
    return { pipeline, bindGroup: this.bind(pipeline, buffers, label) };
  }

  bind(pipeline: GPUComputePipeline, buffers: readonly GPUBuffer[], label: string): GPUBindGroup {
    this.bindGroupsCreated++;
    return this.device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries: buffers.map((buffer, binding) => ({ binding, resource: { buffer } })), label });
  }

  /** Records the dispatches into one compute pass and submits them together, with optional copies after. */
  private prodWhile(pending: () => boolean): void {
    const t0 = performance.now();
    let last = t0;
    const scheduler = (globalThis as { scheduler?: { postTask?: (task: () => void, o: { priority: 'background' }) => Promise<unknown> } }).scheduler;
    const channel = scheduler?.postTask ? null : new MessageChannel();
    const next = () => {
      if (channel) channel.port2.postMessage(null);
      else void scheduler!.postTask!(turn, { priority: 'background' });
    };
    const turn = () => {
      const now = performance.now();
      if (!pending() || now - t0 > 3) {
        channel?.port1.close();
        return;
      }
      if (now - last >= 0.3) {
        this.device.queue.submit([]);
        last = now;
      }
      next();
    };
    if (channel) channel.port1.onmessage = turn;
    next();
  }

  submit(dispatches: readonly [Kernel, number, number?][], copies: readonly [GPUBuffer, GPUBuffer, number][] = []): void {
    const enc = this.device.createCommandEncoder();
    if (dispatches.length) {
      const pass = enc.beginComputePass();
      for (const [k, x, y] of dispatches) {
        pass.setPipeline(k.pipeline);
        pass.setBindGroup(0, k.bindGroup);
        pass.dispatchWorkgroups(x, y ?? 1);
        this.dispatches++;
      }
      pass.end();
    }
    for (const [src, dst, bytes] of copies) enc.copyBufferToBuffer(src, 0, dst, 0, bytes);
    this.device.queue.submit([enc.finish()]);
    this.submits++;
  }

  /**
   * Maps `staging` and copies out `floats`. `prod`: a short read that the browser's GPU process
   * would otherwise notice only on its timer gets an empty submit every 0.3 ms for 3 ms, from
   * background-priority tasks where the browser has scheduler.postTask (the same remedy as
   * pixelgrad's MapProdder, written out here so raw stays independent of the engine). The raw
   * seed took 0.34-0.63 ms with it and 0.32-1.42 without, in four same-page sessions.
   */
  async read(staging: GPUBuffer, floats: number, prod = false): Promise<Float32Array> {
    let pending = true;
    // Only a browser's GPU process needs it; Dawn in Node (--node) delivers maps from its own pump.
    const browser = typeof window !== 'undefined' && typeof document !== 'undefined';
    if (prod && browser) this.prodWhile(() => pending);
    try {
      await staging.mapAsync(GPUMapMode.READ, 0, floats * 4);
    } finally {
      pending = false;
    }
    const out = new Float32Array(staging.getMappedRange(0, floats * 4).slice(0));
    staging.unmap();
    return out;
  }

  counters(): Record<string, number> {
    return {
      dispatches: this.dispatches,
      submits: this.submits,
      buffersCreated: this.buffersCreated,
      bindGroupsCreated: this.bindGroupsCreated,
      pipelinesCreated: this.pipelinesCreated,
    };
  }

  destroy(): void {
    for (const b of this.owned) b.destroy();
    this.device.destroy();
  }
}

export interface Kernel {
  readonly pipeline: GPUComputePipeline;
  readonly bindGroup: GPUBindGroup;
}

/**
 * A serial sum of one row of per-thread partials stored component-major (one f32 per thread, rows
 * of `NT`, NT a multiple of 4, read as `partial: array<vec4<f32>>`), for the raw finishers on CPU
 * adapters, where a workgroup barrier costs more than the sums. Thread r sums row r, so the four
 * lanes SwiftShader runs together sum four rows in step.
 */
export const ROW_TOTAL_WGSL = `fn row_total(row: u32) -> f32 {
  let base = row * (NT / 4u);
  var a = vec4<f32>(0.0);
  var b = vec4<f32>(0.0);
  var j = 0u;
  for (; j + 2u <= NT / 4u; j += 2u) { a += partial[base + j]; b += partial[base + j + 1u]; }
  if (j < NT / 4u) { a += partial[base + j]; }
  let s = a + b;
  return s.x + s.y + s.z + s.w;
}
`;

/** Threads of a streaming kernel with per-thread partial sums: at most 65,536, as pixelgrad's (the partials stay a few percent of the traffic). */
const MAX_STREAM_THREADS = 65536;
/** Items (vec4s or pixel quads) each thread walks, on a GPU and on a CPU adapter: SwiftShader prefers few, busy threads (as pixelgrad's kernels do); 64 a thread ran the layers step 15-20% faster than 16 there, 128 no faster. */
const ITEMS_PER_THREAD = { gpu: 16, cpu: 64 } as const;

/**
 * The loop header of thread `tid` of NT (a multiple of 4) walking `items` items as `v`. On a GPU,
 * grid stride: a warp's loads coalesce. On a CPU adapter SwiftShader runs 4 invocations as one SIMD
 * group and each group's whole loop before the next group's, so a grid stride jumps NT items per
 * step and every load misses the cache; there each group walks one contiguous chunk, its 4 lanes
 * interleaved (layers step, same page: 9-27% faster at S=512 and 1024).
 */
export function walkLoop(v: string, items: number, threads: number, cpuAdapter: boolean): string {
  if (!cpuAdapter) return `for (var ${v} = tid; ${v} < ${items}u; ${v} += ${threads}u)`;
  if (threads % 4 !== 0) throw new Error(`walkLoop: ${threads} threads are not whole SIMD groups of 4`);
  const per = 4 * Math.ceil(items / threads);
  return `let walk_lo = (tid / 4u) * ${per}u;\n  let walk_hi = min(walk_lo + ${per}u, ${items}u);\n  for (var ${v} = walk_lo + tid % 4u; ${v} < walk_hi; ${v} += 4u)`;
}

/** Threads for a kernel walking `items` (walkLoop), a multiple of the workgroup size `wg`. */
export function streamThreads(items: number, wg: number, cpuAdapter: boolean): number {
  const per = ITEMS_PER_THREAD[cpuAdapter ? 'cpu' : 'gpu'];
  return Math.min(MAX_STREAM_THREADS, Math.max(wg, Math.ceil(items / per / wg) * wg));
}

/** Splits a workgroup count over x and y when it exceeds the 65,535 per-dimension cap. */
export function grid(workgroups: number, maxPerDim = 65535): [number, number] {
  if (workgroups <= maxPerDim) return [Math.max(1, workgroups), 1];
  const y = Math.ceil(workgroups / maxPerDim);
  return [Math.ceil(workgroups / y), y];
}

/**
 * The bench instance for a raw WebGPU step: `step(read)` submits one step, copying its loss into
 * `staging` when `read` is set; the loss is read only when the harness asks for it.
 */
export function rawInstance(gpu: RawGpu, note: string, step: (read: boolean) => void, staging: GPUBuffer): Instance {
  return {
    note,
    device: gpu.device,
    async steps(count, readEvery) {
      let value = Number.NaN;
      for (let i = 0; i < count; i++) {
        const read = readEvery || i === count - 1;
        step(read);
        if (read) value = (await gpu.read(staging, 1))[0]!;
      }
      return value;
    },
    recordOneStep: () => step(false),
    counters: () => gpu.counters(),
    dispose: () => gpu.destroy(),
  };
}

/**
 * The `main` of a one-workgroup finisher over `rows` rows of per-thread partials (laid out as
 * ROW_TOTAL_WGSL reads them; the shader declares `partial` and `NT`): each row's total `s` is
 * handed to `epilogue`, WGSL run once per row with `row` and `s` in scope. On a CPU adapter a
 * thread sums its row serially (a barrier costs more than the sums there); on a GPU, lanes of
 * 256 threads share the rows and one barrier joins them.
 */
export function rowFinisherWgsl(rows: number, cpuAdapter: boolean, epilogue: string): string {
  if (cpuAdapter) {
    return `${ROW_TOTAL_WGSL}@compute @workgroup_size(${64 * Math.ceil(rows / 64)})
fn main(@builtin(local_invocation_index) lid: u32) {
  if (lid >= ${rows}u) { return; }
  let row = lid;
  let s = row_total(row);
  ${epilogue}
}
`;
  }
  const lanes = Math.floor(256 / rows);
  return `var<workgroup> laneSums: array<f32, 256>;
@compute @workgroup_size(256)
fn main(@builtin(local_invocation_index) lid: u32) {
  let r = lid / ${lanes}u;
  var acc = vec4<f32>(0.0);
  if (r < ${rows}u) {
    for (var j = lid % ${lanes}u; j < NT / 4u; j += ${lanes}u) { acc += partial[r * (NT / 4u) + j]; }
  }
  laneSums[lid] = acc.x + acc.y + acc.z + acc.w;
  workgroupBarrier();
  if (lid < ${rows}u) {
    let row = lid;
    var s = 0.0;
    for (var j = 0u; j < ${lanes}u; j++) { s += laneSums[row * ${lanes}u + j]; }
    ${epilogue}
  }
}
`;
}

/** A raw Adam finisher's bindings: per-thread partials (as ROW_TOTAL_WGSL reads them), the parameters, Adam's m and v, step counters and the loss. */
export const ADAM_FINISH_BINDINGS = `@group(0) @binding(0) var<storage, read> partial: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read_write> P: array<f32>;
@group(0) @binding(2) var<storage, read_write> mP: array<f32>;
@group(0) @binding(3) var<storage, read_write> vP: array<f32>;
@group(0) @binding(4) var<storage, read_write> state: array<f32>;
@group(0) @binding(5) var<storage, read_write> lossOut: array<f32>;`;

/**
 * A finisher (rowFinisherWgsl) whose `epilogue` may call adam(i, g), torch.optim.Adam on P[i]:
 * each parameter's thread keeps its own step counter (state[i]), so no thread reads what another
 * writes. `consts` declares B1, B2, EPS and LR (and what the epilogue reads).
 */
export function adamFinisherWgsl(consts: string, rows: number, cpuAdapter: boolean, epilogue: string): string {
  return `${consts}
${ADAM_FINISH_BINDINGS}
fn adam(i: u32, g: f32) {
  let t = state[i] + 1.0;
  state[i] = t;
  let m = B1 * mP[i] + (1.0 - B1) * g;
  let v = B2 * vP[i] + (1.0 - B2) * g * g;
  mP[i] = m;
  vP[i] = v;
  P[i] = P[i] - (LR / (1.0 - pow(B1, t))) * m / (sqrt(v) / sqrt(1.0 - pow(B2, t)) + EPS);
}
${rowFinisherWgsl(rows, cpuAdapter, epilogue)}`;
}
