/**
 * The bench driver: builds the bench page with Vite, serves it on 127.0.0.1, runs it in headless
 * Chromium through Playwright, then prints the table and writes bench/results/*.json and
 * bench/README-section.md.
 */
import { createReadStream, existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import { extname, join, normalize, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright';
import { build } from 'vite';
import { chromiumPath, hardwareWebgpuArgs, softwareWebgpuArgs } from '../../scripts/chromium.ts';
import type { EngineName } from '../src/common.ts';
import type { RunConfig } from '../src/harness.ts';
import type { BenchConfig, BenchResult } from '../src/main.ts';
import { type FullResult, printTable, readmeSection } from './report.ts';

const benchDir = resolve(fileURLToPath(new URL('..', import.meta.url)));

interface Options {
  quick: boolean;
  hardware: boolean;
  requireHardware: boolean;
  only: string[] | null;
  engines: EngineName[];
  build: boolean;
  budgetS: number | null;
  sizes: number[] | null;
}

function parse(argv: readonly string[]): Options {
  const o: Options = { quick: false, hardware: false, requireHardware: false, only: null, engines: [], build: true, budgetS: null, sizes: null };
  for (const a of argv) {
    if (a === '--quick') o.quick = true;
    else if (a === '--hardware') o.hardware = true;
    else if (a === '--require-hardware') o.requireHardware = o.hardware = true;
    else if (a === '--no-build') o.build = false;
    else if (a.startsWith('--only=')) o.only = a.slice(7).split(',');
    else if (a.startsWith('--engines=')) o.engines = a.slice(10).split(',') as EngineName[];
    else if (a.startsWith('--budget=')) o.budgetS = Number(a.slice(9));
    else if (a.startsWith('--sizes=')) o.sizes = a.slice(8).split(',').map(Number);
    else if (a === '--help' || a === '-h') {
      console.log(
        'npm run bench -- [--quick] [--hardware] [--require-hardware] [--only=roofline,seed,palette,layers,matmul] [--engines=pixelgrad,raw,tfjs,jax,js] [--budget=SECONDS] [--sizes=256,1024] [--no-build]',
      );
      process.exit(0);
    } else throw new Error(`unknown option ${a} (try --help)`);
  }
  if (o.sizes?.some((n) => !Number.isInteger(n) || n < 4 || n % 4 !== 0)) {
    throw new Error(`--sizes takes positive multiples of 4 (image sides and matrix sizes), got ${o.sizes.join(',')}`);
  }
  return o;
}

function benchConfig(o: Options): BenchConfig {
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
    workloads: o.only ?? ['roofline', 'seed', 'palette', 'layers', 'matmul'],
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

const MIME: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.json': 'application/json', '.wasm': 'application/wasm' };

/** Static files from bench/dist, cross-origin isolated so performance.now() has its fine resolution. */
function serve(root: string): Promise<Server> {
  const server = createServer((req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname)).replace(/^(\.\.[/\\])+/, '');
    if (path === '/favicon.ico') {
      res.writeHead(204).end();
      return;
    }
    let file = join(root, path);
    if (existsSync(file) && statSync(file).isDirectory()) file = join(file, 'index.html');
    if (!file.startsWith(root) || !existsSync(file)) {
      res.writeHead(404).end('not found');
      return;
    }
    res.writeHead(200, {
      'Content-Type': MIME[extname(file)] ?? 'application/octet-stream',
      'Cross-Origin-Opener-Policy': 'same-origin',
      'Cross-Origin-Embedder-Policy': 'require-corp',
      'Cache-Control': 'no-store',
    });
    createReadStream(file).pipe(res);
  });
  return new Promise((ok) => server.listen(0, '127.0.0.1', () => ok(server)));
}

const SOFTWARE = /swiftshader|llvmpipe|lavapipe|warp|software/i;

export async function main(argv: readonly string[]): Promise<number> {
  const o = parse(argv);
  const started = Date.now();
  const cfg = benchConfig(o);
  if (o.build) {
    console.log('building the bench page (vite)...');
    await build({ configFile: join(benchDir, 'vite.config.ts'), logLevel: 'warn' });
  }
  const dist = join(benchDir, 'dist');
  if (!existsSync(join(dist, 'index.html'))) throw new Error('bench/dist/index.html is missing: run without --no-build');
  const server = await serve(dist);
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  const executablePath = chromiumPath();
  const args = o.hardware ? hardwareWebgpuArgs : softwareWebgpuArgs;
  const browser = await chromium.launch({ headless: true, args, ...(executablePath ? { executablePath } : {}) });
  try {
    const page = await browser.newPage();
    page.on('console', (m) => {
      const t = m.text();
      if (t.startsWith('[bench]')) console.log(t.slice(8));
      else if (m.type() === 'error') console.log(`  (page error) ${t.slice(0, 400)}`);
    });
    page.on('pageerror', (e) => console.log(`  (page exception) ${e.message.slice(0, 400)}`));
    await page.goto(url);
    await page.waitForFunction(() => typeof window.runBench === 'function', null, { timeout: 60_000 });
    const adapter = await page.evaluate(() => window.benchAdapter!());
    const adapterText = `${adapter.vendor} ${adapter.architecture} ${adapter.device} ${adapter.description}`;
    const software = adapter.isFallbackAdapter === true || SOFTWARE.test(adapterText) || adapter.vendor === 'google';
    console.log(`browser ${browser.version()} at ${url}; adapter: ${adapterText.trim()}${software ? ' (software)' : ''}`);
    if (o.requireHardware && software) {
      throw new Error(`--require-hardware: the WebGPU adapter is a software one (${adapterText.trim()}). Check the GPU driver's Vulkan ICD and the flags in scripts/chromium.ts.`);
    }
    const result: BenchResult = await page.evaluate((c) => window.runBench!(c), cfg);
    const full: FullResult = {
      version: 1,
      date: new Date().toISOString(),
      mode: o.quick ? 'quick' : 'full',
      flags: { hardware: o.hardware, args },
      browser: { name: 'chromium', version: browser.version(), executablePath: executablePath ?? 'playwright default' },
      machine: {
        os: `${os.type()} ${os.release()} ${os.arch()}`,
        cpus: os.cpus().length,
        cpuModel: os.cpus()[0]?.model ?? 'unknown',
        memoryGiB: Math.round(os.totalmem() / 2 ** 30),
        node: process.version,
        loadAverage: os.loadavg(),
      },
      softwareAdapter: software,
      config: cfg,
      ...result,
      wallSeconds: (Date.now() - started) / 1000,
    };
    const outDir = join(benchDir, 'results');
    mkdirSync(outDir, { recursive: true });
    const name = `latest-${full.mode}${o.hardware ? '-hardware' : ''}${o.only || o.engines.length ? '-partial' : ''}.json`;
    writeFileSync(join(outDir, name), `${JSON.stringify(full, null, 1)}\n`);
    console.log(printTable(full));
    if (!o.only && !o.engines.length) writeFileSync(join(benchDir, 'README-section.md'), readmeSection(full, `bench/results/${name}`));
    console.log(`\nwrote bench/results/${name}${!o.only && !o.engines.length ? ' and bench/README-section.md' : ''} (${full.wallSeconds.toFixed(0)} s)`);
    return 0;
  } finally {
    await browser.close();
    server.close();
  }
}
