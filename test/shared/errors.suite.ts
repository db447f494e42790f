/** Every bad input gets a typed error naming the op and shapes, thrown at the call; the next call still works. */
import { expect, test } from 'vitest';
import * as pg from '../../src/index.ts';
import { type BackendKind, useBackend } from './backends.ts';

/** Runs `bad`, expects the error class and message parts, then checks the engine still computes. */
async function rejects(bad: () => unknown, cls: new (...a: never[]) => Error, ...parts: (string | RegExp)[]): Promise<void> {
  let caught: unknown;
  try {
    await bad();
  } catch (e) {
    caught = e;
  }
  expect(caught, 'expected an error').toBeInstanceOf(cls);
  expect(caught).toBeInstanceOf(pg.PixelgradError);
  for (const p of parts) expect((caught as Error).message).toMatch(p);
  const ok = pg.tensor([1, 2]).add(pg.tensor([3, 4]));
  expect(Array.from(await ok.data())).toEqual([4, 6]);
  ok.dispose();
}

export function errorsSuite(kind: BackendKind): void {
  useBackend(kind);

  test('ragged nested arrays', () => rejects(() => pg.tensor([[1, 2], [3]]), pg.ShapeError, 'ragged', '[1]'));
  test('non-number elements', () => rejects(() => pg.tensor([1, 'a' as unknown as number]), pg.InvalidArgumentError, 'element at [1]'));
  test('data length that does not match the shape', () => rejects(() => pg.tensor([1, 2, 3], { shape: [2, 2] }), pg.ShapeError, '3 values', '[2, 2]'));
  test('negative, fractional and NaN dimensions', async () => {
    await rejects(() => pg.zeros([2, -1]), pg.ShapeError, 'invalid dimension -1', '[2, -1]');
    await rejects(() => pg.zeros([1.5]), pg.ShapeError, 'invalid dimension 1.5');
    await rejects(() => pg.ones([Number.NaN]), pg.ShapeError, 'NaN');
  });
  test('shapes that do not broadcast name the op and both shapes', () =>
    rejects(() => pg.zeros([2, 3]).add(pg.zeros([4])), pg.ShapeError, 'add', '[2, 3]', '[4]'));
  test('matmul inner dimensions that differ', () =>
    rejects(() => pg.zeros([2, 3]).matmul(pg.zeros([4, 5])), pg.ShapeError, 'matmul', '[2, 3]', '[4, 5]'));
  test('an axis out of range', async () => {
    await rejects(() => pg.zeros([2, 3]).sum(2), pg.InvalidArgumentError, 'sum', 'axis 2', 'rank 2');
    await rejects(() => pg.zeros([2, 3]).softmax(-3), pg.InvalidArgumentError, 'softmax', 'axis -3');
  });
  test('backward on a tensor that does not require grad', () => rejects(() => pg.tensor([1]).mul(2).backward(), pg.GradientError, 'does not require grad'));
  test('backward on a non-scalar without a gradient', () =>
    rejects(() => pg.tensor([1, 2], { requiresGrad: true }).mul(2).backward(), pg.GradientError, 'not a scalar', '[2]'));
  test('a gradient of the wrong shape', () =>
    rejects(() => pg.tensor([1, 2], { requiresGrad: true }).mul(2).backward(pg.zeros([3])), pg.ShapeError, '[3]', '[2]'));
  test('a second backward through a freed graph', async () => {
    const x = pg.tensor([1], { requiresGrad: true });
    const y = x.exp();
    y.backward();
    await rejects(() => y.backward(), pg.FreedGraphError, 'exp', 'retainGraph');
  });
  test('any use of a disposed tensor', async () => {
    const t = pg.tensor([1, 2]);
    t.dispose();
    await rejects(() => t.add(1), pg.DisposedTensorError, 'add', 'disposed');
    await rejects(() => t.data(), pg.DisposedTensorError, 'data');
    await rejects(() => pg.tensor([1, 2]).mul(t), pg.DisposedTensorError, 'mul');
  });
  test('item on a tensor with more than one element', () => rejects(() => pg.zeros([2]).item(), pg.InvalidArgumentError, 'item', '[2]'));
  test('clamp with min > max', () => rejects(() => pg.zeros([2]).clamp(1, 0), pg.InvalidArgumentError, 'clamp'));
  test('reshape to a different size', () => rejects(() => pg.zeros([2, 3]).reshape([4]), pg.ShapeError, 'reshape', '[2, 3]', '[4]'));
  test('tidy with an async function', () => rejects(() => pg.tidy((async () => 1) as unknown as () => number), pg.InvalidArgumentError, 'tidy', 'synchronous'));
}
