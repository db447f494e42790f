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
