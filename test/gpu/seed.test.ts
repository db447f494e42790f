import { expect, test } from 'vitest';
import * as pg from '../../src/index.ts';

test('the two-ingredient example gives PyTorch gradients', async () => {
  await pg.init();
  const c1 = pg.tensor([0.2], { requiresGrad: true });
  const c2 = pg.tensor([0.7], { requiresGrad: true });
  const loss = c1.mul(0.6).add(c2.mul(0.4)).sub(0.5).pow(2);
  loss.backward();
  const g1 = await c1.grad!.data();
  const g2 = await c2.grad!.data();
  expect(g1[0]).toBeCloseTo(-0.12, 6);
  expect(g2[0]).toBeCloseTo(-0.08, 6);
  expect(pg.backend()!.kind).toBe('webgpu');
});

test('the example matches float32 arithmetic to the bit: x.pow(2) squares as x·x, as PyTorch does', async () => {
  await pg.init();
  const f = Math.fround;
  // PyTorch's float32 sequence: r = ((0.2·0.6 + 0.7·0.4) − 0.5), loss = r·r, dc = (2·r)·w.
  const r = f(f(f(f(0.2) * f(0.6)) + f(f(0.7) * f(0.4))) - f(0.5));
  const c1 = pg.tensor([0.2], { requiresGrad: true });
  const c2 = pg.tensor([0.7], { requiresGrad: true });
  const loss = c1.mul(0.6).add(c2.mul(0.4)).sub(0.5).pow(2);
  loss.backward();
  const [l, g1, g2] = await Promise.all([loss.data(), c1.grad!.data(), c2.grad!.data()]);
  expect(l[0]).toBe(f(r * r));
  expect(g1[0]).toBe(f(f(2 * r) * f(0.6)));
  expect(g2[0]).toBe(f(f(2 * r) * f(0.4)));
  pg.dispose([c1, c2, loss]);
});
