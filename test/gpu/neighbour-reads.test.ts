/**
 * Elementwise kernels read an input a constant step away from each lane's element (a slice's
 * neighbour) as a component of the vec4 holding it: total variation's gradient, whose reads step
 * ±3 and ±3·W across vec4 boundaries and past both ends of the buffer, against a float64 loop.
 */
import { expect, test } from 'vitest';
import * as pg from '../../src/index.ts';
import { expectClose, useBackend } from '../shared/backends.ts';

useBackend('webgpu');

test('the total-variation gradient of an image whose element count is not a multiple of 4', async () => {
  const [H, W] = [5, 7];
  const n = H * W * 3;
  const x0 = Array.from({ length: n }, (_, i) => Math.sin(i * 1.3) + 0.01 * i);
  const x = pg.tensor(x0, { shape: [H, W, 3], requiresGrad: true });
  const down = x.slice([1]).sub(x.slice([0], [-1])).abs().sum();
  const across = x.slice([0, 1]).sub(x.slice([0, 0], [H, -1])).abs().sum();
  down.add(across).backward();
  const got = await x.grad!.data();
  const expected = x0.map((v, e) => {
    const col = e % (3 * W);
    const sign = (d: number) => Math.sign(d);
    let g = 0;
    if (e >= 3 * W) g += sign(v - x0[e - 3 * W]!);
    if (e + 3 * W < n) g -= sign(x0[e + 3 * W]! - v);
    if (col >= 3) g += sign(v - x0[e - 3]!);
    if (col < 3 * W - 3) g -= sign(x0[e + 3]! - v);
    return g;
  });
  expect(got.length).toBe(n);
  expectClose(got, expected, 0, 1e-6, 'grad');
  pg.dispose([x, down, across]);
});
