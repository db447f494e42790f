/** The buffer pool's size classes and reuse order, against a stand-in device. */
import { expect, test } from 'vitest';
import { BufferPool, sizeClass } from '../../src/gpu/buffer-pool.ts';

function fakeDevice() {
  const created: number[] = [];
  const device = {
    createBuffer: ({ size }: { size: number }) => {
      created.push(size);
      return { size, destroy() {} };
    },
  } as unknown as GPUDevice;
  return { device, created };
}

test('size classes cover the request, step by at most a quarter octave and are 16-byte aligned', () => {
  let prev = 0;
  for (let bytes = 1; bytes < 1 << 22; bytes = Math.ceil(bytes * 1.07) + 3) {
    const c = sizeClass(bytes);
    expect(c).toBeGreaterThanOrEqual(bytes);
    expect(c % 16).toBe(0);
    expect(c).toBeLessThanOrEqual(Math.max(256, bytes * 1.25 + 16));
    expect(c).toBeGreaterThanOrEqual(prev);
    prev = c;
  }
});

test('the pool hands out the lowest free buffer whatever the release order, and reuses instead of creating', () => {
  const { device, created } = fakeDevice();
  const pool = new BufferPool(device, 0, 'test', 1 << 30);
  const [a, b, c] = [pool.acquire(1000), pool.acquire(1000), pool.acquire(1000)];
  expect(created).toHaveLength(3);
  pool.release(b!);
  pool.release(c!);
  pool.release(a!);
  expect(pool.acquire(1000).id).toBe(a!.id);
  expect(pool.acquire(1000).id).toBe(b!.id);
  expect(created).toHaveLength(3);
  expect(pool.bytesInUse).toBe(2 * sizeClass(1000));
  expect(pool.bytesPooled).toBe(sizeClass(1000));
});

test('a buffer near the device limit gets an exact size, never a class above the limit', () => {
  const { device, created } = fakeDevice();
  const limit = 1_000_000_000 - 64;
  const pool = new BufferPool(device, 0, 'test', limit);
  pool.acquire(limit - 1000);
  expect(created[0]).toBeLessThanOrEqual(limit);
  expect(created[0]).toBeGreaterThanOrEqual(limit - 1000);
});
