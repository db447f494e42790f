/** argmax/argmin, cumsum, indexSelect, takeAlongAxis and scatterAdd: values, edge cases, errors, gradients. */
import fc from 'fast-check';
import { expect, test } from 'vitest';
import * as pg from '../../src/index.ts';
import { type BackendKind, expectError, useBackend } from './backends.ts';

const { NaN: nan, POSITIVE_INFINITY: inf } = Number;

/** The first extreme of each line along `axis` (NaN first of all), in plain float64 loops: an oracle independent of the op's reference. */
function firstExtreme(data: readonly number[], shape: readonly number[], axis: number, smallest: boolean): number[] {
  const n = shape[axis]!;
  const inner = shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  const outer = data.length / Math.max(1, n * inner);
  const out: number[] = [];
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const at = (j: number) => data[(o * n + j) * inner + i]!;
      let best = -1;
      for (let j = 0; j < n && best < 0; j++) if (Number.isNaN(at(j))) best = j;
      if (best < 0) {
        best = 0;
        for (let j = 1; j < n; j++) if (smallest ? at(j) < at(best) : at(j) > at(best)) best = j;
      }
      out.push(best);
    }
  }
  return out;
}

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

  if (kind === 'webgpu') {
    test('argmax fuses with what computes its input: one kernel, no index buffer', async () => {
      const x = pg.rand([5, 13]);
      await x.data();
      const before = pg.memory().dispatches;
      const r = x.mul(2).add(1).argmax(1);
      await r.data();
      expect(pg.memory().dispatches - before).toBe(1);
      pg.dispose([x, r]);
    });
  }

  test('argmax errors: bad axis, zero-length axis, bad keepDims', () => {
    const x = pg.zeros([2, 3]);
    expectError(() => x.argmax(2), pg.InvalidArgumentError, 'argmax', 'axis 2', 'rank 2');
    expectError(() => x.argmin(-3), pg.InvalidArgumentError, 'argmin', 'axis -3');
    expectError(() => x.argmax(0.5), pg.InvalidArgumentError, 'argmax', 'axis 0.5');
    expectError(() => x.argmax(0, 'yes' as unknown as boolean), pg.InvalidArgumentError, 'argmax', 'keepDims');
    // An axis float32 cannot count along exactly (the shape rule refuses it before any memory is made).
    const rule = (name: string) => pg.registeredOps().find((o) => o.name === name)!;
    expectError(() => rule('argmax').shape([[2 ** 24 + 1]], { axis: 0, keepDims: false }), pg.LimitError, 'argmax', '16777217', '2^24');
    expectError(() => rule('takeAlongAxis').shape([[2 ** 24 + 1], [1]], { axis: 0 }), pg.LimitError, 'takeAlongAxis', '16777217', '2^24');
    expect(rule('argmin').shape([[2 ** 24]], { axis: 0, keepDims: true })).toEqual([1]);
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

  test('takeAlongAxis picks along either axis, broadcasts the other axes, and as pg.takeAlongAxis', async () => {
    const x = pg.tensor([
      [10, 20, 30],
      [40, 50, 60],
    ]);
    expect(await values(x.takeAlongAxis(pg.tensor([[2, 0], [1, 1]]), 1))).toEqual([30, 10, 50, 50]);
    expect(await values(x.takeAlongAxis(pg.tensor([[1, 0, 1]]), 0))).toEqual([40, 20, 60]);
    expect(await values(x.takeAlongAxis(pg.tensor([[1, 0, 1]]), -2))).toEqual([40, 20, 60]);
    // A [1, k] index broadcasts over the rows; a [2, 1] tensor against a [2, 3] index over columns.
    const row = x.takeAlongAxis(pg.tensor([[0, 2, 2, 1]]), 1);
    expect(row.shape).toEqual([2, 4]);
    expect(await values(row)).toEqual([10, 30, 30, 20, 40, 60, 60, 50]);
    const col = pg.tensor([[7], [8]]).takeAlongAxis(pg.tensor([[0, 0, 0], [0, 0, 0]]), 1);
    expect(await values(col)).toEqual([7, 7, 7, 8, 8, 8]);
    expect(await values(pg.takeAlongAxis(x, pg.tensor([[1], [0]]), 1))).toEqual([20, 40]);
    // The index of the max, then the max itself.
    const m = x.takeAlongAxis(x.argmax(1, true), 1);
    expect(await values(m)).toEqual([30, 60]);
    const cube = pg.arange(24).reshape([2, 3, 4]);
    expect(await values(cube.takeAlongAxis(pg.tensor([[[2, 0, 1, 2]], [[0, 0, 0, 1]]]), 1))).toEqual([8, 1, 6, 11, 12, 13, 14, 19]);
    pg.dispose([x, cube]);
  });

  test('indexSelect takes whole slices in the index order, repeats included', async () => {
    const x = pg.tensor([
      [1, 2],
      [3, 4],
      [5, 6],
    ]);
    const r = x.indexSelect(0, pg.tensor([2, 0, 2]));
    expect(r.shape).toEqual([3, 2]);
    expect(await values(r)).toEqual([5, 6, 1, 2, 5, 6]);
    expect(await values(x.indexSelect(-1, pg.tensor([1])))).toEqual([2, 4, 6]);
    expect(await values(pg.indexSelect(pg.tensor([5, 6, 7]), 0, pg.tensor([2, 2, 0])))).toEqual([7, 7, 5]);
    const none = x.indexSelect(0, pg.zeros([0]));
    expect(none.shape).toEqual([0, 2]);
    none.dispose();
    x.dispose();
  });

  test('scatterAdd sums duplicates into target, along either axis, and as pg.scatterAdd', async () => {
    expect(await values(pg.zeros([3]).scatterAdd(0, pg.tensor([0, 2, 0]), pg.tensor([1, 2, 3])))).toEqual([4, 0, 2]);
    const t = pg.tensor([
      [1, 1, 1],
      [2, 2, 2],
    ]);
    const idx = pg.tensor([
      [2, 2],
      [0, 1],
    ]);
    const src = pg.tensor([
      [10, 20],
      [30, 40],
    ]);
    expect(await values(t.scatterAdd(1, idx, src))).toEqual([1, 1, 31, 32, 42, 2]);
    expect(await values(pg.scatterAdd(pg.zeros([2, 2]), 0, pg.tensor([[1, 1], [1, 0]]), pg.tensor([[1, 2], [3, 4]])))).toEqual([0, 4, 4, 2]);
    pg.dispose([t, idx, src]);
  });

  test('gradients: gathers sum back into the picked positions, scatterAdd passes target through and gathers for src', async () => {
    const x = pg.tensor([1, 2, 3, 4], { requiresGrad: true });
    const idx = pg.tensor([3, 0, 3, 3], { requiresGrad: true });
    x.takeAlongAxis(idx, 0).mul(pg.tensor([1, 10, 100, 1000])).sum().backward();
    expect(await values(x.grad!)).toEqual([10, 0, 0, 1101]);
    expect(await values(idx.grad!)).toEqual([0, 0, 0, 0]);
    const m = pg.tensor(
      [
        [1, 2],
        [3, 4],
        [5, 6],
      ],
      { requiresGrad: true },
    );
    m.indexSelect(0, pg.tensor([2, 2, 1])).mul(pg.tensor([[1, 2], [3, 4], [5, 6]])).sum().backward();
    expect(await values(m.grad!)).toEqual([0, 0, 5, 6, 4, 6]);
    const target = pg.zeros([2, 3], { requiresGrad: true });
    const src = pg.tensor([[1, 2], [3, 4]], { requiresGrad: true });
    const w = pg.tensor([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    target.scatterAdd(1, pg.tensor([[2, 0], [1, 1]]), src).mul(w).sum().backward();
    expect(await values(target.grad!)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(await values(src.grad!)).toEqual([3, 1, 5, 5]);
    pg.dispose([x, idx, m, target, src, w]);
  });

  test('long index axes (the GPU adds with atomics): scatterAdd and the gradient of indexSelect', async () => {
    const r = pg.mulberry32(3);
    const [N, K, C] = [7, 300, 5];
    const index = Array.from({ length: K }, () => Math.floor(r() * N));
    const src = Array.from({ length: K * C }, () => Math.round(r() * 64) / 8);
    const base = Array.from({ length: N * C }, (_, i) => i);
    const want = base.slice();
    index.forEach((n, k) => {
      for (let c = 0; c < C; c++) want[n * C + c]! += src[k * C + c]!;
    });
    // A target computed just before (queued work), an index expanded from a column.
    const target = pg.tensor(base, { shape: [N, C] }).mul(1);
    const col = pg.tensor(index, { shape: [K, 1] });
    const idx = col.expand([K, C]);
    const s = pg.tensor(src, { shape: [K, C] });
    // Eighths sum exactly in float32 in any order.
    expect(await values(target.scatterAdd(0, idx, s))).toEqual(want);
    const x = pg.zeros([N, C], { requiresGrad: true });
    x.indexSelect(0, pg.tensor(index)).mul(s).sum().backward();
    expect(await values(x.grad!)).toEqual(want.map((v, i) => v - base[i]!));
    // Along the last axis, with a NaN that lands in one element only.
    const row = pg.zeros([2, N]).scatterAdd(1, pg.tensor([index, index.slice().reverse()]), pg.tensor([Array.from({ length: K }, (_, k) => (k === 5 ? Number.NaN : 1)), Array(K).fill(0.5)]));
    const got = await values(row);
    const counts = Array.from({ length: N }, (_, n) => index.filter((v) => v === n).length);
    expect(got.slice(N)).toEqual(counts.map((c) => c / 2));
    expect(got.slice(0, N).map((v, n) => (n === index[5] ? Number.isNaN(v) : v === counts[n]))).toEqual(Array(N).fill(true));
    pg.dispose([target, col, idx, s, x]);
  });

  test('an index out of range: the CPU backend throws naming it, the GPU clamps it into range', async () => {
    const x = pg.tensor([10, 20, 30]);
    const bad = pg.tensor([1, 5, -1, 1.2]);
    if (kind === 'cpu') {
      expectError(() => x.takeAlongAxis(bad, 0), pg.InvalidArgumentError, 'takeAlongAxis', 'index 5', 'position [1]', 'size 3');
      expectError(() => x.indexSelect(0, pg.tensor([0, -1])), pg.InvalidArgumentError, 'indexSelect', 'index -1', 'size 3');
      expectError(() => x.indexSelect(0, pg.tensor([nan])), pg.InvalidArgumentError, 'indexSelect', 'index NaN');
      expectError(() => x.takeAlongAxis(pg.tensor([0.5]), 0), pg.InvalidArgumentError, 'takeAlongAxis', 'index 0.5');
      expectError(() => pg.zeros([2]).scatterAdd(0, pg.tensor([2]), pg.tensor([1])), pg.InvalidArgumentError, 'scatterAdd', 'index 2', 'size 2');
    } else {
      expect(await values(x.takeAlongAxis(bad, 0))).toEqual([20, 30, 10, 20]);
      const n = await values(x.takeAlongAxis(pg.tensor([nan, inf, -inf]), 0));
      expect(n.slice(1)).toEqual([30, 10]);
      expect([10, 20, 30]).toContain(n[0]);
      expect(await values(pg.zeros([2]).scatterAdd(0, pg.tensor([7, -3, 1]), pg.tensor([1, 2, 4])))).toEqual([2, 5]);
    }
    pg.dispose([x, bad]);
  });

  test('gather and scatter shape errors name the op and the shapes', () => {
    const x = pg.zeros([2, 3]);
    expectError(() => x.takeAlongAxis(pg.zeros([3]), 0), pg.ShapeError, 'takeAlongAxis', '[3]', '[2, 3]', 'rank');
    expectError(() => x.takeAlongAxis(pg.zeros([3, 3]), 1), pg.ShapeError, 'takeAlongAxis', '[3, 3]', '[2, 3]', 'axis 0');
    expectError(() => x.takeAlongAxis(pg.zeros([2, 3]), 2), pg.InvalidArgumentError, 'takeAlongAxis', 'axis 2');
    expectError(() => x.takeAlongAxis([0] as unknown as pg.Tensor, 0), pg.InvalidArgumentError, 'takeAlongAxis', 'index must be a Tensor');
    expectError(() => pg.zeros([0, 3]).takeAlongAxis(pg.zeros([1, 3]), 0), pg.ShapeError, 'takeAlongAxis', 'no elements');
    expectError(() => x.indexSelect(0, pg.zeros([1, 1])), pg.ShapeError, 'indexSelect', '1-D', '[1, 1]');
    expectError(() => x.indexSelect(-3, pg.zeros([1])), pg.InvalidArgumentError, 'indexSelect', 'axis -3');
    expectError(() => pg.tensor(3).indexSelect(0, pg.zeros([1])), pg.ShapeError, 'indexSelect', 'at least 1');
    expectError(() => x.scatterAdd(1, pg.zeros([2, 2]), pg.zeros([2, 3])), pg.ShapeError, 'scatterAdd', 'src of shape [2, 3]', '[2, 2]');
    expectError(() => x.scatterAdd(1, pg.zeros([1, 2]), pg.zeros([1, 2])), pg.ShapeError, 'scatterAdd', '[1, 2]', 'target of shape [2, 3]');
    expectError(() => x.scatterAdd(0, pg.zeros([1, 3]), null as unknown as pg.Tensor), pg.InvalidArgumentError, 'scatterAdd', 'src must be a Tensor');
    expectError(() => pg.scatterAdd(null as unknown as pg.Tensor, 0, x, x), pg.InvalidArgumentError, 'scatterAdd', 'target must be a Tensor');
    x.dispose();
  });

  test('property: argmax and argmin match a float64 loop on random shapes, axes, ties, NaN and infinities', async () => {
    const shape = fc.array(fc.oneof({ weight: 5, arbitrary: fc.integer({ min: 1, max: 5 }) }, { weight: 1, arbitrary: fc.integer({ min: 6, max: 80 }) }), { minLength: 1, maxLength: 3 });
    // Few distinct values, so ties are common; NaN and the infinities now and then.
    const value = fc.oneof({ weight: 8, arbitrary: fc.integer({ min: -3, max: 3 }) }, { weight: 1, arbitrary: fc.constantFrom(nan, inf, -inf, -0) });
    const arbCase = shape.chain((s) =>
      fc.record({
        shape: fc.constant(s),
        data: fc.array(value, { minLength: s.reduce((a, b) => a * b, 1), maxLength: s.reduce((a, b) => a * b, 1) }),
        axis: fc.option(fc.integer({ min: -s.length, max: s.length - 1 }), { nil: undefined }),
        keepDims: fc.boolean(),
        smallest: fc.boolean(),
      }),
    );
    await fc.assert(
      fc.asyncProperty(arbCase, async ({ shape: s, data, axis, keepDims, smallest }) => {
        const x = pg.tensor(data, { shape: s });
        const r = smallest ? x.argmin(axis, keepDims) : x.argmax(axis, keepDims);
        const a = axis === undefined ? 0 : axis < 0 ? axis + s.length : axis;
        const want = axis === undefined ? firstExtreme(data, [data.length], 0, smallest) : firstExtreme(data, s, a, smallest);
        const wantShape = axis === undefined ? (keepDims ? s.map(() => 1) : []) : keepDims ? s.map((d, i) => (i === a ? 1 : d)) : s.filter((_, i) => i !== a);
        expect(r.shape).toEqual(wantShape);
        expect(Array.from(await r.data())).toEqual(want);
        pg.dispose([x, r]);
      }),
      { numRuns: kind === 'cpu' ? 200 : 40, seed: 0x16 },
    );
  }, 120_000);

  test('property: takeAlongAxis and scatterAdd match plain loops on random shapes, axes and indices', async () => {
    const arbCase = fc
      .record({
        shape: fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 3 }),
        k: fc.oneof({ weight: 4, arbitrary: fc.integer({ min: 0, max: 5 }) }, { weight: 1, arbitrary: fc.integer({ min: 17, max: 40 }) }),
        axisPick: fc.nat(),
        seed: fc.nat(),
      })
      .map(({ shape, k, axisPick, seed }) => ({ shape, k, axis: axisPick % shape.length, seed }));
    await fc.assert(
      fc.asyncProperty(arbCase, async ({ shape, k, axis, seed }) => {
        const r = pg.mulberry32(seed);
        const iShape = shape.map((d, i) => (i === axis ? k : d));
        const size = (s: number[]) => s.reduce((a, b) => a * b, 1);
        const n = shape[axis]!;
        const inner = size(shape.slice(axis + 1));
        // Eighths: exact in float32 whatever order a sum takes.
        const xs = Array.from({ length: size(shape) }, () => Math.round(r() * 64 - 32) / 8);
        const idx = Array.from({ length: size(iShape) }, () => Math.floor(r() * n));
        const vals = Array.from({ length: size(iShape) }, () => Math.round(r() * 64 - 32) / 8);
        const at = (p: number) => (Math.floor(p / (k * inner)) * n + idx[p]!) * inner + (p % inner);
        const gathered = idx.map((_, p) => xs[at(p)]!);
        const scattered = xs.slice();
        vals.forEach((v, p) => {
          scattered[at(p)]! += v;
        });
        const x = pg.tensor(xs, { shape });
        const index = pg.tensor(idx, { shape: iShape });
        const src = pg.tensor(vals, { shape: iShape });
        const g = x.takeAlongAxis(index, axis);
        const sa = x.scatterAdd(axis - shape.length, index, src);
        expect(g.shape).toEqual(iShape);
        expect(Array.from(await g.data(), (v) => v + 0)).toEqual(gathered.map((v) => v + 0));
        expect(Array.from(await sa.data(), (v) => v + 0)).toEqual(scattered.map((v) => v + 0));
        pg.dispose([x, index, src, g, sa]);
      }),
      { numRuns: kind === 'cpu' ? 200 : 30, seed: 0x17 },
    );
  }, 120_000);
}
