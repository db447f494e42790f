/**
 * Per-kernel cost of one step, without touching an engine's code: the dispatches of one step are
 * captured by wrapping the WebGPU encoder methods, then each is replayed alone (same pipeline,
 * same bind groups, same grid) and timed to GPU completion. Replaying writes into the engine's
 * buffers with stale parameters, so it runs only after the engine's measurements are done.
 */
import { median } from './stats.ts';

/** Storage bytes each bind group binds (sum of its storage buffers' bound sizes), recorded at creation. */
const boundBytes = new WeakMap<GPUBindGroup, number>();
let installed = false;

/**
 * Wraps GPUDevice.createBindGroup (creation only, never the per-dispatch path) to remember how many
 * storage bytes each bind group binds. Call before any engine creates its bind groups.
 */
export function installBindGroupSizes(): void {
  if (installed || typeof GPUDevice === 'undefined') return;
  installed = true;
  const orig = GPUDevice.prototype.createBindGroup;
  GPUDevice.prototype.createBindGroup = function (this: GPUDevice, desc: GPUBindGroupDescriptor) {
    const group = orig.call(this, desc);
    let bytes = 0;
    for (const e of desc.entries) {
      const r = e.resource as GPUBufferBinding;
      const buf = r?.buffer ?? (e.resource as unknown as GPUBuffer);
      if (!(buf instanceof GPUBuffer) || buf.usage & GPUBufferUsage.UNIFORM) continue;
      bytes += r.size ?? buf.size - (r.offset ?? 0);
    }
    boundBytes.set(group, bytes);
    return group;
  };
}

interface CapturedDispatch {
  readonly label: string;
  readonly pipeline: GPUComputePipeline;
  readonly bindGroups: readonly [number, GPUBindGroup | null, number[]][];
  readonly grid: readonly [number, number, number];
}

export interface KernelCost {
  readonly label: string;
  /** Dispatches of this kernel in one step. */
  readonly count: number;
  /** Replayed GPU time of those dispatches, summed (ms). */
  readonly ms: number;
  /** Workgroups per dispatch (first one), to spot under-filled grids. */
  readonly workgroups: number;
  /** Storage bytes bound by those dispatches: an upper bound of the bytes they move (pooled buffers round sizes up). */
  readonly boundBytes: number;
}

export interface StepProfile {
  readonly dispatches: number;
  readonly copies: number;
  readonly submits: number;
  readonly writeBuffers: number;
  /** Sum of the replayed kernel times (ms): the GPU work of one step if nothing else cost anything. */
  readonly gpuMs: number;
  /** Storage bytes bound by all dispatches of the step (see KernelCost.boundBytes). */
  readonly boundBytes: number;
  /** Empty submit + onSubmittedWorkDone round trip on this device (ms). */
  readonly emptySubmitMs: number;
  readonly kernels: readonly KernelCost[];
}

type PassState = { pipeline: GPUComputePipeline | null; groups: Map<number, [GPUBindGroup | null, number[]]> };

/**
 * Runs fn (and waits for it when it returns a promise: engines such as jax-js encode after an
 * await) and returns every dispatch, copy, submit and writeBuffer issued meanwhile. Nothing else
 * may use WebGPU while it runs.
 */
export async function capture(fn: () => void | Promise<void>): Promise<{ dispatches: CapturedDispatch[]; copies: number; submits: number; writeBuffers: number }> {
  const passProto = GPUComputePassEncoder.prototype;
  const encProto = GPUCommandEncoder.prototype;
  const queueProto = GPUQueue.prototype;
  const orig = {
    setPipeline: passProto.setPipeline,
    setBindGroup: passProto.setBindGroup,
    dispatchWorkgroups: passProto.dispatchWorkgroups,
    copyBufferToBuffer: encProto.copyBufferToBuffer,
    submit: queueProto.submit,
    writeBuffer: queueProto.writeBuffer,
  };
  const states = new WeakMap<GPUComputePassEncoder, PassState>();
  const state = (p: GPUComputePassEncoder): PassState => {
    let s = states.get(p);
    if (!s) {
      s = { pipeline: null, groups: new Map() };
      states.set(p, s);
    }
    return s;
  };
  const dispatches: CapturedDispatch[] = [];
  let copies = 0;
  let submits = 0;
  let writeBuffers = 0;
  passProto.setPipeline = function (this: GPUComputePassEncoder, pipeline: GPUComputePipeline) {
    state(this).pipeline = pipeline;
    return orig.setPipeline.call(this, pipeline);
  };
  passProto.setBindGroup = function (this: GPUComputePassEncoder, ...args: unknown[]) {
    const [index, group, offsets, start, length] = args as [number, GPUBindGroup | null, Iterable<number> | Uint32Array | undefined, number?, number?];
    let offs: number[] = [];
    if (offsets instanceof Uint32Array) offs = [...offsets.subarray(start ?? 0, (start ?? 0) + (length ?? offsets.length))];
    else if (offsets) offs = [...offsets];
    state(this).groups.set(index, [group, offs]);
    return (orig.setBindGroup as (...a: unknown[]) => void).apply(this, args);
  } as typeof passProto.setBindGroup;
  passProto.dispatchWorkgroups = function (this: GPUComputePassEncoder, x: number, y?: number, z?: number) {
    const s = state(this);
    dispatches.push({
      label: s.pipeline?.label || '(unlabelled)',
      pipeline: s.pipeline!,
      bindGroups: [...s.groups].map(([i, [g, o]]) => [i, g, o] as [number, GPUBindGroup | null, number[]]),
      grid: [x, y ?? 1, z ?? 1],
    });
    return orig.dispatchWorkgroups.call(this, x, y, z);
  };
  encProto.copyBufferToBuffer = function (this: GPUCommandEncoder, ...args: unknown[]) {
    copies++;
    return (orig.copyBufferToBuffer as (...a: unknown[]) => void).apply(this, args);
  } as typeof encProto.copyBufferToBuffer;
  queueProto.submit = function (this: GPUQueue, buffers: Iterable<GPUCommandBuffer>) {
    submits++;
    return orig.submit.call(this, buffers);
  };
  queueProto.writeBuffer = function (this: GPUQueue, ...args: unknown[]) {
    writeBuffers++;
    return (orig.writeBuffer as (...a: unknown[]) => void).apply(this, args);
  } as typeof queueProto.writeBuffer;
  try {
    await fn();
  } finally {
    Object.assign(passProto, { setPipeline: orig.setPipeline, setBindGroup: orig.setBindGroup, dispatchWorkgroups: orig.dispatchWorkgroups });
    encProto.copyBufferToBuffer = orig.copyBufferToBuffer;
    queueProto.submit = orig.submit;
    queueProto.writeBuffer = orig.writeBuffer;
  }
  return { dispatches, copies, submits, writeBuffers };
}

async function timeSubmit(device: GPUDevice, record: (pass: GPUComputePassEncoder) => void): Promise<number> {
  const enc = device.createCommandEncoder();
  const pass = enc.beginComputePass();
  record(pass);
  pass.end();
  const t0 = performance.now();
  device.queue.submit([enc.finish()]);
  await device.queue.onSubmittedWorkDone();
  return performance.now() - t0;
}


/** Captures one step (recordStep must submit or flush it) and replays each dispatch alone. */
export async function profileStep(device: GPUDevice, recordStep: () => void | Promise<void>, budgetMs = 8000): Promise<StepProfile> {
  await device.queue.onSubmittedWorkDone();
  const cap = await capture(recordStep);
  await device.queue.onSubmittedWorkDone();
  const empties: number[] = [];
  for (let i = 0; i < 5; i++) empties.push(await timeSubmit(device, () => {}));
  const empty = median(empties)!;
  const started = performance.now();
  const perLabel = new Map<string, { count: number; ms: number; workgroups: number; boundBytes: number }>();
  for (const d of cap.dispatches) {
    const record = (reps: number) => (pass: GPUComputePassEncoder) => {
      pass.setPipeline(d.pipeline);
      for (const [i, g, o] of d.bindGroups) pass.setBindGroup(i, g, o);
      for (let r = 0; r < reps; r++) pass.dispatchWorkgroups(...d.grid);
    };
    const overBudget = performance.now() - started > budgetMs;
    const once = Math.max(0, (await timeSubmit(device, record(1))) - empty);
    let ms = once;
    if (!overBudget) {
      // Enough repetitions that one measurement lasts ~20 ms, three measurements, the fastest
      // (other processes only ever add time). A single completion wait rounds up to the
      // browser's polling (about 1 ms on SwiftShader): fewer repetitions reported a 0.15 ms
      // kernel as 1 ms.
      const reps = Math.min(256, Math.max(1, Math.ceil(20 / Math.max(once, 0.01))));
      const xs: number[] = [];
      for (let i = 0; i < 3; i++) xs.push(Math.max(0, (await timeSubmit(device, record(reps))) - empty) / reps);
      ms = Math.min(...xs);
    }
    const e = perLabel.get(d.label) ?? { count: 0, ms: 0, workgroups: d.grid[0] * d.grid[1] * d.grid[2], boundBytes: 0 };
    e.count++;
    e.ms += ms;
    for (const [, g] of d.bindGroups) e.boundBytes += g ? (boundBytes.get(g) ?? 0) : 0;
    perLabel.set(d.label, e);
  }
  const kernels = [...perLabel].map(([label, e]) => ({ label, ...e })).sort((a, b) => b.ms - a.ms);
  return {
    dispatches: cap.dispatches.length,
    copies: cap.copies,
    submits: cap.submits,
    writeBuffers: cap.writeBuffers,
    gpuMs: kernels.reduce((s, k) => s + k.ms, 0),
    boundBytes: kernels.reduce((s, k) => s + k.boundBytes, 0),
    emptySubmitMs: empty,
    kernels,
  };
}
