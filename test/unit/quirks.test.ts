/** MapProdder: empty submits while a map is pending, spread over a short window that each new map reopens, against a stand-in queue. */
import { expect, test } from 'vitest';
import { MapProdder } from '../../src/gpu/quirks.ts';

function fakeQueue() {
  const times: number[] = [];
  const queue = { submit: (cbs: unknown[]) => times.push(cbs.length === 0 ? performance.now() : Number.NaN) } as unknown as GPUQueue;
  return { queue, times };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function idle(p: MapProdder): Promise<void> {
  for (let i = 0; i < 500 && p.running; i++) await sleep(1);
  expect(p.running).toBe(false);
}

test('prods with empty submits while the map is pending, then stops when it settles', async () => {
  const { queue, times } = fakeQueue();
  let pending = true;
  const p = new MapProdder(queue, () => pending);
  p.kick();
  for (let i = 0; i < 50 && times.length === 0; i++) await sleep(1);
  pending = false;
  await idle(p);
  expect(times.length).toBeGreaterThan(0);
  expect(times.every((t) => !Number.isNaN(t))).toBe(true);
  const after = times.length;
  await sleep(20);
  expect(times.length).toBe(after);
});

test('a map that never settles is prodded for a few milliseconds only, about 0.4 ms apart', async () => {
  const { queue, times } = fakeQueue();
  const p = new MapProdder(queue, () => true);
  const t0 = performance.now();
  p.kick();
  await idle(p);
  expect(times.length).toBeGreaterThanOrEqual(2);
  expect(times.length).toBeLessThanOrEqual(11);
  expect(times[0]! - t0).toBeGreaterThan(0.3);
  for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!).toBeGreaterThan(0.3);
  const after = times.length;
  await sleep(20);
  expect(times.length).toBe(after);
});

test('nothing is submitted when the map settled before the first turn', async () => {
  const { queue, times } = fakeQueue();
  const p = new MapProdder(queue, () => false);
  p.kick();
  await idle(p);
  expect(times).toEqual([]);
});

test('a map that starts while the loop still turns gets a fresh window', async () => {
  const { queue, times } = fakeQueue();
  let clock = 0;
  const p = new MapProdder(queue, () => true, () => clock);
  const turns = () => sleep(5);
  p.kick();
  clock = 3.9;
  await turns();
  expect(times.length).toBe(1);
  p.kick();
  // Past the first window's end, inside the second's.
  clock = 6;
  await turns();
  expect(p.running).toBe(true);
  expect(times.length).toBe(2);
  clock = 8;
  await idle(p);
  expect(times.length).toBe(2);
});

test('after a read that outlasted the window the next is not prodded, and prodding resumes after a short one', async () => {
  const { queue, times } = fakeQueue();
  let clock = 0;
  const p = new MapProdder(queue, () => true, () => clock);
  p.settled(12);
  p.kick();
  expect(p.running).toBe(false);
  clock = 1;
  await sleep(5);
  expect(times).toEqual([]);
  p.settled(0.8);
  p.kick();
  expect(p.running).toBe(true);
  clock = 1.5;
  await sleep(5);
  expect(times.length).toBe(1);
  clock = 10;
  await idle(p);
});
