/** Tensors and reads across pg.shutdown() and a re-init: DeviceLostError, and memory() counts only the current device. */
import { expect, test } from 'vitest';
import * as pg from '../../src/index.ts';
import { type BackendKind, useBackend } from './backends.ts';

async function settle(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'resolved';
  } catch (e) {
    return (e as Error).name;
  }
}

export function lifetimesSuite(kind: BackendKind): void {
  useBackend(kind);
  const other: BackendKind = kind === 'cpu' ? 'webgpu' : 'cpu';

  test('reads pending at shutdown() reject with DeviceLostError (never a raw AbortError)', async () => {
    const x = pg.rand([1000], { seed: 1 }).mul(2).exp();
    const reads = [x.data(), x.sum().data(), x.slice([0], [3]).data()];
    pg.shutdown();
    const outcomes = await Promise.all(reads.map(settle));
    // The float64 backend answers at once; WebGPU's reads were still in flight.
    if (kind === 'webgpu') expect(outcomes).toEqual(['DeviceLostError', 'DeviceLostError', 'DeviceLostError']);
    else expect(outcomes.every((o) => o === 'resolved' || o === 'DeviceLostError')).toBe(true);
    await pg.init({ backend: kind });
  });

  test('reads pending at an init() that switches backends reject with DeviceLostError', async () => {
    const x = pg.ones([64]).add(1);
    const read = x.data();
    if (kind === 'webgpu' || other === 'webgpu') {
      // Switching needs both backends (test/gpu has both; in Node there is no WebGPU).
      if (kind === 'cpu') return;
      await pg.init({ backend: other });
      expect(await settle(read)).toBe('DeviceLostError');
    }
    await pg.init({ backend: kind });
  });

  test('memory() counts only the current device; tensors of an old device throw DeviceLostError on use', async () => {
    const old = [pg.ones([4]), pg.zeros([2, 2]), pg.tensor([1], { requiresGrad: true })];
    expect(pg.memory().liveTensors).toBeGreaterThanOrEqual(3);
    pg.shutdown();
    expect(pg.memory().liveTensors).toBe(0);
    await pg.init({ backend: kind });
    expect(pg.memory().liveTensors).toBe(0);
    const fresh = pg.ones([3]);
    expect(pg.memory().liveTensors).toBe(1);
    for (const use of [() => old[0]!.add(1), () => old[1]!.data(), () => old[0]!.add(fresh), () => fresh.mul(old[0]!), () => old[2]!.mul(2).sum().backward()]) {
      let caught: unknown;
      try {
        await use();
      } catch (e) {
        caught = e;
      }
      expect(caught).toBeInstanceOf(pg.DeviceLostError);
    }
    // Disposing them is harmless and leaves the count alone.
    pg.dispose(old);
    expect(pg.memory().liveTensors).toBe(1);
    expect(Number.isFinite(pg.memory().bytesInUse)).toBe(true);
    expect(Array.from(await fresh.add(1).data())).toEqual([2, 2, 2]);
    fresh.dispose();
  });
}
