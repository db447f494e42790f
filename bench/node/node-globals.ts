/**
 * What the bench page's code expects of a browser, in Node: navigator.gpu from the `webgpu`
 * package (Dawn, on whatever Vulkan driver VK_ICD_FILENAMES or the system names) and the WebGPU
 * globals. Installed before the first bench function runs.
 */
import { create, globals } from 'webgpu';

export function installNodeGlobals(): void {
  Object.assign(globalThis, globals);
  const g = globalThis as unknown as { navigator?: Record<string, unknown> };
  g.navigator ??= { userAgent: `Node.js ${process.version}` };
  if (!('gpu' in g.navigator)) Object.defineProperty(g.navigator, 'gpu', { value: create([]), configurable: true });
}
