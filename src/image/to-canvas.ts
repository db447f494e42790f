/** toCanvas: draws an image tensor into a canvas, on the GPU without a round trip through the CPU. */
import { CpuStorage } from '../cpu/cpu-backend.ts';
import { InvalidArgumentError, LimitError } from '../errors.ts';
import type { GpuStorage } from '../gpu/gpu-ops.ts';
import { WebGpuBackend } from '../gpu/webgpu-backend.ts';
import type { Tensor } from '../tensor.ts';
import { toCanvasPipeline } from './gpu-image.ts';
import { imageShape, makeImageData, toRgba8 } from './image-shape.ts';

/**
 * A canvas pg.toCanvas() can draw into.
 * @example
 * const target: pg.AnyCanvas = new OffscreenCanvas(256, 256);
 */
export type AnyCanvas = HTMLCanvasElement | OffscreenCanvas;

interface CanvasTarget {
  readonly device: GPUDevice;
  readonly context: GPUCanvasContext;
  readonly format: GPUTextureFormat;
  /** width, height, channels: written before each draw. */
  readonly view: GPUBuffer;
  /** Draw bind groups by pooled-buffer id. */
  readonly bindGroups: Map<number, GPUBindGroup>;
}

const targets = new WeakMap<AnyCanvas, CanvasTarget>();

function preferredFormat(): GPUTextureFormat {
  const gpu = (globalThis.navigator as (Navigator & { gpu?: GPU }) | undefined)?.gpu;
  return gpu?.getPreferredCanvasFormat() ?? 'rgba8unorm';
}

function resize(canvas: AnyCanvas, width: number, height: number): void {
  // Assigning a size, even the same one, clears a canvas: only assign a change.
  if (canvas.width !== width) canvas.width = width;
  if (canvas.height !== height) canvas.height = height;
}

function canvasTarget(device: GPUDevice, canvas: AnyCanvas): CanvasTarget {
  const have = targets.get(canvas);
  if (have && have.device === device) return have;
  const context = canvas.getContext('webgpu') as GPUCanvasContext | null;
  if (!context) {
    throw new InvalidArgumentError(
      'toCanvas: this canvas already has a 2d or WebGL context, so WebGPU cannot draw into it; pass a fresh canvas, or use toImageData() and putImageData()',
    );
  }
  const format = preferredFormat();
  context.configure({ device, format, alphaMode: 'premultiplied' });
  have?.view.destroy();
  const view = device.createBuffer({ size: 16, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST, label: 'pixelgrad toCanvas view' });
  const target = { device, context, format, view, bindGroups: new Map<number, GPUBindGroup>() };
  targets.set(canvas, target);
  return target;
}

/**
 * Draws a [H, W, 3] or [H, W, 4] tensor (values clamped to [0, 1], alpha unpremultiplied) into a
 * canvas, resizing it to W×H. On WebGPU a render pass reads the tensor's buffer directly; on the
 * CPU backend the canvas gets putImageData.
 * @example
 * pg.toCanvas(reconstruction, document.querySelector('canvas')!);
 */
export function toCanvas(t: Tensor, canvas: AnyCanvas): void {
  const { height, width, channels } = imageShape('toCanvas', t);
  const storage = t._live('toCanvas');
  const be = t._backend;
  if (!canvas || typeof (canvas as { getContext?: unknown }).getContext !== 'function') {
    throw new InvalidArgumentError('toCanvas: expected an HTMLCanvasElement or an OffscreenCanvas');
  }
  if (be instanceof WebGpuBackend) {
    be.assertUsable('toCanvas');
    const device = be.device;
    const maxDim = device.limits.maxTextureDimension2D;
    if (width > maxDim || height > maxDim) {
      throw new LimitError(`toCanvas: a ${width}×${height} image is above this device's maxTextureDimension2D of ${maxDim}`);
    }
    const target = canvasTarget(device, canvas);
    resize(canvas, width, height);
    device.queue.writeBuffer(target.view, 0, Uint32Array.of(width, height, channels, 0));
    const { pipeline, layout } = toCanvasPipeline(device, target.format);
    // Per pooled buffer, so redrawing the same tensors every frame creates no bind group.
    const buf = (storage as GpuStorage).buf;
    let bindGroup = target.bindGroups.get(buf.id);
    if (!bindGroup) {
      if (target.bindGroups.size >= 64) target.bindGroups.clear();
      bindGroup = device.createBindGroup({
        layout,
        entries: [
          { binding: 0, resource: { buffer: target.view } },
          { binding: 1, resource: { buffer: buf.buffer } },
        ],
      });
      target.bindGroups.set(buf.id, bindGroup);
    }
    const encoder = device.createCommandEncoder({ label: 'pixelgrad toCanvas' });
    const pass = encoder.beginRenderPass({
      colorAttachments: [{ view: target.context.getCurrentTexture().createView(), loadOp: 'clear', storeOp: 'store', clearValue: [0, 0, 0, 0] }],
    });
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bindGroup);
    pass.draw(3);
    pass.end();
    // After the kernels that computed this tensor.
    be.submitAfterRecorded(encoder.finish());
    return;
  }
  const ctx = canvas.getContext('2d') as CanvasRenderingContext2D | OffscreenCanvasRenderingContext2D | null;
  if (!ctx) throw new InvalidArgumentError('toCanvas: this canvas already has a WebGPU or WebGL context; on the CPU backend toCanvas draws with a 2d context, so pass a fresh canvas');
  resize(canvas, width, height);
  const values = storage instanceof CpuStorage ? storage.data : new Float64Array(0);
  ctx.putImageData(makeImageData('toCanvas', toRgba8(values, height * width, channels), width, height), 0, 0);
}
