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
import { cpuThenGpuForm, expectClose as expectWithin, withDispatches, withShaders } from '../shared/backends.ts';

/** got ≈ want within tol·max(1, |want|) (the shared check with half of tol relative and half absolute, never looser). */
const expectClose = (got: ArrayLike<number>, want: ArrayLike<number>, what: string, tol = 2e-5) => expectWithin(got, want, tol / 2, tol / 2, what);
const formName = (cpu: boolean) => (cpu ? 'CPU-adapter walk' : 'GPU walk');

const gpu = () => pg.backend() as WebGpuBackend;

/** Values in [-1, 1) from a fixed sequence, so every run sums the same numbers. */
const values = (n: number, seed: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 12.9898 + seed * 78.233) % 1);

test('every walk visits each item exactly once, for item counts and thread counts around the SIMD group and chunk edges', async () => {
  await pg.init();
  const b = gpu();
  for (const chunked of [true, false]) {
    for (const T0 of [1, 3, 4, 5, 8, 12, 64, 257]) {
      const T = walkThreads(T0, chunked);
      if (chunked && T0 > 4) expect(T % 4).toBe(0);
      // The count baked in, and read at run time from a parameter (a walk over images of any size).
      for (const n of [1, 3, 4, 5, 63, 64, 65, 1000, 4097]) {
        for (const runTime of [false, true]) {
          const w = walkBounds(runTime ? 'walk_n' : `${n}u`, T, chunked);
          const body = `@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = linear_index(gid, nwg);
  if (t >= ${T}u) { return; }
  let walk_n = u32(param(0u));
  ${w.setup}
  for (var i = ${w.start}; i < ${w.end}; i = i + ${w.step}) { atomicAdd(&count[i], 1u); }
}
`;
          const counts = pg.zeros([n]);
          const wgsl = wgslModule({ inputs: [], outputs: ['count'], types: { count: 'atomic<u32>' }, threads: T }, body);
          b.run({ name: 'walk_test', wgsl, threads: T, inputs: [], outputs: [counts._live('test') as GpuStorage], params: [n] });
          const got = new Uint32Array((await counts.data()).buffer);
          counts.dispose();
          const wrong = Array.from(got).findIndex((c) => c !== 1);
          expect(wrong, `${chunked ? 'chunked' : 'strided'} walk, T=${T}, n=${n}${runTime ? ' at run time' : ''}: item ${wrong} visited ${got[wrong]} times`).toBe(-1);
        }
      }
    }
  }
});

test('a walk with a run-time item count: the same grid stride, or chunks computed in the kernel', () => {
  expect(walkBounds('walk_end', 64, false)).toEqual({ setup: '', start: 't', end: 'walk_end', step: '64u' });
  expect(walkBounds('walk_end', 64, true).setup).toContain('let walk_per = 4u * ((walk_end + 63u) / 64u);');
  // Thread counts that are not whole SIMD groups keep the grid stride rather than skip lanes' items.
  expect(walkBounds('100u', 6, true).step).toBe('6u');
});

/** The WGSL of every kernel `run` records, by kernel name. */
async function kernelsOf(run: () => Promise<void>): Promise<Map<string, string[]>> {
  const seen = new Map<string, string[]>();
  // Every kernel, queued expressions' and ops' own, is recorded through dispatch.
  const kernels = await withDispatches(async (kernels) => {
    await run();
    return kernels;
  });
  for (const k of kernels) seen.set(k.name, [...(seen.get(k.name) ?? []), k.wgsl]);
  return seen;
}

/** Each of `names` ran, and each of its kernels walked chunks (CPU adapter) or grid stride (GPU). */
function expectWalks(seen: Map<string, string[]>, names: readonly string[], chunked: boolean, what: string): void {
  for (const name of names) {
    // A reduction of few outputs may run as a walk of its own (src/gpu/walks.ts), then a finishing
    // pass under the reduction's own name.
    const texts = seen.get(`walk(${name})`) ?? seen.get(name);
    expect(texts, `${what}: kernel ${name} did not run (ran: ${[...seen.keys()].join(', ')})`).toBeDefined();
    // The first kernel of a name is the pass that walks; a second (the partials' sum) walks grid-stride.
    expect(texts![0]!.includes('walk_lo'), `${what}: ${name} ${chunked ? 'walks a chunk per SIMD group' : 'walks grid-stride'}`).toBe(chunked);
  }
}

/** The generated walks (kernels named walk(...): a loss and its gradients over the pixels) ran, each in the expected order. */
function expectGeneratedWalks(seen: Map<string, string[]>, chunked: boolean, what: string): void {
  const walks = [...seen].filter(([name]) => name.startsWith('walk('));
  expect(walks.length, `${what}: no walk kernel ran (ran: ${[...seen.keys()].join(', ')})`).toBeGreaterThan(0);
  for (const [name, texts] of walks) expect(texts[0]!.includes('walk_lo'), `${what}: ${name} ${chunked ? 'walks a chunk per SIMD group' : 'walks grid-stride'}`).toBe(chunked);
}

/** Largest |x|: gradient checks are relative to the vector's scale, so a skipped item cannot hide below an absolute floor. */
const scaleOf = (xs: ArrayLike<number>) => Math.max(...Array.from(xs, Math.abs));

test('sum, mean and max over the last axis, mseLoss, colorMix and colorMixLoss give the float64 results in both walk orders, at sizes whose CPU walks span many chunks', async () => {
  await pg.init();
  await cpuThenGpuForm(async (chunked) => {
    const form = formName(chunked);
    for (const n of [160, 1000, 4099, 70001]) {
      const x = values(n, 1);
      const y = values(n, 2);
      let sum = 0;
      let sq = 0;
      for (let i = 0; i < n; i++) {
        sum += x[i]!;
        sq += (x[i]! - y[i]!) ** 2;
      }
      const m = Math.floor(n / 3);
      const rowOf = (r: number) => Array.from(x.subarray(r * m, (r + 1) * m));
      const [tx, ty] = [pg.tensor(x), pg.tensor(y)];
      const rows = pg.tensor(x.subarray(0, 3 * m), { shape: [3, m] });
      const got: Record<string, number[]> = {};
      const seen = await kernelsOf(async () => {
        got.sum = [await tx.sum().item()];
        got.mse = [await pg.mseLoss(tx, ty).item()];
        got.mean = Array.from(await rows.mean(1).data());
        got.max = Array.from(await rows.max(1).data());
      });
      expectClose(got.sum!, [sum], `${form}: sum of ${n}`, 1e-4);
      expectClose(got.mse!, [sq / n], `${form}: mseLoss of ${n}`);
      expectClose(got.mean!, [0, 1, 2].map((r) => rowOf(r).reduce((s, v) => s + v, 0) / m), `${form}: row means of [3, ${m}]`);
      expectClose(got.max!, [0, 1, 2].map((r) => Math.max(...rowOf(r))), `${form}: row maxima of [3, ${m}]`, 0);
      // Sizes past a few chunks must take the chunked walk on a CPU adapter, or this test checks nothing new.
      // (mean is a sum_reduce whose finishing pass scales it.)
      if (n >= 4099) expectWalks(seen, ['sum_reduce', 'max_reduce'], chunked, `${form}, n=${n}`);
      // mseLoss is plain ops: past 16,384 elements its sum is a sibling-sums pass (four elements an
      // iteration), which walks the same way.
      if (n >= 16384) {
        const sums = [...seen].find(([name]) => name.startsWith('sums('));
        expect(sums, `${form}, n=${n}: no sums pass (ran: ${[...seen.keys()].join(', ')})`).toBeDefined();
        expect(sums![1][0]!.includes('walk_lo'), `${form}, n=${n}: the sums pass ${chunked ? 'walks a chunk per SIMD group' : 'walks grid-stride'}`).toBe(chunked);
      }
      pg.dispose([tx, ty, rows]);
    }
    for (const P of [257, 4099, 20001]) {
      const [K, C] = [3, 2];
      const w = values(P * K, 3);
      const pal = values(K * C, 4);
      const target = values(P * C, 5);
      // d = W·pal − T; loss = mean(d²); dpal[k, c] = s Σ_p d[p, c]·W[p, k]; dW[p, k] = s Σ_c d[p, c]·pal[k, c]; s = 2 / (P·C).
      const s = 2 / (P * C);
      let loss = 0;
      const dpal = new Float64Array(K * C);
      const dw = new Float64Array(P * K);
      const colSums = new Float64Array(K * C);
      for (let p = 0; p < P; p++) {
        for (let c = 0; c < C; c++) {
          let mix = 0;
          for (let k = 0; k < K; k++) mix += w[p * K + k]! * pal[k * C + c]!;
          const d = mix - target[p * C + c]!;
          loss += d * d;
          for (let k = 0; k < K; k++) {
            dpal[k * C + c]! += s * d * w[p * K + k]!;
            dw[p * K + k]! += s * d * pal[k * C + c]!;
            colSums[k * C + c]! += w[p * K + k]!;
          }
        }
      }
      const W = pg.tensor(w, { shape: [P, K], requiresGrad: true });
      const Pal = pg.tensor(pal, { shape: [K, C], requiresGrad: true });
      const T = pg.tensor(target, { shape: [P, C] });
      const got: Record<string, Float32Array> = {};
      const seen = await kernelsOf(async () => {
        const l = pg.colorMixLoss(W, Pal, T);
        l.backward();
        got.loss = await l.data();
        got.dpal = await Pal.grad!.data();
        got.dw = await W.grad!.data();
        pg.dispose([l]);
        Pal.zeroGrad();
        // colorMix's backward with an upstream of ones: dpal[k, c] = Σ_p W[p, k].
        const mixSum = pg.colorMix(W, Pal).sum();
        mixSum.backward();
        got.colSums = await Pal.grad!.data();
        pg.dispose([mixSum]);
        Pal.zeroGrad();
        W.zeroGrad();
      });
      expectClose(got.loss!, [loss / (P * C)], `${form}: colorMixLoss over ${P} pixels`);
      expectClose(got.dpal!, dpal, `${form}: colorMixLoss palette gradient over ${P} pixels`, 1e-4 * scaleOf(dpal));
      expectClose(got.dw!, dw, `${form}: colorMixLoss weights gradient over ${P} pixels`, 1e-4 * scaleOf(dw));
      expectClose(got.colSums!, colSums, `${form}: colorMix palette gradient over ${P} pixels`, 1e-5 * scaleOf(colSums));
      if (P >= 4099) expectGeneratedWalks(seen, chunked, `${form}, P=${P}`);
      pg.dispose([W, Pal, T]);
    }
  });
});

test('a colorMixLoss step with Adam fused into its walk gives the same parameters in both walk orders', async () => {
  await pg.init();
  const [P, K, C] = [20001, 4, 3];
  const results: Float32Array[][] = [];
  await cpuThenGpuForm(async (cpu) => {
    const form = formName(cpu);
    const W = pg.tensor(values(P * K, 6), { shape: [P, K], requiresGrad: true });
    const Pal = pg.tensor(values(K * C, 7), { shape: [K, C], requiresGrad: true });
    const T = pg.tensor(values(P * C, 8), { shape: [P, C] });
    const opt = new pg.Adam([W, Pal], { lr: 0.05 });
    const seen = await kernelsOf(async () => {
      for (let i = 0; i < 3; i++) {
        pg.tidy(() => {
          const loss = pg.colorMixLoss(W, Pal, T, { softmax: true });
          loss.backward();
          opt.step();
          opt.zeroGrad();
        });
      }
      results.push([await W.data(), await Pal.data()]);
    });
    expectGeneratedWalks(seen, cpu, form);
    expect([...seen.keys()].some((name) => name.startsWith('walk(') && name.includes('adam')), `${form}: Adam runs in the walk`).toBe(true);
    opt.dispose();
    pg.dispose([W, Pal, T]);
  });
  const [[w1, p1], [w2, p2]] = results as [[Float32Array, Float32Array], [Float32Array, Float32Array]];
  expectClose(w1, w2, 'logits after 3 fused Adam steps, CPU walk against GPU walk', 1e-5);
  expectClose(p1, p2, 'palette after 3 fused Adam steps, CPU walk against GPU walk', 1e-5);
});

// The layers step from plain ops: a walk that only sums, each sum over the pixels and the
// channels, walks the image's elements (not its pixels), four an iteration as vec4s where the
// element count allows, and gives float64's loss and gradient in both walk orders.
test('a weighted sum of K images and its weights gradient walk the elements flat, vec4s where they fit', async () => {
  await pg.init();
  const K = 4;
  for (const P of [20000, 20001]) {
    const m = P * 3;
    const y = values(K * m, 11);
    const t = values(m, 12);
    const c0 = [0.3, -0.2, 0.5, 0.1];
    // float64: d = Σ_k c_k·Y_k − T, loss = mean d², ∂loss/∂c_k = 2·mean(d·Y_k).
    const d = Array.from({ length: m }, (_, e) => c0.reduce((acc, ck, k) => acc + ck * y[k * m + e]!, 0) - t[e]!);
    const loss = d.reduce((acc, v) => acc + v * v, 0) / m;
    const grad = c0.map((_, k) => (2 * d.reduce((acc, v, e) => acc + v * y[k * m + e]!, 0)) / m);
    await cpuThenGpuForm(async (cpu) => {
      const what = `${formName(cpu)}, ${P} pixels`;
      const c = pg.tensor(c0, { requiresGrad: true });
      const Y = pg.tensor(y, { shape: [K, P, 3] });
      const T = pg.tensor(t, { shape: [P, 3] });
      let got: Float32Array | null = null;
      const seen = await kernelsOf(async () => {
        const l = pg.tidy(() => {
          const r = c.reshape([K, 1, 1]).mul(Y).sum(0).sub(T);
          const v = r.mul(r).mean();
          v.backward();
          return v;
        });
        got = await l.data();
        l.dispose();
      });
      expectGeneratedWalks(seen, cpu, what);
      const walk = [...seen].find(([name]) => name.startsWith('walk('))![1][0]!;
      // Y's four images read as vec4s of four elements each (not a pixel's 3 channels a row).
      expect(walk.includes('array<vec4<f32>>'), `${what}: vec4 reads`).toBe(m % 4 === 0);
      expectClose(got!, [loss], `${what}: loss`);
      expectClose(await c.grad!.data(), grad, `${what}: gradient of the weights`);
      pg.dispose([c, Y, T]);
    });
  }
});

test('a walk over an image of another size reuses its kernels (the row count is a parameter) and sums that image', async () => {
  await pg.init();
  // A tone curve's step, as a user writes it: per-channel a, b of shape [3] over pixels [N, 3].
  const a0 = [0.9, 1.1, 1.3];
  const b0 = [-0.2, 0.1, 0.3];
  const stepOn = async (N: number) => {
    const x = values(3 * N, 1);
    const t = values(3 * N, 2);
    const a = pg.tensor(a0, { requiresGrad: true });
    const b = pg.tensor(b0, { requiresGrad: true });
    const X = pg.tensor(x, { shape: [N, 3] });
    const T = pg.tensor(t, { shape: [N, 3] });
    const l = pg.tidy(() => {
      const v = X.mul(a).add(b).sigmoid().sub(T).abs().mean();
      v.backward();
      return v;
    });
    const got = { loss: await l.data(), a: await a.grad!.data(), b: await b.grad!.data() };
    // float64: s = σ(a·x + b), loss = mean |s − t|, ∂/∂b_c = mean over pixels of sign(s − t)·s·(1 − s), ∂/∂a_c the same times x.
    const want = { loss: 0, a: [0, 0, 0], b: [0, 0, 0] };
    for (let e = 0; e < 3 * N; e++) {
      const c = e % 3;
      const s = 1 / (1 + Math.exp(-(a0[c]! * x[e]! + b0[c]!)));
      want.loss += Math.abs(s - t[e]!) / (3 * N);
      const g = (Math.sign(s - t[e]!) * s * (1 - s)) / (3 * N);
      want.b[c]! += g;
      want.a[c]! += g * x[e]!;
    }
    pg.dispose([a, b, X, T, l]);
    return { got, want };
  };
  await cpuThenGpuForm(async (cpu) => {
    // Row counts whose walkers round to the same power of two on either form (tuner.ts walkers),
    // multiples of 4 (four rows an iteration); then one that is not, which walks a row at a time.
    const compiled: number[] = [];
    for (const N of [5000, 5300, 4804, 4801]) {
      const what = `${formName(cpu)}, ${N} pixels`;
      const { got, want } = await withShaders(async (shaders) => {
        const r = await stepOn(N);
        compiled.push(shaders.length);
        return r;
      });
      expectClose(got.loss, [want.loss], `${what}: loss`);
      expectClose(got.a, want.a, `${what}: gradient of a`);
      expectClose(got.b, want.b, `${what}: gradient of b`);
    }
    expect(compiled[0], `${formName(cpu)}: the first size compiles its kernels`).toBeGreaterThan(0);
    expect(compiled.slice(1, 3), `${formName(cpu)}: kernels compiled for the other sizes`).toEqual([0, 0]);
  });
});

test('a compiled step that updates pixels [H·W, 3] in place and sums a term over their image read a row further on keeps that term out of the walk', async () => {
  await pg.init();
  // In pg.compile an update writes its parameter in place (no twin buffer): a walk that writes
  // row o of Y may not also read row o + W of Y, which the shifted image term does. The term is
  // detached, so the update itself reads Y at row o only and joins the walk; the term, a sum over
  // the image walked as its H·W pixels, must then stay out (src/gpu/walks.ts, At.m).
  const [H, W] = [64, 64];
  const N = H * W;
  const y0 = values(3 * N, 3);
  const t = values(3 * N, 4);
  const run = async (compiled: boolean) => {
    const Y = pg.tensor(y0, { shape: [N, 3], requiresGrad: true });
    const T = pg.tensor(t, { shape: [N, 3] });
    const opt = new pg.SGD([Y], { lr: 0.5 });
    const body = () => {
      const img = Y.detach().reshape([H, W, 3]);
      const below = pg.pad(img.slice([1, 0, 0]), [[0, 1], [0, 0], [0, 0]]);
      const loss = Y.sub(T).square().mean().add(img.sub(below).square().sum().mul(1e-3));
      loss.backward();
      opt.step();
      opt.zeroGrad();
      return loss;
    };
    const step = compiled ? pg.compile(body) : () => pg.tidy(body);
    for (let i = 0; i < 3; i++) (await Promise.resolve(step())).dispose();
    const out = await Y.data();
    if (compiled) (step as ReturnType<typeof pg.compile>).dispose();
    pg.dispose([Y, T]);
    opt.dispose();
    return out;
  };
  await cpuThenGpuForm(async (cpu) => {
    expectClose(await run(true), await run(false), `${formName(cpu)}: Y after three compiled steps against three eager ones`);
  });
});
