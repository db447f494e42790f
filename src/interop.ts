/** Sharing GPU memory with an app's own WebGPU code: its buffers as tensors (t.gpuBuffer() is the way back). */
import { activeBackend } from './engine.ts';
import { DeviceLostError, InvalidArgumentError } from './errors.ts';
import { checkShape } from './shape.ts';
import { Tensor } from './tensor.ts';
import { checkBool, checkOptions, repr } from './validate.ts';

/**
 * Options of pg.fromGPUBuffer().
 * @example
 * await pg.fromGPUBuffer(buffer, [64, 64], { requiresGrad: true });
 */
export interface FromGPUBufferOptions {
  /**
   * Record ops on the new tensor for backward() (a leaf: an optimizer then updates the buffer in place). Default false.
   * @example
   * const w = await pg.fromGPUBuffer(buffer, [16], { requiresGrad: true });
   */
  readonly requiresGrad?: boolean;
}

/**
 * A tensor over an app's GPUBuffer, without a copy: float32 values, row-major, from byte 0.
 *
 * The buffer must be on the engine's device (pg.backend().device, or the one given to
 * pg.init({ device })), have GPUBufferUsage.STORAGE and COPY_SRC, be unmapped, and hold at least
 * 4 × size bytes rounded up to a multiple of 16 (the engine's kernels read and write whole vec4s:
 * an in-place update may write the padding after the last element). A larger buffer is fine.
 *
 * Lifetime: the app owns the buffer. The engine never destroys it or puts it in its pool; disposing
 * the tensor only lets go of it. Keep the buffer alive (not destroyed) while the tensor or anything
 * computed from it lazily may still run. Ops read the buffer when their work runs (at the next read,
 * backward(), step() or pg.flush()), not when they are called: call pg.flush() before writing new
 * values into it, so that work recorded earlier sees the old ones.
 * @example
 * const device = pg.backend()!.device!;
 * const buffer = device.createBuffer({ size: 16, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST });
 * device.queue.writeBuffer(buffer, 0, new Float32Array([1, 2, 3, 4]));
 * const t = await pg.fromGPUBuffer(buffer, [2, 2]);
 * await t.sum().item(); // 10
 */
export async function fromGPUBuffer(buffer: GPUBuffer, shape: readonly number[], options?: FromGPUBufferOptions): Promise<Tensor> {
  const fn = 'fromGPUBuffer';
  const o = checkOptions(fn, options);
  const requiresGrad = checkBool(fn, 'requiresGrad', o.requiresGrad, false);
  const s = checkShape(fn, shape);
  const b = buffer as Partial<GPUBuffer> | null;
  if (b === null || typeof b !== 'object' || typeof b.size !== 'number' || typeof b.usage !== 'number' || typeof b.mapState !== 'string' || typeof b.destroy !== 'function') {
    throw new InvalidArgumentError(`${fn}: buffer must be a GPUBuffer, got ${repr(buffer)}`);
  }
  const be = activeBackend(fn);
  if (!be.wrapBuffer) throw new InvalidArgumentError(`${fn}: the ${be.kind} backend has no GPU buffers; call pg.init() for WebGPU`);
  const storage = await be.wrapBuffer(fn, buffer, s);
  // init() ran again while the check awaited: the tensor would belong to a backend no longer in use.
  if (be !== activeBackend(fn)) throw new DeviceLostError('replaced', `${fn}: pg.init() switched backends while the buffer was checked; call it again`);
  return new Tensor(be, storage, s, requiresGrad);
}
