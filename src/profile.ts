/** pg.profile(): which kernels a piece of work ran, and for how long each ran on the GPU. */
import type { KernelTime } from './backend.ts';
import { activeBackend } from './engine.ts';
import { KernelTimer } from './gpu/kernel-timer.ts';
import { checkFunction } from './validate.ts';

/**
 * What pg.profile() returns: fn's result, each kernel it dispatched, and their GPU times where
 * the device has timestamp queries.
 * @example
 * const p = await pg.profile(() => x.mul(2).sum().item());
 * if (p.timed) console.table(p.kernels); else console.log(p.untimed);
 */
export interface Profile<T> {
  /**
   * What fn returned (awaited).
   * @example
   * const { result } = await pg.profile(() => loss.item());
   */
  readonly result: T;
  /**
   * True where each kernel's time was measured with timestamp queries; false where the device
   * cannot (then every `ms` is null, and `untimed` says why).
   * @example
   * if (!p.timed) console.warn(p.untimed);
   */
  readonly timed: boolean;
  /**
   * Why there are no times (no 'timestamp-query' on the adapter or on the device passed to
   * pg.init, or the CPU backend), or null when there are.
   * @example
   * p.untimed; // e.g. "the adapter (…) does not offer the 'timestamp-query' feature"
   */
  readonly untimed: string | null;
  /**
   * Every dispatch fn caused, in the order they ran, with its kernel's name and GPU time.
   * @example
   * p.kernels.filter((k) => k.name.startsWith('matmul'));
   */
  readonly kernels: readonly KernelTime[];
  /**
   * The kernels' GPU times added up (null where untimed).
   * @example
   * console.log(`${p.gpuMs?.toFixed(3)} ms on the GPU of ${p.wallMs.toFixed(1)} ms`);
   */
  readonly gpuMs: number | null;
  /**
   * Milliseconds from the call until fn's work was done on the GPU.
   * @example
   * p.wallMs;
   */
  readonly wallMs: number;
}

/**
 * Runs fn (sync or async) and lists every kernel its work dispatched, with per-kernel GPU times
 * from timestamp queries where the adapter offers `timestamp-query`; where it does not, the list
 * still names the kernels and `timed` is false. Work recorded before the call is submitted first
 * and not counted; fn's work is submitted at the end. While profiling, each kernel runs in a
 * compute pass of its own, so the total can exceed an unprofiled run's.
 * @example
 * const p = await pg.profile(() => {
 *   const loss = model(x).sub(y).square().mean();
 *   loss.backward();
 *   return loss.item();
 * });
 * for (const k of p.kernels) console.log(k.name, k.ms);
 */
export async function profile<T>(fn: () => T | Promise<T>): Promise<Profile<Awaited<T>>> {
  checkFunction('profile', 'fn', fn);
  const be = activeBackend('profile');
  const started = performance.now();
  if (!be.startProfile || !be.endProfile) {
    const result = await fn();
    return { result, timed: false, untimed: `the ${be.kind} backend runs no GPU kernels`, kernels: [], gpuMs: null, wallMs: performance.now() - started };
  }
  be.startProfile(KernelTimer);
  let result: Awaited<T>;
  try {
    result = await fn();
  } catch (e) {
    await be.endProfile().catch(() => undefined);
    throw e;
  }
  const { kernels, untimed } = await be.endProfile();
  const gpuMs = untimed === null ? kernels.reduce((sum, k) => sum + (k.ms ?? 0), 0) : null;
  return { result, timed: untimed === null, untimed, kernels, gpuMs, wallMs: performance.now() - started };
}
