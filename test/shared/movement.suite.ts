/**
 * flip, roll, pad and resize: values against plain float64 references written here (independent
 * of the engine's), gradients against central differences of those references, and errors that
 * leave the engine usable.
 */
import { expect, test } from 'vitest';
import * as pg from '../../src/index.ts';
import { type BackendKind, expectClose, expectError, tol, useBackend } from './backends.ts';

const range = (n: number, from = 0) => Array.from({ length: n }, (_, i) => from + i);
/** Distinct, non-integer upstream gradients so misplaced elements show. */
const weights = (n: number) => range(n).map((i) => 0.5 + 0.25 * ((i * 7) % 11));
const sizeOf = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);
const stridesOf = (s: readonly number[]) => s.map((_, d) => sizeOf(s.slice(d + 1)));

/** Coordinates of every element of `shape`, in row-major order. */
function coords(shape: readonly number[]): number[][] {
  const out: number[][] = [];
  for (let i = 0; i < sizeOf(shape); i++) out.push(shape.map((d, k) => Math.floor(i / stridesOf(shape)[k]!) % d));
  return out;
}
const at = (shape: readonly number[], c: readonly number[]) => c.reduce((acc, ci, d) => acc + ci * stridesOf(shape)[d]!, 0);

/** Float64 flip: out[c] = x[c with c_d → n_d - 1 - c_d on `axes`]. */
export const flipRef = (x: readonly number[], shape: readonly number[], axes: readonly number[]) =>
  coords(shape).map((c) => x[at(shape, c.map((ci, d) => (axes.includes(d) ? shape[d]! - 1 - ci : ci)))]!);

/** Float64 roll: out[c] = x[c with c_d → (c_d - shift_d) mod n_d]. */
export function rollRef(x: readonly number[], shape: readonly number[], shifts: readonly number[], axes: readonly number[]): number[] {
  return coords(shape).map((c) => {
    const src = [...c];
    axes.forEach((a, i) => {
      const n = shape[a]!;
      src[a] = (((src[a]! - shifts[i]!) % n) + n) % n;
    });
    return x[at(shape, src)]!;
  });
}

/** Float64 pad from the definitions of NumPy's / PyTorch's modes, axis by axis. */
export function padRef(x: readonly number[], shape: readonly number[], pads: readonly (readonly [number, number])[], mode: string, value = 0): number[] {
  const out = shape.map((n, d) => n + pads[d]![0] + pads[d]![1]);
  return coords(out).map((c) => {
    const src: number[] = [];
    for (let d = 0; d < shape.length; d++) {
      const n = shape[d]!;
      let i = c[d]! - pads[d]![0];
      if (i < 0 || i >= n) {
        if (mode === 'constant') return value;
        if (mode === 'reflect') i = i < 0 ? -i : 2 * (n - 1) - i;
        else i = Math.min(Math.max(i, 0), n - 1);
      }
      src.push(i);
    }
    return x[at(shape, src)]!;
  });
}

/**
 * Float64 F.interpolate on [N, H, W, C], pixel by pixel: each output pixel's source point from
 * PyTorch's formulas, then its nearest or four neighbouring input pixels.
 */
export function resizeRef(x: readonly number[], [N, H, W, C]: readonly number[], [oh, ow]: readonly number[], mode: string, alignCorners: boolean): number[] {
  const source = (o: number, inN: number, outN: number): [number, number, number] => {
    if (mode === 'nearest') {
      // PyTorch computes the scale and the product in float32.
      const i = Math.min(Math.floor(Math.fround(o * Math.fround(inN / outN))), inN - 1);
      return [i, i, 0];
    }
    let s: number;
    if (alignCorners) s = outN > 1 ? ((inN - 1) / (outN - 1)) * o : 0;
    else s = Math.max((inN / outN) * (o + 0.5) - 0.5, 0);
    const i0 = Math.trunc(s);
    return [i0, i0 < inN - 1 ? i0 + 1 : i0, s - i0];
  };
  const out: number[] = [];
  for (let n = 0; n < N!; n++) {
    for (let y = 0; y < oh!; y++) {
      const [y0, y1, ty] = source(y, H!, oh!);
      for (let xo = 0; xo < ow!; xo++) {
        const [x0, x1, tx] = source(xo, W!, ow!);
        for (let c = 0; c < C!; c++) {
          const px = (i: number, j: number) => x[((n * H! + i) * W! + j) * C! + c]!;
          out.push((1 - ty) * ((1 - tx) * px(y0, x0) + tx * px(y0, x1)) + ty * ((1 - tx) * px(y1, x0) + tx * px(y1, x1)));
        }
      }
    }
  }
  return out;
}

/** The gradient of sum(w · f(x)) by central differences of a float64 reference f. */
function numericGrad(f: (x: number[]) => number[], x: readonly number[], w: readonly number[]): number[] {
  const h = 1e-3;
  const loss = (v: number[]) => f(v).reduce((acc, y, i) => acc + y * w[i]!, 0);
  return x.map((_, i) => {
    const p = [...x];
    const m = [...x];
    p[i]! += h;
    m[i]! -= h;
    return (loss(p) - loss(m)) / (2 * h);
  });
}

export function movementSuite(kind: BackendKind): void {
  useBackend(kind);
  const { rtol, atol } = tol(kind);

  /**
   * y = f(x) for x = values on `shape` (requiresGrad): checks y against ref(values) and x.grad for
   * the upstream gradient weights(y.size) against finite differences of ref.
   */
  async function check(shape: number[], f: (x: pg.Tensor) => pg.Tensor, ref: (x: number[]) => number[], what: string, values?: number[]): Promise<pg.Tensor> {
    const v = values ?? range(sizeOf(shape)).map((i) => Math.sin(1.3 * i + 0.4) * 2);
    const x = pg.tensor(v, { shape, requiresGrad: true });
    const y = f(x);
    const expected = ref(v);
    expectClose(await y.data(), expected, rtol, atol, what);
    const w = weights(y.size);
    const g = pg.tensor(w, { shape: [...y.shape] });
    y.backward(g);
    expectClose(await x.grad!.data(), numericGrad(ref, v, w), rtol, Math.max(atol, 1e-4), `${what}: gradient`);
    pg.dispose([x, g]);
    return y;
  }

  // ---------- flip ----------

  test('flip reverses one axis, several, or all; the gradient is the flipped gradient', async () => {
    for (const axes of [[0], [1], [2], [0, 2], [0, 1, 2]]) {
      const y = await check([2, 3, 4], (x) => pg.flip(x, axes), (v) => flipRef(v, [2, 3, 4], axes), `flip ${axes}`);
      expect(y.shape).toEqual([2, 3, 4]);
      y.dispose();
    }
    const all = await check([3, 2], (x) => pg.flip(x), (v) => flipRef(v, [3, 2], [0, 1]), 'flip with no axes');
    const neg = await check([3, 2], (x) => pg.flip(x, -1), (v) => flipRef(v, [3, 2], [1]), 'flip(-1)');
    const one = await check([1, 5], (x) => pg.flip(x, [0, 1]), (v) => flipRef(v, [1, 5], [0, 1]), 'flip over a size-1 axis');
    pg.dispose([all, neg, one]);
  });

  test('flip of intermediate expressions and of other views (permute, slice, expand, flip)', async () => {
    const s = [3, 4];
    const a = await check(s, (x) => pg.flip(x.mul(2).add(1), 0).exp(), (v) => flipRef(v.map((t) => 2 * t + 1), s, [0]).map(Math.exp), 'exp(flip(2x + 1))');
    const b = await check(s, (x) => pg.flip(x.transpose(), 1), (v) => flipRef(coords([4, 3]).map(([i, j]) => v[j! * 4 + i!]!), [4, 3], [1]), 'flip of a transpose');
    const c = await check(s, (x) => pg.flip(x, 1).slice([1, 1], [3, 3]), (v) => coords([2, 2]).map(([i, j]) => flipRef(v, s, [1])[(i! + 1) * 4 + j! + 1]!), 'slice of a flip');
    const d = await check(s, (x) => pg.flip(x.slice([1, 1], [3, 3]), [0, 1]), (v) => flipRef(coords([2, 2]).map(([i, j]) => v[(i! + 1) * 4 + j! + 1]!), [2, 2], [0, 1]), 'flip of a slice');
    const e = await check([1, 4], (x) => pg.flip(x.expand([3, 4]), [0, 1]), (v) => flipRef(coords([3, 4]).map(([, j]) => v[j!]!), [3, 4], [0, 1]), 'flip of an expand');
    const f = await check(s, (x) => pg.flip(pg.flip(pg.flip(x, 0), [0, 1]), 1), (v) => v, 'flips that cancel');
    const g = await check(s, (x) => pg.flip(x, 0).mul(x), (v) => flipRef(v, s, [0]).map((t, i) => t * v[i]!), 'x · flip(x)');
    pg.dispose([a, b, c, d, e, f, g]);
  });

  test('flipped views feed reductions and matmul', async () => {
    const s = [3, 5];
    const r0 = await check(s, (x) => pg.flip(x, 0).sum(0), (v) => range(5).map((j) => range(3).reduce((acc, i) => acc + v[i * 5 + j]!, 0)), 'sum over a flipped axis');
    const r2 = await check(s, (x) => pg.flip(x, 1).mul(pg.tensor(range(5))).sum(1), (v) => range(3).map((i) => range(5).reduce((acc, j) => acc + v[i * 5 + 4 - j]! * j, 0)), 'weighted row sums of a flip');
    const r3 = await check(s, (x) => pg.flip(x, [0, 1]).max(1), (v) => range(3).map((i) => Math.max(...range(5).map((j) => v[(2 - i) * 5 + j]!))), 'max over a flip');
    const wv = range(10).map((i) => Math.cos(i));
    const m = await check(s, (x) => pg.flip(x, 0).matmul(pg.tensor(wv, { shape: [5, 2] })), (v) => {
      const fv = flipRef(v, s, [0]);
      return coords([3, 2]).map(([i, j]) => range(5).reduce((acc, k) => acc + fv[i! * 5 + k]! * wv[k * 2 + j!]!, 0));
    }, 'flip(x) @ w');
    const m2 = await check([5, 3], (x) => pg.tensor(wv, { shape: [2, 5] }).matmul(pg.flip(x, 1)), (v) => {
      const fv = flipRef(v, [5, 3], [1]);
      return coords([2, 3]).map(([i, j]) => range(5).reduce((acc, k) => acc + wv[i! * 5 + k]! * fv[k * 3 + j!]!, 0));
    }, 'w @ flip(x)');
    pg.dispose([r0, r2, r3, m, m2]);
  });

  test('long reductions over flipped views (the walk plan) match the reference', async () => {
    const n = 5000;
    const s = [n, 3];
    const v = range(3 * n).map((i) => ((i * 37) % 101) / 50 - 1);
    const colSums = (u: readonly number[]) => range(3).map((j) => range(n).reduce((acc, i) => acc + u[i * 3 + j]! * (1 + (i % 7)), 0));
    const wi = pg.tensor(range(n).map((i) => 1 + (i % 7)), { shape: [n, 1] });
    for (const axes of [[0], [1], [0, 1]]) {
      const x = pg.tensor(v, { shape: s, requiresGrad: true });
      const y = pg.flip(x, axes).mul(wi).sum(0);
      expectClose(await y.data(), colSums(flipRef(v, s, axes)), rtol, 1e-2, `column sums of flip ${axes}`);
      y.sum().backward();
      expectClose(await x.grad!.data(), flipRef(coords(s).map(([i]) => 1 + (i! % 7)), s, axes), rtol, atol, `gradient through flip ${axes}`);
      pg.dispose([x, y]);
    }
    wi.dispose();
  });

  // Dispatch counts exist on WebGPU only (the CPU backend runs no kernels): no test there, not a skipped one.
  if (kind === 'webgpu') test('flip, roll and pad are index arithmetic in the kernel that reads them: no extra dispatch', async () => {
    const x = pg.tensor(range(24).map((i) => i / 5), { shape: [4, 6] });
    const w = pg.tensor(range(6), { shape: [6] });
    await x.data();
    await w.data();
    const dispatchesOf = async (f: () => pg.Tensor) => {
      const before = pg.memory().dispatches;
      const y = f();
      await y.data();
      y.dispose();
      return pg.memory().dispatches - before;
    };
    const plain = await dispatchesOf(() => x.mul(2).add(1));
    expect(plain).toBeGreaterThan(0);
    expect(await dispatchesOf(() => pg.flip(x.mul(2), [0, 1]).add(1))).toBe(plain);
    expect(await dispatchesOf(() => pg.pad(x.mul(2), [[1, 0], [2, 3]]).add(1))).toBe(plain);
    expect(await dispatchesOf(() => pg.roll(x.mul(2), [1, -2], [0, 1]).add(1))).toBe(plain);
    expect(await dispatchesOf(() => pg.pad(x.mul(2), [[1, 2], [3, 1]], { mode: 'reflect' }).add(1))).toBe(plain);
    expect(await dispatchesOf(() => pg.pad(x.mul(2), [[1, 2], [3, 1]], { mode: 'replicate' }).add(1))).toBe(plain);
    expect(await dispatchesOf(() => pg.cat([x.mul(2), x.slice([0, 0], [4, 2])], 1).add(1))).toBe(plain);
    const reduced = await dispatchesOf(() => x.mul(w).sum(0));
    expect(await dispatchesOf(() => pg.flip(x, 0).mul(w).sum(0))).toBe(reduced);
    pg.dispose([x, w]);
  });

  test('cat, roll and pad keep every value bit for bit: -0, NaN and infinities', async () => {
    const x = pg.tensor([-0, Number.NaN, Number.POSITIVE_INFINITY, -3.5, 0, Number.NEGATIVE_INFINITY]);
    const bits = async (t: pg.Tensor) => {
      const d = await t.data();
      t.dispose();
      return Array.from(d, (v) => (Object.is(v, -0) ? '-0' : String(v)));
    };
    const xs = ['-0', 'NaN', 'Infinity', '-3.5', '0', '-Infinity'];
    expect(await bits(pg.cat([x.slice([3]), x.slice([0], [3])]))).toEqual([...xs.slice(3), ...xs.slice(0, 3)]);
    expect(await bits(pg.roll(x, 2))).toEqual([...xs.slice(4), ...xs.slice(0, 4)]);
    expect(await bits(pg.pad(x, [[1, 1]], { mode: 'reflect' }))).toEqual([xs[1], ...xs, xs[4]]);
    x.dispose();
  });

  test('flip errors name the op, the axis and the shape; the next flip works', async () => {
    const x = pg.tensor(range(6), { shape: [2, 3] });
    expectError(() => pg.flip(x, 2), pg.InvalidArgumentError, 'flip', 'axis 2');
    expectError(() => pg.flip(x, [0, 0]), pg.InvalidArgumentError, 'flip', 'twice');
    expectError(() => pg.flip(x, [0.5]), pg.InvalidArgumentError, 'flip');
    expectClose(await pg.flip(x, 1).data(), [2, 1, 0, 5, 4, 3], rtol, atol, 'flip after errors');
    x.dispose();
  });

  // ---------- roll ----------

  test('roll shifts with wrap-around on one or several axes, negative and oversized shifts too; the gradient rolls back', async () => {
    const s = [3, 4];
    const cases: [number[], number[]][] = [
      [[1], [1]],
      [[-1], [0]],
      [[5], [1]],
      [[1, -3], [0, 1]],
      [[2, 1], [1, 1]],
      [[0], [0]],
    ];
    for (const [shifts, axes] of cases) {
      const y = await check(s, (x) => pg.roll(x, shifts, axes), (v) => rollRef(v, s, shifts, axes), `roll ${shifts} on ${axes}`);
      expect(y.shape).toEqual(s);
      y.dispose();
    }
    const flat = await check(s, (x) => pg.roll(x, 5), (v) => rollRef(v, [12], [5], [0]), 'roll flattened');
    const neg = await check(s, (x) => pg.roll(x.mul(3), 1, -1), (v) => rollRef(v.map((t) => 3 * t), s, [1], [1]), 'roll of an expression on axis -1');
    expect(flat.shape).toEqual(s);
    const scalar = pg.roll(pg.tensor(7), 3, 0);
    expect(scalar.shape).toEqual([]);
    expectClose(await scalar.data(), [7], rtol, atol, 'roll of a 0-d tensor');
    scalar.dispose();
    expectClose(await pg.roll(pg.arange(6).reshape([2, 3]), [1, -1], [0, 1]).data(), [4, 5, 3, 1, 2, 0], rtol, atol, 'the documented example');
    pg.dispose([flat, neg]);
  });

  test('roll errors name the op and what is wrong; the next roll works', async () => {
    const x = pg.tensor(range(6), { shape: [2, 3] });
    expectError(() => pg.roll(x, [1, 2], [0]), pg.InvalidArgumentError, 'roll', 'same length');
    expectError(() => pg.roll(x, [1, 2]), pg.InvalidArgumentError, 'roll', 'flattened');
    expectError(() => pg.roll(x, 1.5, 0), pg.InvalidArgumentError, 'roll', 'integer');
    expectError(() => pg.roll(x, 1, 2), pg.InvalidArgumentError, 'roll', 'axis 2');
    expectClose(await pg.roll(x, 1, 1).data(), [2, 0, 1, 5, 3, 4], rtol, atol, 'roll after errors');
    x.dispose();
  });

  // ---------- pad ----------

  test('pad in constant, reflect and replicate modes, one axis or several; gradients add up at the borders', async () => {
    const s = [3, 4];
    const padsList: [number, number][][] = [
      [[1, 2], [0, 0]],
      [[0, 0], [2, 1]],
      [[2, 1], [3, 2]],
      [[0, 1], [1, 0]],
    ];
    for (const pads of padsList) {
      for (const mode of ['constant', 'reflect', 'replicate'] as const) {
        const y = await check(s, (x) => pg.pad(x, pads, { mode }), (v) => padRef(v, s, pads, mode), `pad ${JSON.stringify(pads)} ${mode}`);
        expect(y.shape).toEqual([3 + pads[0]![0] + pads[0]![1], 4 + pads[1]![0] + pads[1]![1]]);
        y.dispose();
      }
      const c = await check(s, (x) => pg.pad(x, pads, { value: -1.5 }), (v) => padRef(v, s, pads, 'constant', -1.5), `pad ${JSON.stringify(pads)} with -1.5`);
      c.dispose();
    }
    // Fewer pairs than axes pad the last axes; pads of intermediate expressions.
    const last = await check([2, 3, 2], (x) => pg.pad(x.exp(), [[1, 1]], { mode: 'reflect' }), (v) => padRef(v.map(Math.exp), [2, 3, 2], [[0, 0], [0, 0], [1, 1]], 'reflect'), 'reflect of the last axis');
    const mid = await check([2, 3, 2], (x) => pg.pad(x, [[2, 0], [0, 1]], { mode: 'replicate' }).sum(0), (v) => {
      const p = padRef(v, [2, 3, 2], [[0, 0], [2, 0], [0, 1]], 'replicate');
      return range(15).map((i) => p[i]! + p[15 + i]!);
    }, 'replicate feeding a sum');
    expectClose(await pg.pad(pg.tensor([1, 2, 3]), [[2, 1]], { mode: 'reflect' }).data(), [3, 2, 1, 2, 3, 2], rtol, atol, 'the documented example');
    pg.dispose([last, mid]);
  });

  test('pad errors: the flat PyTorch list, wrong lengths, negative pads, reflect pads at the size, bad modes', async () => {
    const x = pg.tensor(range(6), { shape: [2, 3] });
    expectError(() => pg.pad(x, [1, 2, 3, 4] as never), pg.InvalidArgumentError, 'pad', 'flat', '[[3, 4], [1, 2]]');
    expectError(() => pg.pad(x, [[1, 1], [1, 1], [1, 1]]), pg.InvalidArgumentError, 'pad', '3 [before, after] pairs', '[2, 3]');
    expectError(() => pg.pad(x, [[1, 1, 1]] as never), pg.InvalidArgumentError, 'pad', 'pairs');
    expectError(() => pg.pad(x, [[0, -1]]), pg.InvalidArgumentError, 'pad', 'negative', 'axis 1');
    expectError(() => pg.pad(x, [[3, 0]], { mode: 'reflect' }), pg.InvalidArgumentError, 'pad', 'reflect', 'below', '3');
    expectError(() => pg.pad(x, [[0, 2], [0, 0]], { mode: 'reflect' }), pg.InvalidArgumentError, 'pad', 'reflect', 'axis 0');
    expectError(() => pg.pad(x, [[1, 1]], { mode: 'wrap' as never }), pg.InvalidArgumentError, 'pad', 'mode');
    expectError(() => pg.pad(x, [[1, 1]], { mode: 'reflect', value: 2 }), pg.InvalidArgumentError, 'pad', 'value');
    expectClose(await pg.pad(x, [[0, 0], [1, 0]], { mode: 'replicate' }).data(), [0, 0, 1, 2, 3, 3, 4, 5], rtol, atol, 'pad after errors');
    x.dispose();
  });

  // ---------- resize ----------

  test('resize matches F.interpolate on values PyTorch gives (2×2 up to 4×4, 3×3)', async () => {
    const img = pg.tensor([1, 2, 3, 4], { shape: [2, 2, 1] });
    const up = pg.resize(img, [4, 4]);
    expect(up.shape).toEqual([4, 4, 1]);
    // torch.nn.functional.interpolate(t, size=(4, 4), mode='bilinear', align_corners=False)
    expectClose(await up.data(), [1, 1.25, 1.75, 2, 1.5, 1.75, 2.25, 2.5, 2.5, 2.75, 3.25, 3.5, 3, 3.25, 3.75, 4], rtol, atol, 'bilinear');
    const aligned = pg.resize(img, [3, 3], { alignCorners: true });
    expectClose(await aligned.data(), [1, 1.5, 2, 2, 2.5, 3, 3, 3.5, 4], rtol, atol, 'bilinear, align_corners=True');
    const nearest = pg.resize(img, [3, 3], { mode: 'nearest' });
    expectClose(await nearest.data(), [1, 1, 2, 1, 1, 2, 3, 3, 4], rtol, atol, "nearest (PyTorch's floor rule)");
    pg.dispose([img, up, aligned, nearest]);
  });

  test('resize up, down and mixed, both modes, [H, W, C] and [N, H, W, C], against a float64 reference; gradients by finite differences', async () => {
    const cases: [number[], number[], 'bilinear' | 'nearest', boolean][] = [
      [[3, 4, 2], [5, 7], 'bilinear', false],
      [[1, 5, 7, 1], [3, 2], 'bilinear', false],
      [[2, 4, 3, 2], [6, 2], 'bilinear', true],
      [[3, 5, 1], [1, 1], 'bilinear', true],
      [[1, 4, 6, 1], [7, 4], 'nearest', false],
      [[2, 5, 3, 2], [2, 6], 'nearest', false],
      [[3, 3, 2], [3, 3], 'bilinear', false],
    ];
    for (const [shape, size, mode, alignCorners] of cases) {
      const s4 = shape.length === 3 ? [1, ...shape] : shape;
      const what = `${mode}${alignCorners ? ' (alignCorners)' : ''} ${JSON.stringify(shape)} → ${size}`;
      const y = await check(shape, (x) => pg.resize(x, size as [number, number], { mode, alignCorners }), (v) => resizeRef(v, s4, size, mode, alignCorners), what);
      expect(y.shape).toEqual([...shape.slice(0, -3), ...size, shape.at(-1)]);
      y.dispose();
    }
  });

  test('resize of larger images: values against the reference, the gradient by the adjoint identity <grad, v> = <w, resize(v)>', async () => {
    const s4 = [2, 40, 50, 3];
    const n = sizeOf(s4);
    const v = range(n).map((i) => Math.sin(0.37 * i) + ((i * 13) % 7) / 7);
    const probe = range(n).map((i) => Math.cos(0.11 * i));
    for (const [size, mode, alignCorners] of [
      [[64, 30], 'bilinear', false],
      [[33, 97], 'bilinear', true],
      [[17, 64], 'nearest', false],
    ] as const) {
      const x = pg.tensor(v, { shape: s4, requiresGrad: true });
      const y = pg.resize(x, [size[0], size[1]], { mode, alignCorners });
      const what = `${mode} ${s4} → ${size}`;
      expectClose(await y.data(), resizeRef(v, s4, size, mode, alignCorners), rtol, atol * 10, what);
      const w = range(y.size).map((i) => ((i * 7) % 5) - 2);
      y.backward(pg.tensor(w, { shape: [...y.shape] }));
      const grad = await x.grad!.data();
      const lhs = probe.reduce((acc, p, i) => acc + p * grad[i]!, 0);
      const rhs = resizeRef(probe, s4, size, mode, alignCorners).reduce((acc, r, i) => acc + r * w[i]!, 0);
      expect(Math.abs(lhs - rhs), `${what}: <grad, v> ${lhs} vs <w, resize(v)> ${rhs}`).toBeLessThan(1e-3 * Math.max(1, Math.abs(rhs)));
      pg.dispose([x, y]);
    }
  });

  test('resize of an expression feeds a loss; resize errors name the op and the problem', async () => {
    const v = range(2 * 3 * 2).map((i) => i / 7);
    const x = pg.tensor(v, { shape: [2, 3, 2], requiresGrad: true });
    const loss = pg.resize(x.exp(), [4, 5]).sum();
    const expected = resizeRef(v.map(Math.exp), [1, 2, 3, 2], [4, 5], 'bilinear', false).reduce((a, b) => a + b, 0);
    expectClose(await loss.data(), [expected], rtol, atol, 'sum of a resize');
    loss.backward();
    const ones = range(40).map(() => 1);
    expectClose(await x.grad!.data(), numericGrad((u) => resizeRef(u.map(Math.exp), [1, 2, 3, 2], [4, 5], 'bilinear', false), v, ones), rtol, 1e-4, 'its gradient');
    expectError(() => pg.resize(x, [0, 3]), pg.InvalidArgumentError, 'resize', 'positive');
    expectError(() => pg.resize(x, [2] as never), pg.InvalidArgumentError, 'resize', '[outH, outW]');
    expectError(() => pg.resize(pg.zeros([4, 4]), [2, 2]), pg.ShapeError, 'resize', '[4, 4]');
    expectError(() => pg.resize(x, [2, 2], { mode: 'bicubic' as never }), pg.InvalidArgumentError, 'resize', 'mode');
    expectError(() => pg.resize(x, [2, 2], { mode: 'nearest', alignCorners: true }), pg.InvalidArgumentError, 'resize', 'alignCorners');
    expectError(() => pg.resize(pg.zeros([0, 3, 1]), [2, 2]), pg.ShapeError, 'resize', 'no pixels');
    expect(pg.resize(x, [1, 1]).shape).toEqual([1, 1, 2]);
    pg.dispose([x, loss]);
  });
}
