/** pg.profile(): per-kernel GPU times where the device has timestamp queries, and a plain statement where it has not. */
import { expect, test } from 'vitest';
import * as pg from '../../src/index.ts';

function work(): number {
  const x = pg.arange(4096).div(4096);
  const w = pg.ones([4096], { requiresGrad: true });
  const loss = x.mul(w).square().sum();
  loss.backward();
  return 1;
}

test('profile lists each kernel by its pipeline label, timed exactly where the device offers timestamp-query', async () => {
  const be = await pg.init();
  const offered = be.device!.features.has('timestamp-query');
  // Earlier work is submitted first and not counted.
  pg.ones([8]).mul(2);
  const before = pg.memory().dispatches;
  const p = await pg.profile(work);
  expect(p.result).toBe(1);
  const dispatched = pg.memory().dispatches - before;
  expect(p.kernels.length).toBeGreaterThan(0);
  expect(p.kernels.length).toBeLessThanOrEqual(dispatched);
  for (const k of p.kernels) expect(k.name).toMatch(/^\w+/);
  expect(p.wallMs).toBeGreaterThan(0);
  expect(p.timed).toBe(offered);
  if (offered) {
    expect(p.untimed).toBeNull();
    for (const k of p.kernels) {
      expect(typeof k.ms).toBe('number');
      expect(k.ms!).toBeGreaterThanOrEqual(0);
      expect(k.ms!).toBeLessThan(p.wallMs + 1);
    }
    expect(p.gpuMs).toBeCloseTo(p.kernels.reduce((a, k) => a + k.ms!, 0), 9);
  } else {
    expect(p.untimed).toMatch(/timestamp-query/);
    for (const k of p.kernels) expect(k.ms).toBeNull();
    expect(p.gpuMs).toBeNull();
  }
  // The engine works as before afterwards, and a second profile of the same work lists the same kernels.
  const again = await pg.profile(work);
  expect(again.kernels.map((k) => k.name)).toEqual(p.kernels.map((k) => k.name));
  expect(await pg.ones([4]).sum().item()).toBe(4);
  expect(pg.memory().uncapturedErrors).toBe(0);
});

test('profile of async work, of a device without timestamp-query, of the CPU backend, and its errors', async () => {
  await pg.init();
  const p = await pg.profile(async () => pg.tensor([1, 2, 3]).mul(2).sum().item());
  expect(p.result).toBe(12);
  expect(p.kernels.length).toBeGreaterThan(0);
  // A device the app created without the feature: untimed, and says so.
  const adapter = await navigator.gpu.requestAdapter();
  const device = await adapter!.requestDevice();
  await pg.init({ device });
  const plain = await pg.profile(work);
  expect(plain.timed).toBe(false);
  expect(plain.untimed).toMatch(/device passed to pg.init\(\{ device \}\) was created without the 'timestamp-query' feature/);
  expect(plain.kernels.length).toBeGreaterThan(0);
  expect(plain.kernels.every((k) => k.ms === null)).toBe(true);
  pg.shutdown();
  device.destroy();
  await pg.init({ backend: 'cpu' });
  const cpu = await pg.profile(() => pg.ones([2]).sum());
  expect(cpu.timed).toBe(false);
  expect(cpu.untimed).toMatch(/cpu backend/);
  expect(cpu.kernels).toEqual([]);
  await pg.init();
  await expect(pg.profile(3 as unknown as () => void)).rejects.toThrow(/profile: fn must be a function/);
  await expect(
    pg.profile(() => {
      throw new pg.ShapeError('boom');
    }),
  ).rejects.toThrow('boom');
  // A failed fn ends its profile; nested profiles are refused while one runs.
  const outer = pg.profile(async () => {
    await expect(pg.profile(() => 1)).rejects.toThrow(/profile: another pg.profile\(\) is still running/);
    return 2;
  });
  expect((await outer).result).toBe(2);
  expect((await pg.profile(() => 5)).result).toBe(5);
});
