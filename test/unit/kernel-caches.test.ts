// Sizes are written into the kernels, so a program whose shapes never repeat makes new WGSL and
// new pipelines on every call: both caches keep the most recently used and drop the rest.
import { afterAll, beforeAll, expect, test, vi } from 'vitest';
import { PipelineCache } from '../../src/gpu/pipeline-cache.ts';
import { kernelCache, kernelSourcesHeld, MAX_KERNEL_SOURCES } from '../../src/gpu/wgsl.ts';

/** Just enough of a GPUDevice for PipelineCache: every call succeeds and is counted. */
function fakeDevice() {
  const calls = { pipelines: 0 };
  const device = {
    pushErrorScope() {},
    popErrorScope: () => Promise.resolve(null),
    createShaderModule: (d: GPUShaderModuleDescriptor) => ({ code: d.code }),
    createComputePipeline: () => ({ id: ++calls.pipelines }),
    createBindGroupLayout: () => ({}),
    createPipelineLayout: () => ({}),
  };
  return { device: device as unknown as GPUDevice, calls };
}

const kernel = (i: number) => `const WG: u32 = 64u;\n// kernel ${i}\n`;

beforeAll(() => {
  vi.stubGlobal('GPUShaderStage', { COMPUTE: 4 });
});
afterAll(() => {
  vi.unstubAllGlobals();
});

test('the pipeline cache holds at most its capacity, dropping the least recently used', () => {
  const { device, calls } = fakeDevice();
  const cache = new PipelineCache(device, () => {}, 3);
  const a = cache.pipeline('k0', kernel(0), 1, 1);
  cache.pipeline('k1', kernel(1), 1, 1);
  cache.pipeline('k2', kernel(2), 1, 1);
  // Used again: k0 becomes the most recent, so k1 is the one a fourth kernel pushes out.
  expect(cache.pipeline('k0', kernel(0), 1, 1)).toBe(a);
  cache.pipeline('k3', kernel(3), 1, 1);
  expect(cache.size).toBe(3);
  expect(calls.pipelines).toBe(4);
  expect(cache.pipeline('k0', kernel(0), 1, 1)).toBe(a);
  expect(calls.pipelines).toBe(4);
  // k1 was dropped: asking for it compiles it again.
  cache.pipeline('k1', kernel(1), 1, 1);
  expect(calls.pipelines).toBe(5);
  expect(cache.pipelinesCreated).toBe(5);
  for (let i = 10; i < 100; i++) cache.pipeline(`k${i}`, kernel(i), 2, 1);
  expect(cache.size).toBe(3);
});

test('kernel sources are bounded too, and one in use is not dropped', () => {
  const cached = kernelCache('test-bound');
  let builds = 0;
  const build = (i: number) => () => {
    builds++;
    return kernel(i);
  };
  cached('hot', build(-1));
  for (let i = 0; i < MAX_KERNEL_SOURCES + 50; i++) {
    cached(`k${i}`, build(i));
    cached('hot', build(-1));
  }
  expect(kernelSourcesHeld()).toBeLessThanOrEqual(MAX_KERNEL_SOURCES);
  // 'hot' was built once; the first of the others was dropped and is built again.
  expect(builds).toBe(1 + MAX_KERNEL_SOURCES + 50);
  expect(cached('k0', build(0))).toBe(kernel(0));
  expect(builds).toBe(2 + MAX_KERNEL_SOURCES + 50);
  expect(cached(`k${MAX_KERNEL_SOURCES + 49}`, build(0))).toBe(kernel(MAX_KERNEL_SOURCES + 49));
  expect(builds).toBe(2 + MAX_KERNEL_SOURCES + 50);
});
