/** WebGPU-only failure surfaces: limits, compile errors, device loss, concurrent reads, steady-state allocation. */
import { expect, test } from 'vitest';
import * as pg from '../../src/index.ts';
import type { WebGpuBackend } from '../../src/gpu/webgpu-backend.ts';
import { readsNeedProdding } from '../../src/gpu/quirks.ts';
import { wgslModule } from '../../src/gpu/wgsl.ts';

const gpu = () => pg.backend() as WebGpuBackend;

test('a tensor larger than the device allows fails with LimitError before any GPU call', async () => {
  await pg.init();
  const created = pg.memory().buffersCreated;
  expect(() => pg.zeros([2 ** 20, 2 ** 11])).toThrow(pg.LimitError);
  expect(() => pg.zeros([2 ** 20, 2 ** 11])).toThrow(/maxStorageBufferBindingSize/);
  expect(() => pg.zeros([2 ** 20, 2 ** 11])).toThrow(/\[1048576, 2048\]/);
  expect(pg.memory().buffersCreated).toBe(created);
  expect(await pg.ones([2]).sum().item()).toBe(2);
});

test('a WGSL compile error names the kernel, gives line:col and the source, and the engine keeps working', async () => {
  await pg.init();
  const b = gpu();
  const out = b.alloc('test', [4]);
  const wgsl = wgslModule({ inputs: [], outputs: ['out'] }, '@compute @workgroup_size(WG)\nfn main() {\n  out[0] = undefined_thing;\n}\n');
  b.run({ name: 'deliberately_broken', wgsl, threads: 1, inputs: [], outputs: [out] });
  b.flush();
  b.release(out);
  const err = await pg.ones([1]).data().catch((e: unknown) => e);
  expect(err).toBeInstanceOf(pg.ShaderCompileError);
  const msg = (err as Error).message;
  expect(msg).toContain('deliberately_broken');
  expect(msg).toMatch(/\d+:\d+: error: .*undefined_thing/);
  expect(msg).toContain('out[0] = undefined_thing;');
  // A submit that contained the broken kernel may still report; after that, everything works.
  expect(Array.from(await pg.tensor([1, 2]).mul(pg.tensor([3, 4])).data())).toEqual([3, 8]);
});

test('a tensor that needs a 2-D workgroup grid (more than 65,535 × 256 elements) is computed everywhere', async () => {
  await pg.init();
  const n = 65_535 * 256 + 1000;
  const x = pg.full([n], 1.5);
  const y = x.mul(2);
  const d = await y.data();
  expect(d.length).toBe(n);
  expect(d[0]).toBe(3);
  expect(d[65_535 * 256 - 1]).toBe(3);
  expect(d[n - 1]).toBe(3);
  expect(d.every((v) => v === 3)).toBe(true);
  pg.dispose([x, y]);
});

test('many concurrent reads of the same and different tensors resolve to the right values', async () => {
  await pg.init();
  const a = pg.arange(1000);
  const b = a.mul(2);
  const reads = Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b).data());
  const c = b.add(1);
  reads.push(c.data());
  const results = await Promise.all(reads);
  results.forEach((r, i) => {
    const want = i === 10 ? 2 * 999 + 1 : i % 2 ? 999 : 2 * 999;
    expect(r[999]).toBe(want);
  });
  pg.dispose([a, b, c]);
});

test('a training step creates no buffers, bind groups or pipelines after the first step, and no WebGPU errors occur', async () => {
  await pg.init();
  const x = pg.rand([64, 8], { seed: 1 });
  const w = pg.rand([8, 3], { seed: 2, requiresGrad: true });
  const t = pg.rand([64, 3], { seed: 3 });
  const opt = new pg.Adam([w], { lr: 0.01 });
  const step = () =>
    pg.tidy(() => {
      const loss = x.matmul(w).sigmoid().sub(t).square().mean();
      loss.backward();
      opt.step();
      opt.zeroGrad();
    });
  step();
  step();
  await w.data();
  const before = pg.memory();
  for (let i = 0; i < 20; i++) step();
  await w.data();
  const after = pg.memory();
  expect(after.buffersCreated).toBe(before.buffersCreated);
  expect(after.bindGroupsCreated).toBe(before.bindGroupsCreated);
  expect(after.pipelinesCreated).toBe(before.pipelinesCreated);
  expect(after.liveTensors).toBe(before.liveTensors);
  expect(after.bytesInUse).toBe(before.bytesInUse);
  expect(after.uncapturedErrors).toBe(before.uncapturedErrors);
  expect(after.uncapturedErrors).toBe(0);
  // One submit per backward and one per optimizer step, not one per dispatch.
  expect(after.submits - before.submits).toBeLessThanOrEqual(2 * 20 + 1);
  expect(after.dispatches - before.dispatches).toBeGreaterThan(after.submits - before.submits);
  opt.dispose();
  pg.dispose([x, w, t]);
});

test('releasePooled frees the pool, and later steps still run (with their bind groups rebuilt)', async () => {
  await pg.init();
  const x = pg.rand([4096], { seed: 4 });
  const step = () => pg.tidy(() => x.mul(2).add(1).sum());
  const first = step();
  const v1 = await first.item();
  first.dispose();
  expect(pg.memory().bytesPooled).toBeGreaterThan(0);
  pg.releasePooled();
  expect(pg.memory().bytesPooled).toBe(0);
  const again = step();
  expect(await again.item()).toBeCloseTo(v1, 2);
  pg.dispose([again, x]);
});

test('a lost device rejects pending reads with DeviceLostError; init() again recovers', async () => {
  await pg.init();
  const old = pg.tensor([1, 2, 3]);
  const big = pg.rand([1 << 16], { seed: 1 });
  const pending = big.exp().data();
  gpu().device.destroy();
  await expect(pending).rejects.toBeInstanceOf(pg.DeviceLostError);
  await new Promise((r) => setTimeout(r, 10));
  expect(() => old.add(1)).toThrow(pg.DeviceLostError);
  expect(() => old.add(1)).toThrow(/pg.init\(\)/);
  await pg.init();
  expect(() => old.add(1)).toThrow(pg.DeviceLostError);
  old.dispose();
  expect(Array.from(await pg.tensor([1, 2]).add(1).data())).toEqual([2, 3]);
});

test("in the browser reads are prodded (the GPU process's completion poll is on a timer)", () => {
  expect(readsNeedProdding()).toBe(true);
});
