/**
 * The WebGPU objects image I/O needs beside the op kernels: a compute pipeline that reads a
 * texture, a render pipeline that draws into a canvas, and upload textures. Cached per device;
 * flag values are read inside functions (never at import).
 */
import { fill, section } from '../gpu/wgsl.ts';
import { WORKGROUP_SIZE } from '../gpu/quirks.ts';
import src from '../../shaders/image.wgsl?raw';

interface Compute {
  readonly pipeline: GPUComputePipeline;
  readonly layout: GPUBindGroupLayout;
}

interface Render {
  readonly pipeline: GPURenderPipeline;
  readonly layout: GPUBindGroupLayout;
}

interface Upload {
  readonly texture: GPUTexture;
  readonly view: GPUTextureView;
}

interface DeviceImageState {
  readonly fromTexture: Map<number, Compute>;
  readonly toCanvas: Map<string, Render>;
  /** Upload textures by "WxH", most recently used last. */
  readonly uploads: Map<string, Upload>;
}

/** Upload textures kept for reuse (a video feed reuses one; a gallery of sizes keeps a few). */
const MAX_UPLOADS = 4;

const states = new WeakMap<GPUDevice, DeviceImageState>();

function state(device: GPUDevice): DeviceImageState {
  let s = states.get(device);
  if (!s) {
    s = { fromTexture: new Map(), toCanvas: new Map(), uploads: new Map() };
    states.set(device, s);
  }
  return s;
}

/** The rgba8unorm -> float [H, W, channels] kernel. */
export function fromTexturePipeline(device: GPUDevice, channels: 3 | 4): Compute {
  const s = state(device);
  let c = s.fromTexture.get(channels);
  if (!c) {
    const layout = device.createBindGroupLayout({
      label: 'pixelgrad fromImage',
      entries: [
        { binding: 0, visibility: GPUShaderStage.COMPUTE, texture: { sampleType: 'float', viewDimension: '2d' } },
        { binding: 1, visibility: GPUShaderStage.COMPUTE, buffer: { type: 'storage' } },
      ],
    });
    const code = fill(section(src, 'from_texture'), { CHANNELS: channels, WG: WORKGROUP_SIZE });
    const module = device.createShaderModule({ code, label: 'pixelgrad fromImage' });
    const pipeline = device.createComputePipeline({
      label: `pixelgrad fromImage rgba8 -> ${channels} channels`,
      layout: device.createPipelineLayout({ bindGroupLayouts: [layout] }),
      compute: { module, entryPoint: 'main' },
    });
    c = { pipeline, layout };
    s.fromTexture.set(channels, c);
  }
  return c;
}

/** A texture to upload a width×height image into (reused across calls of the same size). */
export function uploadTexture(device: GPUDevice, width: number, height: number): Upload {
  const s = state(device);
  const key = `${width}x${height}`;
  let u = s.uploads.get(key);
  if (u) {
    s.uploads.delete(key);
  } else {
    const texture = device.createTexture({
      label: `pixelgrad fromImage ${key}`,
      size: [width, height],
      format: 'rgba8unorm',
      // copyExternalImageToTexture needs RENDER_ATTACHMENT and COPY_DST on its destination.
      usage: GPUTextureUsage.TEXTURE_BINDING | GPUTextureUsage.COPY_DST | GPUTextureUsage.RENDER_ATTACHMENT,
    });
    u = { texture, view: texture.createView() };
    if (s.uploads.size >= MAX_UPLOADS) {
      const [oldKey, old] = s.uploads.entries().next().value!;
      // Safe while submitted work still reads it: destruction waits for that work.
      old.texture.destroy();
      s.uploads.delete(oldKey);
    }
  }
  s.uploads.set(key, u);
  return u;
}

/** The fullscreen-triangle pipeline drawing a storage buffer into a `format` target. */
export function toCanvasPipeline(device: GPUDevice, format: GPUTextureFormat): Render {
  const s = state(device);
  let r = s.toCanvas.get(format);
  if (!r) {
    const layout = device.createBindGroupLayout({
      label: 'pixelgrad toCanvas',
      entries: [
        { binding: 0, visibility: GPUShaderStage.FRAGMENT, buffer: { type: 'uniform', minBindingSize: 16 } },
        { binding: 1, visibility: GPUShaderStage.FRAGMENT, buffer: { type: 'read-only-storage' } },
      ],
    });
    const module = device.createShaderModule({ code: section(src, 'to_canvas'), label: 'pixelgrad toCanvas' });
    const pipeline = device.createRenderPipeline({
      label: `pixelgrad toCanvas ${format}`,
      layout: device.createPipelineLayout({ bindGroupLayouts: [layout] }),
      vertex: { module, entryPoint: 'vs' },
      fragment: { module, entryPoint: 'fs', targets: [{ format }] },
      primitive: { topology: 'triangle-list' },
    });
    r = { pipeline, layout };
    s.toCanvas.set(format, r);
  }
  return r;
}
