/**
 * How threads that sum in registers share their items (walkBounds in src/gpu/wgsl.ts): grid
 * stride on a GPU, one contiguous chunk per SIMD group on a CPU adapter. Both orders must visit
 * every item once, and every reduction built on them must give the reference's sums in both.
 */
import { expect, test } from 'vitest';
import * as pg from '../../src/index.ts';
import type { GpuStorage } from '../../src/gpu/gpu-ops.ts';
import type { WebGpuBackend } from '../../src/gpu/webgpu-backend.ts';
import { walkBounds, walkThreads, wgslModule } from '../../src/gpu/wgsl.ts';

const gpu = () => pg.backend() as WebGpuBackend;

/** Values in [-1, 1) from a fixed sequence, so every run sums the same numbers. */
const values = (n: number, seed: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 12.9898 + seed * 78.233) % 1);

/** `run` twice: with the backend taken for a CPU adapter (chunked walks), then for a GPU (grid stride). */
async function bothWalks(run: (form: string) => Promise<void>): Promise<void> {
  const backend = gpu() as { isSoftware: boolean };
  const was = backend.isSoftware;
  try {
    backend.isSoftware = true;
    await run('CPU-adapter walk');
    backend.isSoftware = false;
    await run('GPU walk');
  } finally {
    backend.isSoftware = was;
  }
}

function expectClose(got: ArrayLike<number>, want: ArrayLike<number>, what: string, tol = 2e-5): void {
  expect(got.length, what).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    const err = Math.abs(got[i]! - want[i]!);
    if (err > tol * Math.max(1, Math.abs(want[i]!))) expect.fail(`${what}: element ${i} is ${got[i]}, want ${want[i]}`);
  }
}

test('every walk visits each item exactly once, for item counts and thread counts around the SIMD group and chunk edges', async () => {
  await pg.init();
  const b = gpu();
  for (const chunked of [true, false]) {
    for (const T0 of [1, 3, 4, 5, 8, 12, 64, 257]) {
      const T = walkThreads(T0, chunked);
      if (chunked && T0 > 4) expect(T % 4).toBe(0);
      for (const n of [1, 3, 4, 5, 63, 64, 65, 1000, 4097]) {
        const w = walkBounds(n, T, chunked);
        const body = `@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = linear_index(gid, nwg);
  if (t >= ${T}u) { return; }
  ${w.setup}
  for (var i = ${w.start}; i < ${w.end}; i = i + ${w.step}) { atomicAdd(&count[i], 1u); }
}
`;
        const counts = pg.zeros([n]);
        b.run({ name: 'walk_test', wgsl: wgslModule({ inputs: [], outputs: ['count'], types: { count: 'atomic<u32>' }, threads: T }, body), threads: T, inputs: [], outputs: [counts._live('test') as GpuStorage] });
        const got = new Uint32Array((await counts.data()).buffer);
        counts.dispose();
        const wrong = Array.from(got).findIndex((c) => c !== 1);
        expect(wrong, `${chunked ? 'chunked' : 'strided'} walk, T=${T}, n=${n}: item ${wrong} visited ${got[wrong]} times`).toBe(-1);
      }
    }
  }
});

test('a walk with a run-time item count keeps the grid stride; a chunked one needs the count baked in', () => {
  expect(walkBounds('walk_end', 64, false)).toEqual({ setup: '', start: 't', end: 'walk_end', step: '64u' });
  expect(() => walkBounds('walk_end', 64, true)).toThrow(/constant item count/);
  // Thread counts that are not whole SIMD groups keep the grid stride rather than skip lanes' items.
  expect(walkBounds(100, 6, true).step).toBe('6u');
});

test('sum, mean over rows, mseLoss, colorMix and colorMixLoss give the float64 sums in both walk orders, at sizes around their chunk edges', async () => {
  await pg.init();
  await bothWalks(async (form) => {
    for (const n of [160, 161, 1000, 4099, 70001]) {
      const x = values(n, 1);
      const y = values(n, 2);
      let sum = 0;
      let sq = 0;
      for (let i = 0; i < n; i++) {
        sum += x[i]!;
        sq += (x[i]! - y[i]!) ** 2;
      }
      const [tx, ty] = [pg.tensor(x), pg.tensor(y)];
      expectClose([await tx.sum().item()], [sum], `${form}: sum of ${n}`, 1e-4);
      expectClose([await pg.mseLoss(tx, ty).item()], [sq / n], `${form}: mseLoss of ${n}`);
      const rows = pg.tensor(x.subarray(0, 3 * Math.floor(n / 3)), { shape: [3, Math.floor(n / 3)] });
      const rowMeans = [0, 1, 2].map((r) => {
        const m = Math.floor(n / 3);
        let s = 0;
        for (let j = 0; j < m; j++) s += x[r * m + j]!;
        return s / m;
      });
      expectClose(await rows.mean(1).data(), rowMeans, `${form}: row means of [3, ${Math.floor(n / 3)}]`);
      pg.dispose([tx, ty, rows]);
    }
    for (const P of [257, 1003, 20001]) {
      const [K, C] = [3, 2];
      const w = values(P * K, 3);
      const pal = values(K * C, 4);
      const target = values(P * C, 5);
      // The residual d = W·pal − T; loss = mean(d²); dpal[k, c] = (2 / (P·C)) Σ_p d[p, c]·W[p, k].
      let loss = 0;
      const dpal = new Float64Array(K * C);
      const gsum = new Float64Array(K * C);
      for (let p = 0; p < P; p++) {
        for (let c = 0; c < C; c++) {
          let m = 0;
          for (let k = 0; k < K; k++) m += w[p * K + k]! * pal[k * C + c]!;
          const d = m - target[p * C + c]!;
          loss += d * d;
          for (let k = 0; k < K; k++) {
            dpal[k * C + c]! += (2 / (P * C)) * d * w[p * K + k]!;
            gsum[k * C + c]! += w[p * K + k]!;
          }
        }
      }
      const W = pg.tensor(w, { shape: [P, K] });
      const Pal = pg.tensor(pal, { shape: [K, C], requiresGrad: true });
      const T = pg.tensor(target, { shape: [P, C] });
      const l = pg.colorMixLoss(W, Pal, T);
      l.backward();
      expectClose([await l.item()], [loss / (P * C)], `${form}: colorMixLoss over ${P} pixels`);
      expectClose(await Pal.grad!.data(), dpal, `${form}: colorMixLoss palette gradient over ${P} pixels`, 1e-4);
      Pal.zeroGrad();
      // colorMix's own backward with an upstream of ones: dpal[k, c] = Σ_p W[p, k].
      const mixSum = pg.colorMix(W, Pal).sum();
      mixSum.backward();
      expectClose(await Pal.grad!.data(), gsum, `${form}: colorMix palette gradient over ${P} pixels`, 1e-4);
      pg.dispose([W, Pal, T, l, mixSum]);
    }
  });
});
