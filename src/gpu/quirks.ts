/**
 * Every WebGPU peculiarity pixelgrad depends on, in one place: flag values read lazily (never at
 * import, so importing the library works where WebGPU does not exist), the limits we request, the
 * 65,535-workgroup grid cap, and alignment rules.
 */
import { LimitError } from '../errors.ts';

/** Threads per workgroup for 1-D kernels: the WebGPU default maximum, and a multiple of every subgroup size. */
export const WORKGROUP_SIZE = 256;

/** Dynamic uniform offsets must be multiples of minUniformBufferOffsetAlignment (256 on every adapter seen). */
export const UNIFORM_SLOT_BYTES = 256;

/** Float parameters one dispatch may pass through the uniform ring (a vec4 array of 4). */
export const MAX_PARAMS = 16;

export const bufferUsage = () => ({
  storage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
  readback: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
  uniform: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
});

export const mapModeRead = () => GPUMapMode.READ;

/** How long after a map starts the queue is prodded (longer waits are for long work, which the browser's own timer serves). */
const PROD_MS = 4;

/**
 * Chrome's GPU process looks for finished work when commands arrive and otherwise on a timer of a
 * few milliseconds, so a small readback often waits for the timer long after the GPU is done. An
 * empty submit makes it look again: while a map is pending, for its first few milliseconds only,
 * the queue gets one per timer turn. Measured on the seed example in the bench (SwiftShader, 9
 * samples of 5 steps, two runs each): 3.0 ms a step without, 2.0-2.3 ms with; prodding on every
 * MessageChannel turn instead was slower (3.3-3.6 ms: it competes for the CPU with the work).
 * Firefox shows the same stall (jwmcglynn/donner#1161); gpuweb/gpuweb#4432 reports 5-15 ms maps.
 */
export function prodWhileMapping(queue: GPUQueue, pending: () => boolean, ended: () => void): void {
  const start = performance.now();
  const tick = () => {
    if (!pending() || performance.now() - start > PROD_MS) {
      ended();
      return;
    }
    queue.submit([]);
    setTimeout(tick, 0);
  };
  setTimeout(tick, 0);
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
export function checkTensorBytes(op: string, bytes: number, limits: GPUSupportedLimits, shape: readonly number[]): void {
  const cap = Math.min(limits.maxStorageBufferBindingSize, limits.maxBufferSize);
  if (alignBytes(bytes) > cap) {
    throw new LimitError(
      `${op}: a tensor of shape [${shape.join(', ')}] needs ${bytes} bytes, above this device's limit of ${cap} bytes ` +
        '(min of maxStorageBufferBindingSize and maxBufferSize). Split it into smaller tensors or use a device with larger limits.',
    );
  }
}

/** Software adapters (SwiftShader, WARP, llvmpipe) run kernels on the CPU: benchmarks label them. */
export function isSoftwareAdapter(info: GPUAdapterInfo, adapter: GPUAdapter): boolean {
  const fallback = (adapter as GPUAdapter & { isFallbackAdapter?: boolean }).isFallbackAdapter === true || (info as { isFallbackAdapter?: boolean }).isFallbackAdapter === true;
  return fallback || /swiftshader|llvmpipe|lavapipe|warp|software/i.test(`${info.vendor} ${info.architecture} ${info.device} ${info.description}`);
}
