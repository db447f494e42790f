/** Elementwise edge values as PyTorch gives them: NaN propagation, log/sqrt/pow at 0, negatives and infinities, gradients at kinks. */
import { expect, test } from 'vitest';
import * as pg from '../../src/index.ts';
import { powReal } from '../../src/ops/elementwise-table.ts';
import { type BackendKind, useBackend } from './backends.ts';

const { NaN: nan, POSITIVE_INFINITY: inf } = Number;

/** Equal as float32 values, NaN equal to NaN, within a relative 1e-6 (WGSL's log and pow are not exactly rounded). */
function expectValues(actual: ArrayLike<number>, expected: readonly number[], what: string): void {
  expect(actual.length, what).toBe(expected.length);
  expected.forEach((e, i) => {
    const a = actual[i]!;
    const ok = Number.isNaN(e) ? Number.isNaN(a) : !Number.isFinite(e) ? a === e : Math.abs(a - e) <= 1e-6 * Math.max(1, Math.abs(e));
    expect(ok, `${what}[${i}]: got ${a}, expected ${e}`).toBe(true);
  });
}

async function values(t: pg.Tensor): Promise<number[]> {
  const d = Array.from(await t.data());
  t.dispose();
  return d;
}

/** The gradient of sum(fn(x)) at x. */
async function gradOf(x: readonly number[], fn: (t: pg.Tensor) => pg.Tensor): Promise<number[]> {
  const t = pg.tensor([...x], { requiresGrad: true });
  fn(t).sum().backward();
  const g = await values(t.grad!);
  t.dispose();
  return g;
}

export function edgeElementwiseSuite(kind: BackendKind): void {
  useBackend(kind);

  test('NaN propagates through maximum, minimum, relu, clamp and tanh', async () => {
    const x = pg.tensor([nan, 1, -2]);
    const zero = pg.tensor([0, nan, 0]);
    expectValues(await values(x.maximum(zero)), [nan, nan, 0], 'maximum');
    expectValues(await values(x.minimum(zero)), [nan, nan, -2], 'minimum');
    expectValues(await values(x.maximum(0)), [nan, 1, 0], 'maximum(number)');
    expectValues(await values(x.minimum(0)), [nan, 0, -2], 'minimum(number)');
    expectValues(await values(x.relu()), [nan, 1, 0], 'relu');
    expectValues(await values(x.clamp(-1, 1)), [nan, 1, -1], 'clamp');
    expectValues(await values(x.tanh()), [nan, Math.tanh(1), Math.tanh(-2)], 'tanh');
    expectValues(await values(x.abs()), [nan, 1, 2], 'abs');
    expectValues(await values(x.exp()), [nan, Math.E, Math.exp(-2)], 'exp');
    expectValues(await values(x.sigmoid()), [nan, 1 / (1 + Math.exp(-1)), 1 / (1 + Math.exp(2))], 'sigmoid');
    // Through a fused chain too.
    expectValues(await values(x.log().tanh().exp().neg()), [nan, -1, nan], 'neg(exp(tanh(log x)))');
    x.dispose();
    zero.dispose();
  });

  test('log and sqrt at 0, negatives, infinities and NaN', async () => {
    const x = pg.tensor([0, -1, inf, nan, 1, -inf]);
    expectValues(await values(x.log()), [-inf, nan, inf, nan, 0, nan], 'log');
    expectValues(await values(x.sqrt()), [0, nan, inf, nan, 1, nan], 'sqrt');
    x.dispose();
  });

  test('pow at 0, negative bases, infinities and NaN (C pow, as PyTorch)', async () => {
    const cases: [number, number, number][] = [
      [0, 0, 1],
      [nan, 0, 1],
      [1, nan, 1],
      [1, inf, 1],
      [0, 2, 0],
      [0, -1, inf],
      [0, 0.5, 0],
      [-2, 3, -8],
      [-2, 2, 4],
      [-2, -1, -0.5],
      [-2, 0.5, nan],
      [-8, 1 / 3, nan],
      [nan, 2, nan],
      [2, nan, nan],
      [inf, 2, inf],
      [inf, -1, 0],
      [-inf, 3, -inf],
      [-inf, 2, inf],
      [2, inf, inf],
      [0.5, inf, 0],
      [2, -inf, 0],
      [-1, inf, 1],
      [3, 2.5, 3 ** 2.5],
      [0.25, -0.5, 2],
    ];
    const a = pg.tensor(cases.map((c) => c[0]));
    const b = pg.tensor(cases.map((c) => c[1]));
    const got = await values(a.pow(b));
    for (const [i, [x, y, want]] of cases.entries()) expectValues([got[i]!], [want], `pow(${x}, ${y})`);
    // A number exponent takes the same path.
    expectValues(await values(a.pow(3)), cases.map(([x]) => (Number.isNaN(x) ? nan : x ** 3)), 'pow(x, 3)');
    a.dispose();
    b.dispose();
  });

  test('x.pow(0) has gradient 0 at x = 0 (not 0·inf = NaN)', async () => {
    expectValues(await gradOf([0, 2, -3], (x) => x.pow(0)), [0, 0, 0], 'd/dx x^0');
    const zero = pg.tensor([0, 0]);
    expectValues(await gradOf([0, 1], (x) => x.pow(zero)), [0, 0], 'd/dx x^t, t = 0');
    zero.dispose();
    // d/db a^b = a^b ln a: 0 at a = 0 (b >= 0), NaN for a negative base.
    const base = pg.tensor([0, -2, 2]);
    expectValues(await gradOf([2, 2, 2], (b) => base.pow(b)), [0, nan, 4 * Math.log(2)], 'd/db a^b');
    base.dispose();
  });

  test("pow's gradients at every edge of base and exponent match C pow's derivatives (PyTorch's formulas)", async () => {
    // d/da = b·a^(b-1) (0 where b = 0), d/db = a^b·ln a (0 at a = 0, b >= 0), with powReal's edges.
    // 2^-100 with b = 1.5: a^b underflows float32 while a^(b-1) = 2^-50 does not.
    const as = [0, -0, 2, -2, 0.5, inf, -inf, 1, -1, 2 ** -100, nan];
    const bs = [0, 1, 2, 3, 0.5, -1, -2.5, 1.5, inf, -inf];
    const pairs = as.flatMap((x) => bs.map((y) => [x, y] as const));
    const a = pg.tensor(pairs.map(([x]) => x), { requiresGrad: true });
    const b = pg.tensor(pairs.map(([, y]) => y), { requiresGrad: true });
    a.pow(b).sum().backward();
    const [da, db] = [await values(a.grad!), await values(b.grad!)];
    pairs.forEach(([x, y], i) => {
      // Rounded to float32 (a^(b-1) = 2^100 at b = -1 overflows it).
      expectValues([da[i]!], [Math.fround(y === 0 ? 0 : y * powReal(x, y - 1))], `d/da pow(${x}, ${y})`);
      expectValues([db[i]!], [Math.fround(x === 0 && y >= 0 ? 0 : powReal(x, y) * Math.log(x))], `d/db pow(${x}, ${y})`);
    });
    a.dispose();
    b.dispose();
  });

  test("pow of a base that is never negative (abs, exp, square, sigmoid) takes the same values and gradients at every edge (or float64's, where the general rule overflows)", async () => {
    // The compiler gives such a base cheaper code (no sign or integer tests); mul(1) hides the
    // fact, so the second form takes the general path, which the C pow cases above check.
    const xs = [0, -0, 2, -2, 0.5, inf, -inf, 1, -1, 2 ** -100, nan, -30, 30];
    const bs = [0, 1, 2, 3, 0.5, -1, -2.5, 1.5, inf, -inf, nan];
    const pairs = xs.flatMap((x) => bs.map((y) => [x, y] as const));
    const bases: [string, (t: pg.Tensor) => pg.Tensor][] = [
      ['abs', (t) => t.abs()],
      ['exp', (t) => t.exp()],
      ['square', (t) => t.square()],
      ['sigmoid', (t) => t.sigmoid()],
    ];
    for (const [name, base] of bases) {
      const run = async (hide: boolean) => {
        const x = pg.tensor(pairs.map(([v]) => v), { requiresGrad: true });
        const b = pg.tensor(pairs.map(([, v]) => v), { requiresGrad: true });
        const a = hide ? base(x).mul(1) : base(x);
        const y = a.pow(b);
        // Backward before any read, so the gradients are compiled with the base still an
        // expression (not a stored value) and take the base's own forms.
        y.sum().backward();
        const out = Array.from(await y.data());
        const grads = [await values(x.grad!), await values(b.grad!)];
        pg.dispose([x, b, a, y]);
        return [out, ...grads];
      };
      const [fast, general] = [await run(false), await run(true)];
      ['value', 'd/dx', 'd/db'].forEach((what, k) => {
        pairs.forEach(([x, y], i) => {
          const [f, g] = [fast[k]![i]!, general[k]![i]!];
          // Of an exp's or a sigmoid's output, d/dx cancels a^(b-1) against the output's own
          // factor a (src/ops/elementwise.ts): b·a^b·(1 - a), as exact as the value a^b itself
          // (exp2 of a large b·log2 a is not), and finite where a^(b-1) alone overflows float32
          // (a tiny, b < -1) and the general rule gives inf.
          if (k === 1 && (name === 'exp' || name === 'sigmoid') && Number.isFinite(f) && Number.isFinite(fast[0]![i]!) && f !== 0) {
            const a = name === 'exp' ? Math.exp(x) : 1 / (1 + Math.exp(-x));
            const want = y * a ** y * (name === 'exp' ? 1 : 1 - a);
            const valueError = Math.abs(fast[0]![i]! - a ** y) / a ** y;
            expect(Math.abs(f - want) / Math.abs(want), `${what} ${name}(${x}).pow(${y}): ${f}, float64 ${want}`).toBeLessThanOrEqual(valueError + 1e-6);
            return;
          }
          expectValues([f], [g], `${what} ${name}(${x}).pow(${y})`);
        });
      });
    }
  });

  test('gradient conventions at kinks and poles', async () => {
    expectValues(await gradOf([0, 1, -1], (x) => x.relu()), [0, 1, 0], 'relu at 0');
    expectValues(await gradOf([0, 2, -2], (x) => x.abs()), [0, 1, -1], 'abs at 0');
    expectValues(await gradOf([-1, 1, 0, 2], (x) => x.clamp(-1, 1)), [1, 1, 1, 0], 'clamp at its ends');
    expectValues(await gradOf([0], (x) => x.log()), [inf], 'log at 0');
    expectValues(await gradOf([0], (x) => x.sqrt()), [inf], 'sqrt at 0');
    const other = pg.tensor([1, 1, 1]);
    expectValues(await gradOf([1, 2, nan], (x) => x.maximum(other)), [0.5, 1, 1], 'maximum: tie, above, NaN');
    expectValues(await gradOf([1, 2, nan], (x) => x.minimum(other)), [0.5, 0, 1], 'minimum: tie, above, NaN');
    other.dispose();
    expectValues(await gradOf([nan], (x) => x.relu()), [0], 'relu at NaN');
    expectValues(await gradOf([nan], (x) => x.abs()), [0], 'abs at NaN (sign(NaN) = 0)');
  });

  test('a chain of edge ops fuses without losing the edges', async () => {
    const x = pg.tensor([0, -1, 4]);
    // log(0) = -inf, then relu(-inf) = 0; sqrt(-1) = NaN survives maximum and clamp.
    expectValues(await values(x.log().relu()), [0, nan, Math.log(4)], 'relu(log x)');
    expectValues(await values(x.sqrt().maximum(0).clamp(0, 1)), [0, nan, 1], 'clamp(maximum(sqrt x, 0))');
    x.dispose();
  });
}
