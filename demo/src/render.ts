/**
 * A tensor drawn by the page's own WebGPU render loop: pixelgrad computes a field each frame on
 * the page's device, and a fragment shader reads the tensor's buffer (t.gpuBuffer(), no copy).
 */
import * as pg from 'pixelgrad';
import { byId } from './dom.ts';

const W = 256;
const H = 256;

const shader = /* wgsl */ `
@group(0) @binding(0) var<storage, read> field: array<f32>;

@vertex fn vs(@builtin(vertex_index) i: u32) -> @builtin(position) vec4f {
  let corner = array(vec2f(-1.0, -1.0), vec2f(3.0, -1.0), vec2f(-1.0, 3.0));
  return vec4f(corner[i], 0.0, 1.0);
}

@fragment fn fs(@builtin(position) pos: vec4f) -> @location(0) vec4f {
  let v = field[u32(pos.y) * ${W}u + u32(pos.x)];
  return vec4f(mix(vec3f(0.04, 0.05, 0.16), vec3f(1.0, 0.72, 0.25), v), 1.0);
}`;

/** exp(-((x - cx)² + (y - cy)²) / r²): a soft blob at (cx, cy), coordinates in [0, 1). */
const blob = (xs: pg.Tensor, ys: pg.Tensor, cx: number, cy: number, r: number) =>
  xs.sub(cx).square().add(ys.sub(cy).square()).div(-r * r).exp();

async function main(): Promise<void> {
  const status = byId('render-status');
  const adapter = await navigator.gpu?.requestAdapter();
  if (!adapter) {
    status.textContent = 'This page needs WebGPU (no adapter here).';
    return;
  }
  // The page owns the device; pixelgrad shares it (and never destroys it).
  const device = await adapter.requestDevice();
  await pg.init({ device });
  const canvas = byId<HTMLCanvasElement>('view');
  const context = canvas.getContext('webgpu')!;
  const format = navigator.gpu.getPreferredCanvasFormat();
  context.configure({ device, format, alphaMode: 'opaque' });
  const module = device.createShaderModule({ code: shader });
  const pipeline = device.createRenderPipeline({
    layout: 'auto',
    vertex: { module, entryPoint: 'vs' },
    fragment: { module, entryPoint: 'fs', targets: [{ format }] },
  });

  const xs = pg.arange(W).div(W).reshape([1, W]);
  const ys = pg.arange(H).div(H).reshape([H, 1]);
  let frames = 0;
  const started = performance.now();

  const frame = (now: number) => {
    const t = now / 1000;
    const field = pg.tidy(() =>
      blob(xs, ys, 0.5 + 0.3 * Math.cos(t), 0.5 + 0.3 * Math.sin(t), 0.18)
        .add(blob(xs, ys, 0.5 - 0.25 * Math.cos(1.7 * t), 0.5 + 0.2 * Math.sin(1.3 * t), 0.12))
        .clamp(0, 1),
    );
    // Submits pixelgrad's work for this frame; the draw below is submitted after it.
    const buffer = field.gpuBuffer();
    const bindGroup = device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries: [{ binding: 0, resource: { buffer } }] });
    const encoder = device.createCommandEncoder();
    const pass = encoder.beginRenderPass({
      colorAttachments: [{ view: context.getCurrentTexture().createView(), loadOp: 'clear', storeOp: 'store', clearValue: [0, 0, 0, 1] }],
    });
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bindGroup);
    pass.draw(3);
    pass.end();
    device.queue.submit([encoder.finish()]);
    // Safe right after the submit: pixelgrad's later writes into this buffer are submitted after the draw.
    field.dispose();
    frames++;
    const fps = (frames * 1000) / (performance.now() - started);
    status.textContent = `frame ${frames} · ${fps.toFixed(0)} frames/s · ${pg.backend()!.adapterName}`;
    status.dataset.frames = String(frames);
    requestAnimationFrame(frame);
  };
  requestAnimationFrame(frame);
}

main().catch((e: unknown) => {
  byId('render-status').textContent = `error: ${e instanceof Error ? e.message : String(e)}`;
  console.error(e);
});
