import { existsSync } from 'node:fs';

/** Candidates in the order a Debian or Ubuntu machine installs them. */
const SYSTEM_CHROMIUMS = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'];

/**
 * The Chromium to drive: CHROMIUM_PATH when set (it must exist), else a system Chromium, else
 * undefined so that Playwright uses a browser it downloaded itself where that is possible.
 */
export function chromiumPath(): string | undefined {
  const fromEnv = process.env.CHROMIUM_PATH;
  if (fromEnv) {
    if (!existsSync(fromEnv)) throw new Error(`CHROMIUM_PATH=${fromEnv} does not exist: point it at a Chromium binary or unset it`);
    return fromEnv;
  }
  return SYSTEM_CHROMIUMS.find((p) => existsSync(p));
}

/** Flags that give headless Chromium a WebGPU adapter (SwiftShader without a GPU) and a WebGPU canvas. */
export const softwareWebgpuArgs = [
  '--no-sandbox',
  '--enable-unsafe-webgpu',
  '--enable-features=Vulkan',
  '--use-vulkan=swiftshader',
  '--use-angle=swiftshader',
  '--enable-unsafe-swiftshader',
  '--disable-gpu-watchdog',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

/** Flags for a machine with a real GPU (Vulkan). */
export const hardwareWebgpuArgs = [
  '--no-sandbox',
  '--enable-unsafe-webgpu',
  '--enable-features=Vulkan',
  '--use-angle=vulkan',
  '--disable-vulkan-surface',
  '--ignore-gpu-blocklist',
  '--disable-gpu-watchdog',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

/** The flag set for this run: PIXELGRAD_GPU=hardware selects the real-GPU flags. */
export function webgpuArgs(): string[] {
  return process.env.PIXELGRAD_GPU === 'hardware' ? hardwareWebgpuArgs : softwareWebgpuArgs;
}

/** Same browser, no `--enable-unsafe-webgpu`: requestAdapter() resolves to null. */
export const noWebgpuArgs = ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];
