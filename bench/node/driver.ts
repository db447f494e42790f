/**
 * The bench driver: builds the bench page with Vite, serves it on 127.0.0.1, runs it in headless
 * Chromium through Playwright, then prints the table and writes bench/results/*.json and
 * bench/README-section.md.
 */
import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright';
import { build } from 'vite';
import { chromiumPath, hardwareWebgpuArgs, softwareWebgpuArgs } from '../../scripts/chromium.ts';
import type { BenchResult } from '../src/main.ts';
import { benchConfig, isSoftware, parse, writeResults } from './options.ts';

const benchDir = resolve(fileURLToPath(new URL('..', import.meta.url)));

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
    const software = isSoftware(adapter);
    console.log(`browser ${browser.version()} at ${url}; adapter: ${adapterText.trim()}${software ? ' (software)' : ''}`);
    if (o.requireHardware && software) {
      throw new Error(`--require-hardware: the WebGPU adapter is a software one (${adapterText.trim()}). Check the GPU driver's Vulkan ICD and the flags in scripts/chromium.ts.`);
    }
    const result: BenchResult = await page.evaluate((c) => window.runBench!(c), cfg);
    writeResults(o, cfg, result, benchDir, {
      flags: { hardware: o.hardware, args },
      browser: { name: 'chromium', version: browser.version(), executablePath: executablePath ?? 'playwright default' },
      softwareAdapter: software,
      started,
    });
    return 0;
  } finally {
    await browser.close();
    server.close();
  }
}
