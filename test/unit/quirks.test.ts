/** prodWhileMapping: empty submits while a map is pending, never past its short window, against a stand-in queue. */
import { expect, test } from 'vitest';
import { prodWhileMapping } from '../../src/gpu/quirks.ts';

function fakeQueue() {
  const submits: number[] = [];
  const queue = { submit: (cbs: unknown[]) => submits.push(cbs.length) } as unknown as GPUQueue;
  return { queue, submits };
}

test('prods with empty submits while the map is pending, then stops when it settles', async () => {
  const { queue, submits } = fakeQueue();
  let pending = true;
  const ended = new Promise<void>((resolve) => prodWhileMapping(queue, () => pending, resolve));
  await new Promise((r) => setTimeout(r, 1));
  pending = false;
  await ended;
  expect(submits.length).toBeGreaterThan(0);
  expect(submits.every((n) => n === 0)).toBe(true);
  const after = submits.length;
  await new Promise((r) => setTimeout(r, 20));
  expect(submits.length).toBe(after);
});

test('a map that never settles is prodded for a few milliseconds only', async () => {
  const { queue, submits } = fakeQueue();
  const t0 = performance.now();
  await new Promise<void>((resolve) => prodWhileMapping(queue, () => true, resolve));
  expect(performance.now() - t0).toBeLessThan(100);
  const after = submits.length;
  await new Promise((r) => setTimeout(r, 20));
  expect(submits.length).toBe(after);
});

test('nothing is submitted when the map settled before the first turn', async () => {
  const { queue, submits } = fakeQueue();
  await new Promise<void>((resolve) => prodWhileMapping(queue, () => false, resolve));
  expect(submits).toEqual([]);
});
