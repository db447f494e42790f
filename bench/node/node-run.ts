/**
 * The bench without a browser (`npm run bench -- --node`, and the device kit in bench/device/): the
 * page's code (bench/src/main.ts) runs in this Node process on the `webgpu` package (Dawn over
 * Vulkan), for machines with a GPU but no Chromium. Dawn in Node polls for finished work its own
 * way, so read latencies (the seed) do not compare with the browser's; step ratios do.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describeAdapter, runBench } from '../src/main.ts';
import { installNodeGlobals } from './node-globals.ts';
import { benchConfig, isSoftware, parse, writeResults } from './options.ts';

function webgpuVersion(): string {
  try {
    const pkg = createRequire(import.meta.url).resolve('webgpu/package.json');
    return (JSON.parse(readFileSync(pkg, 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

export async function main(argv: readonly string[]): Promise<number> {
  const o = { ...parse(argv), node: true };
  const started = Date.now();
  const cfg = benchConfig(o);
  installNodeGlobals();
  let adapter: Record<string, unknown>;
  try {
    adapter = await describeAdapter();
  } catch (e) {
    throw new Error(
      `Dawn found no WebGPU adapter (${e instanceof Error ? e.message : String(e)}). Point VK_ICD_FILENAMES at a Vulkan driver's ICD file: a GPU's (e.g. /usr/share/vulkan/icd.d/nvidia_icd.json) or SwiftShader's (/usr/lib/chromium/vk_swiftshader_icd.json).`,
    );
  }
  const software = isSoftware(adapter);
  // Results are named for the adapter found, whatever the command line said.
  o.hardware = !software;
  console.log(`node ${process.version}, webgpu ${webgpuVersion()}; adapter: ${`${adapter.vendor} ${adapter.architecture} ${adapter.device} ${adapter.description}`.trim()}${software ? ' (software)' : ''}`);
  if (o.requireHardware && software) throw new Error('--require-hardware: Dawn picked a software adapter; check VK_ICD_FILENAMES and the GPU driver.');
  const result = await runBench(cfg);
  const benchDir = resolve(fileURLToPath(new URL('..', import.meta.url)));
  writeResults(o, cfg, result, benchDir, {
    flags: { hardware: !software, args: [] },
    browser: { name: 'node (webgpu package: Dawn)', version: `${process.version}, webgpu ${webgpuVersion()}`, executablePath: process.execPath },
    softwareAdapter: software,
    started,
  });
  return 0;
}
