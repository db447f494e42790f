/**
 * The scheduler's corpus (src/gpu/schedule.ts): programs written from plain ops, each with the
 * number of kernels it must compile to, and its values checked against the float64 backend.
 */
import { expect, test } from 'vitest';
import * as pg from '../../src/index.ts';
import { expectClose } from '../shared/backends.ts';

type Inputs = Record<string, pg.Tensor>;

interface Program {
  readonly name: string;
  /** Kernels the whole program (forward, and backward where it has one) compiles to. */
  readonly kernels: number;
  readonly inputs: Record<string, { shape: number[]; grad?: boolean }>;
  /** The tensors to read; gradients are read from the inputs marked `grad`. */
  run(x: Inputs): pg.Tensor[];
}

/** The tone step (bench/src/tone.ts) over an image of `shape` [..., 3], forward and backward: a walk and its finishing pass. */
const toneStep = (shape: number[], name: string): Program => ({
  name,
  kernels: 2,
  inputs: { x: { shape }, T: { shape }, a: { shape: [3], grad: true }, b: { shape: [3], grad: true }, g: { shape: [3], grad: true } },
  run: ({ x, T, a, b, g }) => {
    const d = x!.mul(a!).add(b!).sigmoid().pow(g!).sub(T!);
    const loss = d.abs().mean().add(d.square().mean().mul(0.01));
    loss.backward();
    return [loss];
  },
});

/** `Y.matmul(c).sub(T)` over `rows` rows (Y [rows, 4], c [4, 1]), its mean square and c's gradient: a walk of 35 statements a row. */
const shortWalk = (rows: number, name: string): Program => ({
  name,
  kernels: 2,
  inputs: { Y: { shape: [rows, 4] }, c: { shape: [4, 1], grad: true }, T: { shape: [rows, 1] } },
  run: ({ Y, c, T }) => {
    const d = Y!.matmul(c!).sub(T!);
    const loss = d.mul(d).mean();
    loss.backward();
    return [loss];
  },
});

const programs: Program[] = [
  {
    name: 'a broadcasting chain',
    kernels: 1,
    inputs: { a: { shape: [64, 1] }, b: { shape: [1, 48] } },
    run: ({ a, b }) => [a!.add(b!).mul(2).exp()],
  },
  {
    name: 'views (permute, slice) read by elementwise ops',
    kernels: 1,
    inputs: { x: { shape: [32, 48] } },
    run: ({ x }) => [x!.permute([1, 0]).slice([2, 0], [40, 32]).mul(3).add(1)],
  },
  {
    name: 'a short reduction with its producer and consumer',
    kernels: 1,
    inputs: { x: { shape: [300, 7] } },
    run: ({ x }) => [x!.mul(x!).sum(1).sqrt()],
  },
  {
    name: 'a long reduction (partial sums and a finishing pass)',
    kernels: 2,
    inputs: { x: { shape: [100000] } },
    run: ({ x }) => [x!.abs().mean()],
  },
  {
    name: 'a thin matmul as a fused reduction',
    kernels: 1,
    inputs: { a: { shape: [500, 8] }, b: { shape: [8, 3] } },
    run: ({ a, b }) => [a!.matmul(b!).sub(0.5)],
  },
  {
    // 8192 rows of 3 outputs: a thread per row, its 8 weights loaded once for the three channels.
    name: 'a thin matmul over many rows computes each row (its three outputs) in one thread',
    kernels: 1,
    inputs: { a: { shape: [8192, 8] }, b: { shape: [8, 3] } },
    run: ({ a, b }) => [a!.matmul(b!).sub(0.5)],
  },
  {
    // Rule 2: the sigmoid of an 18-element palette, read at each of 2048 pixels, is computed once
    // (its own small kernel) rather than 2048 times inside the mix.
    name: 'a small map spread over many elements by a broadcast is stored once',
    kernels: 2,
    inputs: { w: { shape: [2048, 6] }, q: { shape: [6, 3] } },
    run: ({ w, q }) => [w!.unsqueeze(-1).mul(q!.sigmoid()).sum(1)],
  },
  {
    name: 'softmax over short rows (row max and row sum stored once, in one small kernel)',
    kernels: 2,
    inputs: { x: { shape: [500, 8] } },
    run: ({ x }) => [x!.softmax(-1)],
  },
  {
    // A row-local reduction: the softmax's max and sum are computed in the mix's row, four rows a
    // thread, not stored by kernels of their own (they were: 3 kernels).
    name: "a per-pixel softmax mix computes each row's softmax in its own thread: 1 kernel",
    kernels: 1,
    inputs: { L: { shape: [8192, 8] }, P: { shape: [8, 3] } },
    run: ({ L, P }) => [L!.softmax(-1).matmul(P!)],
  },
  {
    // The softmax's row max and sum are also read by a [rows, 8] elementwise kernel, which would
    // compute them once per element: stored (two kernels), and the mix and the product read them.
    name: 'row reductions that a wider kernel reads too are stored once',
    kernels: 4,
    inputs: { L: { shape: [8192, 8] }, P: { shape: [8, 3] } },
    run: ({ L, P }) => {
      const w = L!.softmax(-1);
      return [w.matmul(P!), w.mul(2)];
    },
  },
  {
    name: 'the README example, forward and backward',
    kernels: 1,
    inputs: { c1: { shape: [1], grad: true }, c2: { shape: [1], grad: true } },
    run: ({ c1, c2 }) => {
      const loss = c1!.mul(0.6).add(c2!.mul(0.4)).sub(0.5).pow(2);
      loss.backward();
      return [loss];
    },
  },
  {
    name: "the palette step from plain ops with Adam's first step (zeroing its state, a walk over the pixels, a tail)",
    kernels: 4,
    inputs: { L: { shape: [5000, 6] }, P: { shape: [6, 3] }, T: { shape: [5000, 3] } },
    run: ({ L, P, T }) => {
      L!.requiresGrad = true;
      P!.requiresGrad = true;
      const opt = new pg.Adam([L!, P!], { lr: 0.01 });
      const d = L!.softmax(-1).matmul(P!).sub(T!);
      const loss = d.mul(d).mean();
      loss.backward();
      opt.step();
      opt.zeroGrad();
      opt.dispose();
      // The parameters after the step are read too.
      return [loss, L!, P!];
    },
  },
  toneStep([4096, 3], 'a tone curve over pixels [N, 3]: its loss and its per-channel gradients in one walk'),
  toneStep([64, 64, 3], 'the same over an [H, W, 3] image, as pg.fromImage gives it: the gradients summed over rows and columns are one sum over the H·W pixels, and the loss joins their walk'),
  shortWalk(8000, 'a short walk body computes four rows an iteration: Y @ c − T over rows of 4 and of 1, forward and backward'),
  shortWalk(8002, 'the same with a row count that is not a multiple of 4 (one row an iteration)'),
  {
    name: "the demo's objective from plain ops (error, sparsity, smoothness) with Adam: each image-wide mean is summed by many threads, none by one, and the softmax's weights and their incoming gradient are stored once, not recomputed at each neighbour",
    // (The sparsity's mean over the [256, 256] pixels is summed in the walk over their 65,536 rows.)
    kernels: 12,
    inputs: { l: { shape: [256, 256, 6] }, q: { shape: [6, 3] }, photo: { shape: [256, 256, 3] } },
    run: ({ l, q, photo }) => {
      l!.requiresGrad = true;
      q!.requiresGrad = true;
      const opt = new pg.Adam([q!, l!], { lr: 0.05 });
      const w2 = l!.reshape([-1, 6]).softmax(-1);
      const w = w2.reshape([256, 256, 6]);
      const error = w2.matmul(q!.sigmoid()).sub(photo!.reshape([-1, 3])).square().mean();
      const sparsity = w.sub(w.square()).sum(-1).mean();
      const across = w.slice([0, 1, 0]).sub(w.slice([0, 0, 0], [256, 255, 6])).square().mean();
      const down = w.slice([1, 0, 0]).sub(w.slice([0, 0, 0], [255, 256, 6])).square().mean();
      const loss = error.add(sparsity.mul(0.001)).add(across.add(down).mul(0.01));
      loss.backward();
      opt.step();
      opt.dispose();
      return [loss, q!];
    },
  },
  {
    name: 'the layers step from plain ops, forward and backward',
    kernels: 2,
    inputs: { c: { shape: [4], grad: true }, Y: { shape: [4, 2000, 3] }, T: { shape: [2000, 3] } },
    run: ({ c, Y, T }) => {
      const d = c!.reshape([4, 1, 1]).mul(Y!).sum(0).sub(T!);
      const loss = d.mul(d).mean();
      loss.backward();
      return [loss];
    },
  },
  {
    name: "a slice difference's gradient: the slices' gradients are pads read in place, no copy",
    kernels: 1,
    inputs: { x: { shape: [60, 20, 3], grad: true } },
    run: ({ x }) => {
      const down = x!.slice([1]).sub(x!.slice([0], [-1])).abs().sum();
      const across = x!.slice([0, 1]).sub(x!.slice([0, 0], [60, -1])).square().sum();
      down.add(across).backward();
      return [];
    },
  },
  {
    // A total-variation loss over a 128 × 128 image: its three sums (the error over the image, the
    // differences of its rows and of its columns) in one pass over the image, each shifted slice
    // read where it lies inside, then one finishing kernel (4 before: a walk over the image's
    // rows with a loop in each, a pass for the down term and two tails).
    name: "total variation's three sums in one pass over the image",
    kernels: 2,
    inputs: { x: { shape: [128, 128, 3] }, y: { shape: [128, 128, 3] } },
    run: ({ x, y }) => {
      const data = x!.sub(y!).square().mean();
      const down = x!.slice([1]).sub(x!.slice([0], [-1])).abs().mean();
      const across = x!.slice([0, 1]).sub(x!.slice([0, 0], [128, -1])).abs().mean();
      return [data.add(down.add(across).mul(0.1))];
    },
  },
  {
    // The same loss with Adam's first step, read at the step: the three sums in one pass over the
    // image with Adam's state zeroed, the loss's finishing pass, then the gradient and the update
    // (which reads neighbours of what it overwrites, so it writes a twin of the image that the
    // image then takes over). Later steps, their state already there, are the update in the sums'
    // pass and the finishing pass: 2 (test/gpu/neighbour-reads.test.ts). (4 before: the gradient
    // was stored for an update pass of its own, and the loss terms' weight times the backward
    // seed, a constant, had a kernel of its own.)
    name: "total variation's sums, gradient and double-buffered update, Adam's first step",
    kernels: 3,
    inputs: { x: { shape: [128, 128, 3] }, y: { shape: [128, 128, 3] } },
    run: ({ x, y }) => {
      x!.requiresGrad = true;
      const opt = new pg.Adam([x!], { lr: 0.01 });
      const data = x!.sub(y!).square().mean();
      const down = x!.slice([1]).sub(x!.slice([0], [-1])).abs().mean();
      const across = x!.slice([0, 1]).sub(x!.slice([0, 0], [128, -1])).abs().mean();
      const loss = data.add(down.add(across).mul(0.1));
      loss.backward();
      opt.step();
      opt.zeroGrad();
      opt.dispose();
      return [loss, x!];
    },
  },
  {
    // The image a step shows is a row of the walk that computes the loss and the gradients: its
    // partial sums share one buffer, which leaves the image a binding of the same kernel.
    name: "a tone curve's Adam step that keeps its output image",
    kernels: 4,
    inputs: { x: { shape: [8192, 3] }, t: { shape: [8192, 3] }, a: { shape: [3] }, b: { shape: [3] }, g: { shape: [3] } },
    run: ({ x, t, a, b, g }) => {
      for (const p of [a!, b!, g!]) p.requiresGrad = true;
      const opt = new pg.Adam([a!, b!, g!], { lr: 0.05 });
      const out = x!.mul(a!).add(b!).sigmoid().pow(g!);
      const d = out.sub(t!);
      const loss = d.abs().mean().add(d.square().mean().mul(0.01));
      loss.backward();
      opt.step();
      opt.zeroGrad();
      opt.dispose();
      return [loss, out, a!, b!, g!];
    },
  },
  {
    // A map read at many elements (the gradient reaching a softmax: its neighbours' smoothness
    // terms) that both the softmax's row sum and the update read is stored once, not computed in each.
    name: "a gradient that reads many values and that two kernels read is stored once",
    kernels: 5,
    inputs: { l: { shape: [64, 64, 4], grad: true } },
    run: ({ l }) => {
      const w = l!.softmax(-1);
      const across = w.slice([0, 1, 0]).sub(w.slice([0, 0, 0], [64, 63, 4])).square().mean();
      const down = w.slice([1, 0, 0]).sub(w.slice([0, 0, 0], [63, 64, 4])).square().mean();
      across.add(down).backward();
      return [];
    },
  },
  {
    // A take node: the index computed inline, the table read where it points, the scaling fused.
    name: 'a lookup table read at indices computed from an image, then scaled',
    kernels: 1,
    inputs: { lut: { shape: [256, 3] }, x: { shape: [4096, 3] } },
    run: ({ lut, x }) => [lut!.takeAlongAxis(x!.mul(127).add(128).to('int32'), 0).mul(2).sub(1)],
  },
  {
    // A short index axis: a one-hot sum over it, with its producers and consumer.
    name: 'a scatter-add along a short axis with its operands and consumer',
    kernels: 1,
    inputs: { t: { shape: [6, 5] }, x: { shape: [3, 5] } },
    run: ({ t, x }) => [t!.scatterAdd(0, x!.abs().mul(5.9).to('int32'), x!.mul(2)).exp()],
  },
  {
    // The loss's partial sums; its finish and the table's zeros in one tail; the atomic scatter
    // (4096 rows into 256, a long index axis) computing each index and gradient inline.
    name: "a lookup table's gradient",
    kernels: 3,
    inputs: { lut: { shape: [256, 3], grad: true }, x: { shape: [4096, 3] } },
    run: ({ lut, x }) => {
      const loss = lut!.takeAlongAxis(x!.mul(127).add(128).to('int32'), 0).sub(x!).square().mean();
      loss.backward();
      return [loss];
    },
  },
  {
    // A scan node: its operand computed inline in the chunk passes, its reader a kernel after.
    name: 'a running sum of an elementwise chain, read by another',
    kernels: 2,
    inputs: { x: { shape: [40, 50] } },
    run: ({ x }) => [x!.mul(2).exp().cumsum(0).sqrt()],
  },
  {
    // 300,000 elements in chunks of 64 (4688 chunks, then 74, then 2): a totals pass and a final
    // pass per level and one pass over the 2: 7 kernels; the gradient, a reversed scan, as many;
    // the loss's partial sums and their finish.
    name: 'a running sum four levels deep, and its gradient',
    kernels: 16,
    inputs: { x: { shape: [300000], grad: true } },
    run: ({ x }) => {
      const loss = x!.abs().cumsum(0).mul(1e-5).square().sum();
      loss.backward();
      return [loss];
    },
  },
  {
    // The demo's palette seeding in small: the mean is walked, and the zeros queued last are a row
    // of that walk, so every reduction after the mean is older than the walk's newest member. They
    // run after the walk in creation order (the max before the sum that reads it), not in the
    // order the scheduler stored them.
    name: 'reductions that depend on a walk and are older than its newest row keep their order',
    kernels: 8,
    inputs: { x: { shape: [4096, 3] } },
    run: ({ x }) => {
      const d = x!.sub(x!.mean(0, true)).square().sum(1);
      const w = d.sub(d.max()).exp();
      return [w.div(w.sum()), pg.zeros([4096, 2])];
    },
  },
];

function makeInputs(p: Program, seed: number): Inputs {
  return Object.fromEntries(
    Object.entries(p.inputs).map(([name, { shape, grad }], i) => {
      const t = pg.rand(shape, { seed: seed + i, low: -1, high: 1 });
      t.requiresGrad = grad === true;
      return [name, t];
    }),
  );
}

/** The values a program reads: its results, then its inputs' gradients. */
async function evaluate(p: Program, seed: number): Promise<{ values: Float32Array[]; dispatches: number }> {
  const x = makeInputs(p, seed);
  await Promise.all(Object.values(x).map((t) => t.data()));
  const before = pg.memory().dispatches;
  const outs = pg.tidy(() => p.run(x));
  const grads = Object.entries(p.inputs).flatMap(([name, { grad }]) => (grad ? [x[name]!.grad!] : []));
  const values = await Promise.all([...outs, ...grads].map((t) => t.data()));
  const dispatches = pg.memory().dispatches - before;
  pg.dispose([outs, x]);
  return { values, dispatches };
}

test('each program of the corpus compiles to its number of kernels and matches the float64 backend', async () => {
  await pg.init({ backend: 'cpu' });
  const want: Float32Array[][] = [];
  for (const [i, p] of programs.entries()) want.push((await evaluate(p, 100 * i)).values);
  await pg.init();
  for (const [i, p] of programs.entries()) {
    // The first run compiles pipelines; the count is the same either way.
    const got = await evaluate(p, 100 * i);
    for (const [j, v] of got.values.entries()) expectClose(v, want[i]![j]!, 2e-4, 2e-5, `${p.name}, value ${j}`);
    expect(got.dispatches, p.name).toBe(p.kernels);
  }
});

test("a total-variation step's loss sums ride in the pass that writes the image's gradient", async () => {
  await pg.init();
  const x = pg.rand([96, 128, 3], { seed: 7 });
  x.requiresGrad = true;
  const y = pg.rand([96, 128, 3], { seed: 8 });
  const opt = new pg.Adam([x], { lr: 0.01 });
  const p = await pg.profile(async () => {
    const loss = pg.tidy(() => {
      const down = x.slice([1]).sub(x.slice([0], [-1])).abs().mean();
      const across = x.slice([0, 1]).sub(x.slice([0, 0], [96, -1])).abs().mean();
      const l = x.sub(y).square().mean().add(down.add(across).mul(0.1));
      l.backward();
      opt.step();
      opt.zeroGrad();
      return l;
    });
    await loss.data();
    loss.dispose();
  });
  // One pass both sums the three terms and writes the gradient (its name: the sums, then the
  // stores); no kernel of its own writes the gradient.
  const names = p.kernels.map((k) => k.name);
  expect(names.filter((n) => n.startsWith('sums(') && n.includes(')+')), names.join(' | ')).toHaveLength(1);
  expect(names.filter((n) => n.startsWith('sums(') && !n.includes(')+')), names.join(' | ')).toHaveLength(0);
  opt.dispose();
  pg.dispose([x, y]);
});

test('a reduction that reads a held value of its own size runs after the kernel that stores it', async () => {
  await pg.init();
  // Found by the fuzzer: x.neg() held, then its mean over a size-1 axis read the buffer before the neg wrote it.
  const x = pg.tensor([-0.25, 0.5]);
  const y = x.slice([0], [1]).neg();
  const m = y.mean(0, true);
  expect(Array.from(await m.data())).toEqual([0.25]);
  expect(Array.from(await y.data())).toEqual([0.25]);
  pg.dispose([x, y, m]);
});

test('a steady palette step from plain ops with Adam is a walk over the pixels and a tail: 2 kernels', async () => {
  await pg.init();
  const L = pg.rand([5000, 6], { seed: 1 });
  const P = pg.rand([6, 3], { seed: 2 });
  const T = pg.rand([5000, 3], { seed: 3 });
  L.requiresGrad = true;
  P.requiresGrad = true;
  const opt = new pg.Adam([L, P], { lr: 0.01 });
  const step = () =>
    pg.tidy(() => {
      const d = L.softmax(-1).matmul(P).sub(T);
      const loss = d.mul(d).mean();
      loss.backward();
      opt.step();
      opt.zeroGrad();
      return loss;
    });
  const first = step();
  const l0 = (await first.data())[0]!;
  first.dispose();
  const before = pg.memory().dispatches;
  const second = step();
  const l1 = (await second.data())[0]!;
  expect(pg.memory().dispatches - before).toBe(2);
  expect(l1).toBeLessThan(l0);
  // The same structure again: its schedule is replayed with the new storages and Adam's new bias
  // corrections, not rebuilt, and the step still descends.
  const built = pg.memory().schedulesBuilt;
  const third = step();
  const l2 = (await third.data())[0]!;
  expect(pg.memory().schedulesBuilt - built).toBe(0);
  expect(l2).toBeLessThan(l1);
  pg.dispose([second, third, opt, L, P, T]);
});

test('a replayed schedule reads the new inputs and the new constants, and a new structure builds its own', async () => {
  await pg.init();
  const run = async (x: pg.Tensor, s: number) => {
    const y = x.mul(s).add(s).sum(1);
    const v = await y.data();
    y.dispose();
    return [...v];
  };
  const a = pg.tensor([1, 2, 3, 4, 5, 6], { shape: [2, 3] });
  const b = pg.tensor([6, 5, 4, 3, 2, 1], { shape: [2, 3] });
  await run(a, 1);
  const built = pg.memory().schedulesBuilt;
  expect(await run(b, 2)).toEqual([36, 18]);
  expect(await run(a, 3)).toEqual([27, 54]);
  expect(pg.memory().schedulesBuilt - built).toBe(0);
  // Another shape is another structure.
  const c = pg.tensor([1, 2, 3, 4], { shape: [2, 2] });
  expect(await run(c, 1)).toEqual([5, 9]);
  expect(pg.memory().schedulesBuilt - built).toBe(1);
  pg.dispose([a, b, c]);
});
