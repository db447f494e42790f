/** fromImage: browser images, canvases, bitmaps, video frames and ImageData -> float tensors in [0, 1]. */
import { activeBackend } from '../engine.ts';
import { InvalidArgumentError, LimitError } from '../errors.ts';
import { checkOptions, repr } from '../validate.ts';
import { dispatchGrid, WORKGROUP_SIZE } from '../gpu/quirks.ts';
import { WebGpuBackend } from '../gpu/webgpu-backend.ts';
import { Tensor } from '../tensor.ts';
import { fromTexturePipeline, uploadTexture } from './gpu-image.ts';

/**
 * What pg.fromImage() reads: any image the browser can draw, or ImageData.
 * @example
 * pg.fromImage(await createImageBitmap(blob));
 */
export type ImageSource = ImageBitmap | HTMLImageElement | HTMLCanvasElement | OffscreenCanvas | ImageData | VideoFrame;

/**
 * Options of pg.fromImage().
 * @example
 * pg.fromImage(img, { channels: 4 }); // [H, W, 4] with alpha
 */
export interface FromImageOptions {
  /**
   * 3 (RGB, the default) or 4 (RGBA, unpremultiplied alpha).
   * @example
   * pg.fromImage(canvas, { channels: 4 }).shape; // [H, W, 4]
   */
  readonly channels?: 3 | 4;
}

/** ImageData, or an object shaped like it (so Node code can pass pixels to the CPU backend). */
function isImageDataLike(s: unknown): s is ImageData {
  const d = s as Partial<ImageData> | null;
  return !!d && typeof d === 'object' && d.data instanceof Uint8ClampedArray && typeof d.width === 'number' && typeof d.height === 'number';
}

const hasGlobal = (name: string): boolean => typeof (globalThis as Record<string, unknown>)[name] === 'function';

interface Sized {
  readonly width: number;
  readonly height: number;
  /** What the error messages call the source. */
  readonly what: string;
}

function sizeOfSource(source: ImageSource): Sized {
  if (isImageDataLike(source)) {
    const { width, height, data } = source;
    if (data.length !== width * height * 4) {
      throw new InvalidArgumentError(`fromImage: ImageData of ${width}×${height} has ${data.length} bytes, expected ${width * height * 4} (RGBA)`);
    }
    return { width, height, what: 'ImageData' };
  }
  if (hasGlobal('VideoFrame') && source instanceof VideoFrame) return { width: source.displayWidth, height: source.displayHeight, what: 'VideoFrame' };
  if (hasGlobal('HTMLImageElement') && source instanceof HTMLImageElement) {
    return { width: source.naturalWidth, height: source.naturalHeight, what: source.complete ? 'image' : 'image (not loaded yet: await img.decode() first)' };
  }
  const s = source as { width?: unknown; height?: unknown } | null;
  if (s && typeof s === 'object' && typeof s.width === 'number' && typeof s.height === 'number') {
    return { width: s.width, height: s.height, what: (source as object).constructor?.name ?? 'image' };
  }
  throw new InvalidArgumentError(
    `fromImage: expected an ImageBitmap, HTMLImageElement, HTMLCanvasElement, OffscreenCanvas, ImageData or VideoFrame, got ${repr(s)}`,
  );
}

/** SecurityError from a canvas or image without CORS access, said in our words. */
function sourceError(e: unknown, what: string): Error {
  const name = (e as { name?: string } | null)?.name;
  const msg = (e as { message?: string } | null)?.message ?? String(e);
  if (name === 'SecurityError') {
    return new InvalidArgumentError(
      `fromImage: the ${what} is cross-origin (tainted), so its pixels cannot be read. Load it with crossOrigin = 'anonymous' from a server that sends CORS headers, or serve it from your own origin. (${msg})`,
    );
  }
  return new InvalidArgumentError(`fromImage: could not read the ${what}: ${name ? `${name}: ` : ''}${msg}`);
}

/**
 * A [H, W, 3] (or [H, W, 4]) float32 tensor in [0, 1] from an image. On WebGPU the pixels go
 * straight into a texture (copyExternalImageToTexture, or writeTexture for ImageData) and a kernel
 * converts them; on the CPU backend they are read through a 2D canvas.
 * @example
 * const photo = pg.fromImage(document.querySelector('img')!); // [H, W, 3] in [0, 1]
 */
export function fromImage(source: ImageSource, options?: FromImageOptions): Tensor {
  const channels = checkOptions('fromImage', options).channels ?? 3;
  if (channels !== 3 && channels !== 4) throw new InvalidArgumentError(`fromImage: channels must be 3 or 4, got ${repr(channels)}`);
  const be = activeBackend('fromImage');
  const { width, height, what } = sizeOfSource(source);
  if (!(width > 0 && height > 0)) {
    throw new InvalidArgumentError(`fromImage: the ${what} is ${width}×${height} pixels; an image needs a width and a height of at least 1`);
  }
  const shape = [height, width, channels];
  if (be instanceof WebGpuBackend) return fromImageGpu(be, source, width, height, channels, what);
  return new Tensor(be, be.upload('fromImage', shape, toFloats(readPixels(source, width, height, what), channels)), shape, false);
}

function fromImageGpu(be: WebGpuBackend, source: ImageSource, width: number, height: number, channels: 3 | 4, what: string): Tensor {
  be.assertUsable('fromImage');
  const device = be.device;
  const maxDim = device.limits.maxTextureDimension2D;
  if (width > maxDim || height > maxDim) {
    throw new LimitError(`fromImage: the ${what} is ${width}×${height} pixels, above this device's maxTextureDimension2D of ${maxDim}; downscale it first`);
  }
  const shape = [height, width, channels];
  const out = be.alloc('fromImage', shape);
  try {
    const upload = uploadTexture(device, width, height);
    try {
      if (isImageDataLike(source)) {
        device.queue.writeTexture({ texture: upload.texture }, source.data, { bytesPerRow: width * 4, rowsPerImage: height }, [width, height]);
      } else {
        device.queue.copyExternalImageToTexture({ source: source as GPUCopyExternalImageSource }, { texture: upload.texture, premultipliedAlpha: false }, [width, height]);
      }
    } catch (e) {
      throw sourceError(e, what);
    }
    const { pipeline, layout } = fromTexturePipeline(device, channels);
    const bindGroup = device.createBindGroup({ layout, entries: [{ binding: 0, resource: upload.view }, { binding: 1, resource: { buffer: out.buf.buffer } }] });
    const [x, y] = dispatchGrid(Math.ceil((width * height) / 4 / WORKGROUP_SIZE), device.limits.maxComputeWorkgroupsPerDimension, 'fromImage');
    const encoder = device.createCommandEncoder({ label: 'pixelgrad fromImage' });
    const pass = encoder.beginComputePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bindGroup);
    pass.dispatchWorkgroups(x, y);
    pass.end();
    // After the recorded work that last used this pooled buffer, which must run before our write.
    be.submitAfterRecorded(encoder.finish());
  } catch (e) {
    be.release(out);
    throw e;
  }
  return new Tensor(be, out, shape, false);
}

/** RGBA bytes of the source, through a 2D canvas unless it is ImageData already. */
function readPixels(source: ImageSource, width: number, height: number, what: string): Uint8ClampedArray {
  if (isImageDataLike(source)) return source.data;
  let ctx: OffscreenCanvasRenderingContext2D | CanvasRenderingContext2D | null = null;
  if (hasGlobal('OffscreenCanvas')) ctx = new OffscreenCanvas(width, height).getContext('2d', { willReadFrequently: true });
  else if (typeof document !== 'undefined') {
    const canvas = document.createElement('canvas');
    canvas.width = width;
    canvas.height = height;
    ctx = canvas.getContext('2d', { willReadFrequently: true });
  }
  if (!ctx) throw new InvalidArgumentError(`fromImage: reading a ${what} on the CPU backend needs a 2D canvas, which this environment lacks; pass ImageData instead`);
  try {
    ctx.drawImage(source as CanvasImageSource, 0, 0);
    return ctx.getImageData(0, 0, width, height).data;
  } catch (e) {
    throw sourceError(e, what);
  }
}

function toFloats(rgba: Uint8ClampedArray, channels: 3 | 4): Float32Array {
  const n = rgba.length / 4;
  const out = new Float32Array(n * channels);
  for (let p = 0; p < n; p++) for (let c = 0; c < channels; c++) out[p * channels + c] = rgba[p * 4 + c]! / 255;
  return out;
}

