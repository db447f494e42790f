/** Node has no navigator.gpu: importing works, init() says what is missing and what to do. */
import { expect, test } from 'vitest';
import * as pg from '../../src/index.ts';

test('importing pixelgrad touches no WebGPU global', () => {
  expect(typeof (globalThis as { GPUBufferUsage?: unknown }).GPUBufferUsage).toBe('undefined');
  expect(typeof pg.tensor).toBe('function');
});

test('ops before init() throw NotInitializedError', () => {
  pg.shutdown();
  expect(() => pg.tensor([1])).toThrow(pg.NotInitializedError);
  expect(() => pg.tensor([1])).toThrow(/await pg.init\(\)/);
});

test('init() without WebGPU rejects with WebGPUUnavailableError, and the CPU backend still works after', async () => {
  const err = await pg.init().catch((e: unknown) => e);
  expect(err).toBeInstanceOf(pg.WebGPUUnavailableError);
  expect((err as pg.WebGPUUnavailableError).reason).toBe('no-navigator-gpu');
  expect((err as Error).message).toMatch(/--enable-unsafe-webgpu/);
  await pg.init({ backend: 'cpu' });
  expect(await pg.tensor([2]).mul(3).item()).toBe(6);
});

test('init() with a GPU whose requestAdapter() returns null reports no-adapter', async () => {
  const gpu = { requestAdapter: async () => null } as unknown as GPU;
  const err = await pg.init({ gpu }).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(pg.WebGPUUnavailableError);
  expect((err as pg.WebGPUUnavailableError).reason).toBe('no-adapter');
});

test('init() is idempotent', async () => {
  const a = await pg.init({ backend: 'cpu' });
  const b = await pg.init({ backend: 'cpu' });
  expect(a).toBe(b);
});
