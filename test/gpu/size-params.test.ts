/**
 * Sizes as kernel parameters (render.ts, Body.size): a program run on an image of another size
 * builds the same kernel text, so it compiles nothing new, and reads the size at run time, so its
 * values are that image's. Each program runs twice per size (the second run replays the recorded
 * schedule, whose sizes stay as recorded: schedule-cache.ts) and then at the first size again.
 */
import { expect, test } from 'vitest';
import * as pg from '../../src/index.ts';
import { cpuThenGpuForm, expectClose, withShaders } from '../shared/backends.ts';

/** Values in [0, 1) from a fixed sequence. */
const values = (n: number, seed: number) => Float32Array.from({ length: n }, (_, i) => Math.abs(Math.sin(i * 12.9898 + seed * 78.233)));
const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));
const A = [0.9, 1.1, 1.3];

interface Program {
  readonly name: string;
  /** The tensors to read, from pixels x [n, 3] (and per-pixel weights L [n, 8]). */
  run(x: pg.Tensor, L: pg.Tensor): pg.Tensor[];
  /** float64 values of the same, from the same data. */
  want(x: Float32Array, L: Float32Array, n: number): number[][];
}

const P0 = Array.from(values(24, 3));

const programs: Program[] = [
  {
    name: 'an elementwise map with a broadcast parameter',
    run: (x) => [x.mul(pg.tensor(A)).sigmoid()],
    want: (x) => [Array.from(x, (v, e) => sigmoid(v * A[e % 3]!))],
  },
  {
    name: 'two sums over every element (one pass)',
    run: (x) => [x.sum(), x.mul(x).sum()],
    want: (x) => [[x.reduce((s, v) => s + v, 0)], [x.reduce((s, v) => s + v * v, 0)]],
  },
  {
    name: 'per-channel sums over the pixels',
    run: (x) => [x.mul(pg.tensor(A)).sum(0)],
    want: (x) => [A.map((a, c) => x.reduce((s, v, e) => (e % 3 === c ? s + a * v : s), 0))],
  },
  {
    name: 'a softmax of each pixel’s weights mixing a palette (rows)',
    run: (_, L) => [L.softmax(-1).matmul(pg.tensor(P0, { shape: [8, 3] }))],
    want: (_, L, n) => {
      const out: number[] = [];
      for (let o = 0; o < n; o++) {
        const row = Array.from(L.subarray(o * 8, o * 8 + 8));
        const m = Math.max(...row);
        const ex = row.map((v) => Math.exp(v - m));
        const z = ex.reduce((s, v) => s + v, 0);
        for (let c = 0; c < 3; c++) out.push(ex.reduce((s, v, k) => s + (v / z) * P0[k * 3 + c]!, 0));
      }
      return [out];
    },
  },
];

test('programs on images of other sizes compile no new kernels and compute those images', async () => {
  await pg.init();
  for (const p of programs) {
    // (Forms whose kernels do not depend on the device compile once, in the first form.)
    const [first] = await cpuThenGpuForm(async (cpu) => {
      const compiled: number[] = [];
      // 200 × 200 and 200 × 210 pixels, then the first again.
      for (const n of [40000, 42000, 40000]) {
        const what = `${p.name}, ${cpu ? 'CPU-adapter' : 'GPU'} kernels, ${n} pixels`;
        const x = values(3 * n, 1);
        const l = values(8 * n, 2);
        const X = pg.tensor(x, { shape: [n, 3] });
        const L = pg.tensor(l, { shape: [n, 8] });
        const want = p.want(x, l, n);
        await withShaders(async (shaders) => {
          for (let run = 0; run < 2; run++) {
            const outs = pg.tidy(() => p.run(X, L));
            for (const [k, t] of outs.entries()) {
              expectClose(await t.data(), want[k]!, 2e-5, 2e-5 * (t.size === 1 ? n : 1), `${what}, run ${run + 1}: output ${k}`);
            }
            pg.dispose(outs);
          }
          compiled.push(shaders.length);
        });
        pg.dispose([X, L]);
      }
      expect(compiled.slice(1), `${p.name}, ${cpu ? 'CPU-adapter' : 'GPU'} kernels: kernels compiled for the other sizes`).toEqual([0, 0]);
      return compiled[0]!;
    });
    expect(first, `${p.name}: the first size compiles its kernels`).toBeGreaterThan(0);
  }
});
