/** argmax/argmin, cumsum, indexSelect, takeAlongAxis and scatterAdd: values, edge cases, errors, gradients. */
import { expect, test } from 'vitest';
import * as pg from '../../src/index.ts';
import { type BackendKind, expectClose, expectError, tol, useBackend } from './backends.ts';

const { NaN: nan, POSITIVE_INFINITY: inf } = Number;

async function values(t: pg.Tensor): Promise<number[]> {
  const d = Array.from(await t.data(), (v) => v + 0);
  t.dispose();
  return d;
}

export function indexingSuite(kind: BackendKind): void {
  useBackend(kind);

  test('argmax and argmin pick the first of tied extremes, along any axis', async () => {
    const x = pg.tensor([
      [1, 5, 5, 0],
      [7, 0, 7, 0],
      [2, 2, 2, 2],
    ]);
    expect(await values(x.argmax(1))).toEqual([1, 0, 0]);
    expect(await values(x.argmin(1))).toEqual([3, 1, 0]);
    expect(await values(x.argmax(0))).toEqual([1, 0, 1, 2]);
    expect(await values(x.argmin(-2))).toEqual([0, 1, 2, 0]);
    expect(await values(x.argmax(-1))).toEqual([1, 0, 0]);
    // Flattened: the index into the row-major data.
    const flat = x.argmax();
    expect(flat.shape).toEqual([]);
    expect(await flat.item()).toBe(4);
    flat.dispose();
    expect(await x.argmin().item()).toBe(3);
    x.dispose();
  });

  test('argmax and argmin treat NaN as the extreme (the first NaN wins), infinities as values', async () => {
    const x = pg.tensor([
      [1, nan, 9, nan],
      [-inf, 3, inf, inf],
      [nan, -inf, -inf, 0],
    ]);
    expect(await values(x.argmax(1))).toEqual([1, 2, 0]);
    expect(await values(x.argmin(1))).toEqual([1, 0, 0]);
    expect(await values(x.argmax(0))).toEqual([2, 0, 1, 0]);
    expect(await values(x.argmin(0))).toEqual([2, 0, 2, 0]);
    expect(await x.argmax().item()).toBe(1);
    x.dispose();
  });

  test('argmax keepDims, 0-d and size-1 tensors, and no gradient', async () => {
    const x = pg.tensor(
      [
        [
          [3, 1],
          [4, 1],
          [5, 9],
        ],
      ],
      { requiresGrad: true },
    );
    const k = x.argmax(1, true);
    expect(k.shape).toEqual([1, 1, 2]);
    expect(await values(k)).toEqual([2, 2]);
    const all = x.argmin(null, true);
    expect(all.shape).toEqual([1, 1, 1]);
    expect(all.requiresGrad).toBe(false);
    expect(await values(all)).toEqual([1]);
    const m = x.argmax(2);
    expect(m.requiresGrad).toBe(false);
    expect(m.shape).toEqual([1, 3]);
    expect(() => m.sum().backward()).toThrow(pg.GradientError);
    m.dispose();
    const s = pg.tensor(7);
    expect(await s.argmax().item()).toBe(0);
    expect(await s.argmax(0).item()).toBe(0);
    expect(await s.argmin(-1, true).item()).toBe(0);
    pg.dispose([x, s]);
  });

  test('argmax errors: bad axis, zero-length axis, bad keepDims', () => {
    const x = pg.zeros([2, 3]);
    expectError(() => x.argmax(2), pg.InvalidArgumentError, 'argmax', 'axis 2', 'rank 2');
    expectError(() => x.argmin(-3), pg.InvalidArgumentError, 'argmin', 'axis -3');
    expectError(() => x.argmax(0.5), pg.InvalidArgumentError, 'argmax', 'axis 0.5');
    expectError(() => x.argmax(0, 'yes' as unknown as boolean), pg.InvalidArgumentError, 'argmax', 'keepDims');
    const e = pg.zeros([2, 0]);
    expectError(() => e.argmax(1), pg.ShapeError, 'argmax', 'zero-length', '[2, 0]');
    expectError(() => e.argmin(), pg.ShapeError, 'argmin', 'zero-length');
    pg.dispose([x, e]);
  });

  test('argmax over a long axis and many lines matches a plain loop', async () => {
    const r = pg.mulberry32(5);
    const [rows, n] = [7, 3000];
    // Few distinct values: many ties, so "first" matters.
    const data = Float32Array.from({ length: rows * n }, () => Math.floor(r() * 50));
    const x = pg.tensor(data, { shape: [rows, n] });
    const want = (smallest: boolean) =>
      Array.from({ length: rows }, (_, i) => {
        let best = 0;
        for (let j = 1; j < n; j++) if (smallest ? data[i * n + j]! < data[i * n + best]! : data[i * n + j]! > data[i * n + best]!) best = j;
        return best;
      });
    expect(await values(x.argmax(1))).toEqual(want(false));
    expect(await values(x.argmin(1))).toEqual(want(true));
    x.dispose();
  });

  test('cumsum along each axis, negative axes and a 0-d tensor', async () => {
    const x = pg.tensor([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    expect(await values(x.cumsum(1))).toEqual([1, 3, 6, 4, 9, 15]);
    expect(await values(x.cumsum(0))).toEqual([1, 2, 3, 5, 7, 9]);
    expect(await values(x.cumsum(-1))).toEqual([1, 3, 6, 4, 9, 15]);
    const s = pg.tensor(4);
    const c = s.cumsum(0);
    expect(c.shape).toEqual([]);
    expect(await c.item()).toBe(4);
    const withNan = pg.tensor([1, nan, 2, inf, 1]);
    expect(await values(withNan.cumsum(0))).toEqual([1, nan, nan, nan, nan]);
    const withInf = pg.tensor([1, inf, 2, -inf]);
    expect(await values(withInf.cumsum(0))).toEqual([1, inf, inf, nan]);
    expectError(() => x.cumsum(2), pg.InvalidArgumentError, 'cumsum', 'axis 2', 'rank 2');
    expectError(() => x.cumsum(undefined as unknown as number), pg.InvalidArgumentError, 'cumsum', 'axis');
    pg.dispose([x, s, c, withNan, withInf]);
  });

  test('cumsum over a 4096-long axis is as accurate as a sequential float32 sum', async () => {
    const r = pg.mulberry32(11);
    const [rows, n] = [3, 4096];
    const data = Float32Array.from({ length: rows * n }, () => Math.fround(0.1 + r()));
    const x = pg.tensor(data, { shape: [rows, n] });
    const got = await x.cumsum(1).data();
    let worst = 0;
    let naiveWorst = 0;
    for (let i = 0; i < rows; i++) {
      let exact = 0;
      let naive = 0;
      for (let j = 0; j < n; j++) {
        exact += data[i * n + j]!;
        naive = Math.fround(naive + data[i * n + j]!);
        worst = Math.max(worst, Math.abs(got[i * n + j]! - exact));
        naiveWorst = Math.max(naiveWorst, Math.abs(naive - exact));
      }
    }
    // One float32 rounding of the largest sum (~2500) is 1.2e-4; a sequential sum drifts to ~1e-2.
    expect(naiveWorst).toBeGreaterThan(1e-3);
    expect(worst).toBeLessThanOrEqual(kind === 'cpu' ? 1e-3 : 4 * 2 ** -11);
    // Along a middle axis, several chunks deep (long inner stride).
    const y = pg.tensor(data, { shape: [1, n, rows] });
    const gy = await y.cumsum(1).data();
    for (let i = 0; i < rows; i++) {
      let exact = 0;
      for (let j = 0; j < n; j++) {
        exact += data[j * rows + i]!;
        expect(Math.abs(gy[j * rows + i]! - exact)).toBeLessThanOrEqual(4 * 2 ** -11);
      }
    }
    pg.dispose([x, y]);
  });

  test('the gradient of cumsum is the running sum from the end', async () => {
    const x = pg.tensor(
      [
        [1, 2, 3],
        [4, 5, 6],
      ],
      { requiresGrad: true },
    );
    const w = pg.tensor([
      [1, 10, 100],
      [2, 20, 200],
    ]);
    x.cumsum(1).mul(w).sum().backward();
    expect(await values(x.grad!)).toEqual([111, 110, 100, 222, 220, 200]);
    x.zeroGrad();
    x.cumsum(0).mul(w).sum().backward();
    expect(await values(x.grad!)).toEqual([3, 30, 300, 2, 20, 200]);
    const long = pg.ones([200], { requiresGrad: true });
    long.cumsum(0).sum().backward();
    expect(await values(long.grad!)).toEqual(Array.from({ length: 200 }, (_, i) => 200 - i));
    pg.dispose([x, w, long]);
  });

  void expectClose;
  void tol;
}
