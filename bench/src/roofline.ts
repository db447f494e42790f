/**
 * roofline: what this adapter can stream. A vec4 copy kernel (one read, one write of 2^24 floats)
 * and copyBufferToBuffer of the same 64 MiB, in bytes moved (read + written) per second.
 */
import { spread, type Spread } from './common.ts';
import { RawGpu, grid, walkLoop } from './gpu.ts';

export const ROOFLINE_FLOATS = 2 ** 24;

export interface RooflineResult {
  /** GB/s samples (1e9 bytes/s, read + written) per variant. */
  samples: Record<string, number[]>;
  stats: Record<string, Spread | null>;
  /** The best kernel variant's median GB/s: the bar shader workloads are held to. */
  kernelGBs: number;
  copyGBs: number;
}

export async function measureRoofline(reps: number): Promise<RooflineResult> {
  const gpu = await RawGpu.create();
  const n4 = ROOFLINE_FLOATS / 4;
  const bytes = ROOFLINE_FLOATS * 4;
  const src = gpu.buffer(bytes, 'src', new Float32Array(ROOFLINE_FLOATS).fill(1));
  const dst = gpu.buffer(bytes, 'dst');
  const perThread = gpu.kernel(
    'copy vec4, 1 per thread',
    `@group(0) @binding(0) var<storage, read> a: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read_write> b: array<vec4<f32>>;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * 256u;
  if (i < ${n4}u) { b[i] = a[i]; }
}`,
    [src, dst],
  );
  const strideThreads = 65536;
  // Grid stride, and on a CPU adapter also the walk the workloads' raw kernels use there (walkLoop): a contiguous chunk per SIMD group.
  const walkingCopy = (label: string, chunked: boolean) =>
    gpu.kernel(
      label,
      `@group(0) @binding(0) var<storage, read> a: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read_write> b: array<vec4<f32>>;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let tid = gid.x;
  ${walkLoop('i', n4, strideThreads, chunked)} { b[i] = a[i]; }
}`,
      [src, dst],
    );
  const [gx, gy] = grid(n4 / 256);
  const walkVariant = (kernel: ReturnType<typeof walkingCopy>) => ({
    run: (c: number) => gpu.submit(Array.from({ length: c }, () => [kernel, strideThreads / 256] as const)),
    count: 3,
  });
  const variants: Record<string, { run: (count: number) => void; count: number }> = {
    'kernel vec4 1/thread': { run: (c) => gpu.submit(Array.from({ length: c }, () => [perThread, gx, gy] as const)), count: 3 },
    'kernel vec4 grid-stride': walkVariant(walkingCopy('copy vec4, grid-stride', false)),
    ...(gpu.cpuAdapter ? { 'kernel vec4 chunked': walkVariant(walkingCopy('copy vec4, chunk per SIMD group', true)) } : {}),
    copyBufferToBuffer: { run: (c) => gpu.submit([], Array.from({ length: c }, () => [src, dst, bytes] as const)), count: 8 },
  };
  const samples: Record<string, number[]> = {};
  for (const name of Object.keys(variants)) samples[name] = [];
  // Warm-up (pipelines, first touch of the buffers), then interleaved repetitions.
  for (const v of Object.values(variants)) v.run(1);
  await gpu.device.queue.onSubmittedWorkDone();
  for (let r = 0; r < reps; r++) {
    for (const [name, v] of Object.entries(variants)) {
      const t0 = performance.now();
      v.run(v.count);
      await gpu.device.queue.onSubmittedWorkDone();
      const s = (performance.now() - t0) / 1000;
      samples[name]!.push((2 * bytes * v.count) / s / 1e9);
    }
  }
  gpu.destroy();
  const stats: Record<string, Spread | null> = {};
  for (const [k, xs] of Object.entries(samples)) stats[k] = spread(xs);
  const kernelGBs = Math.max(...['kernel vec4 1/thread', 'kernel vec4 grid-stride', 'kernel vec4 chunked'].map((k) => stats[k]?.median ?? 0));
  return { samples, stats, kernelGBs, copyGBs: stats.copyBufferToBuffer?.median ?? 0 };
}
