/**
 * pixelgrad as the bench uses it: the public API, plus what the bench needs to see inside (the
 * GPUDevice, for completion waits and the replay profile).
 */
// The public entry point, exactly what users import ('pixelgrad' maps to src/index.ts in bench/vite.config.ts and tsconfig.json).
import * as pg from 'pixelgrad';
import { type Instance, lossLoop } from './common.ts';

export async function initPixelgrad(): Promise<void> {
  await pg.init();
}

/** The GPUDevice behind pixelgrad's backend (for the replay profile and completion waits). */
export function pixelgradDevice(): GPUDevice | undefined {
  return (pg.backend() as unknown as { device?: GPUDevice } | null)?.device;
}

/** Waits until the GPU has finished everything pixelgrad submitted. */
export async function pixelgradDone(): Promise<void> {
  pg.flush();
  await pixelgradDevice()?.queue.onSubmittedWorkDone();
}

/** pg.memory() counters plus the CPU time spent inside step functions (ms). */
export function pixelgradCounters(cpuMs: number): Record<string, number> {
  const m = pg.memory();
  return {
    dispatches: m.dispatches,
    submits: m.submits,
    buffersCreated: m.buffersCreated,
    bindGroupsCreated: m.bindGroupsCreated,
    pipelinesCreated: m.pipelinesCreated,
    bytesInUse: m.bytesInUse,
    liveTensors: m.liveTensors,
    cpuMs,
  };
}

/**
 * A bench instance around one pixelgrad step: `step` records a whole step (inside pg.tidy) and
 * returns the value to check; `owned` are the tensors to free at the end.
 */
export function pixelgradInstance(note: string, step: () => pg.Tensor, owned: pg.Tensor[], extraDispose?: () => void): Instance {
  let cpuMs = 0;
  const timed = (): pg.Tensor => {
    const t0 = performance.now();
    const value = step();
    cpuMs += performance.now() - t0;
    return value;
  };
  return lossLoop(
    {
      note,
      device: pixelgradDevice(),
      recordOneStep() {
        timed().dispose();
        pg.flush();
      },
      counters: () => pixelgradCounters(cpuMs),
      dispose() {
        extraDispose?.();
        pg.dispose(owned);
      },
    },
    timed,
    (t) => t.item(),
    (t) => t.dispose(),
  );
}

/**
 * A bench instance for a colour-mix fit, its step exactly as the README teaches it: the mix and its
 * loss as colorMixLoss (plain ops the compiler fuses), backward, the optimizer's step, zeroGrad,
 * inside pg.tidy.
 */
export function colorMixFitInstance(note: string, weights: pg.Tensor, palette: pg.Tensor, target: pg.Tensor, opt: pg.Optimizer, options: pg.ColorMixOptions = {}): Instance {
  const step = () =>
    pg.tidy(() => {
      const loss = pg.colorMixLoss(weights, palette, target, options);
      loss.backward();
      opt.step();
      opt.zeroGrad();
      return loss;
    });
  return pixelgradInstance(note, step, [weights, palette, target], () => opt.dispose());
}

/**
 * A bench instance for a step written from plain public ops, as a user writes it: the objective
 * (`loss`), backward, the optimizer's step, zeroGrad, inside pg.tidy. What the fusing compiler
 * must make as fast as the hand-fused raw steps.
 */
export function plainFitInstance(note: string, loss: () => pg.Tensor, opt: pg.Optimizer, owned: pg.Tensor[]): Instance {
  const step = () =>
    pg.tidy(() => {
      const value = loss();
      value.backward();
      opt.step();
      opt.zeroGrad();
      return value;
    });
  return pixelgradInstance(note, step, owned, () => opt.dispose());
}

export { pg };
