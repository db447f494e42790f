/**
 * Suites in test/shared/ run on both backends: test/unit/*.test.ts runs them in Node on the
 * float64 CPU reference backend, test/gpu/*.test.ts in headless Chromium on WebGPU.
 */
import { beforeAll, expect } from 'vitest';
import * as pg from '../../src/index.ts';

export type BackendKind = 'cpu' | 'webgpu';

/** Call at the top of a describe(): (re)initializes the backend before its tests. */
export function useBackend(kind: BackendKind): void {
  beforeAll(async () => {
    await pg.init({ backend: kind });
  });
}

/** Tolerances: the CPU backend is float64, WebGPU float32. */
// The CPU backend computes in float64 but data() returns float32, hence 1e-6.
export const tol = (kind: BackendKind) => (kind === 'cpu' ? { rtol: 1e-6, atol: 1e-7 } : { rtol: 1e-3, atol: 1e-4 });

export function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, rtol: number, atol: number, what = 'value'): void {
  if (actual.length !== expected.length) throw new Error(`${what}: length ${actual.length} != expected ${expected.length}`);
  let worst = -1;
  let worstErr = 0;
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i]!;
    const e = expected[i]!;
    const err = Math.abs(a - e) - (atol + rtol * Math.abs(e));
    if (!(err <= 0) && (worst < 0 || err > worstErr || Number.isNaN(err))) {
      worst = i;
      worstErr = Number.isNaN(err) ? Number.POSITIVE_INFINITY : err;
    }
  }
  if (worst >= 0) {
    throw new Error(`${what}: element ${worst} is ${actual[worst]}, expected ${expected[worst]} (rtol ${rtol}, atol ${atol}; ${actual.length} elements)`);
  }
}

/** Expects fn to throw `cls` with a message containing every part. */
export function expectError(fn: () => unknown, cls: new (...a: never[]) => Error, ...parts: string[]): void {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught, 'expected an error').toBeInstanceOf(cls);
  for (const p of parts) expect((caught as Error).message).toContain(p);
}

/**
 * WebGPU only: `run` with the backend taken for a CPU adapter (serial sums, chunked walks), then
 * for a GPU (isSoftware off: barriers, grid-stride walks); `run` is told which form it runs in.
 */
export async function cpuThenGpuForm<T>(run: (cpuForm: boolean) => Promise<T>): Promise<[T, T]> {
  const backend = pg.backend() as unknown as { isSoftware: boolean };
  const was = backend.isSoftware;
  try {
    backend.isSoftware = true;
    const cpu = await run(true);
    backend.isSoftware = false;
    return [cpu, await run(false)];
  } finally {
    backend.isSoftware = was;
  }
}

/** A kernel as the WebGPU backend dispatches it. */
export interface Dispatched {
  readonly name: string;
  readonly wgsl: string;
}

/**
 * WebGPU only: `run` with every kernel dispatched meanwhile (cached pipelines included, which
 * withShaders does not see) pushed onto `kernels`, in order.
 */
export async function withDispatches<T>(run: (kernels: Dispatched[]) => Promise<T>): Promise<T> {
  const backend = pg.backend() as unknown as { dispatch: (k: Dispatched) => void };
  const own = backend.dispatch;
  const kernels: Dispatched[] = [];
  // An own property over the prototype's method, deleted after.
  backend.dispatch = function (this: unknown, k: Dispatched) {
    kernels.push({ name: k.name, wgsl: k.wgsl });
    return own.call(this, k);
  };
  try {
    return await run(kernels);
  } finally {
    delete (backend as { dispatch?: unknown }).dispatch;
  }
}

/** WebGPU only: `run` with the WGSL of every module compiled meanwhile pushed onto `shaders` (which `run` may clear). */
export async function withShaders<T>(run: (shaders: string[]) => Promise<T>): Promise<T> {
  const shaders: string[] = [];
  const create = GPUDevice.prototype.createShaderModule;
  GPUDevice.prototype.createShaderModule = function (d) {
    shaders.push(d.code);
    return create.call(this, d);
  };
  try {
    return await run(shaders);
  } finally {
    GPUDevice.prototype.createShaderModule = create;
  }
}
