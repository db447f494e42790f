/**
 * Elementwise kernels read an input a constant step away from each lane's element (a slice's
 * neighbour) as a component of the vec4 holding it: total variation's gradient, whose reads step
 * ±3 and ±3·W across vec4 boundaries and past both ends of the buffer, against a float64 loop;
 * an optimizer update that reads the neighbours of the parameter it overwrites; and a walk that
 * carries a vec4's neighbours over from the one before (src/gpu/row-vectors.ts's sliding windows).
 */
import { expect, test } from 'vitest';
import * as pg from '../../src/index.ts';
import { cpuThenGpuForm, expectClose, useBackend, withShaders } from '../shared/backends.ts';

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

/** One SGD step of 0.5·Σ(x − y)² + Σ|x[1:] − x[:-1]| + Σ|x[:, 1:] − x[:, :-1]| over [H, W, 3], in float64. */
function tvStep(x: readonly number[], y: readonly number[], H: number, W: number, lr: number): number[] {
  const n = H * W * 3;
  return x.map((v, e) => {
    const col = e % (3 * W);
    let g = v - y[e]!;
    if (e >= 3 * W) g += Math.sign(v - x[e - 3 * W]!);
    if (e + 3 * W < n) g -= Math.sign(x[e + 3 * W]! - v);
    if (col >= 3) g += Math.sign(v - x[e - 3]!);
    if (col < 3 * W - 3) g -= Math.sign(x[e + 3]! - v);
    return v - lr * g;
  });
}

// The update reads the neighbours of what it overwrites: it writes a twin buffer that the parameter
// then takes over (double buffering), or, where the parameter must keep its buffer, the new values
// are copied into it (handed to the app) or its gradient is stored first (a compiled trace).
for (const mode of ['its own buffer', 'a buffer handed to the app', 'a compiled step'] as const) {
  test(`an update that reads neighbours of the parameter it overwrites, with ${mode}`, async () => {
    const [H, W, lr] = [6, 9, 0.05];
    const n = H * W * 3;
    let want = Array.from({ length: n }, (_, i) => Math.sin(i * 0.7) + 0.02 * i);
    const y0 = Array.from({ length: n }, (_, i) => Math.cos(i * 0.3));
    const x = pg.tensor(want, { shape: [H, W, 3], requiresGrad: true });
    const y = pg.tensor(y0, { shape: [H, W, 3] });
    const opt = new pg.SGD([x], { lr });
    const buffer = mode === 'a buffer handed to the app' ? x.gpuBuffer() : null;
    const fit = () => {
      const d = x.sub(y);
      const down = x.slice([1]).sub(x.slice([0], [-1])).abs().sum();
      const across = x.slice([0, 1]).sub(x.slice([0, 0], [H, -1])).abs().sum();
      const loss = d.mul(d).sum().mul(0.5).add(down).add(across);
      loss.backward();
      opt.step();
      opt.zeroGrad();
      return loss;
    };
    const compiled = mode === 'a compiled step' ? pg.compile(fit) : null;
    const step = compiled ?? (() => pg.tidy(fit));
    for (let i = 0; i < 5; i++) {
      step().dispose();
      want = tvStep(want, y0, H, W, lr);
      // Read every other step: the next steps' updates queue behind one another in between.
      if (i % 2) expectClose(await x.data(), want, 1e-5, 1e-5, `x after step ${i + 1}`);
    }
    expectClose(await x.data(), want, 1e-5, 1e-5, 'x after 5 steps');

    if (buffer) expect(x.gpuBuffer()).toBe(buffer);
    compiled?.dispose();
    opt.dispose();
    pg.dispose([x, y]);
  });
}

test('a total-variation step with Adam on a 128 × 128 image, its state in place: sums, gradient and update in one pass, then the finishing pass', async () => {
  const S = 128;
  const x = pg.rand([S, S, 3], { seed: 3, requiresGrad: true });
  const y = pg.rand([S, S, 3], { seed: 4 });
  const opt = new pg.Adam([x], { lr: 0.01 });
  const step = () =>
    pg.tidy(() => {
      const data = x.sub(y).square().mean();
      const down = x.slice([1]).sub(x.slice([0], [-1])).abs().mean();
      const across = x.slice([0, 1]).sub(x.slice([0, 0], [S, -1])).abs().mean();
      const loss = data.add(down.add(across).mul(0.1));
      loss.backward();
      opt.step();
      opt.zeroGrad();
      return loss;
    });
  for (let i = 0; i < 3; i++) {
    const loss = step();
    await loss.data();
    loss.dispose();
  }
  const before = pg.memory();
  const loss = step();
  await loss.data();
  const after = pg.memory();
  expect(after.dispatches - before.dispatches).toBe(2);
  expect(after.bindGroupsCreated - before.bindGroupsCreated).toBe(0);
  loss.dispose();
  opt.dispose();
  pg.dispose([x, y]);
});

test('a compiled function traced before eager double-buffered steps reads the parameter where its values are now', async () => {
  const [H, W, lr] = [16, 16, 0.05];
  const n = H * W * 3;
  let want = Array.from({ length: n }, (_, i) => Math.sin(i * 0.7));
  const y0 = Array.from({ length: n }, (_, i) => Math.cos(i * 0.3));
  const x = pg.tensor(want, { shape: [H, W, 3], requiresGrad: true });
  const y = pg.tensor(y0, { shape: [H, W, 3] });
  const opt = new pg.SGD([x], { lr });
  // Traced now, replayed after x's buffer has changed hands: two kernels (partial sums of the
  // squares, then their total), the first writing none of the call's results.
  const total = pg.compile(() => x.detach().square().mean());
  total().dispose();
  const expected = (v: readonly number[]) => [v.reduce((acc, e) => acc + e * e, 0) / v.length];
  for (let i = 0; i < 4; i++) {
    pg.tidy(() => {
      const d = x.sub(y);
      const down = x.slice([1]).sub(x.slice([0], [-1])).abs().sum();
      const across = x.slice([0, 1]).sub(x.slice([0, 0], [H, -1])).abs().sum();
      d.mul(d).sum().mul(0.5).add(down).add(across).backward();
      opt.step();
      opt.zeroGrad();
    });
    want = tvStep(want, y0, H, W, lr);
    const got = total();
    expectClose(await got.data(), expected(want), 1e-5, 1e-5, `the compiled function after step ${i + 1}`);
    got.dispose();
  }
  total.dispose();
  opt.dispose();
  pg.dispose([x, y]);
});

// With the loss read, its sums and the update share one pass; with the loss dropped unread, the
// update's pass alone walks the same way.
for (const readLoss of [true, false]) {
test(`a total-variation step's pass carries each vec4's left and right neighbours over from the vec4 before (CPU adapters), across thread runs that end mid-row, the loss ${readLoss ? 'read' : 'dropped unread'}`, async () => {
  // [H, W, 3] with 3W a multiple of 4 but not of 16: the threads' contiguous runs of vec4s start and end
  // inside rows, so a carried neighbour crosses row ends (where the pads mask it) and run starts
  // (where it is loaded before the loop).
  const [H, W, lr] = [90, 108, 0.05];
  const n = H * W * 3;
  const x0 = Array.from({ length: n }, (_, i) => Math.sin(i * 0.37) + 0.002 * (i % 97));
  const y0 = Array.from({ length: n }, (_, i) => Math.cos(i * 0.11));
  const [cpuForm, gpuForm] = await cpuThenGpuForm(() =>
    withShaders(async (shaders) => {
      const x = pg.tensor(x0, { shape: [H, W, 3], requiresGrad: true });
      const y = pg.tensor(y0, { shape: [H, W, 3] });
      const opt = new pg.SGD([x], { lr });
      const loss = pg.tidy(() => {
        const data = x.sub(y).square().sum().mul(0.5);
        const down = x.slice([1]).sub(x.slice([0], [-1])).abs().sum();
        const across = x.slice([0, 1]).sub(x.slice([0, 0], [H, -1])).abs().sum();
        const l = data.add(down).add(across);
        l.backward();
        opt.step();
        opt.zeroGrad();
        return l;
      });
      // An unread loss is dropped before x is read: nothing then needs its sums.
      if (!readLoss) loss.dispose();
      const [value, next] = readLoss ? await Promise.all([loss.data(), x.data()]) : [null, await x.data()];
      const carried = shaders.some((s) => /var i\d+_1_m1c = /.test(s));
      // The loss's sums add each iteration's four values at once (render.ts, iterationSums).
      const grouped = shaders.some((s) => /var s\d+bq = /.test(s));
      pg.dispose([x, y, loss]);
      opt.dispose();
      return { value: value?.[0] ?? null, next, carried, grouped };
    }),
  );
  let loss = 0;
  for (let e = 0; e < n; e++) {
    const col = e % (3 * W);
    loss += 0.5 * (x0[e]! - y0[e]!) ** 2;
    if (e + 3 * W < n) loss += Math.abs(x0[e + 3 * W]! - x0[e]!);
    if (col < 3 * W - 3) loss += Math.abs(x0[e + 3]! - x0[e]!);
  }
  const expected = tvStep(x0, y0, H, W, lr);
  for (const form of [cpuForm, gpuForm]) {
    if (readLoss) expect(Math.abs(form.value! - loss) / loss).toBeLessThan(1e-5);
    else expect(form.value).toBeNull();
    expectClose(form.next, expected, 1e-5, 1e-5, 'x after the step');
  }
  expect(cpuForm.carried, 'the CPU form carries neighbours').toBe(true);
  expect(gpuForm.carried, 'the GPU form (grid-stride) loads them').toBe(false);
  expect(cpuForm.grouped, 'the CPU form sums four values an iteration at once').toBe(readLoss);
});
}

// C channels: each vec4's four elements' pixel, channel, row and column are divisions by C and by
// the width W, which the CPU form computes once a vec4 (row-vectors.ts, laneDivisions).
for (const C of [3, 4, 5, 6]) {
test(`a forward stencil (a horizontal [1, 2, 1] filter through pad and slices) over ${C} channels carries its neighbours on CPU adapters and loads them on GPUs`, async () => {
  // [H, W, C] with CW a multiple of 4 but not of 16, as above: runs end mid-row.
  const [H, W] = [90, 108];
  const n = H * W * C;
  const x0 = Array.from({ length: n }, (_, i) => Math.sin(i * 0.29) + 0.001 * (i % 89));
  const [cpuForm, gpuForm] = await cpuThenGpuForm(() =>
    withShaders(async (shaders) => {
      const x = pg.tensor(x0, { shape: [H, W, C] });
      const y = pg.tidy(() => {
        // Two pairs pad the last two axes: the columns, not the channels.
        const p = pg.pad(x, [
          [1, 1],
          [0, 0],
        ]);
        return p
          .slice([0, 0], [H, W])
          .add(p.slice([0, 1], [H, W + 1]).mul(2))
          .add(p.slice([0, 2]));
      });
      const values = await y.data();
      const carried = shaders.some((s) => /var i\d+_1_m1c = /.test(s));
      // One division by C, and of that by W (108, not a power of two), an iteration.
      const divisionsOnce = shaders.some((s) => s.includes(`let oqd${C} = (o * 4u) / ${C}u;`) && s.includes(`let oqe${C}_${W} = oqd${C} / ${W}u;`));
      pg.dispose([x, y]);
      return { values, carried, divisionsOnce };
    }),
  );
  const expected = x0.map((v, e) => {
    const w = Math.floor(e / C) % W;
    return (w > 0 ? x0[e - C]! : 0) + 2 * v + (w < W - 1 ? x0[e + C]! : 0);
  });
  for (const form of [cpuForm, gpuForm]) expectClose(form.values, expected, 1e-6, 1e-6, 'filtered');
  expect(cpuForm.carried, 'the CPU form carries neighbours').toBe(true);
  expect(gpuForm.carried, 'the GPU form (four elements a thread) loads them').toBe(false);
  expect(cpuForm.divisionsOnce, 'the CPU form divides by C and by W once a vec4').toBe(true);
});
}
