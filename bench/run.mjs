#!/usr/bin/env node
// npm run bench [-- --quick] [--hardware [--require-hardware]] [--only=palette,layers] [--engines=pixelgrad,raw] [--node]
// The driver is TypeScript (bench/node/driver.ts); Vite's module runner loads it without a build step.
// --node runs the page's code in this process on the webgpu package instead (bench/node/node-run.ts).
import { fileURLToPath } from 'node:url';
import { runnerImport } from 'vite';

const entry = process.argv.includes('--node') ? '/bench/node/node-run.ts' : '/bench/node/driver.ts';
const { module } = await runnerImport(entry, {
  configFile: false,
  logLevel: 'warn',
  resolve: { alias: { pixelgrad: fileURLToPath(new URL('../src/index.ts', import.meta.url)) } },
});
try {
  process.exitCode = await module.main(process.argv.slice(2));
} catch (e) {
  console.error(`bench failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
  process.exitCode = 1;
}
