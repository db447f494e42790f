import { describe, expect, test } from 'vitest';
import * as pg from '../../src/index.ts';
import { expectClose } from '../shared/backends.ts';
import { indexingSuite } from '../shared/indexing.suite.ts';

describe('argmax, cumsum, gather and scatter on WebGPU', () => indexingSuite('webgpu'));

// take, scan and scatter nodes (src/ir/expr.ts) through the schedule cache and the compiler's replays.
test('a compiled function of gathers, a long running sum and a long scatter-add replays like eager and the float64 backend', async () => {
  const f = (x: pg.Tensor, idx: pg.Tensor) => {
    const sums = x.exp().cumsum(0).mul(1e-3);
    const binned = pg.zeros([50, 3]).scatterAdd(0, idx, x.mul(2));
    return sums.takeAlongAxis(idx, 0).add(binned.takeAlongAxis(idx, 0)).sum(1);
  };
  const inputs = (s: number) => [pg.rand([5000, 3], { seed: s }), pg.rand([5000, 3], { seed: 10 + s, low: 0, high: 49.9 }).to('int32')] as const;
  await pg.init({ backend: 'cpu' });
  const want: Float32Array[] = [];
  for (let s = 0; s < 3; s++) {
    const [x, idx] = inputs(s);
    const y = f(x, idx);
    want.push(await y.data());
    pg.dispose([x, idx, y]);
  }
  await pg.init();
  const g = pg.compile(f);
  for (let s = 0; s < 3; s++) {
    const [x, idx] = inputs(s);
    const eager = pg.tidy(() => f(x, idx));
    const compiled = g(x, idx);
    expectClose(await eager.data(), want[s]!, 1e-4, 1e-4, `eager, call ${s}`);
    expectClose(await compiled.data(), want[s]!, 1e-4, 1e-4, `compiled, call ${s}`);
    pg.dispose([x, idx, eager, compiled]);
  }
  g.dispose();
});

test('a scatter-add of a tensor into itself, read transposed by a running sum, and its gradient match the float64 backend', async () => {
  const run = async () => {
    const x = pg.rand([40, 30], { seed: 5 });
    x.requiresGrad = true;
    const idx = pg.rand([40, 30], { seed: 6, low: 0, high: 39.9 }).to('int32');
    const y = x.scatterAdd(0, idx, x.mul(x)).transpose(0, 1).cumsum(1).mul(0.1).square().sum();
    y.backward();
    const out = [await y.data(), await x.grad!.data()];
    pg.dispose([x, idx, y]);
    return out;
  };
  await pg.init({ backend: 'cpu' });
  const want = await run();
  await pg.init();
  const got = await run();
  expectClose(got[0]!, want[0]!, 1e-4, 1e-4, 'value');
  expectClose(got[1]!, want[1]!, 1e-3, 1e-3, 'gradient');
  expect(got[1]!.length).toBe(1200);
});
