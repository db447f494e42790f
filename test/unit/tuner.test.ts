import { expect, test } from 'vitest';
import { gemmTiling } from '../../src/gpu/tuner.ts';

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
