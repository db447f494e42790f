/**
 * Fusion (src/gpu/lazy.ts, schedule.ts): chains become one dispatch, values stay right when
 * buffers are freed and reused around queued work, and kernels split at the binding limit.
 */
import { expect, test } from 'vitest';
import * as pg from '../../src/index.ts';
import { MAX_QUEUED } from '../../src/gpu/lazy.ts';
import { MAX_PARAMS } from '../../src/gpu/quirks.ts';
import type { WebGpuBackend } from '../../src/gpu/webgpu-backend.ts';
import { cpuThenGpuForm, withDispatches } from '../shared/backends.ts';

const gpu = () => pg.backend() as WebGpuBackend;
const close = (got: Float32Array, want: readonly number[], tol = 1e-5) => {
  expect(got.length).toBe(want.length);
  want.forEach((w, i) => {
    expect(Math.abs(got[i]! - w)).toBeLessThanOrEqual(tol * Math.max(1, Math.abs(w)));
  });
};

/**
 * One training step as the README writes it: colorMixLoss, backward, the optimizer's step and
 * zeroGrad inside pg.tidy; the loss is returned. `unfused` submits before the step, so the
 * gradients are computed before the update is queued.
 */
function fitStep(W: pg.Tensor, P: pg.Tensor, T: pg.Tensor, opt: pg.Optimizer, options: { softmax?: boolean; unfused?: boolean } = {}): () => pg.Tensor {
  return () =>
    pg.tidy(() => {
      const loss = pg.colorMixLoss(W, P, T, { softmax: options.softmax === true });
      loss.backward();
      if (options.unfused) pg.flush();
      opt.step();
      opt.zeroGrad();
      return loss;
    });
}

test('the seed example is one dispatch (one invocation wide) and one submit per iteration, with the right gradients', async () => {
  await pg.init();
  // The kernel's width: a 256-wide workgroup for one element tripled the example's latency on SwiftShader (quirks.ts workgroupFor).
  const widths: number[] = [];
  const cache = (gpu() as unknown as { pipelines: { pipeline: (...a: unknown[]) => { workgroupSize: number } } }).pipelines;
  const lookup = cache.pipeline.bind(cache);
  const iteration = async () => {
    const [c1, c2, loss] = pg.tidy(() => {
      const c1 = pg.tensor([0.2], { requiresGrad: true });
      const c2 = pg.tensor([0.7], { requiresGrad: true });
      const loss = c1.mul(0.6).add(c2.mul(0.4)).sub(0.5).pow(2);
      loss.backward();
      return [c1, c2, loss];
    });
    const [g1, g2, l] = await Promise.all([c1.grad!.data(), c2.grad!.data(), loss.data()]);
    pg.dispose([c1, c2, loss]);
    return [g1[0]!, g2[0]!, l[0]!];
  };
  await iteration();
  const before = pg.memory();
  cache.pipeline = (...a: unknown[]) => {
    const p = lookup(...a);
    widths.push(p.workgroupSize);
    return p;
  };
  const [g1, g2, l] = await iteration().finally(() => {
    cache.pipeline = lookup;
  });
  const after = pg.memory();
  expect(widths).toEqual([1]);
  expect(g1).toBeCloseTo(-0.12, 6);
  expect(g2).toBeCloseTo(-0.08, 6);
  expect(l).toBeCloseTo(0.01, 6);
  expect(after.dispatches - before.dispatches).toBe(1);
  expect(after.submits - before.submits).toBe(1);
  expect(after.pipelinesCreated).toBe(before.pipelinesCreated);
  expect(after.bindGroupsCreated).toBe(before.bindGroupsCreated);
  expect(after.liveTensors).toBe(before.liveTensors);
});

test('a chain with more parameters than one kernel takes is split and still exact', async () => {
  await pg.init();
  const xs = Array.from({ length: 1001 }, (_, i) => (i % 13) / 7 - 0.9);
  let want = xs.slice();
  const x = pg.tensor(xs);
  const before = pg.memory().dispatches;
  const ops = 210;
  const y = pg.tidy(() => {
    let t = x;
    for (let i = 0; i < ops; i++) {
      t = i % 3 === 0 ? t.mul(1.01) : i % 3 === 1 ? t.add(0.003) : t.tanh();
      want = want.map((v) => (i % 3 === 0 ? v * 1.01 : i % 3 === 1 ? v + 0.003 : Math.tanh(v)));
    }
    return t;
  });
  close(await y.data(), want);
  const dispatched = pg.memory().dispatches - before;
  // Only y is held when it is read: one kernel would do, but its 140 parameters need three.
  const params = (2 * ops) / 3;
  expect(dispatched).toBeGreaterThanOrEqual(Math.ceil(params / MAX_PARAMS));
  expect(dispatched).toBeLessThanOrEqual(Math.ceil(params / MAX_PARAMS) + 3);
  pg.dispose([x, y]);
});

test('more live results than one kernel may bind: split at the binding limit, a shared intermediate kept for the later kernels', async () => {
  await pg.init();
  const limit = gpu().device.limits.maxStorageBuffersPerShaderStage;
  const xs = [0.5, 0.75, 1.25, 2, 1.5];
  const x = pg.tensor(xs);
  // Ops without parameters, so only the binding limit splits the queue.
  const unary: [keyof pg.Tensor & string, (v: number) => number][] = [
    ['exp', Math.exp],
    ['tanh', Math.tanh],
    ['abs', Math.abs],
    ['sigmoid', (v) => 1 / (1 + Math.exp(-v))],
    ['square', (v) => v * v],
    ['sqrt', Math.sqrt],
    ['relu', (v) => Math.max(v, 0)],
  ];
  const pairs = unary.flatMap((f) => unary.map((g) => [f, g] as const)).slice(0, limit + 3);
  // The whole graph fits one queue, so the split below is the binding limit's.
  expect(2 + 2 * pairs.length).toBeLessThanOrEqual(MAX_QUEUED);
  const before = pg.memory().dispatches;
  const outs = pg.tidy(() => {
    // Freed at the end of tidy, before anything runs: stored only because later kernels read it.
    const shared = x.sqrt().tanh();
    return pairs.map(([[f], [g]]) => (shared[f as 'exp']() as pg.Tensor)[g as 'exp']() as pg.Tensor);
  });
  const values = await Promise.all(outs.map((o) => o.data()));
  expect(pg.memory().dispatches - before).toBeGreaterThanOrEqual(Math.ceil((pairs.length + 1) / limit));
  values.forEach((v, k) => {
    const [[, f], [, g]] = pairs[k]!;
    close(
      v,
      xs.map((a) => {
        const s = Math.tanh(Math.sqrt(a));
        return g(f(s));
      }),
    );
  });
  pg.dispose([x, ...outs]);
});

test('an input disposed while its consumer is queued cannot be overwritten before the consumer runs', async () => {
  await pg.init();
  const a = pg.tensor([1, 2, 3, 4]);
  const b = a.mul(10);
  a.dispose();
  // Same size class as a: without the queue's reference this upload could land in a's buffer first.
  const c = pg.tensor([-1, -1, -1, -1]);
  close(await b.data(), [10, 20, 30, 40]);
  close(await c.data(), [-1, -1, -1, -1]);
  pg.dispose([b, c]);
});

test('a queued result freed before it ran is never written, even when its buffer was handed on', async () => {
  await pg.init();
  const x = pg.tensor([1, 2, 3, 4]);
  const dead = x.add(100);
  dead.dispose();
  const reused = pg.tensor([5, 6, 7, 8]);
  const before = pg.memory().dispatches;
  close(await reused.data(), [5, 6, 7, 8]);
  expect(pg.memory().dispatches - before).toBe(0);
  const y = x.mul(3);
  close(await y.data(), [3, 6, 9, 12]);
  pg.dispose([x, reused, y]);
});

test('an in-place optimizer update after a queued read of the parameter: the read sees the old values', async () => {
  await pg.init();
  const p = pg.tensor([1, 2, 3, 4], { requiresGrad: true });
  const opt = new pg.SGD([p], { lr: 1 });
  p.grad = pg.tensor([1, 1, 1, 1]);
  const doubled = p.mul(2);
  opt.step();
  close(await doubled.data(), [2, 4, 6, 8]);
  close(await p.data(), [0, 1, 2, 3]);
  opt.dispose();
  pg.dispose([p, doubled]);
});

test('gradients accumulated in place over queued gradient kernels are exact', async () => {
  await pg.init();
  const x = pg.tensor([0.5, -1, 2, 3], { requiresGrad: true });
  for (let i = 0; i < 3; i++) {
    pg.tidy(() => x.mul(x).add(x.exp()).sum().backward());
  }
  const want = [0.5, -1, 2, 3].map((v) => 3 * (2 * v + Math.exp(v)));
  close(await x.grad!.data(), want);
  x.dispose();
});

/**
 * A palette fit with the optimizer's step queued right after backward (`together`: the scheduler
 * may run it in the kernels that compute the gradients) or after a flush (the gradients computed
 * on their own first).
 */
async function paletteFit(makeOpt: (params: pg.Tensor[]) => pg.Optimizer, together: boolean, steps: number, form: 'palette' | 'layers' | 'reversed' = 'palette', n = 333) {
  // 333: not a multiple of 4 pixels. layers: constant weights, only the palette learns; reversed: the palette listed first.
  const L = pg.randn([n, 8], { seed: 11, requiresGrad: form !== 'layers' });
  const P = pg.rand([8, 3], { seed: 12, requiresGrad: true });
  const T = pg.rand([n, 3], { seed: 13 });
  const learned = form === 'layers' ? [P] : form === 'reversed' ? [P, L] : [L, P];
  const opt = makeOpt(learned);
  const grads: Float32Array[] = [];
  let dispatches = 0;
  for (let i = 0; i < steps; i++) {
    const before = pg.memory().dispatches;
    const loss = pg.tidy(() => {
      const loss = pg.colorMixLoss(L, P, T, { softmax: true });
      loss.backward();
      if (!together) pg.flush();
      opt.step();
      return loss;
    });
    grads.push(...(await Promise.all(learned.map((x) => x.grad!.data()))));
    dispatches = pg.memory().dispatches - before;
    opt.zeroGrad();
    loss.dispose();
  }
  const out = {
    L: await L.data(),
    P: await P.data(),
    state: await Promise.all(learned.flatMap((x) => Object.values(opt.stateOf(x).buffers)).map((s) => s.data())),
    grads,
    dispatches,
  };
  opt.dispose();
  pg.dispose([L, P, T]);
  return out;
}

const optimizers: [string, (params: pg.Tensor[]) => pg.Optimizer][] = [
  ['Adam', (p) => new pg.Adam(p, { lr: 0.05 })],
  ['AdamW', (p) => new pg.AdamW(p, { lr: 0.05, weightDecay: 0.1 })],
  ['SGD with momentum', (p) => new pg.SGD(p, { lr: 0.5, momentum: 0.9, weightDecay: 0.01 })],
  ['plain SGD', (p) => new pg.SGD(p, { lr: 0.5 })],
];

type Fit = Awaited<ReturnType<typeof paletteFit>>;
/** Parameters, optimizer state and the gradients read after each step agree. */
function sameFit(a: Fit, b: Fit, tol = 1e-5): void {
  for (const [x, y] of [[a.L, b.L], [a.P, b.P], ...a.state.map((s, j) => [s, b.state[j]!]), ...a.grads.map((g, i) => [g, b.grads[i]!])] as [Float32Array, Float32Array][]) {
    close(x, Array.from(y), tol);
  }
}

test.each(optimizers)('%s on the logits and the palette queued right after colorMixLoss backward gives the step it gives after a flush, gradients still readable', async (_, makeOpt) => {
  await pg.init();
  sameFit(await paletteFit(makeOpt, true, 3), await paletteFit(makeOpt, false, 3));
});

test.each(optimizers)('%s on the palette alone (constant weights) queued with its gradient gives the step it gives after a flush', async (_, makeOpt) => {
  await pg.init();
  const together = await paletteFit(makeOpt, true, 3, 'layers');
  sameFit(together, await paletteFit(makeOpt, false, 3, 'layers'));
});

test('an image-sized palette step with Adam takes at most 3 dispatches, and gives the step it gives after a flush', async () => {
  await pg.init();
  const make = (p: pg.Tensor[]) => new pg.Adam(p, { lr: 0.05 });
  const together = await paletteFit(make, true, 3, 'palette', 128 * 128);
  expect(together.dispatches).toBeLessThanOrEqual(3);
  sameFit(together, await paletteFit(make, false, 3, 'palette', 128 * 128));
});

test("a palette step in the CPU adapters' kernel forms (chunked walks, serial finishing sums) and in a GPU's gives the same step", async () => {
  await pg.init();
  const make = (p: pg.Tensor[]) => new pg.Adam(p, { lr: 0.05 });
  for (const n of [333, 20001]) {
    const [cpu, gpuForm] = await cpuThenGpuForm(() => paletteFit(make, true, 3, 'palette', n));
    sameFit(cpu, gpuForm);
  }
  expect(pg.memory().uncapturedErrors).toBe(0);
});

test("colorMix's gradients in the CPU adapters' kernel forms and in a GPU's agree, with and without softmax and the palette's gradient", async () => {
  await pg.init();
  const grads = async (n: number, K: number, C: number, softmax: boolean, paletteGrad: boolean) => {
    const W = pg.rand([n, K], { seed: 51, requiresGrad: true });
    const P = pg.rand([K, C], { seed: 52, requiresGrad: paletteGrad });
    const G = pg.rand([n, C], { seed: 53 });
    const loss = pg.colorMix(W, P, { softmax }).mul(G).sum();
    loss.backward();
    const out = { dW: await W.grad!.data(), dP: paletteGrad ? await P.grad!.data() : new Float32Array(0) };
    pg.dispose([W, P, G, loss]);
    return out;
  };
  for (const [n, K, C, softmax, paletteGrad] of [[1003, 4, 3, false, true], [70001, 8, 3, true, true], [70001, 8, 3, true, false]] as const) {
    const [cpu, gpuForm] = await cpuThenGpuForm(() => grads(n, K, C, softmax, paletteGrad));
    close(gpuForm.dP, Array.from(cpu.dP), 1e-5);
    close(gpuForm.dW, Array.from(cpu.dW), 1e-6);
  }
  expect(pg.memory().uncapturedErrors).toBe(0);
});

test('with the palette listed before the logits the step is the same', async () => {
  await pg.init();
  const make = (p: pg.Tensor[]) => new pg.Adam(p, { lr: 0.05 });
  const reversed = await paletteFit(make, true, 3, 'reversed');
  const plain = await paletteFit(make, false, 3, 'palette');
  close(reversed.L, Array.from(plain.L), 1e-5);
  close(reversed.P, Array.from(plain.P), 1e-5);
});

/** Three Adam steps of a palette fit written as the README does (zeroGrad inside the step, nothing read until the end). */
async function readmeFit(fused: boolean, after?: (opt: pg.Optimizer, L: pg.Tensor) => pg.Tensor | null) {
  const n = 333;
  const L = pg.randn([n, 8], { seed: 21, requiresGrad: true });
  const P = pg.rand([8, 3], { seed: 22, requiresGrad: true });
  const T = pg.rand([n, 3], { seed: 23 });
  const opt = new pg.Adam([L, P], { lr: 0.05 });
  let extra: pg.Tensor | null = null;
  const step = fitStep(L, P, T, opt, { softmax: true, unfused: !fused });
  for (let i = 0; i < 3; i++) step().dispose();
  if (after) extra = after(opt, L);
  const out = { L: await L.data(), P: await P.data(), extra: extra ? await extra.data() : null };
  if (!opt.isDisposed) opt.dispose();
  pg.dispose([L, P, T, ...(extra ? [extra] : [])]);
  return out;
}

test('a gradient dropped by zeroGrad right after the step is not stored, and the step is the same', async () => {
  await pg.init();
  const fused = await readmeFit(true);
  const plain = await readmeFit(false);
  close(fused.L, Array.from(plain.L));
  close(fused.P, Array.from(plain.P));
  expect(pg.memory().uncapturedErrors).toBe(0);
});

test('an op on the logits queued after the step sees the updated logits, and disposing the optimizer before the GPU runs keeps the step', async () => {
  await pg.init();
  const after = (opt: pg.Optimizer, L: pg.Tensor) => {
    const loss = pg.tidy(() => {
      const loss = pg.colorMixLoss(L, pg.ones([8, 3]), pg.zeros([333, 3]), { softmax: true });
      loss.backward();
      opt.step();
      return loss;
    });
    loss.dispose();
    // Disposed while its step is still queued: the step must still happen.
    opt.dispose();
    // Queued after the step, before anything is recorded: it must read the stepped logits.
    return pg.noGrad(() => L.mul(2));
  };
  const fused = await readmeFit(true, after);
  const plainAfter = (opt: pg.Optimizer, L: pg.Tensor) => {
    pg.flush();
    return after(opt, L);
  };
  const plain = await readmeFit(false, plainAfter);
  close(fused.L, Array.from(plain.L));
  close(fused.extra!, Array.from(fused.L).map((v) => 2 * v));
  close(fused.extra!, Array.from(plain.extra!));
});

test('a palette step creates nothing in steady state, whether or not its loss is read', async () => {
  await pg.init();
  const L = pg.randn([4096, 8], { seed: 31, requiresGrad: true });
  const P = pg.rand([8, 3], { seed: 32, requiresGrad: true });
  const T = pg.rand([4096, 3], { seed: 33 });
  const opt = new pg.Adam([L, P], { lr: 0.05 });
  const step = fitStep(L, P, T, opt, { softmax: true });
  const created = () => {
    const m = pg.memory();
    return m.buffersCreated + m.bindGroupsCreated + m.pipelinesCreated;
  };
  // Warm-up: steps with the loss read and dropped unread (a dropped loss is never computed: its
  // own kernels, compiled once). Then neither kind creates anything.
  for (let i = 0; i < 2; i++) {
    step().dispose();
    const loss = step();
    await loss.item();
    loss.dispose();
  }
  const before = created();
  for (let round = 0; round < 2; round++) {
    for (let i = 0; i < 3; i++) step().dispose();
    const loss = step();
    await loss.item();
    loss.dispose();
  }
  expect(created() - before).toBe(0);
  opt.dispose();
  pg.dispose([L, P, T]);
});

test('steps whose kernel parameters repeat upload them once; a new learning rate is uploaded and used', async () => {
  await pg.init();
  const K = 4;
  const n = 1000;
  const Yv = Float32Array.from({ length: n * K }, (_, i) => ((i * 37) % 101) / 101);
  const Tv = Float32Array.from({ length: n }, (_, i) => ((i * 53) % 97) / 97);
  const c0 = [0.1, 0.2, 0.3, 0.4];
  const Y = pg.tensor(Yv, { shape: [n, K] });
  const T = pg.tensor(Tv, { shape: [n, 1] });
  const c = pg.tensor(c0, { shape: [K, 1], requiresGrad: true });
  const opt = new pg.SGD([c], { lr: 0.5 });
  const step = fitStep(Y, c, T, opt);
  // float64 reference of the same SGD steps.
  const want = [...c0];
  const refStep = (lr: number) => {
    const g = new Array<number>(K).fill(0);
    for (let p = 0; p < n; p++) {
      let d = -Tv[p]!;
      for (let k = 0; k < K; k++) d += Yv[p * K + k]! * want[k]!;
      for (let k = 0; k < K; k++) g[k]! += ((2 * d) / n) * Yv[p * K + k]!;
    }
    for (let k = 0; k < K; k++) want[k]! -= lr * g[k]!;
  };
  const run = async (steps: number, lr: number) => {
    for (let i = 0; i < steps; i++) {
      step().dispose();
      refStep(lr);
      // A submit per step, as a loop that awaits each frame makes.
      pg.flush();
    }
    await c.data();
  };
  await run(2, 0.5);
  const before = pg.memory();
  await run(4, 0.5);
  const same = pg.memory();
  expect(same.submits - before.submits).toBeGreaterThanOrEqual(4);
  expect(same.paramWrites - before.paramWrites).toBe(0);
  opt.lr = 0.25;
  await run(3, 0.25);
  expect(pg.memory().paramWrites - same.paramWrites).toBe(1);
  close(await c.data(), want, 1e-4);
  opt.dispose();
  pg.dispose([Y, T, c]);
});

test('an elementwise op on a colorMixLoss reads it after it is computed', async () => {
  await pg.init();
  const L = pg.tensor([0.5, -1, 2, 0.25, 1, -0.5, 0.1, 0.2], { shape: [2, 4], requiresGrad: true });
  const P = pg.tensor([1, 0, 0, 1, 0.5, 0.5, 0.2, 0.8], { shape: [4, 2], requiresGrad: true });
  const T = pg.tensor([0.1, 0.2, 0.3, 0.4], { shape: [2, 2] });
  const loss = pg.colorMixLoss(L, P, T, { softmax: true });
  const tripled = loss.mul(3);
  const [a, b] = await Promise.all([loss.item(), tripled.item()]);
  expect(a).toBeGreaterThan(0);
  expect(Math.abs(b - 3 * a)).toBeLessThanOrEqual(1e-6 * b);
  pg.dispose([L, P, T, loss, tripled]);
});

test('an elementwise op on the logits queued between the loss and the step reads them before the update', async () => {
  await pg.init();
  const L = pg.tensor([0.5, -1, 2, 0.25, 1, -0.5, 0.1, 0.2], { shape: [2, 4], requiresGrad: true });
  const P = pg.tensor([1, 0, 0, 1, 0.5, 0.5, 0.2, 0.8], { shape: [4, 2] });
  const T = pg.tensor([0.1, 0.2, 0.3, 0.4], { shape: [2, 2] });
  const opt = new pg.SGD([L], { lr: 10 });
  const before = Array.from(await L.data());
  const [loss, doubled] = pg.tidy(() => {
    const loss = pg.colorMixLoss(L, P, T, { softmax: true });
    loss.backward();
    const doubled = pg.noGrad(() => L.mul(2));
    opt.step();
    return [loss, doubled];
  });
  close(await doubled.data(), before.map((v) => 2 * v));
  const g = await L.grad!.data();
  close(await L.data(), before.map((v, i) => v - 10 * g[i]!));
  opt.dispose();
  pg.dispose([L, P, T, loss, doubled]);
});

test('releasePooled right after a step that is not submitted yet keeps the step', async () => {
  await pg.init();
  const x = pg.tensor([1, 2, 3, 4], { requiresGrad: true });
  const opt = new pg.SGD([x], { lr: 0.1 });
  const loss = pg.tidy(() => x.mul(x).sum());
  loss.backward();
  opt.step();
  loss.dispose();
  pg.releasePooled();
  close(await x.data(), [0.8, 1.6, 2.4, 3.2]);
  expect(pg.memory().uncapturedErrors).toBe(0);
  opt.dispose();
  x.dispose();
});

test('an optimizer step on weights that are also the target (shared memory) gives the step it gives after a flush', async () => {
  await pg.init();
  const run = async (flushFirst: boolean) => {
    const W = pg.tensor([0.2, 0.5, 0.9, 0.1, 0.4, 0.7], { shape: [2, 3], requiresGrad: true });
    const P = pg.tensor([1, 0, 0, 0, 1, 0, 0, 0, 1], { shape: [3, 3] });
    const opt = new pg.Adam([W], { lr: 0.1 });
    const loss = pg.colorMixLoss(W, P, W.detach(), { softmax: true });
    loss.backward();
    if (flushFirst) pg.flush();
    opt.step();
    const out = await W.data();
    opt.dispose();
    pg.dispose([W, P, loss]);
    return out;
  };
  const fused = await run(false);
  close(fused, Array.from(await run(true)));
  expect(pg.memory().uncapturedErrors).toBe(0);
});

test('a read started before its tensor is disposed returns the old values even when an upload reuses the buffer', async () => {
  await pg.init();
  const a = pg.tensor([1, 2, 3, 4]);
  const pending = a.data();
  a.dispose();
  const b = pg.tensor([9, 9, 9, 9]);
  close(await pending, [1, 2, 3, 4]);
  close(await b.data(), [9, 9, 9, 9]);
  b.dispose();
});

test('a tone-curve step with three small parameters under Adam, its loss read every step, is at most 4 dispatches (small finishing kernels share tails greedily; it was 10), and stays exact', async () => {
  await pg.init();
  // An image's worth of pixels, so the sums run as a walk (the bench's tone step at S = 512).
  const n = 512 * 512;
  const make = () => [pg.tensor([1.1, 0.9, 1], { requiresGrad: true }), pg.tensor([0.1, -0.1, 0], { requiresGrad: true }), pg.tensor([1, 1.2, 0.8], { requiresGrad: true })];
  const x = pg.rand([n, 3], { seed: 3 });
  const T = pg.rand([n, 3], { seed: 4 });
  const run = async (split: boolean) => {
    const [a, b, g] = make() as [pg.Tensor, pg.Tensor, pg.Tensor];
    const opt = new pg.Adam([a, b, g], { lr: 0.01 });
    let dispatches = 0;
    for (let i = 0; i < 3; i++) {
      const before = pg.memory().dispatches;
      const loss = pg.tidy(() => {
        const d = x.mul(a).add(b).sigmoid().pow(g).sub(T);
        const l = d.abs().mean().add(d.square().mean().mul(0.01));
        l.backward();
        // A flush between backward and the step keeps the update out of the gradient's kernels.
        if (split) pg.flush();
        opt.step();
        opt.zeroGrad();
        return l;
      });
      await loss.data();
      loss.dispose();
      dispatches = pg.memory().dispatches - before;
    }
    const values = await Promise.all([a, b, g].map((t) => t.data()));
    opt.dispose();
    pg.dispose([a, b, g]);
    return { dispatches, values: values.flatMap((v) => Array.from(v)) };
  };
  const fused = await run(false);
  const split = await run(true);
  expect(fused.dispatches).toBeLessThanOrEqual(4);
  // The finishing kernels' sections wait for each other only where one reads what another wrote:
  // five independent sums, then the loss and the updates that read them.
  const [a, b, g] = make() as [pg.Tensor, pg.Tensor, pg.Tensor];
  const opt = new pg.Adam([a, b, g], { lr: 0.01 });
  const kernels = await withDispatches(async (kernels) => {
    const loss = pg.tidy(() => {
      const d = x.mul(a).add(b).sigmoid().pow(g).sub(T);
      const l = d.abs().mean().add(d.square().mean().mul(0.01));
      l.backward();
      opt.step();
      return l;
    });
    await loss.data();
    loss.dispose();
    return kernels;
  });
  const tails = kernels.filter((k) => k.name.startsWith('tail(')).map((k) => k.wgsl);
  const barriers = tails.map((w) => w.match(/workgroupBarrier\(\)/g)?.length ?? 0);
  expect(barriers.reduce((s, n) => s + n, 0)).toBe(1);
  // The five sums first, then the loss and an update that read them.
  const sides = tails[barriers.indexOf(1)]!.split('workgroupBarrier()');
  expect(sides.map((side) => side.match(/for \(var o = lid;/g)?.length ?? 0)).toEqual([5, 2]);
  opt.dispose();
  pg.dispose([a, b, g]);
  close(new Float32Array(fused.values), split.values, 1e-5);
  pg.dispose([x, T]);
});

test('reads at shifted elements take scalar bindings where they fit, and vec4 components where they do not: same values', async () => {
  await pg.init();
  const limit = (gpu() as unknown as { maxStorageBuffers: number }).maxStorageBuffers;
  const n = 1030;
  for (const count of [2, limit - 1, limit + 2]) {
    const xs = Array.from({ length: count }, (_, k) => pg.tensor(Array.from({ length: n }, (_, i) => Math.sin(i * 0.37 + k))));
    // Each term reads its tensor one element further on (a slice), so no read is the thread's own element.
    const y = xs.reduce((acc: pg.Tensor | null, x, k) => {
      const shifted = x.slice([1]).mul(k + 1);
      return acc ? acc.add(shifted) : shifted;
    }, null)!;
    const got = await y.data();
    const want = Array.from({ length: n - 1 }, (_, i) => xs.reduce((s, _x, k) => s + (k + 1) * Math.fround(Math.sin((i + 1) * 0.37 + k)), 0));
    close(got, want, 1e-5);
    pg.dispose([...xs, y]);
  }
});

test("a view of a fused producer reads the producer at its own coordinates: no division by the producer's axes", async () => {
  await pg.init();
  const [H, W, C] = [40, 30, 5];
  const x0 = Array.from({ length: H * W * C }, (_, i) => Math.sin(i));
  const x = pg.tensor(x0, { shape: [H, W, C] });
  const b = pg.tensor([1, 2, 3, 4, 5]);
  await Promise.all([x.data(), b.data()]);
  const [got, texts] = await withDispatches(async (kernels) => {
    // The broadcast of b needs the channel of each element the slice and the permute read.
    const y = pg.tidy(() => x.add(b).slice([1, 2, 0], [H, W, 4]).permute([2, 0, 1]).mul(2));
    const values = await y.data();
    y.dispose();
    return [values, kernels.map((k) => k.wgsl)] as const;
  });
  expect(texts).toHaveLength(1);
  // The output's own axes [4, 39, 28] are divided out; x's [40, 30, 5] never are.
  expect(texts[0]!.match(/[/%] (5|30|150)u/g) ?? []).toEqual([]);
  const want: number[] = [];
  for (let c = 0; c < 4; c++) for (let h = 1; h < H; h++) for (let w = 2; w < W; w++) want.push(2 * (x0[(h * W + w) * C + c]! + c + 1));
  close(got, want);
  pg.dispose([x, b]);
});

test('a loop of training steps in one task submits each step as the next one begins, so the GPU can run a step while the next is recorded', async () => {
  await pg.init();
  const w = pg.rand([4096, 3], { seed: 1 });
  w.requiresGrad = true;
  const t = pg.rand([4096, 3], { seed: 2 });
  const opt = new pg.SGD([w], { lr: 0.5 });
  const step = () =>
    pg.tidy(() => {
      const l = w.sub(t).square().mean();
      l.backward();
      opt.step();
      opt.zeroGrad();
      return l;
    });
  const loop = () => Array.from({ length: 5 }, step);
  // The same loop once before: its buffers exist (a loop that creates buffers waits for WebGPU's
  // answer on them before submitting anything).
  const first = loop();
  await Promise.all(first.map((l) => l.data()));
  pg.dispose(first);
  const before = pg.memory().submits;
  const losses = loop();
  // Steps 1-4 went to the GPU as steps 2-5 began; the fifth goes at the read (or the task's end).
  expect(pg.memory().submits - before).toBe(4);
  const values = await Promise.all(losses.map((l) => l.item()));
  for (let i = 1; i < values.length; i++) expect(values[i]!).toBeLessThan(values[i - 1]!);
  pg.dispose([losses, w, t]);
  opt.dispose();
});

test("a pow's gradient for its base cancels a sigmoid's or an exp's factor y (a^(b-1)·a = a^b): no kernel computes a^(b-1), gradients as float64, b = 0 included", async () => {
  await pg.init();
  const xs = [-3, -0.5, 0, 0.7, 2.5, 40];
  const bs = [0.8, 0, 2.5];
  const sig = (v: number) => 1 / (1 + Math.exp(-v));
  for (const unary of ['sigmoid', 'exp'] as const) {
    const x = pg.tensor(xs.flatMap((v) => [v, v, v]), { shape: [xs.length, 3], requiresGrad: true });
    const b = pg.tensor(bs, { requiresGrad: true });
    const kernels = await withDispatches(async (kernels) => {
      pg.tidy(() => {
        const s = unary === 'sigmoid' ? x.mul(0.1).sigmoid() : x.mul(0.1).exp();
        s.pow(b).sum().backward();
      });
      await Promise.all([x.grad!.data(), b.grad!.data()]);
      return kernels;
    });
    // The helpers are all included; no generated function calls one.
    expect(kernels.map((k) => k.wgsl).join('\n')).not.toMatch(/(?<!fn )pow_less1(_nonneg)?\(/);
    // d/dx s(0.1x)^b = b s^b (1 - s) 0.1 for the sigmoid, b s^b 0.1 for exp; d/db = Σ s^b ln s.
    const dx: number[] = [];
    const db = [0, 0, 0];
    for (const v of xs) {
      const s = unary === 'sigmoid' ? sig(0.1 * v) : Math.exp(0.1 * v);
      bs.forEach((e, c) => {
        dx.push(e * s ** e * (unary === 'sigmoid' ? 1 - s : 1) * 0.1);
        db[c]! += s ** e * Math.log(s);
      });
    }
    close(await x.grad!.data(), dx, 2e-5);
    close(await b.grad!.data(), db, 2e-5);
    pg.dispose([x, b]);
  }
});

test('a finishing kernel whose later section reads what an earlier one wrote waits for it', async () => {
  await pg.init();
  const n = 300;
  const x0 = Array.from({ length: n }, (_, i) => Math.sin(i * 0.7));
  const x = pg.tensor(x0, { requiresGrad: true });
  const [got, tails] = await withDispatches(async (kernels) => {
    // Every element of z reads the maxima, which one thread writes.
    const [z, s, m] = pg.tidy(() => {
      const s = x.neg().max();
      const m = x.max();
      return [x.add(s).mul(m), s, m];
    });
    const values = await Promise.all([z.data(), s.data(), m.data()]);
    pg.dispose([z, s, m]);
    return [values, kernels.filter((k) => k.name.startsWith('tail(')).map((k) => k.wgsl)] as const;
  });
  const sum = -Math.min(...x0.map(Math.fround));
  const max = Math.max(...x0.map(Math.fround));
  close(got[1]!, [sum], 1e-5);
  close(got[2]!, [max]);
  close(got[0]!, x0.map((v) => (Math.fround(v) + sum) * max), 1e-5);
  // z reads the maximum its kernel's first section writes: a barrier between the two sections.
  expect(tails).toHaveLength(1);
  const sides = tails[0]!.split('workgroupBarrier()');
  expect(sides.map((side) => side.match(/for \(var o = lid;/g)?.length ?? 0)).toEqual([1, 1]);
  expect(sides[0]).toMatch(/o0\[o\] = /);
  expect(sides[1]).toMatch(/= o0\[0u\]/);
  x.dispose();
});
