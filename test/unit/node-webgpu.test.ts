/**
 * WebGPU in Node through the `webgpu` package (Dawn), pointed at Chromium's SwiftShader Vulkan
 * driver: init({ gpu }) with a GPU object that is not navigator.gpu.
 */
import { existsSync } from 'node:fs';
import { afterAll, expect, test } from 'vitest';
import * as pg from '../../src/index.ts';

const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

afterAll(() => {
  // Dawn's node binding keeps the process alive while its GPU object is referenced.
  pg.shutdown();
});

test('the two-ingredient example on Node WebGPU (webgpu package) gives -0.12 and -0.08', async () => {
  if (!process.env.VK_ICD_FILENAMES) {
    expect(existsSync(SWIFTSHADER_ICD), `${SWIFTSHADER_ICD} (from Debian's chromium) or VK_ICD_FILENAMES is needed`).toBe(true);
    process.env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
  }
  const { create, globals } = await import('webgpu');
  Object.assign(globalThis, globals);
  await pg.init({ gpu: create([]) });
  expect(pg.backend()!.kind).toBe('webgpu');
  const c1 = pg.tensor([0.2], { requiresGrad: true });
  const c2 = pg.tensor([0.7], { requiresGrad: true });
  const loss = c1.mul(0.6).add(c2.mul(0.4)).sub(0.5).pow(2);
  loss.backward();
  expect(Math.abs((await c1.grad!.data())[0]! + 0.12)).toBeLessThan(1e-6);
  expect(Math.abs((await c2.grad!.data())[0]! + 0.08)).toBeLessThan(1e-6);
  expect(pg.memory().uncapturedErrors).toBe(0);
});

test('Node: an app device shared with init({ device }), a wrapped buffer, and kernel times from timestamp queries', async () => {
  const { create } = await import('webgpu');
  const gpu = create([]);
  const adapter = (await gpu.requestAdapter())!;
  const timestamps = adapter.features.has('timestamp-query');
  const device = await adapter.requestDevice({ requiredFeatures: timestamps ? ['timestamp-query'] : [] });
  const be = await pg.init({ device });
  expect(be.device).toBe(device);
  // The adapter is named from device.adapterInfo.
  expect(be.adapterName).toMatch(/swiftshader|\w/i);
  const buffer = device.createBuffer({ size: 16, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST });
  device.queue.writeBuffer(buffer, 0, new Float32Array([1, 2, 3, 4]));
  const t = await pg.fromGPUBuffer(buffer, [4]);
  const p = await pg.profile(() => t.mul(t).sum().item());
  expect(p.result).toBe(30);
  expect(p.timed).toBe(timestamps);
  expect(p.kernels.length).toBeGreaterThan(0);
  if (timestamps) expect(p.kernels.every((k) => typeof k.ms === 'number' && k.ms >= 0)).toBe(true);
  pg.shutdown();
  // The device and the buffer are still the app's.
  device.queue.writeBuffer(buffer, 0, new Float32Array([5, 6, 7, 8]));
  await device.queue.onSubmittedWorkDone();
  buffer.destroy();
  device.destroy();
});
