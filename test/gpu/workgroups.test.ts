/**
 * Workgroups sized to the work (quirks.ts workgroupFor): kernels that declare a small thread count
 * run in narrow workgroups, dispatches divide by the width the module declares, and results are
 * the same at every size around the width's steps.
 */
import { expect, test } from 'vitest';
import * as pg from '../../src/index.ts';
import type { WebGpuBackend } from '../../src/gpu/webgpu-backend.ts';
import { wgslModule, workgroupSizeOf } from '../../src/gpu/wgsl.ts';

const gpu = () => pg.backend() as WebGpuBackend;
const SIZES = [1, 3, 4, 5, 63, 64, 65, 255, 256, 257, 1023, 1025, 4097];

test('a module built for a few threads and run over many covers every one (workgroups counted by its own width)', async () => {
  await pg.init();
  const b = gpu();
  const n = 1000;
  const out = b.alloc('test', [n]);
  const body = `@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = linear_index(gid, nwg);
  if (i >= ${n}u) { return; }
  out[i] = f32(i) + 0.5;
}
`;
  const wgsl = wgslModule({ inputs: [], outputs: ['out'], threads: 3 }, body);
  expect(workgroupSizeOf(wgsl)).toBe(4);
  b.run({ name: 'narrow_test', wgsl, threads: n, inputs: [], outputs: [out] });
  const got = await b.read(out, n);
  b.release(out);
  expect(Array.from(got)).toEqual(Array.from({ length: n }, (_, i) => i + 0.5));
});

test('elementwise chains, broadcasts, reductions, softmax, slices and matmuls agree with plain JS at sizes around every workgroup width', async () => {
  await pg.init();
  for (const n of SIZES) {
    const xs = Array.from({ length: n }, (_, i) => Math.sin(i * 0.37) * 2);
    const ys = Array.from({ length: n }, (_, i) => Math.cos(i * 0.11));
    const x = pg.tensor(xs, { shape: [n], requiresGrad: true });
    const y = pg.tensor(ys, { shape: [n] });
    const chain = x.mul(y).add(1).sigmoid();
    const sig = (v: number) => 1 / (1 + Math.exp(-v));
    const want = xs.map((v, i) => sig(v * ys[i]! + 1));
    const got = await chain.data();
    want.forEach((w, i) => {
      expect(got[i]).toBeCloseTo(w, 5);
    });
    // Broadcast: a [n, 1] column plus a [1, 3] row, then a sum over rows; its backward reduces back to the column.
    const col = x.reshape([n, 1]);
    const row = pg.tensor([1, 2, 3], { shape: [1, 3] });
    const loss = col.add(row).mul(col).sum();
    loss.backward();
    const gx = await x.grad!.data();
    // d/dx sum_j (x + r_j) * x = sum_j (2x + r_j) = 6x + 6.
    xs.forEach((v, i) => {
      expect(gx[i]).toBeCloseTo(6 * v + 6, 4);
    });
    expect(await loss.item()).toBeCloseTo(
      xs.reduce((s, v) => s + [1, 2, 3].reduce((t, r) => t + (v + r) * v, 0), 0),
      1,
    );
    const max = await x.max().item();
    expect(max).toBeCloseTo(Math.max(...xs), 6);
    const mean = await y.mean().item();
    expect(mean).toBeCloseTo(ys.reduce((s, v) => s + v, 0) / n, 5);
    const soft = await x.reshape([1, n]).softmax().data();
    const m = Math.max(...xs);
    const z = xs.reduce((s, v) => s + Math.exp(v - m), 0);
    xs.forEach((v, i) => {
      expect(soft[i]).toBeCloseTo(Math.exp(v - m) / z, 6);
    });
    const tail = await x.slice([Math.floor(n / 2)]).data();
    expect(Array.from(tail)).toEqual(Array.from(new Float32Array(xs.slice(Math.floor(n / 2)))));
    // [n, 1] · [1, 2]: n × 2 outputs from a small matmul.
    const outer = await col.matmul(pg.tensor([2, -1], { shape: [1, 2] })).data();
    xs.forEach((v, i) => {
      expect(outer[2 * i]).toBeCloseTo(2 * v, 5);
      expect(outer[2 * i + 1]).toBeCloseTo(-v, 5);
    });
    pg.dispose([x, y, chain, col, row, loss]);
  }
});
