/**
 * Gradients of gradients: backward({ createGraph: true }) and pg.grad inside pg.grad. Every
 * registry op's tensor-op gradient rule (src/autograd/vjp-rules.ts) is checked against the op's
 * float64 reference gradient, and its derivative (a Hessian-vector product) against central
 * differences of that reference gradient.
 */
import { describe, expect, test } from 'vitest';
import * as pg from '../../src/index.ts';
import { vjpRules } from '../../src/autograd/vjp-rules.ts';
import { registeredOps } from '../../src/ops/all.ts';
import type { OpDef } from '../../src/ops/op.ts';
import { sizeOf } from '../../src/shape.ts';
import { apply } from '../../src/tensor.ts';
import { type BackendKind, expectClose, tol, useBackend } from './backends.ts';
import { casesFor, type OpCase, randomGrad, randomInput } from './registry-cases.ts';

const maxAbs = (a: ArrayLike<number>) => Array.from(a).reduce((m, v) => Math.max(m, Math.abs(v)), 0);

/** Inputs whose values a gradient test may move: not an index, not where's condition. */
const perturbable = (op: OpDef<unknown>, i: number) => !op.domain?.(i)?.integer && !(op.name === 'where' && i === 0);

/** The float64 reference gradient of sum(op(inputs) · w) with respect to every input. */
function referenceGrads(op: OpDef<unknown>, c: OpCase, inputs: Float64Array[], w: Float64Array): (Float64Array | null)[] {
  const args = { shapes: c.shapes, attrs: c.attrs, outShape: c.outShape };
  const output = op.reference(inputs, args);
  return op.referenceBackward({ ...args, inputs, output, grad: w, needs: c.shapes.map(() => true) });
}

async function checkSecondOrder(kind: BackendKind, op: OpDef<unknown>, c: OpCase, seed: number): Promise<void> {
  const what = `${op.name} ${JSON.stringify(c.shapes)} ${JSON.stringify(c.attrs)}`;
  const inputs = c.shapes.map((s, i) => randomInput(op, i, sizeOf(s), seed + i));
  const w = randomGrad(sizeOf(c.outShape), seed);
  const v = c.shapes.map((s, i) => (perturbable(op, i) ? randomGrad(sizeOf(s), seed + 101 * (i + 1)) : new Float64Array(sizeOf(s))));
  const ts = c.shapes.map((s, i) => pg.tensor(Float32Array.from(inputs[i]!), { shape: s, requiresGrad: perturbable(op, i) }));
  const wt = pg.tensor(Float32Array.from(w), { shape: c.outShape });
  const out = apply(op, ts, c.attrs);
  // An int32 or bool result (a mask) records nothing: its reference gradient is 0, and so no rule runs.
  if (!out.requiresGrad) {
    expect(out.dtype, what).not.toBe('float32');
    for (const g of referenceGrads(op, c, inputs, w)) if (g) expect(g.every((x) => x === 0), what).toBe(true);
    pg.dispose([out, wt, ts]);
    return;
  }
  out.backward(wt, { createGraph: true });

  // First order through the rules: the op's reference gradient.
  const first = referenceGrads(op, c, inputs, w);
  const { rtol, atol } = tol(kind);
  const firstGrads = ts.map((t) => t.grad);
  for (let i = 0; i < ts.length; i++) {
    if (!perturbable(op, i)) continue;
    const got = firstGrads[i] ? await firstGrads[i]!.data() : new Float32Array(sizeOf(c.shapes[i]!));
    expectClose(got, first[i]!, rtol, atol * Math.max(1, maxAbs(first[i]!)) * 4, `${what}: first-order gradient of input ${i}`);
  }

  // Second order: d/dx of Σ_i sum(grad_i · v_i) is H·v, against central differences of the reference gradient.
  const vt = v.map((vi, i) => pg.tensor(Float32Array.from(vi), { shape: c.shapes[i]! }));
  const terms = firstGrads.map((g, i) => (g?.requiresGrad ? g.mul(vt[i]!).sum() : null)).filter((t): t is pg.Tensor => t !== null);
  for (const t of ts) t.zeroGrad();
  if (terms.length) {
    const h = terms.reduce((a, b) => a.add(b));
    h.backward();
    h.dispose();
  }
  const eps = 1e-3;
  const at = (s: number) => referenceGrads(op, c, inputs.map((x, i) => x.map((xv, j) => xv + s * eps * v[i]![j]!)), w);
  const [plus, minus] = [at(1), at(-1)];
  const h2 = kind === 'cpu' ? { rtol: 1e-4, atol: 1e-5 } : { rtol: 2e-2, atol: 2e-3 };
  for (let i = 0; i < ts.length; i++) {
    if (!perturbable(op, i)) continue;
    const expected = plus[i]!.map((p, j) => (p - minus[i]![j]!) / (2 * eps));
    const got = ts[i]!.grad ? await ts[i]!.grad!.data() : new Float32Array(expected.length);
    expectClose(got, expected, h2.rtol, h2.atol * Math.max(1, maxAbs(expected)), `${what}: second-order (Hessian-vector) of input ${i}`);
  }
  pg.dispose([out, ts, wt, vt, terms]);
}

export function higherOrderSuite(kind: BackendKind): void {
  useBackend(kind);

  test('d²/dx² of x³ at 2 is 12 through pg.grad of pg.grad, and the third derivative is 6', async () => {
    const d1 = (x: pg.Tensor) => pg.grad((y: pg.Tensor) => y.pow(3).sum())(x)[0].sum();
    const d2 = (x: pg.Tensor) => pg.grad(d1)(x)[0].sum();
    const [g2] = pg.grad(d1)(pg.tensor([2]));
    expect(await g2.item()).toBeCloseTo(12, 4);
    const [g3] = pg.grad(d2)(pg.tensor([2]));
    expect(await g3.item()).toBeCloseTo(6, 4);
    pg.dispose([g2, g3]);
  });

  test('pg.compile of a second derivative replays it', async () => {
    const d2 = pg.compile(pg.grad((x: pg.Tensor) => pg.tidy(() => pg.grad((y: pg.Tensor) => y.pow(3).sum())(x)[0].sum())));
    for (const v of [2, -1, 0.5]) {
      const [g] = d2(pg.tensor([v, 2 * v]));
      expectClose(await g.data(), [6 * v, 12 * v], 1e-5, 1e-5);
      g.dispose();
    }
    d2.dispose();
  });

  test('backward({ createGraph: true }) makes .grad differentiable (PyTorch create_graph)', async () => {
    const x = pg.tensor([2, -1], { requiresGrad: true });
    x.pow(3).sum().backward({ createGraph: true });
    const dx = x.grad!;
    expect(dx.requiresGrad).toBe(true);
    expectClose(await dx.data(), [12, 3], 1e-5, 1e-6);
    x.zeroGrad();
    expect(dx.isDisposed).toBe(true); // zeroGrad disposes .grad, which the graph no longer needs as a tensor
    const x2 = pg.tensor([2, -1], { requiresGrad: true });
    x2.pow(3).sum().backward({ createGraph: true });
    const g = x2.grad!;
    x2.grad = null;
    g.sum().backward();
    expectClose(await x2.grad!.data(), [12, -6], 1e-5, 1e-6);
    pg.dispose([x, x2, g]);
  });

  test('createGraph through x.add(x): a rule that gives both inputs one tensor (found by the fuzzer, seed 20)', async () => {
    // x1 = x + x, x2 = x1 + x: d(x2·w)/dx = 3w. The add rule hands g to both of x1's inputs, one
    // node; adding the first into x's gradient disposed the tensor the second still needed.
    const x = pg.tensor(0.4, { requiresGrad: true });
    const w = pg.tensor(0.75);
    x.add(x).add(x).mul(w).sum().backward({ createGraph: true });
    expectClose(await x.grad!.data(), [2.25], 1e-6, 1e-7);
    const g = x.grad!;
    x.grad = null;
    g.mul(x).backward();
    // d(3w·x)/dx = 3w again.
    expectClose(await x.grad!.data(), [2.25], 1e-6, 1e-7);
    pg.dispose([x, w, g]);
  });

  test('a gradient penalty: the gradient of |∇f|² reaches the input and a weight the inner function closes over', async () => {
    // f(x) = sum(w · x²), ∇f = 2wx, |∇f|² = Σ 4w²x²: d/dx = 8w²x, d/dw = 8wx².
    const w = pg.tensor([0.5, -2]);
    const x = pg.tensor([3, 0.25]);
    const penalty = (xx: pg.Tensor, ww: pg.Tensor) => {
      const [g] = pg.grad((y: pg.Tensor) => ww.mul(y.square()).sum())(xx);
      return g.square().sum();
    };
    const { value, grads } = pg.valueAndGrad(penalty)(x, w);
    expect(await value.item()).toBeCloseTo(4 * 0.25 * 9 + 4 * 4 * 0.0625, 4);
    expectClose(await grads[0].data(), [8 * 0.25 * 3, 8 * 4 * 0.25], 1e-5, 1e-5);
    expectClose(await grads[1].data(), [8 * 0.5 * 9, 8 * -2 * 0.0625], 1e-5, 1e-5);
    // The same, PyTorch style.
    const xl = pg.tensor([3, 0.25], { requiresGrad: true });
    const wl = pg.tensor([0.5, -2], { requiresGrad: true });
    wl.mul(xl.square()).sum().backward({ createGraph: true });
    const gx = xl.grad!;
    xl.grad = null;
    wl.zeroGrad();
    const p = gx.square().sum();
    p.backward();
    expectClose(await xl.grad!.data(), [8 * 0.25 * 3, 8 * 4 * 0.25], 1e-5, 1e-5);
    expectClose(await wl.grad!.data(), [8 * 0.5 * 9, 8 * -2 * 0.0625], 1e-5, 1e-5);
    pg.dispose([w, x, value, grads, xl, wl, gx, p]);
  });

  test('an argument passed twice gets a gradient each; a constant function gives zeros; no tensor is left behind', async () => {
    const before = pg.memory().liveTensors;
    const f = (a: pg.Tensor, b: pg.Tensor) => a.mul(b).sum();
    const outer = pg.grad((x: pg.Tensor) =>
      pg.tidy(() => {
        const [ga, gb] = pg.grad(f)(x, x);
        return ga.add(gb.mul(2)).sum();
      }),
    );
    const x = pg.tensor([1.5, -2]);
    const [g] = outer(x);
    // ga = b = x, gb = a = x, so ga + 2 gb = 3x and its gradient is 3.
    expectClose(await g.data(), [3, 3], 1e-6, 1e-6);
    const [z] = pg.grad((y: pg.Tensor) => pg.tidy(() => pg.grad((_u: pg.Tensor) => pg.tensor([1]).sum())(y)[0].sum()))(x);
    expectClose(await z.data(), [0, 0], 0, 0);
    pg.dispose([g, z, x]);
    expect(pg.memory().liveTensors).toBe(before);
  });

  test('conv2d, maxPool2d and colorMixLoss gradients are differentiable', async () => {
    // A gradient penalty through a convolution: f = sum(conv(x, k)²), |∇x f|² differentiated in k.
    const x = pg.rand([1, 5, 4, 2], { seed: 3 });
    const k = pg.rand([3, 3, 2, 2], { seed: 4 });
    const [gk] = pg.grad((kk: pg.Tensor) =>
      pg.tidy(() => {
        const [gx] = pg.grad((xx: pg.Tensor) => pg.conv2d(xx, kk, { padding: 'same' }).square().sum())(x);
        return gx.square().sum();
      }),
    )(k);
    // Against central differences of the same penalty computed with first-order gradients.
    const penalty = async (kv: Float32Array) => {
      const kk = pg.tensor(kv, { shape: [3, 3, 2, 2] });
      const [gx] = pg.grad((xx: pg.Tensor) => pg.conv2d(xx, kk, { padding: 'same' }).square().sum())(x);
      const p = gx.square().sum();
      const v = await p.item();
      pg.dispose([kk, gx, p]);
      return v;
    };
    const kv = await k.data();
    const got = await gk.data();
    const eps = 1e-2;
    for (const i of [0, 7, 20, 35]) {
      const [up, down] = [Float32Array.from(kv), Float32Array.from(kv)];
      up[i]! += eps;
      down[i]! -= eps;
      const fd = ((await penalty(up)) - (await penalty(down))) / (2 * eps);
      expect(Math.abs(got[i]! - fd)).toBeLessThan(2e-2 * Math.max(1, Math.abs(fd)));
    }
    // colorMixLoss is plain ops: its gradient in the palette is differentiable again. The loss is
    // quadratic in the palette, so its Hessian there is (2/n) Σ_p w[p, k] w[p, j] per channel.
    const w = pg.rand([6, 3], { seed: 5 });
    const pal = pg.rand([3, 2], { seed: 6 });
    const t = pg.rand([6, 2], { seed: 7 });
    const [h] = pg.grad((pp: pg.Tensor) =>
      pg.tidy(() => {
        const [gp] = pg.grad((q: pg.Tensor) => pg.colorMixLoss(w, q, t))(pp);
        return gp.sum();
      }),
    )(pal);
    const wv = await w.data();
    const want = [0, 1, 2].flatMap((j) => {
      let s = 0;
      for (let p = 0; p < 6; p++) for (let k = 0; k < 3; k++) s += wv[p * 3 + k]! * wv[p * 3 + j]!;
      return [(2 / 12) * s, (2 / 12) * s];
    });
    expectClose(await h.data(), want, 1e-4, 1e-6, 'd/dP sum(d colorMixLoss/dP)');
    pg.dispose([x, k, gk, w, pal, t, h]);
  });

  test('every registered op has a rule or a reason', () => {
    const names = registeredOps().map((op) => op.name);
    expect(Object.keys(vjpRules()).sort()).toEqual([...names].sort());
  });

  const ops = registeredOps().filter((op) => typeof vjpRules()[op.name] === 'function');
  describe.each(ops.map((op) => [op.name, op] as const))('%s', (_name, op) => {
    test('its rule matches the reference gradient, and the rule\'s own gradient matches differences of it', async () => {
      const cases = [...casesFor(op, 6), ...casesFor(op, 1)];
      expect(cases.length).toBeGreaterThan(0);
      for (const [i, c] of cases.entries()) await checkSecondOrder(kind, op, c, 7717 + 31 * i);
    });
  });
}
