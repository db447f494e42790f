/**
 * Every public entry point checks its arguments: a typed error at the call that names the function
 * and the argument (never a raw TypeError or RangeError), and the engine keeps working after it.
 */
import { expect, test } from 'vitest';
import * as pg from '../../src/index.ts';
import { type BackendKind, useBackend } from './backends.ts';

type ErrorClass = new (...a: never[]) => Error;

/** Runs `bad`, expects the error class and message parts, then checks the engine still computes and its counters are sane. */
async function rejects(bad: () => unknown, cls: ErrorClass, ...parts: (string | RegExp)[]): Promise<void> {
  let caught: unknown;
  const started = performance.now();
  try {
    await bad();
  } catch (e) {
    caught = e;
  }
  expect(caught, 'expected an error').toBeInstanceOf(cls);
  expect(caught).toBeInstanceOf(pg.PixelgradError);
  for (const p of parts) expect((caught as Error).message).toMatch(p);
  // At the call: nothing of the bad size was built first.
  expect(performance.now() - started).toBeLessThan(2000);
  const ok = pg.tensor([1, 2]).add(pg.tensor([3, 4]));
  expect(Array.from(await ok.data())).toEqual([4, 6]);
  ok.dispose();
  const m = pg.memory();
  expect(Number.isFinite(m.bytesInUse) && Number.isFinite(m.bytesPooled) && Number.isFinite(m.liveTensors)).toBe(true);
}

const IAE = pg.InvalidArgumentError;
const noProto = () => Object.create(null) as never;

export function argumentsSuite(kind: BackendKind): void {
  useBackend(kind);

  test('null, non-object and array options', async () => {
    await rejects(() => pg.tensor([1], null as never), IAE, 'tensor', 'options', 'null');
    await rejects(() => pg.zeros([1], 5 as never), IAE, 'zeros', 'options');
    await rejects(() => pg.rand([1], [] as never), IAE, 'rand', 'options');
    await rejects(() => pg.init(null as never), IAE, 'init', 'options');
    await rejects(() => pg.init({ gpu: {} as never }), IAE, 'init', 'gpu');
    await rejects(() => pg.init({ backend: Symbol('x') as never }), IAE, 'init', 'Symbol(x)');
    const w = pg.ones([2, 3]);
    const p = pg.ones([3, 2]);
    await rejects(() => pg.colorMix(w, p, null as never), IAE, 'colorMix', 'options');
    await rejects(() => pg.colorMix(w, p, { softmax: 'yes' as never }), IAE, 'colorMix', 'softmax');
    await rejects(() => pg.colorMixLoss(w, p, pg.ones([2, 2]), null as never), IAE, 'colorMixLoss');
    const x = pg.tensor([1], { requiresGrad: true });
    const loss = x.mul(2).sum();
    await rejects(() => loss.backward(null as never), IAE, 'backward', 'null');
    await rejects(() => loss.backward({ retainGraph: 'yes' as never }), IAE, 'backward', 'retainGraph');
    pg.dispose([w, p, x, loss]);
  });

  test('a number gradient for backward is refused (PyTorch needs a tensor too)', async () => {
    const x = pg.tensor([3], { requiresGrad: true });
    const loss = x.mul(2).sum();
    await rejects(() => loss.backward(2 as never), IAE, 'backward', 'gradient', 'pg.full');
    loss.backward();
    expect(Array.from(await x.grad!.data())).toEqual([2]);
    pg.dispose([x, loss]);
  });

  test('wrong types for flags, axes and functions', async () => {
    const t = pg.tensor([1, 2]);
    await rejects(() => {
      t.requiresGrad = 'false' as never;
    }, IAE, 'requiresGrad', '"false"');
    expect(t.requiresGrad).toBe(false);
    const x = pg.ones([2, 3]);
    await rejects(() => x.sum(true as never), IAE, 'sum', 'axes', 'true');
    await rejects(() => x.sum(new Map() as never), IAE, 'sum', 'Map');
    await rejects(() => x.sum(0, 'yes' as never), IAE, 'sum', 'keepDims');
    await rejects(() => x.sum([0, noProto()]), IAE, 'sum', 'no prototype');
    await rejects(() => x.max(1.5), IAE, 'max', 'axis 1.5');
    await rejects(() => x.squeeze({} as never), IAE, 'squeeze', 'axes');
    await rejects(() => x.softmax(Symbol('s') as never), IAE, 'softmax', 'Symbol(s)');
    await rejects(() => x.reshape(noProto()), IAE, 'reshape', 'no prototype');
    await rejects(() => x.reshape([Symbol('d') as never, 3]), pg.ShapeError, 'reshape', 'Symbol(d)');
    await rejects(() => x.permute([0, noProto()]), IAE, 'permute', 'perm[1]');
    await rejects(() => x.expand([2, 1n as never]), IAE, 'expand', 'bigint');
    await rejects(() => x.slice([0, noProto()]), IAE, 'slice', 'begin[1]');
    await rejects(() => x.clamp(Symbol('lo') as never, 1), IAE, 'clamp', 'Symbol(lo)');
    await rejects(() => x.add('1' as never), IAE, 'add');
    await rejects(() => pg.tidy(undefined as never), IAE, 'tidy', 'function');
    await rejects(() => pg.noGrad(null as never), IAE, 'noGrad', 'function');
    await rejects(() => pg.grad(5 as never), IAE, 'grad', 'function');
    await rejects(() => pg.zerosLike(undefined as never), IAE, 'zerosLike', 'Tensor');
    await rejects(() => pg.onesLike(noProto()), IAE, 'onesLike', 'no prototype');
    await rejects(() => pg.cat(new Array(2)), IAE, 'cat', 'element 0');
    await rejects(() => pg.cat(noProto()), IAE, 'cat', 'no prototype');
    await rejects(() => pg.stack([x, undefined as never]), IAE, 'stack', 'element 1');
    await rejects(() => pg.manualSeed(Symbol() as never), IAE, 'manualSeed');
    await rejects(() => pg.mulberry32(1n as never), IAE, 'mulberry32', 'bigint');
    await rejects(() => pg.tensor(noProto()), IAE, 'tensor', 'no prototype');
    await rejects(() => pg.tensor([1, 2n as never]), IAE, 'tensor', 'element at [1]', 'bigint');
    await rejects(() => pg.tensor(new Array(2)), IAE, 'tensor', 'element at [0]', 'undefined');
    await rejects(() => new pg.SGD([x], noProto()), IAE, 'SGD');
    await rejects(() => new pg.Adam(noProto() as never), IAE, 'Adam');
    await rejects(() => new pg.Adam([noProto()]), IAE, 'Adam', 'params[0]');
    pg.dispose([t, x]);
  });

  test('dimensions: non-integer, NaN, negative, bigint, huge', async () => {
    await rejects(() => pg.zeros([2, Number.NaN]), pg.ShapeError, 'zeros', 'NaN');
    await rejects(() => pg.ones([1n as never]), pg.ShapeError, 'ones', 'bigint');
    await rejects(() => pg.rand([-1]), pg.ShapeError, 'rand', '-1');
    await rejects(() => pg.randn([Number.POSITIVE_INFINITY]), pg.ShapeError, 'randn', 'Infinity');
    await rejects(() => pg.zeros(new Array(2)), pg.ShapeError, 'zeros', 'undefined');
    await rejects(() => pg.rand([1e6, 1e6]), pg.LimitError, 'rand', '[1000000, 1000000]');
    await rejects(() => pg.randn([2 ** 29]), pg.LimitError, 'randn');
    await rejects(() => pg.arange(0, 1e10), pg.LimitError, 'arange');
    await rejects(() => pg.arange(2 ** 29), pg.LimitError, 'arange');
    await rejects(() => pg.arange(0, 1e300, 1e-300), pg.LimitError, 'arange');
    await rejects(() => pg.zeros([1e6, 1e6]), pg.LimitError, 'zeros');
    const one = pg.ones([1, 1]);
    await rejects(() => one.expand([1e5, 1e5]), pg.LimitError, 'expand');
    await rejects(() => pg.full([2], 'a' as never), IAE, 'full', 'value', '"a"');
    one.dispose();
  });

  test('random options: types, finiteness and consistent ranges', async () => {
    await rejects(() => pg.rand([2], { low: 'a' as never }), IAE, 'rand', 'low', '"a"');
    await rejects(() => pg.rand([2], { low: 1n as never }), IAE, 'rand', 'low', 'bigint');
    await rejects(() => pg.rand([2], { low: 5, high: 1 }), IAE, 'rand', 'low', 'high');
    await rejects(() => pg.rand({ low: 5, high: 1 } as never), IAE, 'rand', 'shape');
    await rejects(() => pg.rand([2], { high: Number.POSITIVE_INFINITY }), IAE, 'rand', 'high');
    await rejects(() => pg.randn([2], { std: -1 }), IAE, 'randn', 'std', '-1');
    await rejects(() => pg.randn([2], { mean: Number.NaN }), IAE, 'randn', 'mean');
    await rejects(() => pg.randn([2], { seed: 1.5 }), IAE, 'randn', 'seed');
    await rejects(() => pg.rand([2], { requiresGrad: 1 as never }), IAE, 'rand', 'requiresGrad');
    await rejects(() => pg.arange(0, Symbol() as never), IAE, 'arange');
    // A range of one value is allowed (low = high), as torch.rand's uniform_(a, a).
    const same = pg.rand([3], { low: 2, high: 2 });
    expect(Array.from(await same.data())).toEqual([2, 2, 2]);
    same.dispose();
  });

  test('a 0-d tensor takes axis 0 and -1, as PyTorch', async () => {
    const s = pg.tensor(5, { requiresGrad: true });
    const read = async (t: pg.Tensor) => {
      expect(t.shape).toEqual([]);
      const v = await t.item();
      t.dispose();
      return v;
    };
    expect(await read(s.sum(0))).toBe(5);
    expect(await read(s.sum(-1))).toBe(5);
    expect(await read(s.sum([0], true))).toBe(5);
    expect(await read(s.max(0))).toBe(5);
    expect(await read(s.mean(-1))).toBe(5);
    expect(await read(s.softmax())).toBe(1);
    expect(await read(s.logSoftmax(0))).toBe(0);
    expect(await read(s.transpose(0, 0))).toBe(5);
    expect(await read(s.squeeze(0))).toBe(5);
    const u = s.unsqueeze(-1);
    expect(u.shape).toEqual([1]);
    u.dispose();
    await rejects(() => s.sum(1), IAE, 'sum', 'axis 1', 'rank 0');
    await rejects(() => s.softmax(-2), IAE, 'softmax', 'axis -2');
    const loss = s.softmax().mul(s).sum(0);
    loss.backward();
    expect(await s.grad!.item()).toBe(1);
    pg.dispose([s, loss]);
    expect(Number.isNaN(pg.memory().bytesInUse)).toBe(false);
  });

  test('null axes mean all axes (as dim=None)', async () => {
    const x = pg.tensor([[1, 2], [3, 4]]);
    const s = x.sum(null);
    expect(await s.item()).toBe(10);
    const m = x.mean(null);
    expect(await m.item()).toBe(2.5);
    pg.dispose([x, s, m]);
  });

  test('pg.grad inside pg.grad differentiates the inner gradient (never a silent 0)', async () => {
    const inner = pg.grad((x: pg.Tensor) => x.mul(x).sum());
    const outer = pg.grad((x: pg.Tensor) => inner(x)[0]!.sum());
    const [h] = outer(pg.tensor([3]));
    expect(await h!.item()).toBe(2);
    const { grads } = pg.valueAndGrad((x: pg.Tensor) => pg.valueAndGrad((y: pg.Tensor) => y.square().sum())(x).value)(pg.tensor([1.5]));
    expect(await grads[0]!.item()).toBe(3);
    pg.dispose([h, grads]);
    // Used one after the other, both still work.
    const [g] = inner(pg.tensor([3]));
    expect(await g!.item()).toBe(6);
    g!.dispose();
  });
}
