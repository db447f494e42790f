/**
 * colorMix and mseLoss: values and both gradients against JS-computed expectations, errors that
 * leave the engine usable, and a small palette fit whose loss falls.
 */
import { expect, test } from 'vitest';
import * as pg from '../../src/index.ts';
import { mulberry32 } from '../../src/random.ts';
import { type BackendKind, expectClose, expectError, tol, useBackend } from './backends.ts';

const randoms = (n: number, seed: number, lo = -1, hi = 1): number[] => {
  const r = mulberry32(seed);
  return Array.from({ length: n }, () => Math.fround(lo + (hi - lo) * r()));
};
const prod = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

/** out[p, c] = Σ_k w[p, k]·P[k, c]; dW = g·Pᵀ; dP = wᵀ·g; in float64. */
function mixExpected(w: number[], pal: number[], g: number[], K: number, C: number) {
  const P = w.length / K;
  const out = new Array<number>(P * C).fill(0);
  const dw = new Array<number>(P * K).fill(0);
  const dp = new Array<number>(K * C).fill(0);
  for (let p = 0; p < P; p++) {
    for (let k = 0; k < K; k++) {
      for (let c = 0; c < C; c++) {
        out[p * C + c]! += w[p * K + k]! * pal[k * C + c]!;
        dw[p * K + k]! += g[p * C + c]! * pal[k * C + c]!;
        dp[k * C + c]! += g[p * C + c]! * w[p * K + k]!;
      }
    }
  }
  return { out, dw, dp };
}


export function imageOpsSuite(kind: BackendKind): void {
  useBackend(kind);
  const { rtol, atol } = tol(kind);

  /** Runs colorMix on random data, backward with a random gradient, checks all three results. */
  async function checkMix(lead: number[], K: number, C: number, needs: [boolean, boolean], seed: number) {
    const P = prod(lead);
    const w = randoms(P * K, seed);
    const pal = randoms(K * C, seed + 1, 0, 1);
    const g = randoms(P * C, seed + 2);
    const e = mixExpected(w, pal, g, K, C);
    const wt = pg.tensor(w, { shape: [...lead, K], requiresGrad: needs[0] });
    const pt = pg.tensor(pal, { shape: [K, C], requiresGrad: needs[1] });
    const out = pg.colorMix(wt, pt);
    const what = `colorMix [${lead}, ${K}] x [${K}, ${C}]`;
    expect(out.shape).toEqual([...lead, C]);
    // Float32 sums of K (forward, dW) or P (dP) products: scale the tolerance with the sum's length.
    expectClose(await out.data(), e.out, rtol, atol * Math.sqrt(K), `${what} forward`);
    if (needs[0] || needs[1]) {
      const gt = pg.tensor(g, { shape: [...lead, C] });
      out.backward(gt);
      gt.dispose();
    }
    if (needs[0]) expectClose(await wt.grad!.data(), e.dw, rtol, atol * Math.sqrt(C), `${what} dW`);
    else expect(wt.grad).toBeNull();
    if (needs[1]) expectClose(await pt.grad!.data(), e.dp, rtol, atol * Math.sqrt(P), `${what} dPalette`);
    else expect(pt.grad).toBeNull();
    pg.dispose([wt, pt, out]);
  }

  test('colorMix K=3, C=3 on [H, W, K]: values and both gradients', async () => {
    await checkMix([5, 7], 3, 3, [true, true], 1);
  });

  test('colorMix K=16, C=4, and K=8, C=3 over enough pixels for many partial sums', async () => {
    await checkMix([3, 6], 16, 4, [true, true], 2);
    await checkMix([37, 41], 8, 3, [true, true], 3);
    await checkMix([64, 64], 16, 4, [true, true], 4);
  });

  test('colorMix with K=1, C=1, odd K and C, rank-1 and rank-4 weights', async () => {
    await checkMix([9], 1, 1, [true, true], 5);
    await checkMix([2, 3, 5], 5, 7, [true, true], 6);
    await checkMix([], 4, 3, [true, true], 7);
    await checkMix([1], 3, 4, [true, true], 8);
  });

  test('colorMix with palettes too large to unroll (K·C > 64): loop kernels', async () => {
    await checkMix([7, 9], 17, 4, [true, true], 13);
    await checkMix([50], 40, 8, [true, true], 14);
    await checkMix([5, 3], 33, 3, [true, false], 15);
    await checkMix([5, 3], 33, 3, [false, true], 16);
  });

  test('colorMix gradient for one input only (the other is not saved)', async () => {
    await checkMix([6, 5], 3, 3, [true, false], 9);
    await checkMix([6, 5], 3, 3, [false, true], 10);
    await checkMix([33, 3], 8, 4, [false, true], 11);
    await checkMix([4, 4], 3, 3, [false, false], 12);
  });

  test('colorMix sums gradients when its output is used twice and composes with other ops', async () => {
    const w = pg.tensor(randoms(12, 20), { shape: [4, 3], requiresGrad: true });
    const p = pg.tensor(randoms(9, 21), { shape: [3, 3], requiresGrad: true });
    const y = pg.colorMix(w, p);
    y.mul(y).sum().backward();
    const e = mixExpected(randoms(12, 20), randoms(9, 21), [], 3, 3);
    const g = e.out.map((v) => 2 * v);
    const e2 = mixExpected(randoms(12, 20), randoms(9, 21), g, 3, 3);
    expectClose(await w.grad!.data(), e2.dw, rtol, atol, 'dW through y*y');
    expectClose(await p.grad!.data(), e2.dp, rtol, atol, 'dP through y*y');
    pg.dispose([w, p, y]);
  });

  test('colorMix, colorMixLoss and mseLoss outside tidy leave only their result (their intermediates are disposed), with and without gradients', async () => {
    const w = pg.rand([5, 4], { seed: 60, requiresGrad: true });
    const p = pg.rand([4, 3], { seed: 61 });
    const t = pg.rand([5, 3], { seed: 62 });
    const u = pg.rand([5, 3], { seed: 63, requiresGrad: true });
    const before = pg.memory().liveTensors;
    const results = [pg.colorMix(w, p, { softmax: true }), pg.colorMixLoss(w, p, t), pg.mseLoss(t, u), pg.noGrad(() => pg.colorMixLoss(w, p, t, { softmax: true }))];
    expect(pg.memory().liveTensors).toBe(before + results.length);
    results[1]!.backward();
    expect(w.grad!.shape).toEqual([5, 4]);
    pg.dispose([...results, w, p, t, u]);
    expect(pg.memory().liveTensors).toBe(before - 4);
  });

  test('a disposed input to colorMix, colorMixLoss or mseLoss is an error naming the function, not one of the ops it is made of', async () => {
    const w = pg.rand([5, 4], { seed: 64 });
    const p = pg.rand([4, 3], { seed: 65 });
    const t = pg.rand([5, 3], { seed: 66 });
    const gone = pg.rand([5, 3], { seed: 67 });
    gone.dispose();
    expectError(() => pg.mseLoss(gone, t), pg.DisposedTensorError, 'mseLoss');
    expectError(() => pg.colorMixLoss(w, p, gone), pg.DisposedTensorError, 'colorMixLoss');
    w.dispose();
    expectError(() => pg.colorMix(w, p), pg.DisposedTensorError, 'colorMix');
    expect(Array.from(await pg.mseLoss(t, t).data())).toEqual([0]);
    pg.dispose([p, t]);
  });

  test('mseLoss: value and both gradients, sizes that are and are not multiples of 4', async () => {
    for (const [shape, seed] of [
      [[1], 30],
      [[7], 31],
      [[4, 5, 3], 32],
      [[301, 233], 33],
    ] as [number[], number][]) {
      const n = prod(shape);
      const a = randoms(n, seed);
      const b = randoms(n, seed + 1);
      const at = pg.tensor(a, { shape, requiresGrad: true });
      const bt = pg.tensor(b, { shape, requiresGrad: true });
      const loss = pg.mseLoss(at, bt);
      expect(loss.shape).toEqual([]);
      const mean = a.reduce((s, v, i) => s + (v - b[i]!) ** 2, 0) / n;
      expectClose([await loss.item()], [mean], rtol, atol, `mseLoss ${shape} value`);
      loss.mul(3).backward();
      const da = a.map((v, i) => (6 * (v - b[i]!)) / n);
      expectClose(await at.grad!.data(), da, rtol, atol / 10, `mseLoss ${shape} da`);
      expectClose(await bt.grad!.data(), da.map((v) => -v), rtol, atol / 10, `mseLoss ${shape} db`);
      pg.dispose([at, bt, loss]);
    }
  });

  test('mseLoss against a constant target: only the prediction gets a gradient', async () => {
    const x = pg.tensor([1, 2, 3, 4, 5], { requiresGrad: true });
    const t = pg.tensor([1, 1, 1, 1, 1]);
    const loss = pg.mseLoss(x, t);
    loss.backward();
    expectClose([await loss.item()], [(0 + 1 + 4 + 9 + 16) / 5], rtol, atol);
    expectClose(await x.grad!.data(), [0, 0.4, 0.8, 1.2, 1.6], rtol, atol);
    expect(t.grad).toBeNull();
    pg.dispose([x, t, loss]);
  });

  /** colorMixLoss against the unfused mseLoss(colorMix(...)) on the same backend, values and gradients. */
  async function checkMixLoss(lead: number[], K: number, C: number, softmax: boolean, seed: number) {
    const P = prod(lead);
    const w = randoms(P * K, seed);
    const pal = randoms(K * C, seed + 1, 0, 1);
    const tgt = randoms(P * C, seed + 2, 0, 1);
    const make = () => [
      pg.tensor(w, { shape: [...lead, K], requiresGrad: true }),
      pg.tensor(pal, { shape: [K, C], requiresGrad: true }),
      pg.tensor(tgt, { shape: [...lead, C], requiresGrad: true }),
    ];
    const [wf, pf, tf] = make() as [pg.Tensor, pg.Tensor, pg.Tensor];
    const [wu, pu, tu] = make() as [pg.Tensor, pg.Tensor, pg.Tensor];
    const fused = pg.colorMixLoss(wf, pf, tf, { softmax });
    const unfused = pg.mseLoss(pg.colorMix(wu, pu, { softmax }), tu);
    expect(fused.shape).toEqual([]);
    const what = `colorMixLoss ${lead} K=${K} C=${C}${softmax ? ' softmax' : ''}`;
    expectClose([await fused.item()], [await unfused.item()], rtol, atol, `${what} value`);
    fused.backward();
    unfused.backward();
    for (const [a, b, name] of [
      [wf, wu, 'dW'],
      [pf, pu, 'dP'],
      [tf, tu, 'dT'],
    ] as const) {
      expectClose(await a.grad!.data(), await b.grad!.data(), rtol, atol / 10, `${what} ${name}`);
    }
    pg.dispose([wf, pf, tf, wu, pu, tu, fused, unfused]);
  }

  test('colorMixLoss equals mseLoss(colorMix(...)): values and all three gradients, with and without softmax', async () => {
    await checkMixLoss([5, 7], 8, 3, true, 60);
    await checkMixLoss([5, 7], 8, 3, false, 61);
    await checkMixLoss([1], 3, 3, true, 62);
    await checkMixLoss([301], 4, 1, false, 63);
    await checkMixLoss([3, 2], 17, 4, true, 64);
  });

  test('colorMixLoss gradients: scaled by the upstream gradient, accumulated, kept by retainGraph, none without grad', async () => {
    const w = pg.tensor([0.5, -1, 2, 0.25, 1, -0.5], { shape: [2, 3], requiresGrad: true });
    const pal = pg.tensor([1, 0, 0, 1, 0.5, 0.5], { shape: [3, 2], requiresGrad: true });
    const t = pg.tensor([0.1, 0.2, 0.3, 0.4], { shape: [2, 2] });
    const ref = pg.mseLoss(pg.colorMix(w, pal, { softmax: true }), t);
    ref.backward();
    const dw = Array.from(await w.grad!.data());
    const dp = Array.from(await pal.grad!.data());
    pg.dispose([w.grad!, pal.grad!]);
    w.grad = null;
    pal.grad = null;
    const loss = pg.colorMixLoss(w, pal, t, { softmax: true });
    loss.mul(3).backward(undefined, { retainGraph: true });
    expectClose(await w.grad!.data(), dw.map((v) => 3 * v), rtol, atol / 10, 'dW × 3');
    loss.backward();
    expectClose(await w.grad!.data(), dw.map((v) => 4 * v), rtol, atol / 10, 'dW × 3 + dW');
    expectClose(await pal.grad!.data(), dp.map((v) => 4 * v), rtol, atol / 10, 'dP × 3 + dP');
    expect(t.grad).toBeNull();
    expectError(() => loss.backward(), pg.FreedGraphError, 'backward');
    const plain = pg.noGrad(() => pg.colorMixLoss(w, pal, t, { softmax: true }));
    expect(plain.requiresGrad).toBe(false);
    expectClose([await plain.item()], [await ref.item()], rtol, atol);
    expectError(() => pg.colorMixLoss(w, pal, pg.zeros([2, 3])), pg.ShapeError, 'colorMixLoss', '[2, 3]', '[2, 2]');
    pg.dispose([w, pal, t, ref, loss, plain]);
  });

  test('shape errors name the op and both shapes, and the engine keeps working', async () => {
    const w = pg.zeros([4, 4, 3]);
    const bad = pg.zeros([5, 3]);
    expectError(() => pg.colorMix(w, bad), pg.ShapeError, 'colorMix', '[4, 4, 3]', '[5, 3]');
    const flat = pg.zeros([9]);
    expectError(() => pg.colorMix(w, flat), pg.ShapeError, 'colorMix', '[4, 4, 3]', '[9]', '2-D');
    const three = pg.zeros([3, 3, 1]);
    expectError(() => pg.colorMix(w, three), pg.ShapeError, 'colorMix', '[3, 3, 1]');
    expectError(() => pg.colorMix(w, 3 as unknown as pg.Tensor), pg.InvalidArgumentError, 'colorMix');
    const a = pg.zeros([2, 3]);
    const b = pg.zeros([3, 2]);
    expectError(() => pg.mseLoss(a, b), pg.ShapeError, 'mseLoss', '[2, 3]', '[3, 2]');
    const e = pg.zeros([0]);
    expectError(() => pg.mseLoss(e, e), pg.ShapeError, 'mseLoss', '[0]');
    const noPixels = pg.zeros([0, 4]);
    const pal4 = pg.zeros([4, 3]);
    const noTarget = pg.zeros([0, 3]);
    expectError(() => pg.colorMixLoss(noPixels, pal4, noTarget), pg.ShapeError, 'colorMixLoss', '[0, 3]', 'empty');
    pg.dispose([w, bad, flat, three, a, b, e, noPixels, pal4, noTarget]);
    await checkMix([2, 2], 3, 3, [true, true], 40);
    const x = pg.tensor([1, 2]);
    const y = pg.tensor([2, 4]);
    expectClose([await pg.mseLoss(x, y).item()], [2.5], rtol, atol);
    pg.dispose([x, y]);
  });

  test('fromImage takes ImageData-shaped pixels (also in Node) and feeds colorMix', async () => {
    const data = new Uint8ClampedArray([0, 51, 102, 255, 153, 204, 255, 128, 255, 0, 0, 0]);
    const img = pg.fromImage({ data, width: 3, height: 1 } as ImageData, { channels: 4 });
    expect(img.shape).toEqual([1, 3, 4]);
    expectClose(await img.data(), Array.from(data, (v) => v / 255), 0, 1e-6, 'fromImage');
    const rgb = pg.fromImage({ data, width: 1, height: 3 } as ImageData);
    expect(rgb.shape).toEqual([3, 1, 3]);
    // Each pixel's RGBA as mixing weights over a 4-color palette.
    const pal = pg.tensor([1, 0, 0, 0, 1, 0, 0, 0, 1, 1, 1, 1], { shape: [4, 3] });
    const mixed = pg.colorMix(img, pal);
    const d = Array.from(data, (v) => v / 255);
    const want = [0, 1, 2].flatMap((p) => [0, 1, 2].map((c) => d[p * 4 + c]! + d[p * 4 + 3]!));
    expectClose(await mixed.data(), want, rtol, atol, 'mixed');
    expectError(() => pg.fromImage({ data, width: 2, height: 2 } as ImageData), pg.InvalidArgumentError, 'fromImage', '12 bytes');
    pg.dispose([img, rgb, pal, mixed]);
  });

  test('a palette and per-pixel weights learn to rebuild an image: the loss falls over 50 steps', async () => {
    const [H, W, K] = [12, 10, 4];
    // The target: 4 known colors mixed by random per-pixel weights.
    const truePalette = pg.tensor([0.9, 0.1, 0.1, 0.1, 0.8, 0.2, 0.1, 0.2, 0.9, 0.95, 0.9, 0.3], { shape: [K, 3] });
    const trueLogits = pg.tensor(randoms(H * W * K, 50, -3, 3), { shape: [H, W, K] });
    const target = pg.noGrad(() => pg.colorMix(trueLogits.softmax(-1), truePalette));
    let Q = pg.tensor(randoms(K * 3, 51, -0.5, 0.5), { shape: [K, 3], requiresGrad: true });
    let L = pg.tensor(randoms(H * W * K, 52, -0.1, 0.1), { shape: [H, W, K], requiresGrad: true });
    // Plain gradient descent; mseLoss averages over H·W·3 values, so per-pixel logits take a larger step.
    const lrQ = 30;
    const lrL = 5 * H * W;
    const losses: number[] = [];
    let memoryAfterFirst = pg.memory();
    for (let step = 0; step < 50; step++) {
      if (step === 1) memoryAfterFirst = pg.memory();
      const loss = pg.tidy(() => {
        const l = pg.mseLoss(pg.colorMix(L.softmax(-1), Q.sigmoid()), target);
        l.backward();
        return l;
      });
      if (step === 0 || step === 49) losses.push(await loss.item());
      loss.dispose();
      const [nQ, nL] = pg.tidy(() => pg.noGrad(() => [Q.sub(Q.grad!.mul(lrQ)), L.sub(L.grad!.mul(lrL))]));
      pg.dispose([Q, L]);
      nQ!.requiresGrad = true;
      nL!.requiresGrad = true;
      [Q, L] = [nQ!, nL!];
    }
    expect(losses[1]!).toBeLessThan(losses[0]! * 0.3);
    // Nothing leaks from step to step.
    expect(pg.memory().liveTensors).toBe(memoryAfterFirst.liveTensors);
    expect(pg.memory().bytesInUse).toBe(memoryAfterFirst.bytesInUse);
    pg.dispose([truePalette, trueLogits, target, Q, L]);
  });
}
