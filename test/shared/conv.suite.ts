/** conv2d, pooling and the depthwise filters: option forms, known values, gradients and errors. */
import { expect, test } from 'vitest';
import * as pg from '../../src/index.ts';
import { conv2dOp } from '../../src/ops/conv2d.ts';
import { sizeOf } from '../../src/shape.ts';
import { apply } from '../../src/tensor.ts';
import { type BackendKind, cpuThenGpuForm, expectClose, expectError, tol, useBackend } from './backends.ts';
import { casesFor, randomGrad, randomInput } from './registry-cases.ts';

async function values(t: pg.Tensor): Promise<number[]> {
  const d = Array.from(await t.data(), (v) => v + 0);
  t.dispose();
  return d;
}

export function convSuite(kind: BackendKind): void {
  useBackend(kind);
  const { rtol, atol } = tol(kind);

  test("a 16 → 16 channel 3x3 layer, 'same' with stride 2, forward and both gradients against the float64 reference", async () => {
    const xs = [1, 9, 7, 16];
    const ws = [3, 3, 16, 16];
    const x64 = randomInput(conv2dOp as never, 0, sizeOf(xs), 11);
    const w64 = randomInput(conv2dOp as never, 1, sizeOf(ws), 12);
    const x = pg.tensor(Float32Array.from(x64), { shape: xs, requiresGrad: true });
    const w = pg.tensor(Float32Array.from(w64), { shape: ws, requiresGrad: true });
    const y = pg.conv2d(x, w, { stride: 2, padding: 'same' });
    // TF 'same': ceil(9/2) x ceil(7/2); total padding 2 rows (1 + 1) and 2 columns (1 + 1).
    expect(y.shape).toEqual([1, 5, 4, 16]);
    const attrs = { stride: [2, 2], padding: [1, 1, 1, 1], dilation: [1, 1], groups: 1 } as const;
    const args = { shapes: [xs, ws], attrs, outShape: y.shape };
    const expected = conv2dOp.reference([x64, w64], args);
    expectClose(await y.data(), expected, rtol, atol * 30, 'forward');
    const g = randomGrad(sizeOf(y.shape), 13);
    y.backward(pg.tensor(Float32Array.from(g), { shape: y.shape }));
    const [dx, dw] = conv2dOp.referenceBackward({ ...args, inputs: [x64, w64], output: expected, grad: g, needs: [true, true] });
    expectClose(await x.grad!.data(), dx!, rtol, atol * 30, 'dx');
    expectClose(await w.grad!.data(), dw!, rtol, atol * 30, 'dw');
    pg.dispose([x, w, y]);
  });

  /** Every registry case of conv2d at a size, forward and both gradients, against the float64 reference. */
  async function registryCases(n: number, what: string): Promise<void> {
    for (const [i, c] of casesFor(conv2dOp as never, n).entries()) {
      const xs = c.shapes.map((s, j) => randomInput(conv2dOp as never, j, sizeOf(s), 100 * i + j));
      const g = randomGrad(sizeOf(c.outShape), i);
      const args = { shapes: c.shapes, attrs: c.attrs as never, outShape: c.outShape };
      const expected = conv2dOp.reference(xs, args);
      const grads = conv2dOp.referenceBackward({ ...args, inputs: xs, output: expected, grad: g, needs: [true, true] });
      const ts = xs.map((x, j) => pg.tensor(Float32Array.from(x), { shape: c.shapes[j]!, requiresGrad: true }));
      const y = apply(conv2dOp, ts, c.attrs as never);
      y.backward(pg.tensor(Float32Array.from(g), { shape: c.outShape }));
      const label = `${what} ${JSON.stringify(c.shapes)} ${JSON.stringify(c.attrs)}`;
      expectClose(await y.data(), expected, rtol, atol * 10, `${label} forward`);
      for (const j of [0, 1]) expectClose(await ts[j]!.grad!.data(), grads[j]!, rtol, atol * 10, `${label} gradient ${j}`);
      pg.dispose([ts, y]);
    }
  }

  test('the CPU-adapter (blocked) and GPU kernel forms both match the reference on every registry case', async () => {
    if (kind === 'cpu') {
      await registryCases(64, 'cpu');
      return;
    }
    await cpuThenGpuForm(async (cpuForm) => {
      for (const n of [1, 64, 150]) await registryCases(n, cpuForm ? 'cpu form' : 'gpu form');
    });
  });

  test("'same' puts an odd padding's extra row at the end, as TensorFlow; a [H, W, C] image stays unbatched", async () => {
    // 4 columns, kernel 2, stride 1: one column of padding, on the right.
    const x = pg.tensor([1, 2, 3, 4], { shape: [1, 4, 1] });
    const w = pg.tensor([1, 10], { shape: [1, 2, 1, 1] });
    const y = pg.conv2d(x, w, { padding: 'same' });
    expect(y.shape).toEqual([1, 4, 1]);
    expect(await values(y)).toEqual([21, 32, 43, 4]);
    const v = pg.conv2d(x, w, { padding: 'valid' });
    expect(await values(v)).toEqual([21, 32, 43]);
    pg.dispose([x, w]);
  });

  test('stride, dilation, padding pairs and depthwise groups give the hand-computed values', async () => {
    const x = pg.arange(25).reshape([1, 5, 5, 1]);
    const ones = pg.ones([2, 2, 1, 1]);
    // Dilation 2: taps at (0,0), (0,2), (2,0), (2,2); stride 2 over a 5x5 image, no padding.
    const y = pg.conv2d(x, ones, { stride: 2, dilation: 2 });
    expect(y.shape).toEqual([1, 2, 2, 1]);
    expect(await values(y)).toEqual([0 + 2 + 10 + 12, 2 + 4 + 12 + 14, 10 + 12 + 20 + 22, 12 + 14 + 22 + 24]);
    // Padding [1, 0]: one zero row above and below, no columns.
    const p = pg.conv2d(x, ones, { padding: [1, 0], stride: [3, 4] });
    expect(p.shape).toEqual([1, 2, 1, 1]);
    expect(await values(p)).toEqual([0 + 1, 10 + 11 + 15 + 16]);
    // Depthwise: channel 0 doubled, channel 1 negated, each by its own 1x1 kernel.
    const two = pg.tensor([1, 10, 2, 20], { shape: [1, 2, 2] });
    const dw = pg.tensor([2, -1], { shape: [1, 1, 1, 2] });
    expect(await values(pg.conv2d(two, dw, { groups: 2 }))).toEqual([2, -10, 4, -20]);
    pg.dispose([x, ones, y, p, two, dw]);
  });

  test('conv2d errors name the op and the shapes', () => {
    const x = pg.zeros([1, 4, 4, 3]);
    expectError(() => pg.conv2d(pg.zeros([4, 4]), pg.zeros([3, 3, 1, 1])), pg.ShapeError, 'conv2d', '[4, 4]');
    expectError(() => pg.conv2d(x, pg.zeros([3, 3, 3])), pg.ShapeError, 'conv2d', '[3, 3, 3]');
    expectError(() => pg.conv2d(x, pg.zeros([3, 3, 2, 4])), pg.ShapeError, 'conv2d', '[1, 4, 4, 3]', '[3, 3, 2, 4]');
    expectError(() => pg.conv2d(x, pg.zeros([3, 3, 1, 4]), { groups: 2 }), pg.ShapeError, 'conv2d', 'groups 2', '[3, 3, 1, 4]');
    expectError(() => pg.conv2d(x, pg.zeros([5, 5, 3, 1])), pg.ShapeError, 'conv2d', 'larger than the padded image', '[1, 4, 4, 3]');
    expectError(() => pg.conv2d(x, pg.zeros([3, 3, 3, 1]), { dilation: 2 }), pg.ShapeError, 'conv2d', '5x5');
    expectError(() => pg.conv2d(x, pg.zeros([1, 1, 3, 1]), { stride: 0 }), pg.InvalidArgumentError, 'conv2d', 'stride');
    expectError(() => pg.conv2d(x, pg.zeros([1, 1, 3, 1]), { padding: 'full' as never }), pg.InvalidArgumentError, 'conv2d', 'padding', 'full');
    expectError(() => pg.conv2d(x, pg.zeros([1, 1, 3, 1]), { groups: 1.5 }), pg.InvalidArgumentError, 'conv2d', 'groups');
    x.dispose();
  });

  test('avgPool2d and maxPool2d values; the max gradient goes to the first maximum of each window', async () => {
    const x = pg.arange(16).reshape([4, 4, 1]);
    expect(await values(pg.avgPool2d(x, 2))).toEqual([2.5, 4.5, 10.5, 12.5]);
    expect(await values(pg.maxPool2d(x, 2))).toEqual([5, 7, 13, 15]);
    // Overlapping 3x3 windows, stride 1, 'same': padding never wins even where values are negative.
    const neg = pg.arange(16).reshape([4, 4, 1]).neg();
    const m = pg.maxPool2d(neg, 3, { stride: 1, padding: 'same' });
    expect(await values(m)).toEqual([0, 0, -1, -2, 0, 0, -1, -2, -4, -4, -5, -6, -8, -8, -9, -10]);
    // Ties: every window of a constant image sends its gradient to its top-left pixel.
    const flat = pg.ones([1, 4, 4, 1], { requiresGrad: true });
    pg.maxPool2d(flat, 2).sum().backward();
    expect(await values(flat.grad!)).toEqual([1, 0, 1, 0, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0, 0]);
    // avgPool counts padding as zeros: the corner window of a 'same' 3x3 pool over ones is 4/9.
    const a = pg.avgPool2d(pg.ones([3, 3, 1]), 3, { stride: 1, padding: 1 });
    expectClose(await a.data(), [4, 6, 4, 6, 9, 6, 4, 6, 4].map((v) => v / 9), rtol, atol);
    const xg = pg.ones([2, 2, 1], { requiresGrad: true });
    pg.avgPool2d(xg, 2).sum().backward();
    expect(await values(xg.grad!)).toEqual([0.25, 0.25, 0.25, 0.25]);
    expectError(() => pg.maxPool2d(x, 2, { padding: 2 }), pg.InvalidArgumentError, 'maxPool2d', 'padding');
    expectError(() => pg.avgPool2d(pg.zeros([4]), 2), pg.ShapeError, 'avgPool2d', '[4]');
    expectError(() => pg.maxPool2d(x, 5), pg.ShapeError, 'maxPool2d', '[1, 4, 4, 1]');
    pg.dispose([x, neg, m, flat, a, xg]);
  });

  test('maxPool2d keeps the first of a window whose first pixel is -Infinity or NaN, with padding around it', async () => {
    // 'same' 3x3 windows over a 2x2 image: each window's first pixel inside the image comes after
    // padded taps, and nothing later is larger than -Infinity's equal or than NaN.
    const inf = pg.full([2, 2, 1], Number.NEGATIVE_INFINITY, { requiresGrad: true });
    const m = pg.maxPool2d(inf, 3, { stride: 1, padding: 'same' });
    m.sum().backward();
    expect(await values(m)).toEqual([-Infinity, -Infinity, -Infinity, -Infinity]);
    expect(await values(inf.grad!)).toEqual([4, 0, 0, 0]);
    const nan = pg.tensor([Number.NaN, 5, 7, 1], { shape: [2, 2, 1] });
    const n = await values(pg.maxPool2d(nan, 2));
    expect(Number.isNaN(n[0])).toBe(true);
    pg.dispose([inf, nan]);
  });

  test('gaussianBlur keeps a flat image flat to its edges, conserves a centred dot and is differentiable', async () => {
    const flat = pg.full([2, 6, 7, 3], 0.5);
    expectClose(await pg.gaussianBlur(flat, 1.2).data(), new Array(2 * 6 * 7 * 3).fill(0.5), rtol, atol);
    const dot = new Float32Array(81);
    dot[40] = 1;
    const img = pg.tensor(dot, { shape: [9, 9, 1], requiresGrad: true });
    const b = pg.gaussianBlur(img, 1, { kernelSize: 5 });
    expect(b.shape).toEqual([9, 9, 1]);
    const d = await b.data();
    expect(d.reduce((s, v) => s + v, 0)).toBeCloseTo(1, 5);
    const g = Math.exp(-0.5);
    const norm = 1 + 2 * g + 2 * Math.exp(-2);
    // The centre and its right neighbour: products of the normalized 1-D taps.
    expect(d[40]).toBeCloseTo(1 / norm ** 2, 5);
    expect(d[41]).toBeCloseTo(g / norm ** 2, 5);
    b.sum().backward();
    // Each pixel's weight reaches the sum once whatever the edges, except where a border repeats.
    expect((await img.grad!.data())[40]).toBeCloseTo(1, 5);
    expectError(() => pg.gaussianBlur(flat, 0), pg.InvalidArgumentError, 'gaussianBlur', 'sigma');
    expectError(() => pg.gaussianBlur(flat, 1, { kernelSize: 4 }), pg.InvalidArgumentError, 'gaussianBlur', 'kernelSize');
    pg.dispose([flat, img, b]);
  });

  test('sobel of a ramp: gx = 8 × slope inside and 4 × slope at replicated edges, gy = 0; [.., C, 2] layout', async () => {
    const ramp = pg.arange(5).reshape([1, 5, 1]).expand([4, 5, 1]).mul(2);
    const s = pg.sobel(pg.cat([ramp, ramp.neg()], 2));
    expect(s.shape).toEqual([4, 5, 2, 2]);
    const d = await s.data();
    for (let y = 0; y < 4; y++) {
      for (let x = 0; x < 5; x++) {
        const gx = x === 0 || x === 4 ? 8 : 16;
        const at = (y * 5 + x) * 4;
        expect([d[at], d[at + 1], d[at + 2], d[at + 3]].map((v) => v! + 0)).toEqual([gx, 0, -gx, 0]);
      }
    }
    const img = pg.rand([1, 5, 6, 1], { requiresGrad: true });
    // sum(gx) telescopes to 4 · 2 · (last column − first column), the edges counted twice by replication.
    const gxSum = pg.sobel(img).slice([0, 0, 0, 0, 0], [1, 5, 6, 1, 1]).sum();
    gxSum.backward();
    const gi = await img.grad!.data();
    for (let y = 0; y < 5; y++) expect(Array.from(gi.slice(y * 6, y * 6 + 6), (v) => v + 0)).toEqual([-8, 0, 0, 0, 0, 8]);
    pg.dispose([ramp, s, img, gxSum]);
  });
}
