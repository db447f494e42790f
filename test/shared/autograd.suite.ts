/** Autograd semantics, the same on both backends. */
import { expect, test } from 'vitest';
import * as pg from '../../src/index.ts';
import { type BackendKind, expectClose, useBackend } from './backends.ts';

export function autogradSuite(kind: BackendKind): void {
  useBackend(kind);
  const close = (a: ArrayLike<number>, e: ArrayLike<number>, what?: string) => expectClose(a, e, 1e-5, 1e-6, what);

  test('the two-ingredient example gives -0.12 and -0.08 to 1e-6', async () => {
    const c1 = pg.tensor([0.2], { requiresGrad: true });
    const c2 = pg.tensor([0.7], { requiresGrad: true });
    const mixed = c1.mul(0.6).add(c2.mul(0.4));
    const loss = mixed.sub(0.5).pow(2);
    loss.backward();
    expect(Math.abs((await c1.grad!.data())[0]! - -0.12)).toBeLessThan(1e-6);
    expect(Math.abs((await c2.grad!.data())[0]! - -0.08)).toBeLessThan(1e-6);
    expect(Math.abs((await loss.item()) - 0.01)).toBeLessThan(1e-7);
    pg.dispose([c1, c2, mixed, loss]);
  });

  test('gradients accumulate over two backward calls, and zeroGrad clears them', async () => {
    const x = pg.tensor([1, 2, 3], { requiresGrad: true });
    for (let i = 0; i < 2; i++) x.square().sum().backward();
    close(await x.grad!.data(), [4, 8, 12]);
    x.zeroGrad();
    expect(x.grad).toBeNull();
    x.mul(3).sum().backward();
    close(await x.grad!.data(), [3, 3, 3]);
    x.dispose();
  });

  test('a user holding .grad sees it accumulate in place (as in PyTorch)', async () => {
    const x = pg.tensor([1, 2], { requiresGrad: true });
    x.sum().backward();
    const g = x.grad!;
    x.sum().backward();
    expect(x.grad).toBe(g);
    close(await g.data(), [2, 2]);
    x.dispose();
  });

  test('noGrad records nothing; detach cuts the graph', async () => {
    const x = pg.tensor([2], { requiresGrad: true });
    const y = pg.noGrad(() => x.mul(3));
    expect(y.requiresGrad).toBe(false);
    expect(() => y.backward()).toThrow(pg.GradientError);
    const z = x.detach().mul(x);
    z.backward();
    close(await x.grad!.data(), [2]);
    expect(x.detach().requiresGrad).toBe(false);
    pg.dispose([x, y, z]);
  });

  test('retainGraph allows a second backward; without it the second one throws FreedGraphError and the engine keeps working', async () => {
    const x = pg.tensor([3], { requiresGrad: true });
    const y = x.pow(2);
    y.backward({ retainGraph: true });
    y.backward();
    close(await x.grad!.data(), [12]);
    expect(() => y.backward()).toThrow(pg.FreedGraphError);
    expect(() => y.backward()).toThrow(/retainGraph/);
    const w = x.mul(x);
    w.backward();
    close(await x.grad!.data(), [18]);
    pg.dispose([x, y, w]);
  });

  test('a tensor used twice gets both contributions; a diamond-shaped graph sums its paths', async () => {
    const x = pg.tensor([1.5, -2], { requiresGrad: true });
    x.mul(x).add(x).sum().backward();
    close(await x.grad!.data(), [4, -3]);
    // x · x of int32 stays int32; a disposed x names mul.
    const i = pg.tensor([3, -2], { dtype: 'int32' });
    const ii = i.mul(i);
    expect(ii.dtype).toBe('int32');
    expect(Array.from(await ii.data())).toEqual([9, 4]);
    i.dispose();
    expect(() => i.mul(i)).toThrow(/^mul/);
    ii.dispose();
    const a = pg.tensor([0.5, 2], { requiresGrad: true });
    const b = a.mul(2);
    const c = a.mul(3);
    b.mul(c).sum().backward();
    close(await a.grad!.data(), [6, 24]);
    pg.dispose([x, a, b, c]);
  });

  test('a 1,000-op chain backpropagates without recursion', async () => {
    const x = pg.tensor([1], { requiresGrad: true });
    const out = pg.tidy(() => {
      let y = x;
      for (let i = 0; i < 1000; i++) y = y.mul(1.001);
      return y;
    });
    out.backward();
    expectClose(await x.grad!.data(), [1.001 ** 1000], 1e-3, 0, 'chain gradient');
    pg.dispose([x, out]);
  });

  test('broadcasting gradients are summed back to each input shape', async () => {
    const a = pg.tensor([[1], [2], [3]], { requiresGrad: true });
    const b = pg.tensor([10, 20], { requiresGrad: true });
    a.mul(b).sum().backward();
    close(await a.grad!.data(), [30, 30, 30]);
    close(await b.grad!.data(), [6, 6]);
    pg.dispose([a, b]);
  });

  test('backward with an explicit gradient for a non-scalar output', async () => {
    const x = pg.tensor([1, 2, 3], { requiresGrad: true });
    const y = x.mul(2);
    y.backward(pg.tensor([1, 0.5, -1]));
    close(await x.grad!.data(), [2, 1, -2]);
    pg.dispose([x, y]);
  });

  test('pg.grad and pg.valueAndGrad return gradients for every argument, leaving .grad alone', async () => {
    const a = pg.tensor([1, 2]);
    const b = pg.tensor([3, 4]);
    const f = (x: pg.Tensor, y: pg.Tensor) => x.mul(y).sum();
    const [ga, gb] = pg.grad(f as (...t: pg.Tensor[]) => pg.Tensor)(a, b);
    close(await ga!.data(), [3, 4]);
    close(await gb!.data(), [1, 2]);
    const { value, grads } = pg.valueAndGrad(f as (...t: pg.Tensor[]) => pg.Tensor)(a, b);
    expect(await value.item()).toBe(11);
    expect(grads).toHaveLength(2);
    expect(a.grad).toBeNull();
    pg.dispose([a, b, ga, gb, value, grads]);
  });

  test('tidy disposes what fn created except what it returns; dispose twice is harmless', async () => {
    const before = pg.memory().liveTensors;
    const x = pg.tensor([1, 2, 3]);
    const kept = pg.tidy(() => {
      const y = x.mul(2);
      const z = y.add(1);
      return { z, nested: [z.sum()] };
    });
    expect(pg.memory().liveTensors).toBe(before + 3);
    close(await kept.z.data(), [3, 5, 7]);
    kept.z.dispose();
    kept.z.dispose();
    expect(kept.z.isDisposed).toBe(true);
    expect(() => kept.z.add(1)).toThrow(pg.DisposedTensorError);
    await expect(kept.z.data()).rejects.toThrow(pg.DisposedTensorError);
    pg.dispose([x, kept]);
    expect(pg.memory().liveTensors).toBe(before);
  });

  test('saved tensors are released after backward, and a disposed graph frees what it saved', () => {
    const x = pg.tensor([1, 2, 3], { requiresGrad: true });
    const base = pg.memory().bytesInUse;
    for (let i = 0; i < 20; i++) {
      pg.tidy(() => {
        x.exp().mul(x).sum().backward();
      });
      pg.tidy(() => {
        // Forward only: the graph is never run backward, and still frees its saved tensors.
        x.exp().mul(x).sum();
      });
    }
    const after = pg.memory().bytesInUse;
    x.zeroGrad();
    expect(pg.memory().bytesInUse).toBeLessThan(after);
    expect(after - base).toBeLessThanOrEqual(kind === 'cpu' ? 3 * 8 : 256);
    x.dispose();
  });

  test('creation functions', async () => {
    close(await pg.zeros([2, 2]).data(), [0, 0, 0, 0]);
    close(await pg.ones([3]).data(), [1, 1, 1]);
    close(await pg.full([2], 7.5).data(), [7.5, 7.5]);
    close(await pg.arange(4).data(), [0, 1, 2, 3]);
    close(await pg.arange(1, 2, 0.25).data(), [1, 1.25, 1.5, 1.75]);
    const r1 = await pg.rand([100], { seed: 3 }).data();
    const r2 = await pg.rand([100], { seed: 3 }).data();
    expect(r1).toEqual(r2);
    expect(Math.min(...r1)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...r1)).toBeLessThan(1);
    const n = await pg.randn([4000], { seed: 1 }).data();
    const mean = n.reduce((a, b) => a + b, 0) / n.length;
    expect(Math.abs(mean)).toBeLessThan(0.1);
    expect(await pg.tensor([[1, 2], [3, 4]]).toArray()).toEqual([[1, 2], [3, 4]]);
    expect(await pg.tensor(5).toArray()).toBe(5);
    expect(pg.tensor(new Float32Array([1, 2, 3, 4, 5, 6]), { shape: [2, 3] }).shape).toEqual([2, 3]);
  });
}
