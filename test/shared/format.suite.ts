/** Printing: pg.format and t.print() lay values out as PyTorch does; toString, util.inspect and toJSON say what is known without a read. */
import { expect, test, vi } from 'vitest';
import * as pg from '../../src/index.ts';
import { type BackendKind, useBackend } from './backends.ts';

export function formatSuite(kind: BackendKind): void {
  useBackend(kind);

  test('a matrix: columns aligned, shape and flags after the values', async () => {
    const t = pg.tensor([[1, 2.5], [-3, 4]], { requiresGrad: true });
    expect(await pg.format(t)).toBe('tensor([[ 1.0000,  2.5000],\n        [-3.0000,  4.0000]], shape=[2, 2], requiresGrad=true)');
    const y = t.mul(pg.tensor([[0.5, 0.5], [0.5, 0.5]]));
    expect(await pg.format(y, { precision: 2 })).toBe('tensor([[ 0.50,  1.25],\n        [-1.50,  2.00]], shape=[2, 2], requiresGrad=true, gradFn=mul)');
    pg.dispose([t, y]);
  });

  test('integers, scalars, scientific notation, nan and inf', async () => {
    expect(await pg.format(pg.tensor([1, 2, 30]))).toBe('tensor([ 1.,  2., 30.], shape=[3])');
    expect(await pg.format(pg.tensor(0.5))).toBe('tensor(0.5000, shape=[])');
    expect(await pg.format(pg.tensor([1e-5, 1]))).toBe('tensor([1.0000e-05, 1.0000e+00], shape=[2])');
    expect(await pg.format(pg.tensor([Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 1.5]))).toBe('tensor([   nan,    inf,   -inf, 1.5000], shape=[4])');
    expect(await pg.format(pg.zeros([0, 3]))).toBe('tensor([], shape=[0, 3])');
  });

  test('a rank-3 tensor separates its matrices with a blank line', async () => {
    expect(await pg.format(pg.arange(8).reshape([2, 2, 2]))).toBe('tensor([[[0., 1.],\n         [2., 3.]],\n\n        [[4., 5.],\n         [6., 7.]]], shape=[2, 2, 2])');
  });

  test('large tensors are summarised with ... on every long axis', async () => {
    expect(await pg.format(pg.arange(2000))).toBe('tensor([   0.,    1.,    2., ..., 1997., 1998., 1999.], shape=[2000])');
    expect(await pg.format(pg.arange(10), { threshold: 5, edgeItems: 2 })).toBe('tensor([0., 1., ..., 8., 9.], shape=[10])');
    const big = await pg.format(pg.arange(100 * 100).reshape([100, 100]), { edgeItems: 1 });
    expect(big).toBe('tensor([[   0., ...,   99.],\n        ...,\n        [9900., ..., 9999.]], shape=[100, 100])');
  });

  test('a long row wraps at 80 columns', async () => {
    const lines = (await pg.format(pg.arange(30).div(7))).split('\n');
    expect(lines.length).toBeGreaterThan(1);
    for (const line of lines) expect(line.length).toBeLessThanOrEqual(80);
    expect(lines[0]).toBe('tensor([0.0000, 0.1429, 0.2857, 0.4286, 0.5714, 0.7143, 0.8571, 1.0000, 1.1429,');
    expect(lines[1]).toMatch(/^ {8}1\.2857, /);
  });

  test('print() writes the formatted tensor to the console', async () => {
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    try {
      await pg.tensor([1, 2]).print({ precision: 2 });
      expect(log).toHaveBeenCalledWith('tensor([1., 2.], shape=[2])');
    } finally {
      log.mockRestore();
    }
  });

  test('toString, util.inspect and toJSON describe the tensor without internals', () => {
    const t = pg.tensor([[1, 2, 3]], { requiresGrad: true });
    const y = t.exp();
    expect(String(t)).toBe(`Tensor(id=${t.id}, shape=[1, 3], requiresGrad)`);
    expect(`${y}`).toBe(`Tensor(id=${y.id}, shape=[1, 3], requiresGrad, gradFn=exp)`);
    // Node's util.inspect calls this (test/unit/format.test.ts checks util.inspect itself).
    const custom = (y as unknown as Record<symbol, () => string>)[Symbol.for('nodejs.util.inspect.custom')]!;
    expect(custom.call(y)).toBe(String(y));
    expect(JSON.parse(JSON.stringify(y))).toEqual({ type: 'Tensor', id: y.id, shape: [1, 3], size: 3, requiresGrad: true, gradFn: 'exp' });
    pg.dispose([t, y]);
    expect(String(t)).toContain('disposed');
    expect(t.toJSON().disposed).toBe(true);
  });

  test('a disposed tensor prints as such; bad options are typed errors', async () => {
    const t = pg.zeros([2]);
    t.dispose();
    expect(await pg.format(t)).toBe('tensor(<disposed>, shape=[2])');
    await expect(pg.format(pg.zeros([2]), { precision: -1 })).rejects.toThrow(pg.InvalidArgumentError);
    await expect(pg.format(pg.zeros([2]), { edgeItems: 0.5 })).rejects.toThrow(/format: options.edgeItems/);
    await expect(pg.format(null as unknown as pg.Tensor)).rejects.toThrow(/format: expected a Tensor/);
  });
}
