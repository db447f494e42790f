/** Comparisons, logic and where: IEEE NaN semantics, broadcasting, number operands, gradients. */
import { expect, test } from 'vitest';
import * as pg from '../../src/index.ts';
import { type BackendKind, expectError, useBackend } from './backends.ts';

const { NaN: nan, POSITIVE_INFINITY: inf } = Number;

async function values(t: pg.Tensor): Promise<number[]> {
  // +0 folds -0 into 0 (a zero gradient times a negative input is -0).
  const d = Array.from(await t.data(), (v) => v + 0);
  t.dispose();
  return d;
}

export function logicSuite(kind: BackendKind): void {
  useBackend(kind);

  test('comparisons against a tensor, with NaN, infinities and signed zeros', async () => {
    const a = pg.tensor([1, 2, 3, nan, 1, nan, -0, inf, -inf]);
    const b = pg.tensor([2, 2, 2, 1, nan, nan, 0, inf, 5]);
    expect(await values(a.eq(b))).toEqual([0, 1, 0, 0, 0, 0, 1, 1, 0]);
    expect(await values(a.ne(b))).toEqual([1, 0, 1, 1, 1, 1, 0, 0, 1]);
    expect(await values(a.lt(b))).toEqual([1, 0, 0, 0, 0, 0, 0, 0, 1]);
    expect(await values(a.le(b))).toEqual([1, 1, 0, 0, 0, 0, 1, 1, 1]);
    expect(await values(a.gt(b))).toEqual([0, 0, 1, 0, 0, 0, 0, 0, 0]);
    expect(await values(a.ge(b))).toEqual([0, 1, 1, 0, 0, 0, 1, 1, 0]);
    pg.dispose([a, b]);
  });

  test('comparisons with a number, a NaN number, and as pg functions', async () => {
    const a = pg.tensor([1, 2, 3, nan]);
    expect(await values(a.lt(2))).toEqual([1, 0, 0, 0]);
    expect(await values(a.ge(2))).toEqual([0, 1, 1, 0]);
    expect(await values(a.eq(nan))).toEqual([0, 0, 0, 0]);
    expect(await values(a.ne(nan))).toEqual([1, 1, 1, 1]);
    expect(await values(pg.gt(a, 1))).toEqual([0, 1, 1, 0]);
    expect(await values(pg.le(a, 1))).toEqual([1, 0, 0, 0]);
    expect(await values(pg.eq(a, 3))).toEqual([0, 0, 1, 0]);
    expect(await values(pg.ne(a, 3))).toEqual([1, 1, 0, 1]);
    expect(await values(pg.lt(a, a))).toEqual([0, 0, 0, 0]);
    expect(await values(pg.ge(a, a))).toEqual([1, 1, 1, 0]);
    a.dispose();
  });

  test('comparisons broadcast both ways', async () => {
    const col = pg.tensor([[1], [2], [3]]);
    const row = pg.tensor([1, 2]);
    const m = col.gt(row);
    expect(m.shape).toEqual([3, 2]);
    expect(await m.toArray()).toEqual([
      [false, false],
      [true, false],
      [true, true],
    ]);
    expect(await values(row.le(col))).toEqual([1, 0, 1, 1, 1, 1]);
    expectError(() => pg.zeros([2, 3]).lt(pg.zeros([4])), pg.ShapeError, 'lt', '[2, 3]', '[4]');
    pg.dispose([col, row, m]);
  });

  test('a mask carries no gradient, and masking a value passes its gradient through', async () => {
    const x = pg.tensor([-2, 3, 0.5], { requiresGrad: true });
    const m = x.gt(0);
    expect(m.requiresGrad).toBe(false);
    expect(m.isLeaf).toBe(true);
    x.mul(m).square().sum().backward();
    expect(await values(x.grad!)).toEqual([0, 6, 1]);
    pg.dispose([x, m]);
  });

  test('logicalAnd, logicalOr and logicalNot treat nonzero (and NaN) as true', async () => {
    const a = pg.tensor([0, 0, 1, -2, nan, 0]);
    const b = pg.tensor([0, 3, 0, 0.5, 1, nan]);
    expect(await values(a.logicalAnd(b))).toEqual([0, 0, 0, 1, 1, 0]);
    expect(await values(a.logicalOr(b))).toEqual([0, 1, 1, 1, 1, 1]);
    expect(await values(a.logicalNot())).toEqual([1, 1, 0, 0, 0, 1]);
    expect(await values(pg.logicalAnd(a, 1))).toEqual([0, 0, 1, 1, 1, 0]);
    expect(await values(pg.logicalOr(a, 0))).toEqual([0, 0, 1, 1, 1, 0]);
    expect(await values(pg.logicalNot(pg.tensor([[0], [-0]])))).toEqual([1, 1]);
    const r = pg.tensor([1], { requiresGrad: true });
    expect(r.logicalNot().requiresGrad).toBe(false);
    pg.dispose([a, b, r]);
  });

  test('where picks a where cond is nonzero (NaN included), b elsewhere', async () => {
    const cond = pg.tensor([1, 0, -0, nan, -3, 0.5]);
    const a = pg.tensor([10, 11, 12, 13, 14, 15]);
    const b = pg.tensor([20, 21, 22, 23, 24, 25]);
    expect(await values(pg.where(cond, a, b))).toEqual([10, 21, 22, 13, 14, 15]);
    expect(await values(pg.where(cond, a, -1))).toEqual([10, -1, -1, 13, 14, 15]);
    expect(await values(pg.where(cond, 7, b))).toEqual([7, 21, 22, 7, 7, 7]);
    expect(await values(pg.where(cond, 1, 0))).toEqual([1, 0, 0, 1, 1, 1]);
    // NaN values in the unselected operand do not leak.
    expect(await values(pg.where(cond, a, nan))).toEqual([10, nan, nan, 13, 14, 15]);
    pg.dispose([cond, a, b]);
  });

  test('where broadcasts all three operands', async () => {
    const cond = pg.tensor([[1], [0]]); // [2, 1]
    const a = pg.tensor([1, 2, 3]); // [3]
    const b = pg.tensor([[[-1]], [[-2]]]); // [2, 1, 1]
    const out = pg.where(cond, a, b);
    expect(out.shape).toEqual([2, 2, 3]);
    expect(await out.toArray()).toEqual([
      [
        [1, 2, 3],
        [-1, -1, -1],
      ],
      [
        [1, 2, 3],
        [-2, -2, -2],
      ],
    ]);
    expectError(() => pg.where(pg.zeros([2]), pg.zeros([3]), 0), pg.ShapeError, 'where', '[2]', '[3]');
    expectError(() => pg.where(pg.zeros([2]), 'x' as unknown as number, 0), pg.InvalidArgumentError, 'where', 'a');
    pg.dispose([cond, a, b, out]);
  });

  test('where: the gradient goes to a where cond holds, to b elsewhere, summed over broadcasts', async () => {
    const x = pg.tensor([-2, 3, 0, 4], { requiresGrad: true });
    const y = pg.tensor([5], { requiresGrad: true });
    const out = pg.where(x.gt(0), x.square(), y.mul(2));
    out.backward(pg.tensor([1, 10, 100, 1000]));
    // a = x²: 2x where x > 0; b = 2y broadcast: 2 · (1 + 100).
    expect(await values(x.grad!)).toEqual([0, 60, 0, 8000]);
    expect(await values(y.grad!)).toEqual([202]);
    pg.dispose([x, y, out]);
  });

  test('where: a condition that requires grad gets a zero gradient', async () => {
    const c = pg.tensor([1, 0], { requiresGrad: true });
    const a = pg.tensor([1, 2], { requiresGrad: true });
    pg.where(c, a, 3).sum().backward();
    expect(await values(c.grad!)).toEqual([0, 0]);
    expect(await values(a.grad!)).toEqual([1, 0]);
    pg.dispose([c, a]);
  });

  test('empty tensors', async () => {
    const e = pg.zeros([0, 3]);
    expect(e.lt(1).shape).toEqual([0, 3]);
    const out = pg.where(e.lt(1), e, 2);
    expect(out.shape).toEqual([0, 3]);
    expect(await values(out)).toEqual([]);
    e.dispose();
  });
}
