/**
 * The memory test: 500 steps of a small training loop (matmul, softmax, mean squared error, Adam)
 * inside pg.tidy keep tensors, bytes, buffers, bind groups and pipelines flat, and the loss falls.
 */
import { expect, test } from 'vitest';
import * as pg from '../../src/index.ts';
import { type BackendKind, useBackend } from './backends.ts';

const ROWS = 32;
const FEATURES = 8;
const CLASSES = 4;
const STEPS = 500;

/** One-hot labels from a fixed teacher W*: a separable problem the student can fit. */
function teacherTargets(x: Float32Array): number[] {
  const teacher = Array.from({ length: FEATURES * CLASSES }, (_, i) => Math.sin(i * 1.7 + 0.3) * 2);
  const t = new Array<number>(ROWS * CLASSES).fill(0);
  for (let r = 0; r < ROWS; r++) {
    let best = 0;
    let bestScore = Number.NEGATIVE_INFINITY;
    for (let c = 0; c < CLASSES; c++) {
      let s = 0;
      for (let f = 0; f < FEATURES; f++) s += x[r * FEATURES + f]! * teacher[f * CLASSES + c]!;
      if (s > bestScore) [best, bestScore] = [c, s];
    }
    t[r * CLASSES + best] = 1;
  }
  return t;
}

export function trainingSuite(kind: BackendKind): void {
  useBackend(kind);

  test(`${STEPS} Adam steps inside tidy: memory stays flat and the loss falls`, async () => {
    const X = pg.randn([ROWS, FEATURES], { seed: 11 });
    const T = pg.tensor(teacherTargets(await X.data()), { shape: [ROWS, CLASSES] });
    const W = pg.randn([FEATURES, CLASSES], { seed: 12, std: 0.1, requiresGrad: true });
    const opt = new pg.Adam([W], { lr: 0.05 });
    const start = pg.memory();

    const losses: number[] = [];
    const snapshots = new Map<number, pg.MemoryInfo>();
    for (let step = 1; step <= STEPS; step++) {
      const read = step === 1 || step % 100 === 0;
      const loss = pg.tidy(() => {
        const l = X.matmul(W).softmax(-1).sub(T).square().mean();
        l.backward();
        opt.step();
        opt.zeroGrad();
        return read ? l : undefined;
      });
      if (loss) {
        losses.push(await loss.item());
        loss.dispose();
      }
      if (step === 10 || step === 100 || step === 200 || step === STEPS) snapshots.set(step, pg.memory());
    }
    const at10 = snapshots.get(10)!;
    const at100 = snapshots.get(100)!;
    const at500 = snapshots.get(STEPS)!;

    expect(at500.liveTensors).toBe(at100.liveTensors);
    expect(at500.bytesInUse).toBe(at100.bytesInUse);
    // Nothing leaks past the loop: only X, T, W and Adam's two state tensors remain.
    expect(at500.liveTensors).toBe(start.liveTensors);
    expect(at500.bytesInUse).toBe(start.bytesInUse);
    if (kind === 'webgpu') {
      expect(at500.buffersCreated).toBe(at10.buffersCreated);
      expect(at500.bindGroupsCreated).toBe(at10.bindGroupsCreated);
      expect(at500.pipelinesCreated).toBe(at10.pipelinesCreated);
      expect(at500.uncapturedErrors).toBe(0);
      // Same kernels every step of a kind: steps 101-500 cost exactly four times steps 101-200
      // (a step whose loss nobody reads never computes it, so reading steps cost more).
      const at200 = snapshots.get(200)!;
      expect(at500.dispatches - at100.dispatches).toBe(4 * (at200.dispatches - at100.dispatches));
    }

    expect(losses).toHaveLength(6);
    for (const l of losses) expect(Number.isFinite(l)).toBe(true);
    expect(losses.at(-1)!).toBeLessThan(0.5 * losses[0]!);

    opt.dispose();
    pg.dispose([X, T, W]);
  });
}
