/** Sharing GPU memory with an app: pg.init({ device }), pg.fromGPUBuffer(), t.gpuBuffer(), and their errors. */
import { afterAll, expect, test } from 'vitest';
import * as pg from '../../src/index.ts';

const STORAGE_RW = () => GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;

async function ownDevice(features: GPUFeatureName[] = []): Promise<GPUDevice> {
  const adapter = await navigator.gpu.requestAdapter();
  const wanted = features.filter((f) => adapter!.features.has(f));
  return adapter!.requestDevice({ requiredFeatures: wanted });
}

/** Reads a buffer the app's way: a copy into a mappable buffer. */
async function readBack(device: GPUDevice, buffer: GPUBuffer, floats: number): Promise<number[]> {
  const staging = device.createBuffer({ size: floats * 4, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  const enc = device.createCommandEncoder();
  enc.copyBufferToBuffer(buffer, 0, staging, 0, floats * 4);
  device.queue.submit([enc.finish()]);
  await staging.mapAsync(GPUMapMode.READ);
  const out = Array.from(new Float32Array(staging.getMappedRange().slice(0)));
  staging.destroy();
  return out;
}

afterAll(async () => {
  // The other suites expect a device of pixelgrad's own.
  pg.shutdown();
  await pg.init();
});

test('init({ device }) runs on the app device, and shutdown leaves that device usable', async () => {
  const device = await ownDevice();
  const be = await pg.init({ device });
  expect(be.device).toBe(device);
  expect(await pg.init({ device })).toBe(be);
  // Without a device, init() keeps the app's.
  expect(await pg.init()).toBe(be);
  const t = pg.tensor([1, 2, 3]).mul(2);
  expect(Array.from(await t.data())).toEqual([2, 4, 6]);
  pg.shutdown();
  // The device is still the app's: it creates buffers and runs work.
  const b = device.createBuffer({ size: 16, usage: STORAGE_RW() });
  device.queue.writeBuffer(b, 0, new Float32Array([5, 6, 7, 8]));
  expect(await readBack(device, b, 4)).toEqual([5, 6, 7, 8]);
  await expect(t.data()).rejects.toBeInstanceOf(pg.DeviceLostError);
  // A second init with it starts a fresh backend on the same device; another device replaces it.
  const again = await pg.init({ device });
  expect(again.device).toBe(device);
  expect(await pg.ones([2]).sum().item()).toBe(2);
  const other = await ownDevice();
  const replaced = await pg.init({ device: other });
  expect(replaced.device).toBe(other);
  expect(await pg.ones([3]).sum().item()).toBe(3);
  // Replacing it did not destroy the first app device either.
  expect(await readBack(device, b, 4)).toEqual([5, 6, 7, 8]);
  b.destroy();
  pg.shutdown();
  device.destroy();
  other.destroy();
});

test('init({ device }) rejects what is not a usable device, naming the argument', async () => {
  await expect(pg.init({ device: {} as GPUDevice })).rejects.toThrow(pg.InvalidArgumentError);
  await expect(pg.init({ device: 3 as unknown as GPUDevice })).rejects.toThrow(/init: device must be a GPUDevice/);
  const device = await ownDevice();
  await expect(pg.init({ device, backend: 'cpu' })).rejects.toThrow(/init: device is for the 'webgpu' backend/);
  await expect(pg.init({ device, gpu: navigator.gpu })).rejects.toThrow(/init: device excludes gpu/);
  await expect(pg.init({ device, powerPreference: 'low-power' })).rejects.toThrow(pg.InvalidArgumentError);
  device.destroy();
  await device.lost;
  await expect(pg.init({ device })).rejects.toThrow(pg.DeviceLostError);
  await expect(pg.init({ device })).rejects.toThrow(/init: the device passed in was already lost/);
});

test('fromGPUBuffer wraps an app buffer without a copy; ops, gradients and in-place updates see it', async () => {
  const device = await ownDevice();
  await pg.init({ device });
  const buffer = device.createBuffer({ size: 16, usage: STORAGE_RW() });
  device.queue.writeBuffer(buffer, 0, new Float32Array([1, 2, 3, 4]));
  const created = pg.memory().buffersCreated;
  const t = await pg.fromGPUBuffer(buffer, [2, 2]);
  expect(pg.memory().buffersCreated).toBe(created);
  expect(t.shape).toEqual([2, 2]);
  expect(await t.toArray()).toEqual([[1, 2], [3, 4]]);
  expect(t.gpuBuffer()).toBe(buffer);
  expect(await t.sum().item()).toBe(10);
  // The app writes new values; the engine reads them (after a flush, as documented).
  pg.flush();
  device.queue.writeBuffer(buffer, 0, new Float32Array([10, 20, 30, 40]));
  expect(await t.mul(2).sum().item()).toBe(200);
  // A parameter in the app's buffer: SGD writes the buffer in place.
  const w = await pg.fromGPUBuffer(buffer, [4], { requiresGrad: true });
  const opt = new pg.SGD([w], { lr: 0.5 });
  w.square().sum().backward(); // grad 2w
  opt.step();
  expect(Array.from(await w.data())).toEqual([0, 0, 0, 0]);
  expect(await readBack(device, buffer, 4)).toEqual([0, 0, 0, 0]);
  opt.zeroGrad();
  // Disposing the tensors leaves the buffer to the app: not destroyed, not pooled.
  const pooled = pg.memory().bytesPooled;
  pg.dispose([t, w]);
  expect(pg.memory().bytesPooled).toBe(pooled);
  device.queue.writeBuffer(buffer, 0, new Float32Array([7, 7, 7, 7]));
  expect(await readBack(device, buffer, 4)).toEqual([7, 7, 7, 7]);
  // Nor does shutdown destroy it.
  pg.shutdown();
  expect(await readBack(device, buffer, 4)).toEqual([7, 7, 7, 7]);
  buffer.destroy();
  device.destroy();
});

test('fromGPUBuffer checks usage, size, mapping and device, naming the argument', async () => {
  await pg.init();
  const device = pg.backend()!.device!;
  const noStorage = device.createBuffer({ size: 16, usage: GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST });
  await expect(pg.fromGPUBuffer(noStorage, [4])).rejects.toThrow(pg.InvalidArgumentError);
  await expect(pg.fromGPUBuffer(noStorage, [4])).rejects.toThrow(/fromGPUBuffer: buffer needs .*lacks STORAGE/);
  const noCopySrc = device.createBuffer({ size: 16, usage: GPUBufferUsage.STORAGE });
  await expect(pg.fromGPUBuffer(noCopySrc, [4])).rejects.toThrow(/lacks COPY_SRC/);
  const small = device.createBuffer({ size: 12, usage: STORAGE_RW() });
  await expect(pg.fromGPUBuffer(small, [3])).rejects.toThrow(/12 bytes is too small for shape \[3\]: it needs 16 bytes/);
  const ok = device.createBuffer({ size: 32, usage: STORAGE_RW() });
  await expect(pg.fromGPUBuffer(ok, [9])).rejects.toThrow(/needs 48 bytes/);
  await expect(pg.fromGPUBuffer(ok, [-1])).rejects.toThrow(pg.ShapeError);
  await expect(pg.fromGPUBuffer({} as GPUBuffer, [1])).rejects.toThrow(/fromGPUBuffer: buffer must be a GPUBuffer, got an object/);
  await expect(pg.fromGPUBuffer(ok, [4], { requiresGrad: 'yes' as unknown as boolean })).rejects.toThrow(/requiresGrad must be true or false/);
  const mapped = device.createBuffer({ size: 16, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC, mappedAtCreation: true });
  await expect(pg.fromGPUBuffer(mapped, [4])).rejects.toThrow(/buffer is mapped; unmap it first/);
  const elsewhere = await ownDevice();
  const foreign = elsewhere.createBuffer({ size: 16, usage: STORAGE_RW() });
  await expect(pg.fromGPUBuffer(foreign, [4])).rejects.toThrow(/fromGPUBuffer: the buffer cannot be used on pixelgrad's device/);
  // Nothing above broke the engine, or counted as an unexpected error.
  expect(await pg.fromGPUBuffer(ok, [8]).then((t) => t.shape)).toEqual([8]);
  expect(await pg.ones([4]).sum().item()).toBe(4);
  expect(pg.memory().uncapturedErrors).toBe(0);
  await pg.init({ backend: 'cpu' });
  await expect(pg.fromGPUBuffer(ok, [4])).rejects.toThrow(/fromGPUBuffer: the cpu backend has no GPU buffers/);
  expect(() => pg.ones([2]).gpuBuffer()).toThrow(/gpuBuffer: tensor \d+ is on the cpu backend/);
  for (const b of [noStorage, noCopySrc, small, ok, mapped]) b.destroy();
  foreign.destroy();
  elsewhere.destroy();
  await pg.init();
});

test('gpuBuffer realizes pending lazy work, and the buffer is the tensor\'s until it is disposed', async () => {
  await pg.init();
  const device = pg.backend()!.device!;
  const x = pg.tensor([1, 2, 3, 4]);
  // Lazy: nothing computed yet when gpuBuffer() is called.
  const y = x.mul(3).add(1);
  const buf = y.gpuBuffer();
  expect(buf.size).toBeGreaterThanOrEqual(16);
  expect(buf.usage & GPUBufferUsage.STORAGE).toBeTruthy();
  expect(await readBack(device, buf, 4)).toEqual([4, 7, 10, 13]);
  // Other tensors made while y is alive never get its buffer.
  const others = Array.from({ length: 8 }, (_, i) => pg.full([4], i));
  for (const o of others) expect(o.gpuBuffer()).not.toBe(buf);
  expect(await readBack(device, buf, 4)).toEqual([4, 7, 10, 13]);
  // A view shares it.
  expect(y.reshape([2, 2]).gpuBuffer()).toBe(buf);
  y.dispose();
  expect(() => y.gpuBuffer()).toThrow(pg.DisposedTensorError);
  expect(() => y.gpuBuffer()).toThrow(/gpuBuffer: tensor \d+/);
  // Inside a compiled function it is refused (a replay would not hand it out again).
  const f = pg.compile((a: pg.Tensor) => {
    a.mul(2).gpuBuffer();
    return a;
  });
  expect(() => f(x)).toThrow(pg.CompileError);
  pg.dispose([x, ...others]);
  expect(await pg.ones([2]).sum().item()).toBe(2);
});

test('one buffer wrapped twice is one memory: an update through one tensor shows through the other', async () => {
  await pg.init();
  const device = pg.backend()!.device!;
  const buffer = device.createBuffer({ size: 16, usage: STORAGE_RW() });
  device.queue.writeBuffer(buffer, 0, new Float32Array([1, 2, 3, 4]));
  const a = await pg.fromGPUBuffer(buffer, [4], { requiresGrad: true });
  const b = await pg.fromGPUBuffer(buffer, [2, 2]);
  const opt = new pg.SGD([a], { lr: 0.1 });
  const losses: number[] = [];
  for (let i = 0; i < 2; i++) {
    opt.zeroGrad();
    const loss = a.mul(b.reshape([4])).sum(); // dloss/da = b = a
    loss.backward();
    opt.step(); // a ← 0.9 a, in place
    losses.push(await loss.item());
  }
  expect(losses[0]).toBeCloseTo(30, 4);
  expect(losses[1]).toBeCloseTo(30 * 0.81, 4);
  const values = await b.data();
  for (const [i, v] of [0.81, 1.62, 2.43, 3.24].entries()) expect(values[i]).toBeCloseTo(v, 5);
  expect(pg.memory().uncapturedErrors).toBe(0);
  opt.dispose();
  pg.dispose([a, b]);
  buffer.destroy();
});
