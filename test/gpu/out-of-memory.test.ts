/**
 * Honest out-of-memory, by fault injection: real OOM is impractical in a test, so createBuffer is
 * wrapped to hand out an invalid buffer (as a failed allocation does) and the 'out-of-memory'
 * error scope around it reports a GPUOutOfMemoryError.
 */
import { afterEach, beforeAll, describe, expect, test } from 'vitest';
import * as pg from '../../src/index.ts';

let restore: (() => void) | null = null;

/**
 * Makes the next `count` tensor allocations fail, and (unless `retry` is 'succeeds') the engine's
 * retry of each of them too; returns how many createBuffer calls were failed so far.
 */
function failAllocations(count: number, retry: 'fails' | 'succeeds' = 'fails'): () => number {
  const device = (pg.backend() as unknown as { device: GPUDevice }).device;
  const create = device.createBuffer.bind(device);
  const pop = device.popErrorScope.bind(device);
  let left = count;
  let failed = 0;
  let report = false;
  const labels = new Set<string>();
  device.createBuffer = (desc: GPUBufferDescriptor) => {
    const label = desc.label ?? '';
    const again = retry === 'fails' && labels.has(label);
    if ((left > 0 && label.startsWith('pixelgrad tensor')) || again) {
      if (!again) left--;
      labels.add(label);
      failed++;
      report = true;
      // An invalid buffer, as a failed allocation gives; its own validation error is swallowed here.
      device.pushErrorScope('validation');
      const b = create({ ...desc, size: 2 ** 40 });
      void pop();
      return b;
    }
    return create(desc);
  };
  device.popErrorScope = () => {
    const real = pop();
    if (!report) return real;
    report = false;
    return real.then(() => new GPUOutOfMemoryError('injected: out of memory'));
  };
  restore = () => {
    device.createBuffer = create;
    device.popErrorScope = pop;
  };
  return () => failed;
}

afterEach(() => {
  restore?.();
  restore = null;
});

async function outcome(t: pg.Tensor): Promise<string> {
  try {
    return `values ${Array.from(await t.data()).slice(0, 3).join(',')}`;
  } catch (e) {
    return (e as Error).name;
  }
}

describe('out of memory on WebGPU', () => {
  beforeAll(async () => {
    await pg.init({ backend: 'webgpu' });
  });

  test("a failed allocation rejects that tensor's reads and its views' with OutOfMemoryError, never a wrong value", async () => {
    const before = pg.tensor([1, 2, 3]);
    const held = pg.zeros([4096]);
    held.dispose(); // something pooled, to be given back
    const failed = failAllocations(1);
    const x = pg.ones([3000]);
    expect(failed()).toBe(1);
    const views = [x, x.slice([0], [10]), x.reshape([30, 100]), x.mul(2), x.sum(), x.slice([5], [9]).exp()];
    const results = await Promise.all(views.map(outcome));
    // Allocated, given the pool back, allocated again: failed twice.
    expect(failed()).toBe(2);
    restore!();
    expect(results).toEqual(views.map(() => 'OutOfMemoryError'));
    // A second read says the same; an unrelated tensor reads fine.
    expect(await outcome(x)).toBe('OutOfMemoryError');
    expect(Array.from(await before.data())).toEqual([1, 2, 3]);
    expect(pg.memory().uncapturedErrors).toBe(0);
    pg.dispose([before, x, views]);
    // The engine goes on: the same size again works.
    const again = pg.ones([3000]).mul(2);
    expect((await again.data())[2999]).toBe(2);
    again.dispose();
  });

  test('the error says how much was asked, in use and pooled, and what to do; the pool is given back', async () => {
    const warm = pg.zeros([8192]);
    warm.dispose();
    expect(pg.memory().bytesPooled).toBeGreaterThan(0);
    failAllocations(1);
    const x = pg.tensor(new Float32Array(5000).fill(1));
    let caught: unknown;
    try {
      await x.data();
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(pg.OutOfMemoryError);
    const e = caught as pg.OutOfMemoryError;
    expect(e.bytesAsked).toBeGreaterThanOrEqual(20000);
    expect(e.message).toMatch(/releasePooled/);
    expect(e.message).toMatch(/smaller/);
    expect(Number.isFinite(e.bytesInUse) && Number.isFinite(e.bytesPooled)).toBe(true);
    // Given back: the 32 KiB of `warm` are gone (what is pooled now is the failed read's staging buffer).
    expect(pg.memory().bytesPooled).toBeLessThan(8192 * 4);
    x.dispose();
    expect(Number.isFinite(pg.memory().bytesInUse)).toBe(true);
  });

  test('an error is never pinned on a later, unrelated read', async () => {
    failAllocations(1);
    const lost = pg.zeros([2048]);
    lost.dispose(); // disposed before anyone read it
    restore!();
    pg.releasePooled();
    await new Promise((r) => setTimeout(r, 50));
    const ok = pg.tensor([5, 6]).add(1);
    expect(Array.from(await ok.data())).toEqual([6, 7]);
    ok.dispose();
  });

  test('a gradient step through a failed allocation rejects its reads; the next step computes', async () => {
    const w = pg.tensor([0.2, 0.7], { requiresGrad: true });
    failAllocations(1);
    const loss = w.mul(pg.tensor([0.6, 0.4])).sum().sub(0.5).pow(2);
    loss.backward();
    const outcomes = await Promise.all([outcome(loss), outcome(w.grad!)]);
    restore!();
    expect(outcomes.every((o) => o === 'OutOfMemoryError' || o.startsWith('values'))).toBe(true);
    expect(outcomes).toContain('OutOfMemoryError');
    pg.dispose([loss]);
    w.zeroGrad();
    const loss2 = w.mul(pg.tensor([0.6, 0.4])).sum().sub(0.5).pow(2);
    loss2.backward();
    const g = Array.from(await w.grad!.data());
    expect(g[0]).toBeCloseTo(-0.12, 5);
    expect(g[1]).toBeCloseTo(-0.08, 5);
    pg.dispose([w, loss2]);
  });

  test('a failed allocation gives the pool back and is retried once before anything runs on it: right values, no error', async () => {
    const warm = pg.zeros([8192]);
    warm.dispose();
    expect(pg.memory().bytesPooled).toBeGreaterThanOrEqual(8192 * 4);
    const before = pg.memory().buffersCreated;
    const failed = failAllocations(1, 'succeeds');
    // An upload (written again into the new buffer), and kernels over it (recorded again).
    const x = pg.tensor(Float32Array.from({ length: 5000 }, (_, i) => i));
    const y = x.mul(2).add(1);
    const [xs, ys, sum] = await Promise.all([x.data(), y.data(), y.sum().data()]);
    expect(failed()).toBe(1);
    restore!();
    expect(xs[4999]).toBe(4999);
    expect(ys[10]).toBe(21);
    expect(sum[0]).toBe(5000 * 4999 + 5000);
    expect(pg.memory().uncapturedErrors).toBe(0);
    // The pool was given back before the retry: the 32 KiB of `warm` are created anew.
    const created = pg.memory().buffersCreated;
    expect(created).toBeGreaterThan(before);
    const again = pg.zeros([8192]);
    expect(pg.memory().buffersCreated).toBe(created + 1);
    pg.dispose([x, y, again]);
  });

  test('a failed allocation in a gradient step is retried: the step computes', async () => {
    const w = pg.tensor([0.2, 0.7], { requiresGrad: true });
    const failed = failAllocations(1, 'succeeds');
    const loss = w.mul(pg.tensor([0.6, 0.4])).sum().sub(0.5).pow(2);
    loss.backward();
    const [l, g] = await Promise.all([loss.data(), w.grad!.data()]);
    expect(failed()).toBe(1);
    restore!();
    expect(l[0]).toBeCloseTo(0.01, 6);
    expect(g[0]).toBeCloseTo(-0.12, 5);
    expect(g[1]).toBeCloseTo(-0.08, 5);
    expect(pg.memory().uncapturedErrors).toBe(0);
    pg.dispose([w, loss]);
  });
});
