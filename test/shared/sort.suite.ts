/** sort, argsort and topk: against a plain stable sort, NaN and ties, any axis, gradients, memory, errors. */
import fc from 'fast-check';
import { expect, test } from 'vitest';
import * as pg from '../../src/index.ts';
import { type BackendKind, expectClose, expectError, useBackend } from './backends.ts';

const { NaN: nan, POSITIVE_INFINITY: inf } = Number;

/** Stable order of each row along `axis`, NaN as the largest: an oracle independent of the ranks. */
function oracle(data: readonly number[], shape: readonly number[], axis: number, descending: boolean): { values: number[]; indices: number[] } {
  const n = shape[axis]!;
  const inner = shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  const outer = data.length / Math.max(1, n * inner);
  const values = new Array<number>(data.length);
  const indices = new Array<number>(data.length);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const at = (j: number) => (o * n + j) * inner + i;
      const order = Array.from({ length: n }, (_, j) => j).sort((p, q) => {
        const [a, b] = [data[at(p)]!, data[at(q)]!];
        const c = Number.isNaN(a) || Number.isNaN(b) ? +Number.isNaN(a) - +Number.isNaN(b) : a === b ? 0 : a < b ? -1 : 1;
        return (descending ? -c : c) || p - q;
      });
      order.forEach((j, r) => {
        values[at(r)] = data[at(j)]!;
        indices[at(r)] = j;
      });
    }
  }
  return { values, indices };
}

const same = (a: ArrayLike<number>, b: ArrayLike<number>) => Array.from(a).every((v, i) => Object.is(v + 0, b[i]! + 0) || (Number.isNaN(v) && Number.isNaN(b[i]!)));

export function sortSuite(kind: BackendKind): void {
  useBackend(kind);

  test('sort and argsort: stable, NaN last ascending and first descending, infinities in place', async () => {
    const data = [nan, 1, -inf, 1, nan, 0, inf, -0.5];
    for (const descending of [false, true]) {
      const x = pg.tensor(data);
      const { values, indices } = pg.sort(x, { descending });
      const want = oracle(data, [8], 0, descending);
      expect(same(await values.data(), want.values), `values ${descending}`).toBe(true);
      expect(Array.from(await indices.data())).toEqual(want.indices);
      const order = pg.argsort(x, { descending });
      expect(Array.from(await order.data())).toEqual(want.indices);
      pg.dispose([x, values, indices, order]);
    }
  });

  test('any axis of a 3-D tensor, and random rows with many ties, match a stable sort', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 1, maxLength: 3 }),
        fc.integer({ min: 0, max: 2 }),
        fc.boolean(),
        fc.integer(),
        async (shape, ax, descending, seed) => {
          const axis = ax % shape.length;
          const n = shape.reduce((a, b) => a * b, 1);
          // Few distinct values, so that ties are common.
          const data = Array.from({ length: n }, (_, i) => (((seed + i * 7919) % 5) + 5) % 5);
          const x = pg.tensor(data, { shape });
          const { values, indices } = pg.sort(x, { axis, descending });
          const want = oracle(data, shape, axis, descending);
          expect(values.shape).toEqual(shape);
          expect(Array.from(await values.data())).toEqual(want.values);
          expect(Array.from(await indices.data())).toEqual(want.indices);
          pg.dispose([x, values, indices]);
        },
      ),
      { numRuns: kind === 'cpu' ? 60 : 12, seed: 7 },
    );
  });

  test('topk: the k largest or smallest in order, along an axis; k = 0 and k = n', async () => {
    const x = pg.tensor([
      [1, 9, 4, 7],
      [5, 5, 2, 8],
    ]);
    const top = pg.topk(x, 2);
    expect(await top.values.toArray()).toEqual([
      [9, 7],
      [8, 5],
    ]);
    expect(await top.indices.toArray()).toEqual([
      [1, 3],
      [3, 0],
    ]);
    const low = pg.topk(x, 1, { axis: 0, largest: false });
    expect(await low.values.toArray()).toEqual([[1, 5, 2, 7]]);
    expect(await low.indices.toArray()).toEqual([[0, 1, 1, 0]]);
    const none = pg.topk(x, 0);
    expect(none.values.shape).toEqual([2, 0]);
    const all = pg.topk(x, 4, { largest: false });
    expect(await all.values.toArray()).toEqual([
      [1, 4, 7, 9],
      [2, 5, 5, 8],
    ]);
    pg.dispose([x, top, low, none, all]);
  });

  test('the gradient of sorted values goes back to where each came from (a scalar sorts too)', async () => {
    const x = pg.tensor([3, 1, 2, 1], { requiresGrad: true });
    const w = pg.tensor([1, 10, 100, 1000]);
    const { values, indices } = pg.sort(x);
    const loss = values.mul(w).sum();
    loss.backward();
    // Sorted: 1 (index 1), 1 (index 3), 2 (index 2), 3 (index 0).
    expectClose(await x.grad!.data(), [1000, 1, 100, 10], 0, 0);
    expect(indices.requiresGrad).toBe(false);
    const s = pg.sort(pg.tensor(5));
    expect(s.values.shape).toEqual([]);
    expect(await s.values.item()).toBe(5);
    expect(await s.indices.item()).toBe(0);
    const t = pg.topk(x, 2);
    t.values.sum().backward();
    expectClose(await x.grad!.data(), [1001, 1, 101, 10], 0, 0);
    pg.dispose([x, w, values, indices, loss, s, t]);
  });

  test('no tensor is left behind; errors name the op and the limit, and the engine keeps working', async () => {
    const before = pg.memory().liveTensors;
    const x = pg.rand([3, 6], { seed: 1 });
    const r = pg.sort(x, { axis: 0 });
    const k = pg.topk(x, 3);
    pg.dispose([x, r, k]);
    expect(pg.memory().liveTensors).toBe(before);
    const y = pg.zeros([2, 3]);
    expectError(() => pg.topk(y, 4), pg.InvalidArgumentError, 'topk', '0 to 3');
    expectError(() => pg.topk(y, 1.5), pg.InvalidArgumentError, 'topk', '1.5');
    expectError(() => pg.sort(y, { axis: 2 }), pg.InvalidArgumentError, 'sort');
    expectError(() => pg.sort([1, 2] as unknown as pg.Tensor), pg.InvalidArgumentError, 'sort', 'Tensor');
    expectError(() => pg.argsort(y, { descending: 'yes' as unknown as boolean }), pg.InvalidArgumentError, 'argsort', 'descending');
    const long = pg.zeros([pg.SORT_MAX_AXIS + 1]);
    expectError(() => pg.sort(long), pg.LimitError, 'sort', String(pg.SORT_MAX_AXIS));
    const ok = pg.sort(y);
    expect(Array.from(await ok.indices.data())).toEqual([0, 1, 2, 0, 1, 2]);
    pg.dispose([y, long, ok]);
  });
}
