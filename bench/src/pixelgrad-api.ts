/**
 * pixelgrad as the bench uses it: the public API, plus what the bench needs to see inside (the
 * GPUDevice, for completion waits and the replay profile).
 */
// The public entry point, exactly what users import ('pixelgrad' maps to src/index.ts in bench/vite.config.ts and tsconfig.json).
import * as pg from 'pixelgrad';

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

export { pg };
