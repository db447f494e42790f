/**
 * pg.compile on both backends: a compiled function gives what calling fn gives, call after call,
 * whether it is replayed (WebGPU) or run again (the CPU reference). Checked against an eager twin
 * fed the same inputs, and against float64 formulas.
 */
import { expect, test } from 'vitest';
import * as pg from '../../src/index.ts';
import { type BackendKind, expectClose, expectError, tol, useBackend } from './backends.ts';

const seedLoss = (c1: pg.Tensor, c2: pg.Tensor) => c1.mul(0.6).add(c2.mul(0.4)).sub(0.5).pow(2);

/** Two parameter sets with the same values: one for the compiled step, one for its eager twin. */
async function twins(seed: number) {
  pg.manualSeed(seed);
  const w = pg.randn([48, 4], { requiresGrad: true });
  const p = pg.rand([4, 3], { requiresGrad: true });
  const t = pg.rand([48, 3]);
  const w2 = pg.tensor(await w.data(), { shape: [48, 4], requiresGrad: true });
  const p2 = pg.tensor(await p.data(), { shape: [4, 3], requiresGrad: true });
  return { w, p, t, w2, p2 };
}

/** A step as the README writes it, over parameters W and P and their optimizer: loss, backward, step, zeroGrad. */
const fitStep =
  (lossOf: (W: pg.Tensor, P: pg.Tensor) => pg.Tensor) =>
  (W: pg.Tensor, P: pg.Tensor, o: pg.Optimizer): pg.Tensor => {
    const loss = lossOf(W, P);
    loss.backward();
    o.step();
    o.zeroGrad();
    return loss;
  };

export function compileSuite(kind: BackendKind): void {
  useBackend(kind);
  const { rtol, atol } = tol(kind);

  test('the README example compiled: gradients for new arguments on every call', async () => {
    const grads = pg.compile(pg.grad(seedLoss));
    for (const [a, b] of [
      [0.2, 0.7],
      [0.5, -1.25],
      [3, 0.125],
    ] as const) {
      const c1 = pg.tensor([a]);
      const c2 = pg.tensor([b]);
      const [g1, g2] = grads(c1, c2);
      const r = 0.6 * a + 0.4 * b - 0.5;
      expectClose(await g1!.data(), [2 * r * 0.6], rtol, atol, `d/dc1 at (${a}, ${b})`);
      expectClose(await g2!.data(), [2 * r * 0.4], rtol, atol, `d/dc2 at (${a}, ${b})`);
      pg.dispose([c1, c2, g1, g2]);
    }
    expect(grads.traces).toBe(kind === 'webgpu' ? 1 : 0);
    grads.dispose();
  });

  test('results are new tensors outside the graph: an earlier result keeps its values through later calls', async () => {
    const f = pg.compile((x: pg.Tensor) => x.mul(2).add(1));
    const x1 = pg.tensor([1, 2, 3]);
    const x2 = pg.tensor([10, 20, 30]);
    const y1 = f(x1);
    const y2 = f(x2);
    expect(y1.requiresGrad).toBe(false);
    expect(y1.isLeaf).toBe(true);
    expectClose(await y1.data(), [3, 5, 7], rtol, atol, 'first result');
    expectClose(await y2.data(), [21, 41, 61], rtol, atol, 'second result');
    expectClose(await x1.data(), [1, 2, 3], rtol, atol, 'argument left alone');
    pg.dispose([x1, x2, y1, y2]);
    f.dispose();
  });

  test('nested arrays and plain objects of tensors come back in the same structure; numbers pass through', async () => {
    const f = pg.compile((a: pg.Tensor, b: pg.Tensor) => ({ sum: a.add(b), parts: [a.mul(b), { neg: b.neg() }], tag: 'mix', n: 3 }));
    for (let i = 0; i < 2; i++) {
      const a = pg.tensor([[1, 2], [3, 4]]);
      const b = pg.tensor([[i, 1], [2, 0.5]]);
      const r = f(a, b);
      expect(r.tag).toBe('mix');
      expect(r.n).toBe(3);
      expect(r.sum.shape).toEqual([2, 2]);
      expectClose(await r.sum.data(), [1 + i, 3, 5, 4.5], rtol, atol, 'sum');
      expectClose(await (r.parts[0] as pg.Tensor).data(), [i, 2, 6, 2], rtol, atol, 'product');
      expectClose(await (r.parts[1] as { neg: pg.Tensor }).neg.data(), [-i, -1, -2, -0.5], rtol, atol, 'neg');
      pg.dispose([a, b, r]);
    }
    f.dispose();
  });

  test('a new argument shape is traced again; each shape keeps giving its own results', async () => {
    const f = pg.compile((x: pg.Tensor) => x.square().sum());
    for (const n of [3, 5, 3, 5]) {
      const x = pg.arange(n);
      const y = f(x);
      expectClose(await y.data(), [((n - 1) * n * (2 * n - 1)) / 6], rtol, atol, `sum of squares below ${n}`);
      pg.dispose([x, y]);
    }
    expect(f.traces).toBe(kind === 'webgpu' ? 2 : 0);
    f.dispose();
  });

  test('a compiled Adam step matches the eager loop step for step, learning-rate changes included', async () => {
    const { w, p, t, w2, p2 } = await twins(11);
    const opt = new pg.Adam([w, p], { lr: 0.05 });
    const opt2 = new pg.Adam([w2, p2], { lr: 0.05 });
    const body = fitStep((W, P) => W.softmax(-1).matmul(P).sub(t).square().mean());
    const step = pg.compile(() => body(w, p, opt));
    for (let i = 0; i < 6; i++) {
      if (i === 3) {
        opt.lr = 0.01;
        opt2.lr = 0.01;
      }
      const l1 = step();
      const l2 = pg.tidy(() => body(w2, p2, opt2));
      expectClose(await l1.data(), await l2.data(), rtol, atol, `loss at step ${i}`);
      pg.dispose([l1, l2]);
    }
    expectClose(await w.data(), await w2.data(), rtol, atol, 'weights after 6 steps');
    expectClose(await p.data(), await p2.data(), rtol, atol, 'palette after 6 steps');
    expect(opt.stateOf(w).step).toBe(6);
    expect(w.grad).toBeNull();
    step.dispose();
    pg.dispose([w, p, t, w2, p2]);
    opt.dispose();
    opt2.dispose();
  });

  test('a compiled colorMixLoss fit (updates fused into the loss on WebGPU) matches the eager fit', async () => {
    const { w, p, t, w2, p2 } = await twins(12);
    const optC = new pg.Adam([w, p], { lr: 0.05 });
    const opt2 = new pg.Adam([w2, p2], { lr: 0.05 });
    const body = fitStep((W, P) => pg.colorMixLoss(W, P, t, { softmax: true }));
    const step = pg.compile(() => body(w, p, optC));
    for (let i = 0; i < 5; i++) {
      const l1 = step();
      const l2 = pg.tidy(() => body(w2, p2, opt2));
      expectClose(await l1.data(), await l2.data(), rtol, atol, `loss at step ${i}`);
      pg.dispose([l1, l2]);
    }
    expectClose(await w.data(), await w2.data(), rtol, atol, 'weights');
    expectClose(await p.data(), await p2.data(), rtol, atol, 'palette');
    step.dispose();
    pg.dispose([w, p, t, w2, p2]);
    optC.dispose();
    opt2.dispose();
  });

  test('zeroGrad before backward: after each call .grad holds that call’s gradient, as eagerly', async () => {
    const { w, p, t, w2, p2 } = await twins(13);
    // Momentum's first step differs from the later ones: the replay must re-derive that flag.
    const opt = new pg.SGD([w, p], { lr: 0.1, momentum: 0.9 });
    const opt2 = new pg.SGD([w2, p2], { lr: 0.1, momentum: 0.9 });
    const body = (W: pg.Tensor, P: pg.Tensor, o: pg.Optimizer) => {
      o.zeroGrad();
      const loss = W.matmul(P).sub(t).square().mean();
      loss.backward();
      o.step();
      return loss;
    };
    const step = pg.compile(() => body(w, p, opt));
    for (let i = 0; i < 3; i++) {
      // Dropping the gradient between calls must not matter either: fn clears it first.
      if (i === 2) w.zeroGrad();
      const l1 = step();
      const l2 = pg.tidy(() => body(w2, p2, opt2));
      expectClose(await w.grad!.data(), await w2.grad!.data(), rtol, atol, `weights' gradient at call ${i}`);
      expectClose(await p.grad!.data(), await p2.grad!.data(), rtol, atol, `palette's gradient at call ${i}`);
      pg.dispose([l1, l2]);
    }
    step.dispose();
    pg.dispose([w, p, t, w2, p2]);
    opt.dispose();
    opt2.dispose();
  });

  test('bad arguments and results are typed errors, and the function stays usable', async () => {
    expectError(() => pg.compile(42 as never), pg.InvalidArgumentError, 'compile', 'function');
    const f = pg.compile((x: pg.Tensor) => x.add(1));
    expectError(() => f([1, 2] as never), pg.InvalidArgumentError, 'argument 0', 'not a Tensor');
    const dead = pg.tensor([1]);
    dead.dispose();
    expectError(() => f(dead), pg.DisposedTensorError, 'argument 0');
    const x = pg.tensor([4]);
    const y = f(x);
    expectClose(await y.data(), [5], rtol, atol, 'after the errors');
    f.dispose();
    expectError(() => f(x), pg.CompileError, 'disposed', 'compile fn again');
    const asMap = pg.compile((a: pg.Tensor) => new Map([['a', a.add(1)]]));
    expectError(() => asMap(x), pg.CompileError, 'Map', 'plain objects');
    const before = pg.memory().liveTensors;
    // The types reject an async fn (test/types/api.types.ts); a JavaScript caller can still pass one.
    const async = pg.compile((async (a: pg.Tensor) => a.add(1)) as unknown as (a: pg.Tensor) => pg.Tensor);
    expectError(() => async(x), pg.CompileError, 'Promise', 'synchronous');
    expect(pg.memory().liveTensors).toBe(before);
    pg.dispose([x, y]);
  });
}
