/** Seeded random numbers (mulberry32), so pg.rand(shape, { seed }) is the same on every backend and run. */
import { InvalidArgumentError } from './errors.ts';
import { checkFinite } from './validate.ts';

/**
 * A small seeded generator of uniform numbers in [0, 1): the one behind pg.rand, for JS-side choices that must be reproducible.
 * @example
 * const next = pg.mulberry32(1);
 * next(); // the same number on every run
 */
export function mulberry32(seed: number): () => number {
  let a = checkFinite('mulberry32', 'seed', seed, 0, { integer: true }) >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

let globalSeed = 0x5eed;
/**
 * Seeds the generator used when pg.rand/randn get no seed.
 * @example
 * pg.manualSeed(0);
 * const a = pg.rand([3]);
 * pg.manualSeed(0);
 * const b = pg.rand([3]); // the same values as a
 */
export function manualSeed(seed: number): void {
  if (seed === undefined) throw new InvalidArgumentError('manualSeed: needs a seed (a finite integer)');
  globalSeed = checkFinite('manualSeed', 'seed', seed, 0, { integer: true }) >>> 0;
}
export const nextSeed = (): number => {
  globalSeed = (Math.imul(globalSeed, 1664525) + 1013904223) >>> 0;
  return globalSeed;
};

export function uniformArray(n: number, seed: number, low = 0, high = 1): Float32Array {
  const r = mulberry32(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = low + (high - low) * r();
  return out;
}

export function normalArray(n: number, seed: number, mean = 0, std = 1): Float32Array {
  const r = mulberry32(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    const u = Math.max(r(), 1e-12);
    const v = r();
    const m = Math.sqrt(-2 * Math.log(u));
    out[i] = mean + std * m * Math.cos(2 * Math.PI * v);
    if (i + 1 < n) out[i + 1] = mean + std * m * Math.sin(2 * Math.PI * v);
  }
  return out;
}
