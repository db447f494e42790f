import { expect, test } from 'vitest';
import { convForm, elementwiseWalkers, gemmTiling, tunerTesting, walkShape } from '../../src/gpu/tuner.ts';

const cpu = { isSoftware: true };
const gpu = { isSoftware: false };

test('a CPU adapter gets 16 × 16 blocks in narrow workgroups while the output has 256 of them', () => {
  expect(gemmTiling(cpu, 1, 512, 512)).toMatchObject({ TM: 16, TN: 16, width: 16 });
  expect(gemmTiling(cpu, 1, 1024, 1024)).toMatchObject({ TM: 16, TN: 16 });
  // 130 × 130: 81 blocks of 16 × 16, 153 of 8 × 16, 289 of 8 × 8.
  expect(gemmTiling(cpu, 1, 130, 130)).toMatchObject({ TM: 8, TN: 8 });
  // Too small for any: the smallest blocks, and split-K may add threads.
  expect(gemmTiling(cpu, 1, 17, 33)).toMatchObject({ TM: 4, TN: 4, targetThreads: 256 });
  // A batch counts its blocks too.
  expect(gemmTiling(cpu, 16, 64, 64)).toMatchObject({ TM: 16, TN: 16 });
});

test('a GPU gets 8 × 4 blocks while the output has 4,096 of them, else 4 × 4, in 256-wide workgroups', () => {
  expect(gemmTiling(gpu, 1, 512, 512)).toMatchObject({ TM: 8, TN: 4, width: 256, targetThreads: 4096 });
  expect(gemmTiling(gpu, 1, 130, 130)).toMatchObject({ TM: 4, TN: 4, width: 256 });
});

test('walks are chunked on a CPU adapter where their elements are contiguous, rounded to whole SIMD groups; a grid stride on a GPU', () => {
  expect(walkShape(cpu, 1000)).toEqual({ P: 1000, chunked: true });
  expect(walkShape(cpu, 1001)).toEqual({ P: 1004, chunked: true });
  // A sum over an outer axis reads strided elements: no chunks to stream.
  expect(walkShape(cpu, 1001, false)).toEqual({ P: 1001, chunked: false });
  expect(walkShape(gpu, 1001)).toEqual({ P: 1001, chunked: false });
  // One SIMD group's worth or less is left as it is.
  expect(walkShape(cpu, 3)).toEqual({ P: 3, chunked: true });
});

test('large elementwise kernels walk on a CPU adapter only; conv2d takes scalar blocks there and vec4s on a GPU', () => {
  expect(elementwiseWalkers(cpu, 1022)).toBe(1024);
  expect(elementwiseWalkers(gpu, 1022)).toBeUndefined();
  expect(convForm(cpu)).toBe('blocked');
  expect(convForm(gpu)).toBe('vector');
  // Tests that build another device's kernels override the profile for every decision.
  tunerTesting.profile = gpu;
  try {
    expect(walkShape(cpu, 1001)).toEqual({ P: 1001, chunked: false });
    expect(elementwiseWalkers(cpu, 1022)).toBeUndefined();
    expect(convForm(cpu)).toBe('vector');
  } finally {
    tunerTesting.profile = null;
  }
});
