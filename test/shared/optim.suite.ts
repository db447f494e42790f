/**
 * Optimizers against a float64 JS transcription of torch.optim's update rules (written here, not
 * taken from src/), on fixed gradient sequences and on a real loss; plus state, memory and errors.
 */
import { expect, test } from 'vitest';
import * as pg from '../../src/index.ts';
import { adamRule } from '../../src/optim/adam.ts';
import { type BackendKind, expectClose, tol, useBackend } from './backends.ts';

// ---------- PyTorch's rules, float64 ----------

interface SgdConfig {
  lr: number;
  momentum?: number;
  dampening?: number;
  weightDecay?: number;
  nesterov?: boolean;
}
interface AdamConfig {
  lr?: number;
  betas?: [number, number];
  eps?: number;
  weightDecay?: number;
  /** AdamW: decay the weights instead of adding L2 to the gradient. */
  decoupled?: boolean;
}

/** One parameter's update, as torch.optim.SGD (foreach=False) writes it. */
function torchSgd(c: SgdConfig) {
  const { lr, momentum = 0, dampening = 0, weightDecay = 0, nesterov = false } = c;
  let buf: number[] | null = null;
  return (p: number[], grad: readonly number[], lrNow = lr): void => {
    // torch adds the decay only when it is nonzero (0 · inf would be NaN).
    const d = weightDecay === 0 ? [...grad] : grad.map((g, i) => g + weightDecay * p[i]!);
    let step = d;
    if (momentum !== 0) {
      buf = buf === null ? [...d] : buf.map((b, i) => momentum * b + (1 - dampening) * d[i]!);
      const b = buf;
      step = nesterov ? d.map((x, i) => x + momentum * b[i]!) : b;
    }
    for (let i = 0; i < p.length; i++) p[i] = p[i]! - lrNow * step[i]!;
  };
}

/** One parameter's update, as torch.optim.Adam / AdamW (amsgrad=False) write it. */
function torchAdam(c: AdamConfig) {
  const { lr = 1e-3, betas = [0.9, 0.999], eps = 1e-8, decoupled = false } = c;
  const weightDecay = c.weightDecay ?? (decoupled ? 1e-2 : 0);
  const [b1, b2] = betas;
  let m: number[] | null = null;
  let v: number[] | null = null;
  let t = 0;
  return (p: number[], grad: readonly number[], lrNow = lr): void => {
    t++;
    m ??= grad.map(() => 0);
    v ??= grad.map(() => 0);
    if (decoupled) for (let i = 0; i < p.length; i++) p[i] = p[i]! * (1 - lrNow * weightDecay);
    const g = decoupled || weightDecay === 0 ? grad : grad.map((x, i) => x + weightDecay * p[i]!);
    const bc1 = 1 - b1 ** t;
    const bc2 = 1 - b2 ** t;
    for (let i = 0; i < p.length; i++) {
      m[i] = b1 * m[i]! + (1 - b1) * g[i]!;
      v[i] = b2 * v[i]! + (1 - b2) * g[i]! * g[i]!;
      const denom = Math.sqrt(v[i]!) / Math.sqrt(bc2) + eps;
      p[i] = p[i]! - (lrNow / bc1) * (m[i]! / denom);
    }
  };
}

type Update = (p: number[], grad: readonly number[], lr?: number) => void;

interface Case {
  name: string;
  make(params: pg.Tensor[]): pg.Optimizer;
  reference(): Update;
}

const CASES: Case[] = [
  { name: 'SGD', make: (ps) => new pg.SGD(ps, { lr: 0.1 }), reference: () => torchSgd({ lr: 0.1 }) },
  { name: 'SGD momentum', make: (ps) => new pg.SGD(ps, { lr: 0.1, momentum: 0.9 }), reference: () => torchSgd({ lr: 0.1, momentum: 0.9 }) },
  {
    name: 'SGD momentum + dampening + weight decay',
    make: (ps) => new pg.SGD(ps, { lr: 0.05, momentum: 0.8, dampening: 0.3, weightDecay: 0.01 }),
    reference: () => torchSgd({ lr: 0.05, momentum: 0.8, dampening: 0.3, weightDecay: 0.01 }),
  },
  {
    name: 'SGD nesterov + weight decay',
    make: (ps) => new pg.SGD(ps, { lr: 0.1, momentum: 0.9, nesterov: true, weightDecay: 0.05 }),
    reference: () => torchSgd({ lr: 0.1, momentum: 0.9, nesterov: true, weightDecay: 0.05 }),
  },
  { name: 'SGD weight decay, no momentum', make: (ps) => new pg.SGD(ps, { lr: 0.2, weightDecay: 0.1 }), reference: () => torchSgd({ lr: 0.2, weightDecay: 0.1 }) },
  { name: 'Adam defaults', make: (ps) => new pg.Adam(ps), reference: () => torchAdam({}) },
  { name: 'Adam lr 0.05', make: (ps) => new pg.Adam(ps, { lr: 0.05 }), reference: () => torchAdam({ lr: 0.05 }) },
  {
    name: 'Adam weight decay, betas, eps',
    make: (ps) => new pg.Adam(ps, { lr: 0.05, betas: [0.8, 0.99], eps: 1e-6, weightDecay: 0.1 }),
    reference: () => torchAdam({ lr: 0.05, betas: [0.8, 0.99], eps: 1e-6, weightDecay: 0.1 }),
  },
  {
    name: 'AdamW',
    make: (ps) => new pg.AdamW(ps, { lr: 0.05, weightDecay: 0.1 }),
    reference: () => torchAdam({ lr: 0.05, weightDecay: 0.1, decoupled: true }),
  },
];

// ---------- data ----------

/** Deterministic values in [-1, 1], rounded to float32 (what both backends upload). */
const values = (n: number, seed: number): number[] => Array.from({ length: n }, (_, i) => Math.fround(Math.sin(seed * 12.9898 + i * 78.233) * 0.9 + 0.05));

/** Gradients at least 0.1 away from zero, so Adam's m / sqrt(v) stays well conditioned in float32. */
const gradients = (n: number, seed: number): number[] => values(n, seed).map((x) => Math.fround(Math.sign(x || 1) * (0.1 + Math.abs(x))));

const SHAPES = [[2, 3], [5]];
const STEPS = 5;

/**
 * The CPU backend computes in float64 but data() returns float32, so it can only agree to one
 * float32 rounding (2^-24 relative). On WebGPU parameters stay near 1, so float32 keeps ~1e-7
 * absolute per operation; 5 steps stay far below 1e-5.
 */
const stepTol = (kind: BackendKind) => (kind === 'cpu' ? { rtol: 2 ** -23, atol: 1e-9 } : { rtol: 1e-5, atol: 1e-5 });
/** A real loss adds the forward and backward ops' float32 error on WebGPU. */
const lossTol = (kind: BackendKind) => (kind === 'cpu' ? stepTol('cpu') : tol('webgpu'));

export function optimSuite(kind: BackendKind): void {
  useBackend(kind);

  for (const c of CASES) {
    test(`${c.name}: ${STEPS} steps on fixed gradients match PyTorch's rule`, async () => {
      const init = SHAPES.map((s, k) => values(s.reduce((a, b) => a * b, 1), k + 1));
      const params = SHAPES.map((s, k) => pg.tensor(init[k]!, { shape: s, requiresGrad: true }));
      const opt = c.make(params);
      const refs = SHAPES.map(() => c.reference());
      const expected = init.map((x) => [...x]);
      for (let t = 0; t < STEPS; t++) {
        params.forEach((p, k) => {
          const g = gradients(p.size, 10 * t + k + 7);
          p.grad = pg.tensor(g, { shape: p.shape });
          refs[k]!(expected[k]!, g);
        });
        opt.step();
        opt.zeroGrad();
      }
      for (let k = 0; k < params.length; k++) {
        expectClose(await params[k]!.data(), expected[k]!, stepTol(kind).rtol, stepTol(kind).atol, `${c.name} param ${k}`);
        expect(opt.stateOf(params[k]!).step).toBe(STEPS);
      }
      opt.dispose();
      pg.dispose(params);
    });
  }

  test('without weight decay, an infinite or NaN parameter stays as it is and its neighbours update as torch (no 0 · inf in the gradient)', async () => {
    const init = [Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, Number.NaN, 0.5, -0.25];
    const g = [0.5, -0.5, 0.25, 0.75, -1];
    for (const c of CASES.filter((x) => !/decay|AdamW/.test(x.name))) {
      const param = pg.tensor(init, { requiresGrad: true });
      const opt = c.make([param]);
      const expected = [...init];
      const ref = c.reference();
      for (let t = 0; t < 2; t++) {
        param.grad = pg.tensor(g);
        ref(expected, g);
        opt.step();
        opt.zeroGrad();
      }
      const got = await param.data();
      expect([got[0], got[1]], c.name).toEqual([Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]);
      expect(Number.isNaN(got[2]), c.name).toBe(true);
      expectClose(got.slice(3), expected.slice(3), stepTol(kind).rtol, stepTol(kind).atol, c.name);
      opt.dispose();
      param.dispose();
    }
  });

  test('an update whose gradient reads other elements of the parameter (neighbours, a transpose) reads their old values', async () => {
    // Each thread of an in-place update writes its own element: a gradient read at a neighbour or
    // a mirrored index must not see another thread's new value.
    const n = 4096;
    const x0 = values(n, 6);
    const X = pg.tensor(x0, { requiresGrad: true });
    const m = 48;
    const m0 = values(m * m, 7);
    const M = pg.tensor(m0, { shape: [m, m], requiresGrad: true });
    const opt = new pg.SGD([X, M], { lr: 0.1 });
    const losses = pg.tidy(() => {
      // d(sum (x[i+1] − x[i])²)/dx[i] = 2(x[i] − x[i−1]) − 2(x[i+1] − x[i]); d(sum M ⊙ Mᵀ)/dM = 2Mᵀ.
      const a = X.slice([1]).sub(X.slice([0], [-1])).square().sum();
      const b = M.mul(M.transpose()).sum();
      a.backward();
      b.backward();
      opt.step();
      opt.zeroGrad();
      return [a, b];
    });
    const dx = (i: number) => (i > 0 ? 2 * (x0[i]! - x0[i - 1]!) : 0) - (i < n - 1 ? 2 * (x0[i + 1]! - x0[i]!) : 0);
    expectClose(await X.data(), x0.map((v, i) => v - 0.1 * dx(i)), 1e-5, 1e-6, 'X after a step');
    expectClose(await M.data(), m0.map((v, k) => v - 0.1 * 2 * m0[(k % m) * m + Math.floor(k / m)]!), 1e-5, 1e-6, 'M after a step');
    expectClose(await losses[0]!.data(), [x0.slice(1).reduce((s, v, i) => s + (v - x0[i]!) ** 2, 0)], 1e-4, 1e-6, 'loss');
    opt.dispose();
    pg.dispose([X, M, ...losses]);
  });

  for (const c of CASES.filter((x) => /momentum|nesterov|Adam lr|AdamW/.test(x.name))) {
    test(`${c.name}: ${STEPS} steps on a real loss (mean squared error) match PyTorch's rule`, async () => {
      // loss = mean((X * W - T)^2) over [8, 4], W [4] broadcast over rows; dL/dW_j = 2/32 sum_i (X_ij W_j - T_ij) X_ij.
      const rows = 8;
      const cols = 4;
      const x = values(rows * cols, 3);
      const target = values(rows * cols, 4).map((v) => Math.fround(v + 2));
      const w0 = values(cols, 5);
      const X = pg.tensor(x, { shape: [rows, cols] });
      const T = pg.tensor(target, { shape: [rows, cols] });
      const W = pg.tensor(w0, { shape: [cols], requiresGrad: true });
      const opt = c.make([W]);
      const ref = c.reference();
      const w = [...w0];
      const lossOf = (ww: readonly number[]) => x.reduce((s, xi, i) => s + (xi * ww[i % cols]! - target[i]!) ** 2, 0) / (rows * cols);
      const firstLoss = lossOf(w);
      for (let t = 0; t < STEPS; t++) {
        pg.tidy(() => {
          X.mul(W).sub(T).square().mean().backward();
          opt.step();
          opt.zeroGrad();
        });
        const g = w.map((wj, j) => {
          let s = 0;
          for (let i = 0; i < rows; i++) s += (2 / (rows * cols)) * (x[i * cols + j]! * wj - target[i * cols + j]!) * x[i * cols + j]!;
          return s;
        });
        ref(w, g);
      }
      const { rtol, atol } = lossTol(kind);
      expectClose(await W.data(), w, rtol, atol, `${c.name} W`);
      expect(lossOf(w)).toBeLessThan(firstLoss);
      opt.dispose();
      pg.dispose([X, T, W]);
    });
  }

  test('a parameter without a gradient is skipped and keeps its own step count (Adam bias correction)', async () => {
    const a = pg.tensor(values(3, 1), { requiresGrad: true });
    const b = pg.tensor(values(3, 2), { requiresGrad: true });
    const opt = new pg.Adam([a, b], { lr: 0.1 });
    const ra = torchAdam({ lr: 0.1 });
    const rb = torchAdam({ lr: 0.1 });
    const ea = values(3, 1);
    const eb = values(3, 2);
    for (let t = 0; t < 3; t++) {
      const ga = gradients(3, t + 20);
      a.grad = pg.tensor(ga);
      ra(ea, ga);
      if (t === 2) {
        const gb = gradients(3, t + 30);
        b.grad = pg.tensor(gb);
        rb(eb, gb);
      }
      opt.step();
      opt.zeroGrad();
    }
    expect(opt.stateOf(a).step).toBe(3);
    expect(opt.stateOf(b).step).toBe(1);
    const { rtol, atol } = stepTol(kind);
    expectClose(await a.data(), ea, rtol, atol, 'a');
    expectClose(await b.data(), eb, rtol, atol, 'b');
    opt.dispose();
    pg.dispose([a, b]);
  });

  test('lr is settable between steps (a schedule) and the state buffers hold PyTorch momentum', async () => {
    const p = pg.tensor(values(4, 9), { requiresGrad: true });
    const opt = new pg.SGD([p], { lr: 0.1, momentum: 0.5 });
    const ref = torchSgd({ lr: 0.1, momentum: 0.5 });
    const e = values(4, 9);
    let buf = [0, 0, 0, 0];
    for (let t = 0; t < 4; t++) {
      opt.lr = 0.1 * 0.5 ** t;
      expect(opt.lr).toBe(0.1 * 0.5 ** t);
      const g = gradients(4, t + 40);
      p.grad = pg.tensor(g);
      ref(e, g, opt.lr);
      buf = t === 0 ? g : buf.map((b, i) => 0.5 * b + g[i]!);
      opt.step();
      opt.zeroGrad();
    }
    const { rtol, atol } = stepTol(kind);
    expectClose(await p.data(), e, rtol, atol, 'p');
    expectClose(await opt.stateOf(p).buffers.momentum_buffer!.data(), buf, rtol, atol, 'momentum_buffer');
    opt.dispose();
    p.dispose();
  });

  test('zeroGrad disposes the gradients and sets them to null', () => {
    const p = pg.tensor([1, 2], { requiresGrad: true });
    const q = pg.tensor([3], { requiresGrad: true });
    const opt = new pg.SGD([p, q], { lr: 0.1 });
    p.mul(q).sum().backward();
    const g = p.grad!;
    expect(g).not.toBeNull();
    const live = pg.memory().liveTensors;
    opt.zeroGrad();
    expect(p.grad).toBeNull();
    expect(q.grad).toBeNull();
    expect(g.isDisposed).toBe(true);
    expect(pg.memory().liveTensors).toBe(live - 2);
    opt.zeroGrad();
    opt.dispose();
    pg.dispose([p, q]);
  });

  test('step allocates nothing; state survives tidy; dispose frees the state', async () => {
    const p = pg.tensor(values(6, 3), { shape: [2, 3], requiresGrad: true });
    const before = pg.memory();
    let opt!: pg.Adam;
    pg.tidy(() => {
      opt = new pg.Adam([p], { lr: 0.01 });
    });
    const made = pg.memory();
    expect(made.liveTensors).toBe(before.liveTensors + 2);
    p.grad = pg.tensor(gradients(6, 1), { shape: [2, 3] });
    // The first step also reads the zeroed state as it was made (one more small kernel): the steady state starts at the second.
    opt.step();
    opt.step();
    await p.data();
    const first = pg.memory();
    for (let t = 0; t < 3; t++) opt.step();
    await p.data();
    const after = pg.memory();
    expect(after.liveTensors).toBe(first.liveTensors);
    expect(after.bytesInUse).toBe(first.bytesInUse);
    expect(after.buffersCreated).toBe(first.buffersCreated);
    expect(after.pipelinesCreated).toBe(first.pipelinesCreated);
    expect(after.bindGroupsCreated).toBe(first.bindGroupsCreated);
    if (kind === 'webgpu') expect(after.dispatches - first.dispatches).toBe(3);
    opt.zeroGrad();
    opt.dispose();
    expect(opt.isDisposed).toBe(true);
    expect(pg.memory().liveTensors).toBe(before.liveTensors);
    expect(pg.memory().bytesInUse).toBeLessThan(after.bytesInUse);
    expect(() => opt.step()).toThrow(pg.DisposedTensorError);
    opt.dispose();
    p.dispose();
  });

  test('step on a disposed parameter throws DisposedTensorError and updates nothing', async () => {
    const a = pg.tensor([1, 2], { requiresGrad: true });
    const b = pg.tensor([3, 4], { requiresGrad: true });
    const opt = new pg.SGD([a, b], { lr: 1 });
    a.grad = pg.tensor([1, 1]);
    b.dispose();
    expect(() => opt.step()).toThrow(pg.DisposedTensorError);
    expect(() => opt.step()).toThrow(/was disposed/);
    expect(Array.from(await a.data())).toEqual([1, 2]);
    opt.dispose();
    a.dispose();
  });

  test('construction checks params and hyper-parameters', () => {
    const p = pg.tensor([1, 2], { requiresGrad: true });
    const plain = pg.tensor([1, 2]);
    const bad = (f: () => unknown, msg: RegExp) => expect(f).toThrow(msg);
    const E = pg.InvalidArgumentError;
    expect(() => new pg.SGD([], { lr: 0.1 })).toThrow(E);
    bad(() => new pg.SGD([], { lr: 0.1 }), /non-empty array/);
    bad(() => new pg.Adam(p as unknown as pg.Tensor[]), /non-empty array/);
    bad(() => new pg.SGD([p, 3 as unknown as pg.Tensor], { lr: 0.1 }), /params\[1\] is number/);
    expect(() => new pg.SGD([p, plain], { lr: 0.1 })).toThrow(E);
    bad(() => new pg.SGD([p, plain], { lr: 0.1 }), /params\[1\].*requiresGrad/);
    bad(() => new pg.Adam([p, p]), /params\[1\] is the same tensor as params\[0\]/);
    const computed = p.mul(2);
    bad(() => new pg.Adam([computed]), /params\[0\].*not a leaf/);
    expect(() => new pg.SGD([p], { lr: Number.NaN })).toThrow(E);
    bad(() => new pg.SGD([p], { lr: Number.NaN }), /SGD: lr must be a finite number >= 0, got NaN/);
    bad(() => new pg.SGD([p], {} as pg.SGDOptions), /lr is required/);
    bad(() => new pg.Adam([p], { lr: -1 }), /lr must be .* got -1/);
    bad(() => new pg.Adam([p], { lr: Number.POSITIVE_INFINITY }), /lr must be/);
    bad(() => new pg.SGD([p], { lr: 0.1, momentum: -0.5 }), /momentum/);
    bad(() => new pg.SGD([p], { lr: 0.1, momentum: Number.NaN }), /momentum/);
    bad(() => new pg.SGD([p], { lr: 0.1, nesterov: true }), /Nesterov/);
    bad(() => new pg.SGD([p], { lr: 0.1, momentum: 0.9, dampening: 0.1, nesterov: true }), /Nesterov/);
    bad(() => new pg.SGD([p], { lr: 0.1, weightDecay: -1 }), /weightDecay/);
    bad(() => new pg.Adam([p], { betas: [1, 0.999] }), /betas\[0\] must be a finite number in \[0, 1\)/);
    bad(() => new pg.Adam([p], { betas: [0.9, Number.NaN] }), /betas\[1\]/);
    bad(() => new pg.Adam([p], { betas: [0.9] as unknown as [number, number] }), /pair/);
    bad(() => new pg.Adam([p], { eps: -1e-8 }), /eps/);
    bad(() => new pg.AdamW([p], { weightDecay: Number.NaN }), /AdamW: weightDecay/);
    const opt = new pg.Adam([p]);
    expect(() => {
      opt.lr = Number.NaN;
    }).toThrow(/Adam: lr must be a finite number >= 0, got NaN/);
    expect(opt.lr).toBe(1e-3);
    bad(() => opt.stateOf(plain), /not one of this optimizer's parameters/);
    const gone = pg.tensor([1], { requiresGrad: true });
    gone.dispose();
    expect(() => new pg.SGD([gone], { lr: 0.1 })).toThrow(pg.DisposedTensorError);
    opt.dispose();
    pg.dispose([p, plain, computed]);
  });

  test('each optimizer exposes its fused rule with a float64 reference', () => {
    const p = pg.tensor([1], { requiresGrad: true });
    const sgd = new pg.SGD([p], { lr: 0.1 });
    const momentum = new pg.SGD([p], { lr: 0.1, momentum: 0.9 });
    const adam = new pg.Adam([p]);
    expect(sgd.rule.state).toEqual([]);
    expect(momentum.rule.state).toEqual(['momentum_buffer']);
    expect(adam.rule.state).toEqual(['exp_avg', 'exp_avg_sq']);
    for (const o of [sgd, momentum, adam]) {
      expect(o.rule.shader).toContain('fn rule_update(');
      expect(typeof o.rule.reference).toBe('function');
      o.dispose();
    }
    // One Adam step by hand through the rule's reference: from zero state the first step is -lr * sign(g).
    const param = new Float64Array([1, 2]);
    const m = new Float64Array(2);
    const v = new Float64Array(2);
    adamRule.reference(param, new Float64Array([0.5, -3]), [m, v], [0, 1, 0.1, 0.999, 0.001, 0.1 / 0.1, Math.sqrt(0.001), 0]);
    expectClose(param, [0.9, 2.1], 1e-12, 1e-12, 'adam reference');
    p.dispose();
  });
}
