/**
 * Colour conversions against published values (Lindbloom's calculator, colormath: sRGB D65 with
 * ε = 216/24389, κ = 24389/27), round trips, and their gradients against finite differences.
 */
import { expect, test } from 'vitest';
import * as pg from '../../src/index.ts';
import { mulberry32 } from '../../src/random.ts';
import { type BackendKind, expectClose, expectError, useBackend } from './backends.ts';

type ColorFn = (x: pg.Tensor) => pg.Tensor;

async function values(t: pg.Tensor): Promise<Float32Array> {
  const d = await t.data();
  t.dispose();
  return d;
}

/** rgb → Lab pairs to 4 decimals (primaries, white, grey, black, two in between). */
const LAB_REFERENCE: readonly (readonly [readonly number[], readonly number[]])[] = [
  [
    [1, 0, 0],
    [53.2408, 80.0925, 67.2032],
  ],
  [
    [0, 1, 0],
    [87.7347, -86.1827, 83.1793],
  ],
  [
    [0, 0, 1],
    [32.297, 79.1875, -107.8602],
  ],
  [
    [1, 1, 1],
    [100, 0, 0],
  ],
  [
    [0.5, 0.5, 0.5],
    [53.389, 0, 0],
  ],
  [
    [0, 0, 0],
    [0, 0, 0],
  ],
  [
    [0.2, 0.4, 0.6],
    [42.0081, -0.1517, -32.846],
  ],
  // Dark enough for the linear segments of both the sRGB curve and f(t).
  [
    [0.01, 0.02, 0.03],
    [1.3001, -0.3122, -1.2],
  ],
];

/** Python's colorsys.rgb_to_hsv, the reference for rgbToHsv. */
function colorsysHsv(r: number, g: number, b: number): number[] {
  const v = Math.max(r, g, b);
  const d = v - Math.min(r, g, b);
  if (d === 0) return [0, 0, v];
  const s = d / v;
  const [rc, gc, bc] = [(v - r) / d, (v - g) / d, (v - b) / d];
  const h = r === v ? bc - gc : g === v ? 2 + rc - bc : 4 + gc - rc;
  return [(((h / 6) % 1) + 1) % 1, s, v];
}

/** Colours whose channels are at least 0.2 apart: away from the hue's seams and the max/min switches. */
const DISTINCT = [
  [0.15, 0.5, 0.85],
  [0.15, 0.85, 0.5],
  [0.5, 0.15, 0.85],
  [0.5, 0.85, 0.15],
  [0.85, 0.15, 0.5],
  [0.85, 0.5, 0.15],
  [0.2, 0.7, 0.4],
  [0.9, 0.3, 0.6],
];
/** HSV with 6h half-way between integers: away from hsvToRgb's kinks. */
const SMOOTH_HSV = [0.08, 0.25, 0.42, 0.58, 0.75, 0.92].map((h, i) => [h, 0.3 + 0.1 * i, 0.9 - 0.1 * i]);

function randomColors(n: number, seed: number, lo = 0, hi = 1): pg.Tensor {
  const r = mulberry32(seed);
  return pg.tensor(
    Array.from({ length: n * 3 }, () => lo + (hi - lo) * r()),
    { shape: [n, 3] },
  );
}

/**
 * d/dt sum(w · fn(x + t v)) at t = 0 by central differences against the gradient backward gives,
 * along three random directions v (each a full check of the chain: one wrong partial derivative
 * changes the dot product).
 */
async function gradcheck(kind: BackendKind, fn: ColorFn, x0: pg.Tensor, what: string): Promise<void> {
  const x = await x0.data();
  // Steps scaled to the inputs (Lab values are tens), so float32 rounding of the loss stays small.
  const h = (kind === 'cpu' ? 1e-3 : 1e-2) * Math.max(1, ...Array.from(x, Math.abs));
  const rtol = kind === 'cpu' ? 1e-4 : 2e-3;
  const r = mulberry32(99);
  const n = x.length;
  const w = pg.tensor(Array.from({ length: n }, () => 2 * r() - 1), { shape: x0.shape });
  const loss = (t: pg.Tensor) => pg.tidy(() => fn(t).mul(w).sum());
  const xt = pg.tensor(x, { shape: x0.shape, requiresGrad: true });
  loss(xt).backward();
  const g = await values(xt.grad!);
  expect(g.every(Number.isFinite), `${what}: gradient finite`).toBe(true);
  for (let k = 0; k < 3; k++) {
    const v = Float32Array.from({ length: n }, () => (r() < 0.5 ? -1 : 1));
    const plus = Float32Array.from(x, (xi, i) => xi + h * v[i]!);
    const minus = Float32Array.from(x, (xi, i) => xi - h * v[i]!);
    const at = async (d: Float32Array) => {
      const t = pg.tensor(d, { shape: x0.shape });
      const l = await loss(t).item();
      t.dispose();
      return l;
    };
    const fd = (await at(plus)) - (await at(minus));
    // The steps the float32 inputs really took.
    const analytic = g.reduce((acc, gi, i) => acc + gi * (plus[i]! - minus[i]!), 0);
    const scale = g.reduce((acc, gi) => acc + Math.abs(gi), 0) * 2 * h;
    expect(Math.abs(fd - analytic), `${what} direction ${k}: finite difference ${fd} vs gradient ${analytic}`).toBeLessThanOrEqual(rtol * scale + 1e-4);
  }
  pg.dispose([w, xt]);
}

export function colorSpaceSuite(kind: BackendKind): void {
  useBackend(kind);
  const labTol = kind === 'cpu' ? 2e-4 : 2e-3;

  test('srgbToLinear and linearToSrgb: reference values and both segments', async () => {
    const x = pg.tensor([0, 0.02, 0.04045, 0.5, 1, -0.1]);
    const lin = [0, 0.02 / 12.92, 0.04045 / 12.92, 0.214041140482232, 1, -0.1 / 12.92];
    expectClose(await values(pg.srgbToLinear(x)), lin, 1e-5, 1e-7, 'srgbToLinear');
    const back = pg.linearToSrgb(pg.tensor(lin));
    expectClose(await values(back), [0, 0.02, 0.04045, 0.5, 1, -0.1], 1e-5, 1e-7, 'linearToSrgb');
    x.dispose();
  });

  test('rgbToLab matches published values', async () => {
    const rgb = pg.tensor(LAB_REFERENCE.map(([c]) => [...c]));
    const lab = pg.rgbToLab(rgb);
    expect(lab.shape).toEqual([LAB_REFERENCE.length, 3]);
    expectClose(await values(lab), LAB_REFERENCE.flatMap(([, l]) => l), 0, labTol, 'rgbToLab');
    rgb.dispose();
  });

  test('labToRgb inverts the published values', async () => {
    const lab = pg.tensor(LAB_REFERENCE.map(([, l]) => [...l]));
    expectClose(await values(pg.labToRgb(lab)), LAB_REFERENCE.flatMap(([c]) => c), 0, 1e-4, 'labToRgb');
    lab.dispose();
  });

  test('rgb → lab → rgb round trip within 1e-4, on an image-shaped tensor and a single colour', async () => {
    const rgb = randomColors(64, 5).reshape([4, 16, 3]);
    const back = pg.tidy(() => pg.labToRgb(pg.rgbToLab(rgb)));
    expect(back.shape).toEqual([4, 16, 3]);
    expectClose(await values(back), await rgb.data(), 0, 1e-4, 'round trip');
    const one = pg.tensor([0.25, 0.5, 0.75]);
    expectClose(await values(pg.tidy(() => pg.labToRgb(pg.rgbToLab(one)))), [0.25, 0.5, 0.75], 0, 1e-4, 'single colour');
    const empty = pg.rgbToLab(pg.zeros([0, 3]));
    expect(empty.shape).toEqual([0, 3]);
    pg.dispose([rgb, one, empty]);
  });

  test('colours need a last axis of 3', () => {
    expectError(() => pg.rgbToLab(pg.zeros([2, 4])), pg.ShapeError, 'rgbToLab', '[2, 4]');
    expectError(() => pg.labToRgb(pg.zeros([])), pg.ShapeError, 'labToRgb', '[]');
    expectError(() => pg.rgbToLab([1, 0, 0] as unknown as pg.Tensor), pg.InvalidArgumentError, 'rgbToLab');
  });

  test('rgbToHsv: primaries, secondaries, grey, black, and colorsys on random colours', async () => {
    const rgb = pg.tensor([
      [1, 0, 0],
      [0, 1, 0],
      [0, 0, 1],
      [1, 0, 1],
      [0.5, 0.25, 0.75],
      [0.5, 0.5, 0.5],
      [0, 0, 0],
    ]);
    const expected = [0, 1, 1, 1 / 3, 1, 1, 2 / 3, 1, 1, 5 / 6, 1, 1, 0.75, 2 / 3, 0.75, 0, 0, 0.5, 0, 0, 0];
    expectClose(await values(pg.rgbToHsv(rgb)), expected, 0, 1e-6, 'rgbToHsv');
    const random = randomColors(64, 21).reshape([8, 8, 3]);
    const flat = await random.data();
    const ref = Array.from({ length: 64 }, (_, i) => colorsysHsv(flat[3 * i]!, flat[3 * i + 1]!, flat[3 * i + 2]!)).flat();
    const hsv = pg.rgbToHsv(random);
    expect(hsv.shape).toEqual([8, 8, 3]);
    expectClose(await hsv.data(), ref, 0, 1e-5, 'rgbToHsv against colorsys');
    const back = pg.hsvToRgb(hsv);
    expectClose(await values(back), flat, 0, 1e-5, 'hsv → rgb round trip');
    expectError(() => pg.hsvToRgb(pg.zeros([3, 2])), pg.ShapeError, 'hsvToRgb', '[3, 2]');
    expectError(() => pg.rgbToHsv(pg.zeros([4])), pg.ShapeError, 'rgbToHsv', '[4]');
    pg.dispose([rgb, random, hsv]);
  });

  test('hsvToRgb: hues around the circle, and negative hues wrap', async () => {
    const hsv = pg.tensor([
      [0, 1, 1],
      [1 / 6, 1, 1],
      [1 / 3, 1, 1],
      [0.5, 1, 1],
      [2 / 3, 0.5, 0.8],
      [1, 1, 1],
      [-1 / 3, 1, 1],
      [0.25, 0, 0.4],
    ]);
    const expected = [1, 0, 0, 1, 1, 0, 0, 1, 0, 0, 1, 1, 0.4, 0.4, 0.8, 1, 0, 0, 0, 0, 1, 0.4, 0.4, 0.4];
    expectClose(await values(pg.hsvToRgb(hsv)), expected, 0, 1e-6, 'hsvToRgb');
    hsv.dispose();
  });

  // WebGPU compiles a forward and a backward pipeline per function (seconds each on a CPU Vulkan).
  const SLOW = 180_000;
  const gradCases: readonly (readonly [string, ColorFn, () => pg.Tensor])[] = [
    ['srgbToLinear', pg.srgbToLinear, () => randomColors(8, 11, 0.1, 0.9)],
    ['linearToSrgb', pg.linearToSrgb, () => randomColors(8, 11, 0.1, 0.9)],
    ['rgbToLab', pg.rgbToLab, () => randomColors(8, 11, 0.1, 0.9)],
    // The linear segments of the sRGB curve and of f(t).
    ['rgbToLab, dark colours', pg.rgbToLab, () => randomColors(4, 12, 0.001, 0.03)],
    ['labToRgb', pg.labToRgb, () => pg.tidy(() => pg.rgbToLab(randomColors(8, 13, 0.1, 0.9)))],
    ['rgbToHsv', pg.rgbToHsv, () => pg.tensor(DISTINCT)],
    ['hsvToRgb', pg.hsvToRgb, () => pg.tensor(SMOOTH_HSV)],
  ];
  // On WebGPU only the two transfer curves: each other function's fused backward kernel takes a
  // minute to compile on a CPU Vulkan (SwiftShader); the primitives' GPU gradients are the
  // registry's, and the compositions' are checked here on the float64 backend.
  const cases = kind === 'cpu' ? gradCases : gradCases.slice(0, 2);
  test.each(cases)('%s: gradient matches finite differences', async (name, fn, make) => {
    const x = make();
    await gradcheck(kind, fn, x, name);
    x.dispose();
  }, SLOW);

  test('gradients are finite at black, at 0 and below it (the dropped pow branch is clamped)', async () => {
    const fns = [
      [pg.srgbToLinear, 'srgbToLinear'],
      [pg.linearToSrgb, 'linearToSrgb'],
      [pg.rgbToLab, 'rgbToLab'],
      [pg.labToRgb, 'labToRgb'],
      [pg.rgbToHsv, 'rgbToHsv'],
      [pg.hsvToRgb, 'hsvToRgb'],
    ] as const;
    // WebGPU: the transfer curves only (the other backward kernels compile for minutes on SwiftShader).
    for (const [fn, name] of kind === 'cpu' ? fns : fns.slice(0, 2)) {
      const x = pg.tensor([[0, 0, 0], [-0.05, 0.001, 0]], { requiresGrad: true });
      fn(x).sum().backward();
      const g = await values(x.grad!);
      expect(Array.from(g).every(Number.isFinite), `${name}: ${g}`).toBe(true);
      x.dispose();
    }
    // The linear segment's slope, exactly.
    const x = pg.tensor([0, -0.5], { requiresGrad: true });
    pg.srgbToLinear(x).sum().backward();
    expectClose(await values(x.grad!), [1 / 12.92, 1 / 12.92], 1e-6, 0, 'slope below 0.04045');
    x.dispose();
  }, SLOW);
}
