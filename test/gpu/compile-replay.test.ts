/**
 * What only a replaying backend shows: a replay records the trace's kernels and creates nothing,
 * the guards that keep a replay from reading freed memory or repeating what it cannot, and the
 * buffers a compiled function holds until dispose().
 */
import { beforeAll, expect, test } from 'vitest';
import * as pg from '../../src/index.ts';
import { expectClose, expectError } from '../shared/backends.ts';

beforeAll(async () => {
  await pg.init();
});

const seedLoss = (c1: pg.Tensor, c2: pg.Tensor) => c1.mul(0.6).add(c2.mul(0.4)).sub(0.5).pow(2);

test('a replay records the kernels the trace recorded and creates no buffer, bind group or pipeline', async () => {
  const { w, p, t, opt } = trainable(21);
  const step = pg.compile(() => {
    const loss = pg.colorMixLoss(w, p, t, { softmax: true });
    loss.backward();
    opt.step();
    opt.zeroGrad();
    return loss;
  });
  pg.flush();
  let m = pg.memory();
  step().dispose();
  const traced = pg.memory().dispatches - m.dispatches;
  for (let i = 0; i < 4; i++) {
    m = pg.memory();
    const loss = step();
    const after = pg.memory();
    expect(after.dispatches - m.dispatches, `dispatches at call ${i + 2}`).toBe(traced);
    expect(after.buffersCreated - m.buffersCreated).toBe(0);
    // The first replay writes the loss straight into a result buffer, binding it once.
    expect(after.bindGroupsCreated - m.bindGroupsCreated).toBe(i === 0 ? 1 : 0);
    expect(after.pipelinesCreated - m.pipelinesCreated).toBe(0);
    await loss.data();
    loss.dispose();
  }
  // The loss, both gradients and both updates of 32 pixels (too few for a walk): five kernels.
  expect(traced).toBe(5);
  step.dispose();
  pg.dispose([w, p, t]);
  opt.dispose();
});

test('the README example compiled is one kernel a call, and reads both gradients with one map', async () => {
  const grads = pg.compile(pg.grad(seedLoss));
  const device = (pg.backend() as unknown as { device: GPUDevice }).device;
  const maps = countMaps(device);
  for (let i = 0; i < 3; i++) {
    const c1 = pg.tensor([0.2]);
    const c2 = pg.tensor([0.7]);
    const before = pg.memory().dispatches;
    const [g1, g2] = grads(c1, c2);
    expect(pg.memory().dispatches - before).toBe(1);
    maps.count = 0;
    const [a, b] = await Promise.all([g1!.data(), g2!.data()]);
    expect(maps.count).toBe(1);
    expect(a[0]).toBeCloseTo(-0.12, 6);
    expect(b[0]).toBeCloseTo(-0.08, 6);
    pg.dispose([c1, c2, g1, g2]);
  }
  maps.restore();
  grads.dispose();
});

test('reads started together share staging space, and each gets its own values back', async () => {
  // 1 + 1500 + 3 + 700 floats: more than one group's 4 KB, so the reads span several maps.
  const sizes = [1, 1500, 3, 700, 2];
  const tensors = pg.tidy(() => sizes.map((n, k) => pg.arange(n).add(k * 10000)));
  const got = await Promise.all(tensors.map((x) => x.data()));
  got.forEach((values, k) => {
    expectClose(values, Array.from({ length: sizes[k]! }, (_, i) => i + k * 10000), 0, 0, `read ${k}`);
  });
  pg.dispose(tensors);
});

test('a tensor fn closed over and that was disposed since the trace stops the next call, with nothing changed', async () => {
  const { w, p, t, opt, fitStep } = trainable(22);
  const step = pg.compile(fitStep);
  step().dispose();
  const pBefore = await p.data();
  t.dispose();
  expectError(() => step(), pg.CompileError, `tensor ${t.id}`, 'shape [32, 3]', 'disposed');
  expect(opt.stateOf(p).step).toBe(1);
  expectClose(await p.data(), pBefore, 0, 0, 'palette after the refused call');
  step.dispose();
  pg.dispose([w, p]);
  opt.dispose();
});

test('an optimizer disposed since the trace stops the next call', async () => {
  const { w, p, t, opt, fitStep } = trainable(23);
  const step = pg.compile(fitStep);
  step().dispose();
  opt.dispose();
  expectError(() => step(), pg.DisposedTensorError, 'Adam.step', 'disposed');
  step.dispose();
  pg.dispose([w, p, t]);
});

test('backward() that leaves .grad set is refused at the trace: the next call would add into it', async () => {
  const { w, p, t, opt, loss } = trainable(24);
  const step = pg.compile(() => {
    const l = loss();
    l.backward();
    opt.step();
    return l;
  });
  expectError(() => step(), pg.CompileError, 'backward()', 'left it set', 'zeroGrad');
  // Cleared first, the same step compiles.
  const ok = pg.compile(() => {
    opt.zeroGrad();
    const l = loss();
    l.backward();
    opt.step();
    return l;
  });
  const a = ok();
  const b = ok();
  expect((await b.data())[0]).toBeLessThan((await a.data())[0]!);
  pg.dispose([a, b, w, p, t]);
  ok.dispose();
  step.dispose();
  opt.dispose();
});

test('reading, uploading an image or calling a compiled function inside a trace is refused, and the engine stays usable', async () => {
  const x = pg.tensor([1, 2, 3]);
  const bytes = pg.memory().bytesInUse;
  const reads = pg.compile((a: pg.Tensor) => {
    const y = a.add(1);
    // Not awaited (fn is synchronous): the trace still reports it.
    y.data().catch(() => undefined);
    return y;
  });
  expectError(() => reads(x), pg.CompileError, 'data()', 'return the tensor');
  const inner = pg.compile((a: pg.Tensor) => a.mul(2));
  const outer = pg.compile((a: pg.Tensor) => inner(a).add(1));
  expectError(() => outer(x), pg.CompileError, 'another compiled function');
  expect(pg.memory().bytesInUse).toBe(bytes);
  const y = inner(x);
  expectClose(await y.data(), [2, 4, 6], 0, 0, 'a compiled call after the refusals');
  pg.dispose([x, y]);
  inner.dispose();
});

test('numbers fn computes in JavaScript are fixed at the trace, as in jax.jit; arguments are not', async () => {
  let k = 2;
  const f = pg.compile((a: pg.Tensor) => a.mul(k));
  const x = pg.tensor([1, 2]);
  const y1 = f(x);
  k = 3;
  const y2 = f(x);
  expectClose(await y2.data(), await y1.data(), 0, 0, 'second call');
  expectClose(await y2.data(), [2, 4], 0, 0, 'second call');
  pg.dispose([x, y1, y2]);
  f.dispose();
});

test('a compiled function holds its buffers until dispose(); a failed trace holds none', async () => {
  pg.releasePooled();
  const base = pg.memory().bytesInUse;
  const live = pg.memory().liveTensors;
  const x = pg.rand([1000]);
  const f = pg.compile((a: pg.Tensor) => a.exp().sum());
  const y = f(x);
  await y.data();
  y.dispose();
  expect(pg.memory().bytesInUse).toBeGreaterThan(base + 4000);
  f.dispose();
  x.dispose();
  expect(pg.memory().bytesInUse).toBe(base);
  const bad = pg.compile((a: pg.Tensor) => {
    a.exp();
    throw new Error('user bug');
  });
  const z = pg.rand([1000]);
  expect(() => bad(z)).toThrow('user bug');
  z.dispose();
  expect(pg.memory().bytesInUse).toBe(base);
  expect(pg.memory().liveTensors).toBe(live);
});

/**
 * Weights, a palette, a target and Adam over the first two; `loss()` is their squared error and
 * `fitStep()` a step as the README writes it (loss, backward, step, zeroGrad), returning the loss.
 */
function trainable(seed: number) {
  pg.manualSeed(seed);
  const w = pg.randn([32, 4], { requiresGrad: true });
  const p = pg.rand([4, 3], { requiresGrad: true });
  const t = pg.rand([32, 3]);
  const opt = new pg.Adam([w, p], { lr: 0.05 });
  const loss = () => w.matmul(p).sub(t).square().mean();
  const fitStep = () => {
    const l = loss();
    l.backward();
    opt.step();
    opt.zeroGrad();
    return l;
  };
  return { w, p, t, opt, loss, fitStep };
}

/** Counts mapAsync calls on every buffer of `device` (wraps the prototype's method). */
function countMaps(device: GPUDevice) {
  const proto = Object.getPrototypeOf(device.createBuffer({ size: 4, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST })) as GPUBuffer;
  const original = proto.mapAsync;
  const state = {
    count: 0,
    restore: () => {
      proto.mapAsync = original;
    },
  };
  proto.mapAsync = function (this: GPUBuffer, ...args: Parameters<GPUBuffer['mapAsync']>) {
    state.count++;
    return original.apply(this, args);
  };
  return state;
}

test('a weight returned as it is comes back with its values at each call, and its disposal stops the next call', async () => {
  const { w, p, t, opt, fitStep } = trainable(25);
  const step = pg.compile(() => [fitStep(), p]);
  for (let i = 0; i < 2; i++) {
    const [loss, pNow] = step();
    expectClose(await pNow!.data(), await p.data(), 0, 0, `palette returned at call ${i}`);
    pg.dispose([loss, pNow]);
  }
  p.dispose();
  expectError(() => step(), pg.CompileError, `tensor ${p.id}`, 'disposed');
  step.dispose();
  pg.dispose([w, t]);
  opt.dispose();
});

test('an update compiled without its backward() is refused: the gradient it read was made outside fn', async () => {
  const { w, p, t, opt, loss } = trainable(26);
  pg.tidy(() => loss().backward());
  const update = pg.compile(() => {
    opt.step();
    opt.zeroGrad();
  });
  expectError(() => update(), pg.CompileError, 'disposed it', 'backward() inside fn');
  update.dispose();
  pg.dispose([w, p, t]);
  opt.dispose();
});

test('a .grad fn returns stays alive, and a gradient still held elsewhere stops the next call', async () => {
  const { w, p, t, opt, loss } = trainable(27);
  const grad = pg.compile(() => {
    opt.zeroGrad();
    loss().backward();
    return w.grad!;
  });
  const g1 = grad();
  expect(w.grad!.isDisposed).toBe(false);
  expectClose(await g1.data(), await w.grad!.data(), 0, 0, 'returned gradient');
  const snapshot = w.grad!.detach();
  expectError(() => grad(), pg.CompileError, `tensor ${w.id}`, 'still held elsewhere');
  snapshot.dispose();
  const g2 = grad();
  expectClose(await g2.data(), await g1.data(), 0, 0, 'same weights, same gradient');
  pg.dispose([g1, g2, w, p, t]);
  grad.dispose();
  opt.dispose();
});

test('a gradient set outside between calls is cleared as fn clears it; an unrolled fn refreshes every update', async () => {
  const { w, p, t } = trainable(28);
  const w2 = pg.tensor(await w.data(), { shape: w.shape, requiresGrad: true });
  const p2 = pg.tensor(await p.data(), { shape: p.shape, requiresGrad: true });
  const opt = new pg.SGD([w, p], { lr: 0.2 });
  const opt2 = new pg.SGD([w2, p2], { lr: 0.2 });
  const body = (W: pg.Tensor, P: pg.Tensor, o: pg.Optimizer) => {
    for (let k = 0; k < 2; k++) {
      o.zeroGrad();
      W.matmul(P).sub(t).square().mean().backward();
      o.step();
    }
    o.zeroGrad();
  };
  const twoSteps = pg.compile(() => body(w, p, opt));
  for (let i = 0; i < 3; i++) {
    opt.lr = opt2.lr = 0.2 / (i + 1);
    // A stray backward() outside: fn's zeroGrad() drops it, replayed or not.
    pg.tidy(() => w.sum().backward());
    pg.tidy(() => w2.sum().backward());
    twoSteps();
    pg.tidy(() => body(w2, p2, opt2));
    expect(w.grad).toBeNull();
    expectClose(await w.data(), await w2.data(), 1e-6, 1e-6, `weights after call ${i}`);
  }
  twoSteps.dispose();
  pg.dispose([w, p, t, w2, p2]);
  opt.dispose();
  opt2.dispose();
});

test('arguments bound without a copy and results written in place stay apart: the same tensor twice, an identity, a weight as argument', async () => {
  const twice = pg.compile((a: pg.Tensor, b: pg.Tensor) => a.mul(b));
  const same = pg.compile((a: pg.Tensor) => a);
  for (const v of [2, 3]) {
    const x = pg.tensor([v, -v]);
    const y = twice(x, x);
    const z = same(x);
    expectClose(await y.data(), [v * v, v * v], 0, 0, `x·x at ${v}`);
    expectClose(await z.data(), [v, -v], 0, 0, `identity at ${v}`);
    pg.dispose([x, y, z]);
  }
  const { w, p, t, opt } = trainable(29);
  const w2 = pg.tensor(await w.data(), { shape: w.shape, requiresGrad: true });
  const p2 = pg.tensor(await p.data(), { shape: p.shape, requiresGrad: true });
  const opt2 = new pg.Adam([w2, p2], { lr: 0.05 });
  // The weights passed as the argument are also what the step updates in place.
  // (Read before the update: a compiled function's arguments are its values at the call.)
  const body = (W: pg.Tensor, P: pg.Tensor, o: pg.Optimizer, arg: pg.Tensor) => {
    const seen = arg.mul(1);
    const loss = W.matmul(P).sub(t).square().mean().add(arg.sum().mul(0));
    loss.backward();
    o.step();
    o.zeroGrad();
    return [loss, seen];
  };
  const step = pg.compile((arg: pg.Tensor) => body(w, p, opt, arg));
  for (let i = 0; i < 3; i++) {
    const [l1, a1] = step(w);
    const [l2, a2] = pg.tidy(() => body(w2, p2, opt2, w2));
    expectClose(await l1!.data(), await l2!.data(), 1e-6, 1e-7, `loss at ${i}`);
    expectClose(await a1!.data(), await a2!.data(), 1e-6, 1e-7, `argument seen at ${i}`);
    pg.dispose([l1, a1, l2, a2]);
  }
  pg.dispose([w, p, t, w2, p2]);
  opt.dispose();
  opt2.dispose();
  step.dispose();
  twice.dispose();
  same.dispose();
});

test('an argument that fn’s zeroGrad() disposes is still read whole: its buffer does not become the result', async () => {
  const { w, p, t, opt, loss } = trainable(30);
  const step = pg.compile((g: pg.Tensor) => {
    opt.zeroGrad();
    loss().backward();
    opt.step();
    return g.mul(2);
  });
  w.grad = pg.full(w.shape, 1);
  const r1 = step(w.grad);
  expectClose(await r1.data(), new Array(w.size).fill(2), 0, 0, 'traced call');
  for (const v of [3, 5]) {
    w.grad?.dispose();
    w.grad = pg.full(w.shape, v);
    const r = step(w.grad);
    expectClose(await r.data(), new Array(w.size).fill(2 * v), 0, 0, `replay with ${v}`);
    r.dispose();
  }
  expect(pg.memory().uncapturedErrors).toBe(0);
  pg.dispose([r1, w, p, t]);
  step.dispose();
  opt.dispose();
});
