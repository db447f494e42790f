/**
 * reshape, permute, expand, slice, cat and stack (and transpose, unsqueeze, squeeze, flatten,
 * which are built on them): values, gradients, and errors that leave the engine usable.
 */
import { expect, test } from 'vitest';
import * as pg from '../../src/index.ts';
import { type BackendKind, expectClose, expectError, tol, useBackend } from './backends.ts';

const range = (n: number, from = 0) => Array.from({ length: n }, (_, i) => from + i);
/** Distinct, non-integer upstream gradients so misplaced elements show. */
const weights = (n: number) => range(n).map((i) => 0.5 + 0.25 * i);


export function shapeOpsSuite(kind: BackendKind): void {
  useBackend(kind);
  const { rtol, atol } = tol(kind);
  const close = async (t: pg.Tensor, expected: readonly number[], what: string) => expectClose(await t.data(), expected, rtol, atol, what);

  /** x (requiresGrad), y = f(x), then backward with weights(y.size); returns y and x.grad's values. */
  async function run(shape: number[], f: (x: pg.Tensor) => pg.Tensor): Promise<{ y: pg.Tensor; out: number[]; grad: number[] }> {
    const n = shape.reduce((a, b) => a * b, 1);
    const x = pg.tensor(range(n), { shape, requiresGrad: true });
    const y = f(x);
    const g = pg.tensor(weights(y.size), { shape: [...y.shape] });
    y.backward(g);
    const out = Array.from(await y.data());
    const grad = Array.from(await x.grad!.data());
    pg.dispose([x, y, g]);
    return { y, out, grad };
  }

  // ---------- reshape and the views built on it ----------

  test('reshape keeps the data in row-major order; -1 is inferred; the gradient passes through', async () => {
    const { y, out, grad } = await run([2, 3, 2], (x) => x.reshape([-1, 4]));
    expect(y.shape).toEqual([3, 4]);
    expectClose(out, range(12), rtol, atol);
    expectClose(grad, weights(12), rtol, atol);
    const x = pg.tensor(range(6), { shape: [2, 3] });
    expect(x.reshape([3, -1]).shape).toEqual([3, 2]);
    expect(x.reshape([-1]).shape).toEqual([6]);
    expect(x.reshape([1, 6, 1]).shape).toEqual([1, 6, 1]);
    x.dispose();
  });

  test('unsqueeze, squeeze and flatten change the shape only', async () => {
    const x = pg.tensor(range(6), { shape: [2, 3], requiresGrad: true });
    const u = x.unsqueeze(-1);
    expect(u.shape).toEqual([2, 3, 1]);
    expect(x.unsqueeze(0).shape).toEqual([1, 2, 3]);
    expect(x.unsqueeze(1).shape).toEqual([2, 1, 3]);
    const s = u.unsqueeze(0).squeeze();
    expect(s.shape).toEqual([2, 3]);
    expect(u.squeeze(2).shape).toEqual([2, 3]);
    const f = u.flatten();
    expect(f.shape).toEqual([6]);
    await close(f, range(6), 'flatten');
    f.mul(pg.tensor(weights(6))).sum().backward();
    await close(x.grad!, weights(6), 'flatten gradient');
    pg.dispose([x, u, s, f]);
  });

  test('a gradient that flows through reshape leaves the caller’s gradient tensor intact', async () => {
    const x = pg.tensor(range(6), { shape: [2, 3], requiresGrad: true });
    const g = pg.tensor(weights(6), { shape: [6] });
    for (let step = 0; step < 2; step++) {
      const y = x.reshape([6]);
      y.backward(g);
      y.dispose();
    }
    await close(g, weights(6), 'the gradient passed to backward');
    await close(x.grad!, weights(6).map((w) => 2 * w), 'accumulated gradient');
    pg.dispose([x, g]);
  });

  test('reshape errors name the op and both shapes; the next reshape works', async () => {
    const x = pg.tensor(range(6), { shape: [2, 3] });
    expectError(() => x.reshape([4, 2]), pg.ShapeError, 'reshape', '[2, 3]', '[4, 2]');
    expectError(() => x.reshape([-1, -1]), pg.ShapeError, 'reshape', '-1');
    expectError(() => x.reshape([4, -1]), pg.ShapeError, 'reshape', '[2, 3]', '[4, -1]');
    expectError(() => x.reshape([2.5, 2]), pg.ShapeError, 'reshape');
    expectError(() => x.squeeze(0), pg.ShapeError, 'squeeze', '[2, 3]');
    expectError(() => x.unsqueeze(3), pg.InvalidArgumentError, 'unsqueeze', 'axis 3');
    await close(x.reshape([3, 2]), range(6), 'reshape after errors');
    x.dispose();
  });

  // ---------- permute and transpose ----------

  test('permute reorders axes; its gradient is the inverse permutation', async () => {
    // x[a][b][c] = 12a + 4b + c on [2, 3, 4]; y = x.permute([2, 0, 1]) has y[c][a][b] = x[a][b][c].
    const { y, out, grad } = await run([2, 3, 4], (x) => x.permute([2, 0, 1]));
    expect(y.shape).toEqual([4, 2, 3]);
    const expected: number[] = [];
    const expectedGrad = new Array<number>(24);
    let j = 0;
    for (let c = 0; c < 4; c++) {
      for (let a = 0; a < 2; a++) {
        for (let b = 0; b < 3; b++) {
          expected.push(12 * a + 4 * b + c);
          expectedGrad[12 * a + 4 * b + c] = weights(24)[j++]!;
        }
      }
    }
    expectClose(out, expected, rtol, atol, 'permute');
    expectClose(grad, expectedGrad, rtol, atol, 'permute gradient');
  });

  test('transpose swaps the last two axes by default, or the two given (negative ones too)', async () => {
    const { y, out, grad } = await run([2, 3], (x) => x.transpose());
    expect(y.shape).toEqual([3, 2]);
    expectClose(out, [0, 3, 1, 4, 2, 5], rtol, atol, 'transpose');
    // y[j][i] gets weight 2j + i, which x[i][j] receives.
    const w = weights(6);
    expectClose(grad, [w[0]!, w[2]!, w[4]!, w[1]!, w[3]!, w[5]!], rtol, atol, 'transpose gradient');
    const x = pg.tensor(range(24), { shape: [2, 3, 4] });
    const t = x.transpose(0, -1);
    expect(t.shape).toEqual([4, 3, 2]);
    const v = await t.data();
    expect(v[1]).toBe(12); // t[0][0][1] = x[1][0][0]
    expect(v[2]).toBe(4); // t[0][1][0] = x[0][1][0]
    pg.dispose([x, t]);
  });

  test('permute errors name the op, the perm and the shape; the next permute works', async () => {
    const x = pg.tensor(range(6), { shape: [2, 3] });
    expectError(() => x.permute([0, 0]), pg.InvalidArgumentError, 'permute', '[0, 0]', '[2, 3]');
    expectError(() => x.permute([1, 0, 2]), pg.InvalidArgumentError, 'permute', '[1, 0, 2]', '[2, 3]');
    expectError(() => x.permute([0, 2]), pg.InvalidArgumentError, 'permute', '[2, 3]');
    expectError(() => x.permute([-1, 0]), pg.InvalidArgumentError, 'permute');
    expectError(() => x.transpose(0, 2), pg.InvalidArgumentError, 'transpose', 'axis 2');
    await close(x.permute([1, 0]), [0, 3, 1, 4, 2, 5], 'permute after errors');
    x.dispose();
  });

  // ---------- expand ----------

  test('expand repeats size-1 axes and adds leading ones; -1 keeps; the gradient sums back', async () => {
    const { y, out, grad } = await run([3, 1], (x) => x.expand([2, -1, 4]));
    expect(y.shape).toEqual([2, 3, 4]);
    const expected = range(24).map((i) => Math.floor(i / 4) % 3);
    expectClose(out, expected, rtol, atol, 'expand');
    const w = weights(24);
    const expectedGrad = [0, 1, 2].map((r) => range(24).reduce((s, i) => s + (Math.floor(i / 4) % 3 === r ? w[i]! : 0), 0));
    expectClose(grad, expectedGrad, rtol, atol, 'expand gradient');
  });

  test('expand to the same shape is a copy whose gradient is the upstream one', async () => {
    const { out, grad } = await run([2, 3], (x) => x.expand([2, 3]));
    expectClose(out, range(6), rtol, atol);
    expectClose(grad, weights(6), rtol, atol);
  });

  test('expand errors are ShapeErrors naming both shapes; the next expand works', async () => {
    const x = pg.tensor(range(6), { shape: [3, 2] });
    expectError(() => x.expand([3, 4]), pg.ShapeError, 'expand', '[3, 2]', '[3, 4]');
    expectError(() => x.expand([2]), pg.ShapeError, 'expand', '[3, 2]', '[2]');
    expectError(() => x.expand([-1, 3, 2]), pg.ShapeError, 'expand', '[3, 2]', '-1');
    expectError(() => x.expand([3, -2]), pg.ShapeError, 'expand', '[3, 2]');
    const y = x.expand([2, 3, 2]);
    await close(y, [...range(6), ...range(6)], 'expand after errors');
    pg.dispose([x, y]);
  });

  // ---------- slice ----------

  test('slice takes a window; negative indices count from the end; the gradient is 0 outside', async () => {
    // x[r][c] = 4r + c on [3, 4]; rows 1..3, columns 1..3.
    const { y, out, grad } = await run([3, 4], (x) => x.slice([1, -3], [3, -1]));
    expect(y.shape).toEqual([2, 2]);
    expectClose(out, [5, 6, 9, 10], rtol, atol, 'slice');
    const w = weights(4);
    expectClose(grad, [0, 0, 0, 0, 0, w[0]!, w[1]!, 0, 0, w[2]!, w[3]!, 0], rtol, atol, 'slice gradient');
  });

  test('slice: missing entries mean the whole axis; a 3-D window', async () => {
    const { y, out } = await run([3, 4], (x) => x.slice([1]));
    expect(y.shape).toEqual([2, 4]);
    expectClose(out, range(8, 4), rtol, atol);
    const r = await run([2, 3, 4], (x) => x.slice([1, 0, 2], [2, -1]));
    expect(r.y.shape).toEqual([1, 2, 2]);
    expectClose(r.out, [14, 15, 18, 19], rtol, atol, '3-D slice');
    const expectedGrad = new Array<number>(24).fill(0);
    [14, 15, 18, 19].forEach((at, i) => {
      expectedGrad[at] = weights(4)[i]!;
    });
    expectClose(r.grad, expectedGrad, rtol, atol, '3-D slice gradient');
  });

  test('an empty slice has zero elements and a zero gradient', async () => {
    const x = pg.tensor(range(12), { shape: [3, 4], requiresGrad: true });
    const y = x.slice([1], [1]);
    expect(y.shape).toEqual([0, 4]);
    const loss = y.sum().add(x.slice([0, 3]).sum());
    loss.backward();
    await close(x.grad!, [0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1], 'gradient through an empty and a full-height slice');
    pg.dispose([x, y, loss]);
  });

  test('slice errors name the op, the axis and the shape; the next slice works', async () => {
    const x = pg.tensor(range(12), { shape: [3, 4] });
    expectError(() => x.slice([0, 5]), pg.InvalidArgumentError, 'slice', 'axis 1', '[3, 4]');
    expectError(() => x.slice([-4]), pg.InvalidArgumentError, 'slice', 'axis 0', '[3, 4]');
    expectError(() => x.slice([0], [4]), pg.InvalidArgumentError, 'slice', 'axis 0', '[3, 4]');
    expectError(() => x.slice([2], [1]), pg.InvalidArgumentError, 'slice', 'axis 0', '[3, 4]');
    expectError(() => x.slice([0, -1], [3, -2]), pg.InvalidArgumentError, 'slice', 'axis 1', '[3, 4]');
    expectError(() => x.slice([0, 0, 0]), pg.InvalidArgumentError, 'slice', '[3, 4]');
    expectError(() => x.slice([0.5]), pg.InvalidArgumentError, 'slice', 'axis 0');
    await close(x.slice([2], [3]), [8, 9, 10, 11], 'slice after errors');
    x.dispose();
  });

  // ---------- cat and stack ----------

  test('cat joins along axis 0, 1 and -1; each input gets its block of the gradient', async () => {
    const a = pg.tensor([
      [1, 2],
      [3, 4],
    ], { requiresGrad: true });
    const b = pg.tensor([[5, 6]], { requiresGrad: true });
    const c = pg.tensor([
      [7, 8, 9],
      [10, 11, 12],
    ], { requiresGrad: true });
    const rows = pg.cat([a, b]);
    expect(rows.shape).toEqual([3, 2]);
    await close(rows, [1, 2, 3, 4, 5, 6], 'cat axis 0');
    const cols = pg.cat([a, c], -1);
    expect(cols.shape).toEqual([2, 5]);
    await close(cols, [1, 2, 7, 8, 9, 3, 4, 10, 11, 12], 'cat axis -1');
    const w = weights(10);
    cols.backward(pg.tensor(w, { shape: [2, 5] }));
    await close(a.grad!, [w[0]!, w[1]!, w[5]!, w[6]!], 'cat gradient of a');
    await close(c.grad!, [w[2]!, w[3]!, w[4]!, w[7]!, w[8]!, w[9]!], 'cat gradient of c');
    expect(b.grad).toBeNull();
    pg.dispose([a, b, c, rows, cols]);
  });

  test('cat of three inputs, one without grad, and of one tensor twice', async () => {
    const x = pg.tensor(range(6), { shape: [1, 2, 3], requiresGrad: true });
    const k = pg.tensor(range(3, 100), { shape: [1, 1, 3] });
    const y = pg.cat([x, k, x], 1);
    expect(y.shape).toEqual([1, 5, 3]);
    await close(y, [...range(6), 100, 101, 102, ...range(6)], 'cat axis 1');
    const w = weights(15);
    y.backward(pg.tensor(w, { shape: [1, 5, 3] }));
    await close(x.grad!, range(6).map((i) => w[i]! + w[9 + i]!), 'both uses of x add up');
    pg.dispose([x, k, y]);
  });

  // Past 8 parts the join is a tree of sub-joins (and the scheduler stores some of them to stay
  // within a kernel's bindings): every element, -0 and NaN included, lands where it belongs.
  for (const parts of [9, 21, 70]) {
    test(`cat of ${parts} parts of different widths, and each part's block of the gradient`, async () => {
      const widths = Array.from({ length: parts }, (_, j) => 1 + (j % 3));
      const total = widths.reduce((a, b) => a + b, 0);
      let at = 0;
      const xs = widths.map((w, j) => {
        const v = Array.from({ length: 2 * w }, (_, i) => (i === 0 && j === 5 ? -0 : j * 10 + i + (j === 7 ? Number.NaN : 0)));
        at += w;
        return pg.tensor(v, { shape: [2, w], requiresGrad: true });
      });
      const y = pg.cat(xs, 1);
      expect(y.shape).toEqual([2, total]);
      const got = await y.data();
      const want: number[] = [];
      for (let r = 0; r < 2; r++) {
        for (const [j, w] of widths.entries()) {
          for (let i = 0; i < w; i++) want.push(j === 5 && r === 0 && i === 0 ? -0 : j * 10 + r * w + i + (j === 7 ? Number.NaN : 0));
        }
      }
      for (const [i, v] of want.entries()) {
        expect(Object.is(got[i], v) || (Number.isNaN(v) && Number.isNaN(got[i]!)), `element ${i}: ${got[i]} for ${v}`).toBe(true);
      }
      const w = weights(2 * total);
      y.backward(pg.tensor(w, { shape: [2, total] }));
      at = 0;
      for (const [j, x] of xs.entries()) {
        const wj = widths[j]!;
        await close(x.grad!, [...w.slice(at, at + wj), ...w.slice(total + at, total + at + wj)], `gradient of part ${j}`);
        at += wj;
      }
      pg.dispose([...xs, y]);
    });
  }

  test('stack joins along a new axis', async () => {
    const a = pg.tensor([1, 2, 3], { requiresGrad: true });
    const b = pg.tensor([4, 5, 6], { requiresGrad: true });
    const s0 = pg.stack([a, b]);
    expect(s0.shape).toEqual([2, 3]);
    await close(s0, [1, 2, 3, 4, 5, 6], 'stack axis 0');
    const s1 = pg.stack([a, b], -1);
    expect(s1.shape).toEqual([3, 2]);
    await close(s1, [1, 4, 2, 5, 3, 6], 'stack axis -1');
    const w = weights(6);
    s1.backward(pg.tensor(w, { shape: [3, 2] }));
    await close(a.grad!, [w[0]!, w[2]!, w[4]!], 'stack gradient of a');
    await close(b.grad!, [w[1]!, w[3]!, w[5]!], 'stack gradient of b');
    pg.dispose([a, b, s0, s1]);
  });

  test('cat and stack errors list the shapes; the next call works', async () => {
    const a = pg.tensor(range(6), { shape: [2, 3] });
    const b = pg.tensor(range(4), { shape: [2, 2] });
    const v = pg.tensor(range(3), { shape: [3] });
    expectError(() => pg.cat([a, b]), pg.ShapeError, 'cat', '[2, 3]', '[2, 2]');
    expectError(() => pg.cat([a, v], 0), pg.ShapeError, 'cat', '[2, 3]', '[3]');
    expectError(() => pg.cat([a, b], 2), pg.InvalidArgumentError, 'cat', 'axis 2');
    expectError(() => pg.cat([]), pg.InvalidArgumentError, 'cat', 'non-empty');
    expectError(() => pg.cat([a, 3 as unknown as pg.Tensor]), pg.InvalidArgumentError, 'cat', 'element 1');
    expectError(() => pg.cat([pg.tensor(1), pg.tensor(2)]), pg.ShapeError, 'cat', '0-d');
    expectError(() => pg.stack([a, b]), pg.ShapeError, 'stack', '[2, 3]', '[2, 2]');
    expectError(() => pg.stack([a, a], 3), pg.InvalidArgumentError, 'stack', 'axis 3');
    expectError(() => pg.stack([]), pg.InvalidArgumentError, 'stack');
    const ab = pg.cat([a, b], 1);
    expect(ab.shape).toEqual([2, 5]);
    await close(ab, [0, 1, 2, 0, 1, 3, 4, 5, 2, 3], 'cat after errors');
    const s = pg.stack([v, v], 1);
    await close(s, [0, 0, 1, 1, 2, 2], 'stack after errors');
    pg.dispose([a, b, v, ab, s]);
  });

  // ---------- composition and steady state ----------

  test('a chain of views has the gradient of the equivalent index arithmetic', async () => {
    // y = x[3,4].T -> [4,3] -> slice rows 1..3 -> [2,3] -> unsqueeze(0) -> expand [2,2,3] -> cat with itself along 0.
    const { y, out, grad } = await run([3, 4], (x) => {
      const e = x.transpose().slice([1], [3]).unsqueeze(0).expand([2, 2, 3]);
      return pg.cat([e, e]);
    });
    expect(y.shape).toEqual([4, 2, 3]);
    const block = [1, 5, 9, 2, 6, 10]; // x[r][c] at c = 1..2, r = 0..2
    expectClose(out, [0, 1, 2, 3].flatMap(() => block), rtol, atol, 'chain');
    const w = weights(24);
    const expectedGrad = new Array<number>(12).fill(0);
    for (let i = 0; i < 24; i++) expectedGrad[block[i % 6]!]! += w[i]!;
    expectClose(grad, expectedGrad, rtol, atol, 'chain gradient');
  });

  test('repeating the same shape ops creates no new pipelines or buffers', async () => {
    const step = async () => {
      const x = pg.tensor(range(24), { shape: [2, 3, 4], requiresGrad: true });
      pg.tidy(() => {
        const y = pg.cat([x.permute([2, 0, 1]).slice([1]), x.permute([2, 0, 1]).slice([0], [1]).expand([2, 2, 3])]);
        y.sum().backward();
      });
      await x.grad!.data();
      x.dispose();
    };
    await step();
    await step();
    const before = pg.memory();
    await step();
    await step();
    const after = pg.memory();
    expect(after.pipelinesCreated).toBe(before.pipelinesCreated);
    if (kind === 'webgpu') expect(after.buffersCreated).toBe(before.buffersCreated);
  });
}
