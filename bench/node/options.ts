/**
 * The bench's command line, its configuration, and what a run writes: shared by the Chromium
 * driver (driver.ts) and the Node runner (node-run.ts), so it imports neither Playwright nor Vite.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import type { EngineName } from '../src/common.ts';
import type { RunConfig } from '../src/harness.ts';
import type { BenchConfig, BenchResult } from '../src/main.ts';
import { type FullResult, printTable, readmeSection } from './report.ts';

export interface Options {
  quick: boolean;
  hardware: boolean;
  requireHardware: boolean;
  only: string[] | null;
  engines: EngineName[];
  build: boolean;
  budgetS: number | null;
  sizes: number[] | null;
  /** Run the page's code in this Node process on the `webgpu` package (Dawn) instead of in Chromium. */
  node: boolean;
  /** Where results go (default bench/results). */
  out: string | null;
}

export function parse(argv: readonly string[]): Options {
  const o: Options = { quick: false, hardware: false, requireHardware: false, only: null, engines: [], build: true, budgetS: null, sizes: null, node: false, out: null };
  for (const a of argv) {
    if (a === '--quick') o.quick = true;
    else if (a === '--hardware') o.hardware = true;
    else if (a === '--require-hardware') o.requireHardware = o.hardware = true;
    else if (a === '--no-build') o.build = false;
    else if (a.startsWith('--only=')) o.only = a.slice(7).split(',');
    else if (a.startsWith('--engines=')) o.engines = a.slice(10).split(',') as EngineName[];
    else if (a.startsWith('--budget=')) o.budgetS = Number(a.slice(9));
    else if (a.startsWith('--sizes=')) o.sizes = a.slice(8).split(',').map(Number);
    else if (a === '--node') o.node = true;
    else if (a.startsWith('--out=')) o.out = a.slice(6);
    else if (a === '--help' || a === '-h') {
      console.log(
        'npm run bench -- [--quick] [--hardware] [--require-hardware] [--only=roofline,seed,palette,layers,palette-plain,layers-plain,matmul] [--engines=pixelgrad,raw,tfjs,jax,js] [--budget=SECONDS] [--sizes=256,1024] [--no-build] [--node] [--out=DIR]',
      );
      process.exit(0);
    } else throw new Error(`unknown option ${a} (try --help)`);
  }
  if (o.sizes?.some((n) => !Number.isInteger(n) || n < 4 || n % 4 !== 0)) {
    throw new Error(`--sizes takes positive multiples of 4 (image sides and matrix sizes), got ${o.sizes.join(',')}`);
  }
  return o;
}

export function benchConfig(o: Options): BenchConfig {
  const budgetMs = (o.budgetS ?? (o.quick ? 4 : 60)) * 1000;
  const run: RunConfig = {
    reps: o.quick ? 4 : 9,
    batchSteps: o.quick ? 3 : 5,
    syncSteps: o.quick ? 2 : 3,
    checkSteps: 3,
    budgetMs,
    tolerance: 1e-3,
    profile: true,
    profileBudgetMs: o.quick ? 3000 : 15000,
  };
  return {
    workloads: o.only ?? ['roofline', 'seed', 'palette', 'layers', 'palette-plain', 'layers-plain', 'matmul'],
    paletteSizes: o.sizes ?? (o.quick ? [256, 512] : [256, 512, 1024]),
    layersSizes: o.sizes ?? (o.quick ? [256, 512] : [256, 512, 1024]),
    matmulSizes: o.sizes ?? (o.quick ? [256, 512] : [256, 512, 1024]),
    run,
    seedRun: { ...run, reps: o.quick ? 5 : 9, batchSteps: o.quick ? 10 : 20, syncSteps: 0, profile: false, budgetMs: o.quick ? 2000 : 10_000 },
    matmulRun: { ...run, syncSteps: 0, batchSteps: o.quick ? 2 : 3 },
    rooflineReps: o.quick ? 3 : 7,
    profileAllSizes: !o.quick,
    engines: o.engines,
  };
}


/** Prints the table and writes the results JSON (and, for a full browser run, the README section). */
export function writeResults(o: Options, cfg: BenchConfig, result: BenchResult, benchDir: string, meta: Pick<FullResult, 'flags' | 'browser' | 'softwareAdapter'> & { started: number }): void {
  const full: FullResult = {
    version: 1,
    date: new Date().toISOString(),
    mode: o.quick ? 'quick' : 'full',
    flags: meta.flags,
    browser: meta.browser,
    machine: {
      os: `${os.type()} ${os.release()} ${os.arch()}`,
      cpus: os.cpus().length,
      cpuModel: os.cpus()[0]?.model ?? 'unknown',
      memoryGiB: Math.round(os.totalmem() / 2 ** 30),
      node: process.version,
      loadAverage: os.loadavg(),
    },
    softwareAdapter: meta.softwareAdapter,
    config: cfg,
    ...result,
    wallSeconds: (Date.now() - meta.started) / 1000,
  };
  const outDir = o.out ?? join(benchDir, 'results');
  mkdirSync(outDir, { recursive: true });
  const partial = o.only || o.engines.length || o.sizes;
  const name = `latest-${full.mode}${o.node ? '-node' : ''}${o.hardware ? '-hardware' : ''}${partial ? '-partial' : ''}.json`;
  writeFileSync(join(outDir, name), `${JSON.stringify(full, null, 1)}\n`);
  console.log(printTable(full));
  const section = !partial && !o.node && !o.out;
  if (section) writeFileSync(join(benchDir, 'README-section.md'), readmeSection(full, `bench/results/${name}`));
  console.log(`\nwrote ${join(outDir, name)}${section ? ' and bench/README-section.md' : ''} (${full.wallSeconds.toFixed(0)} s)`);
}

/** Adapters that run on the CPU. */
export const SOFTWARE = /swiftshader|llvmpipe|lavapipe|warp|software/i;

/** Whether the adapter described by the page (describeAdapter) is a software one. */
export function isSoftware(adapter: Record<string, unknown>): boolean {
  const text = `${adapter.vendor} ${adapter.architecture} ${adapter.device} ${adapter.description}`;
  return adapter.isFallbackAdapter === true || SOFTWARE.test(text) || adapter.vendor === 'google';
}
