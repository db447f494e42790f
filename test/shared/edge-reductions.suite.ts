/**
 * Reduction edge values as PyTorch gives them (issue 14): max over -inf and NaN, 0-length axes in
 * forward and backward, softmax over -inf, and sums of 2^24 elements within 1e-6 of float64.
 * Wired for the float64 backend (test/unit/edge-reductions.test.ts) only: the WebGPU reductions
 * are being replaced by the fusing compiler, whose author enables test/gpu for it.
 */
import { expect, test } from 'vitest';
import * as pg from '../../src/index.ts';
import { type BackendKind, useBackend } from './backends.ts';

const { NaN: nan, NEGATIVE_INFINITY: ninf } = Number;

function same(actual: ArrayLike<number>, expected: readonly number[], what: string, rtol = 1e-6): void {
  expect(actual.length, what).toBe(expected.length);
  expected.forEach((e, i) => {
    const a = actual[i]!;
    const ok = Number.isNaN(e) ? Number.isNaN(a) : !Number.isFinite(e) ? a === e : Math.abs(a - e) <= rtol * Math.max(1, Math.abs(e));
    expect(ok, `${what}[${i}]: got ${a}, expected ${e}`).toBe(true);
  });
}

async function values(t: pg.Tensor): Promise<number[]> {
  const d = Array.from(await t.data());
  t.dispose();
  return d;
}

export function edgeReductionsSuite(kind: BackendKind): void {
  useBackend(kind);

  test('a long sum (compensated) or a walked one with an infinity is that infinity, not NaN', async () => {
    const n = 200;
    const inf = Number.POSITIVE_INFINITY;
    const x = pg.tensor(Array.from({ length: n }, (_, i) => (i === 7 ? inf : 1)));
    expect(Array.from(await x.sum().data())).toEqual([inf]);
    const rows = pg.tensor(Array.from({ length: 4096 * 2 }, (_, i) => (i === 10 ? -inf : 0.5)), { shape: [4096, 2] });
    expect(Array.from(await rows.sum(0).data())).toEqual([-inf, 2048]);
    expect(Array.from(await x.mul(2).sum().data())).toEqual([inf]);
    pg.dispose([x, rows]);
  });

  test('max over -inf is -inf, and ties at -inf share the gradient', async () => {
    const x = pg.tensor([ninf, ninf], { requiresGrad: true });
    const m = x.max();
    same(await m.data(), [ninf], 'max');
    m.backward();
    same(await x.grad!.data(), [0.5, 0.5], 'grad');
    pg.dispose([x, m]);
    const rows = pg.tensor([[ninf, 1], [ninf, ninf]]);
    same(await values(rows.max(1)), [1, ninf], 'max(1)');
    rows.dispose();
  });

  test('NaN in max gives NaN', async () => {
    const x = pg.tensor([nan, 1, 3]);
    same(await values(x.max()), [nan], 'max');
    const rows = pg.tensor([[1, nan], [2, 3]]);
    same(await values(rows.max(1)), [nan, 3], 'max(1)');
    same(await values(rows.max(0)), [2, nan], 'max(0)');
    pg.dispose([x, rows]);
  });

  test('sums over a 0-length axis are 0, forward and backward', async () => {
    const e = pg.zeros([0, 2]);
    same(await values(e.sum(0)), [0, 0], 'sum(0)');
    same(await values(e.sum()), [0], 'sum()');
    same(await values(pg.zeros([2, 0]).sum(1)), [0, 0], 'sum(1)');
    e.dispose();
    // A gradient summed over an empty axis: broadcasting [2] against [0, 2].
    const b = pg.tensor([1, 2], { requiresGrad: true });
    const empty = pg.zeros([0, 2]);
    const loss = b.add(empty).sum();
    same(await loss.data(), [0], 'loss');
    loss.backward();
    same(await b.grad!.data(), [0, 0], 'grad');
    pg.dispose([b, empty, loss]);
    // (PyTorch's mean over nothing is NaN; here a ShapeError on both backends, src/ops/reduce.ts.)
  });

  // Fuzz seed 1101, shrunk: the incoming gradient is a sum over nothing, 0, and the rules are
  // g · 2x and g · y, so 0 · NaN = NaN (a shader compiler that saw the 0 folded it away).
  test('a unary gradient through an empty broadcast keeps NaN: 0 · NaN is NaN, as in PyTorch', async () => {
    const w = pg.tensor([Number.NaN, 2], { requiresGrad: true });
    w.square().expand([0, 2]).sum().backward();
    same(await w.grad!.data(), [Number.NaN, 0], 'square');
    const v = pg.tensor([Number.POSITIVE_INFINITY], { requiresGrad: true });
    v.exp().expand([0]).sum().backward();
    same(await v.grad!.data(), [Number.NaN], 'exp');
    pg.dispose([w, v]);
  });

  test('softmax over -inf: 0 where -inf, NaN for an all -inf row (as PyTorch)', async () => {
    const x = pg.tensor([[ninf, 0, 0], [ninf, ninf, 1]]);
    same(await values(x.softmax(-1)), [0, 0.5, 0.5, 0, 0, 1], 'softmax');
    same(await values(x.logSoftmax(-1)), [ninf, Math.log(0.5), Math.log(0.5), ninf, ninf, 0], 'logSoftmax');
    x.dispose();
  });

  test('NaN through softmax and logSoftmax gives NaN values and NaN gradients', async () => {
    const x = pg.tensor([nan, 1], { requiresGrad: true });
    const y = x.logSoftmax(0);
    same(await y.data(), [nan, nan], 'logSoftmax');
    y.mul(pg.tensor([0.5, 1])).sum().backward();
    same(await x.grad!.data(), [nan, nan], 'grad');
    same(await values(x.softmax(0)), [nan, nan], 'softmax');
    pg.dispose([x, y]);
  });

  test('sum, mean and mseLoss of 2^24 values of 0.1 within 1e-6 of float64', async () => {
    const n = 2 ** 24;
    const v = Math.fround(0.1);
    const x = pg.full([n], 0.1);
    same(await values(x.sum()), [n * v], 'sum', 1e-6);
    same(await values(x.mean()), [v], 'mean', 1e-6);
    const zero = pg.zeros([n]);
    same(await values(pg.mseLoss(x, zero)), [v * v], 'mseLoss', 1e-6);
    pg.dispose([x, zero]);
  }, 120_000);
}
