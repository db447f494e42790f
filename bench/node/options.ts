/**
 * The bench's command line, its configuration, and what a run writes: shared by the Chromium
 * driver (driver.ts) and the Node runner (node-run.ts), so it imports neither Playwright nor Vite.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { type EngineName, ENGINES, WORKLOADS } from '../src/engines.ts';
import type { RunConfig } from '../src/harness.ts';
import type { BenchConfig, BenchResult } from '../src/main.ts';
import { type FullResult, printTable, readmeSection } from './report.ts';

export interface Options {
  quick: boolean;
  hardware: boolean;
  requireHardware: boolean;
  only: (typeof WORKLOADS)[number][] | null;
  engines: EngineName[];
  build: boolean;
  budgetS: number | null;
  sizes: number[] | null;
  /** Run the page's code in this Node process on the `webgpu` package (Dawn) instead of in Chromium. */
  node: boolean;
  /** Where results go (default bench/results). */
  out: string | null;
}

const USAGE =
  'npm run bench -- [--quick] [--hardware] [--require-hardware] [--only=roofline,seed,palette,layers,palette-plain,layers-plain,tone,tv,mlp,matmul,conv] [--engines=pixelgrad,raw,tfjs,jax,js] [--budget=SECONDS] [--sizes=256,1024] [--no-build] [--node] [--out=DIR]';

/** A comma-separated list whose every entry is one of `known`. */
function listOf<T extends string>(flag: string, value: string, known: readonly T[]): T[] {
  const items = value.split(',').filter(Boolean);
  const unknown = items.filter((x) => !known.includes(x as T));
  if (!items.length || unknown.length) throw new Error(`--${flag} takes a comma-separated list of ${known.join(', ')}; got ${JSON.stringify(value)}`);
  return items as T[];
}

/** util.parseArgs over the bench's options; its errors end with a pointer to --help. */
function parseFlags(argv: readonly string[]) {
  try {
    return parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        quick: { type: 'boolean', default: false },
        hardware: { type: 'boolean', default: false },
        'require-hardware': { type: 'boolean', default: false },
        'no-build': { type: 'boolean', default: false },
        only: { type: 'string' },
        engines: { type: 'string' },
        budget: { type: 'string' },
        sizes: { type: 'string' },
        node: { type: 'boolean', default: false },
        out: { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }).values;
  } catch (e) {
    throw new Error(`${(e as Error).message} (try --help)`);
  }
}

/** The command line (util.parseArgs, strict): unknown options, missing values and bad values throw with what is allowed. */
export function parse(argv: readonly string[]): Options {
  const values = parseFlags(argv);
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const o: Options = {
    quick: values.quick,
    hardware: values.hardware || values['require-hardware'],
    requireHardware: values['require-hardware'],
    only: values.only === undefined ? null : listOf('only', values.only, WORKLOADS),
    engines: values.engines === undefined ? [] : listOf('engines', values.engines, ENGINES),
    build: !values['no-build'],
    budgetS: null,
    sizes: null,
    node: values.node,
    out: values.out ?? null,
  };
  if (values.budget !== undefined) {
    const b = Number(values.budget);
    if (!(b > 0 && Number.isFinite(b))) throw new Error(`--budget takes a positive number of seconds, got ${JSON.stringify(values.budget)}`);
    o.budgetS = b;
  }
  if (values.sizes !== undefined) {
    const sizes = values.sizes.split(',').map(Number);
    if (sizes.some((n) => !Number.isInteger(n) || n < 4 || n % 4 !== 0)) {
      throw new Error(`--sizes takes positive multiples of 4 (image sides and matrix sizes), got ${values.sizes}`);
    }
    o.sizes = sizes;
  }
  if (o.out === '') throw new Error('--out takes a folder');
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
    workloads: o.only ?? [...WORKLOADS],
    paletteSizes: o.sizes ?? (o.quick ? [256, 512] : [256, 512, 1024]),
    layersSizes: o.sizes ?? (o.quick ? [256, 512] : [256, 512, 1024]),
    toneSizes: o.sizes ?? (o.quick ? [256, 512] : [256, 512, 1024]),
    tvSizes: o.sizes ?? (o.quick ? [256, 512] : [256, 512, 1024]),
    mlpSizes: o.sizes ?? (o.quick ? [256, 512] : [256, 512, 1024]),
    matmulSizes: o.sizes ?? (o.quick ? [256, 512] : [256, 512, 1024]),
    convSizes: o.sizes ?? (o.quick ? [256] : [256, 512]),
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
