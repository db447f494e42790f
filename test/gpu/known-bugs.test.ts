/**
 * Bugs found (by `npm run fuzz`) in code being rewritten elsewhere, kept as `test.fails`: each
 * passes while the bug is there, and fails once it is fixed, which is the cue to move it into its
 * suite as a plain test.
 */
import { beforeAll, describe, expect, test } from 'vitest';
import * as pg from '../../src/index.ts';

describe('known bugs on WebGPU', () => {
  beforeAll(async () => {
    await pg.init({ backend: 'webgpu' });
  });

  // Fuzz seed 1101 (rotating), shrunk: a unary op's gradient through an empty (0-length) broadcast
  // is 0 on WebGPU where float64 and PyTorch give NaN (the incoming gradient is a sum over nothing,
  // 0, and square's rule is g · 2x = 0 · NaN). exp() does the same; a binary op (w.mul(w)) does not.
  test.fails('w = [NaN]: w.square().expand([0]).sum() has gradient NaN, as in PyTorch', async () => {
    const w = pg.tensor([Number.NaN], { requiresGrad: true });
    w.square().expand([0]).sum().backward();
    expect(Number.isNaN((await w.grad!.data())[0]!)).toBe(true);
    w.dispose();
  });
});
