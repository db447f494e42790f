#!/usr/bin/env node
// npm run bench [-- --quick] [--hardware [--require-hardware]] [--only=palette,layers] [--engines=pixelgrad,raw]
// The driver is TypeScript (bench/node/driver.ts); Vite's module runner loads it without a build step.
import { runnerImport } from 'vite';

const { module } = await runnerImport('/bench/node/driver.ts', { configFile: false, logLevel: 'warn' });
try {
  process.exitCode = await module.main(process.argv.slice(2));
} catch (e) {
  console.error(`bench failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
  process.exitCode = 1;
}
