import * as pg from 'pixelgrad';
import { quantile } from './stats.ts';

/** Shared pieces of the bench page: seeded inputs, statistics, and the engine contract every workload implements. */

export { type EngineName, ENGINES, WEBGPU_PEERS } from './engines.ts';

/** One generator (pixelgrad's mulberry32) seeds every engine's inputs, so all of them see identical numbers. */
export const mulberry32 = pg.mulberry32;

export function uniform(n: number, seed: number, low = 0, high = 1): Float32Array {
  const r = mulberry32(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = low + (high - low) * r();
  return out;
}

/**
 * A photo-like S×S RGB image, [S·S, 3] row-major in [0, 1]: a lit backdrop graded top to bottom,
 * a few soft-edged discs of flat colour, and fine grain, so per-pixel programs see smooth regions,
 * edges and texture as in a photograph rather than uniform noise.
 */
export function photoLike(S: number, seed: number): Float32Array {
  const r = mulberry32(seed);
  const sky = [0.25 + 0.5 * r(), 0.25 + 0.5 * r(), 0.25 + 0.5 * r()];
  const ground = [0.1 + 0.4 * r(), 0.1 + 0.4 * r(), 0.1 + 0.4 * r()];
  const discs = Array.from({ length: 6 }, () => ({ x: r(), y: r(), radius: 0.08 + 0.2 * r(), rgb: [r(), r(), r()] }));
  const out = new Float32Array(S * S * 3);
  for (let i = 0; i < S; i++) {
    const v = i / S;
    for (let j = 0; j < S; j++) {
      const u = j / S;
      const rgb = [0, 1, 2].map((c) => sky[c]! + (ground[c]! - sky[c]!) * v);
      for (const d of discs) {
        const dist = Math.hypot(u - d.x, v - d.y);
        // A 2%-wide soft edge, as a lens blurs one.
        const w = Math.min(1, Math.max(0, (d.radius - dist) / 0.02));
        for (let c = 0; c < 3; c++) rgb[c] = rgb[c]! + (d.rgb[c]! - rgb[c]!) * w;
      }
      const o = (i * S + j) * 3;
      for (let c = 0; c < 3; c++) out[o + c] = Math.min(1, Math.max(0, rgb[c]! + 0.04 * (r() - 0.5)));
    }
  }
  return out;
}

export interface Spread {
  median: number;
  min: number;
  max: number;
  q1: number;
  q3: number;
  n: number;
}

export function spread(xs: readonly number[]): Spread | null {
  if (!xs.length) return null;
  const q = (p: number) => quantile(xs, p)!;
  return { median: q(0.5), min: Math.min(...xs), max: Math.max(...xs), q1: q(0.25), q3: q(0.75), n: xs.length };
}

/** Per-step counters an engine can report (pixelgrad from pg.memory(), raw from its own bookkeeping). */
export type Counters = Record<string, number>;

/** One engine's state for one workload size. */
export interface Instance {
  /**
   * Runs n steps and waits for the GPU to finish them. The loss (or checked value) is read back
   * after every step when readEvery is true, else once after the last step. Returns that value.
   */
  steps(n: number, readEvery: boolean): Promise<number>;
  /** Cumulative counters (differences between two calls are attributed to the steps in between). */
  counters?(): Counters;
  /** Free everything. */
  dispose(): Promise<void> | void;
  /** Which formulation ran (pixelgrad before/after the image and optimizer modules landed, peers' variants). */
  readonly note?: string;
  /** The GPU device the engine uses, for the per-kernel replay profile. */
  readonly device?: GPUDevice;
  /** Runs exactly one step and resolves once all of its GPU work is submitted (for dispatch capture). */
  recordOneStep?(): void | Promise<void>;
}

export type EngineFactory<I> = (input: I) => Promise<Instance>;

/**
 * An instance for engines whose step returns a handle on its loss: reads the loss only when the
 * harness asks (every step, or after the last), and releases every handle.
 */
export function lossLoop<L>(
  base: Omit<Instance, 'steps'>,
  step: () => L,
  read: (loss: L) => Promise<number>,
  release: (loss: L) => void,
): Instance {
  return {
    ...base,
    async steps(count, readEvery) {
      let value = Number.NaN;
      for (let i = 0; i < count; i++) {
        const loss = step();
        if (readEvery || i === count - 1) value = await read(loss);
        release(loss);
      }
      return value;
    },
  };
}

/** An instance for a plain-JavaScript loop whose step returns its loss (nothing to wait for or free). */
export function cpuLoop(note: string, step: () => number): Instance {
  return {
    note,
    async steps(count) {
      let value = Number.NaN;
      for (let i = 0; i < count; i++) value = step();
      return value;
    },
    dispose() {},
  };
}

export const now = (): number => performance.now();

export function log(msg: string): void {
  console.log(`[bench] ${msg}`);
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export function errorText(e: unknown): string {
  if (e instanceof Error) return `${e.name}: ${e.message}`.split('\n')[0]!.slice(0, 300);
  return String(e).slice(0, 300);
}
