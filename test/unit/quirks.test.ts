/** workgroupFor and the width a module declares; MapProdder: empty submits while a map is pending, spread over a short window that each new map reopens, against a stand-in queue. */
import { expect, test } from 'vitest';
import { CPU_WALK_WIDTH, MapProdder, PROD_MAX_WORK_BYTES, PROD_WINDOW_MS, readsNeedProdding, WORKGROUP_SIZE, workgroupFor } from '../../src/gpu/quirks.ts';
import { wgslModule, workgroupSizeOf } from '../../src/gpu/wgsl.ts';

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
/** Once the loop has stopped, nothing more is submitted. */
async function noMoreProds(times: readonly number[]): Promise<void> {
  const after = times.length;
  await sleep(20);
  expect(times.length).toBe(after);
}

/** Runs `body` with MessageChannel construction counted; the real constructor is restored after. */
async function countingChannels(body: (made: () => number) => Promise<void>): Promise<void> {
  const Real = globalThis.MessageChannel;
  let made = 0;
  globalThis.MessageChannel = class extends Real {
    constructor() {
      super();
      made++;
    }
  };
  try {
    await body(() => made);
  } finally {
    globalThis.MessageChannel = Real;
  }
}

/** One read: its map stays pending until the first prod has gone out, then settles, and the loop stops. */
async function proddedRead(p: MapProdder, times: readonly number[], map: { pending: boolean }): Promise<void> {
  const before = times.length;
  map.pending = true;
  p.kick();
  for (let i = 0; i < 50 && times.length === before; i++) await sleep(1);
  map.pending = false;
  await idle(p);
}

test('prods with empty submits while the map is pending, then stops when it settles', async () => {
  const { queue, times } = fakeQueue();
  const map = { pending: true };
  const p = new MapProdder(queue, () => map.pending);
  await proddedRead(p, times, map);
  expect(times.length).toBeGreaterThan(0);
  expect(times.every((t) => !Number.isNaN(t))).toBe(true);
  await noMoreProds(times);
});

test('one channel serves every read, and a closed prodder stops turning and sends nothing more', async () => {
  const { queue, times } = fakeQueue();
  await countingChannels(async (made) => {
    const map = { pending: true };
    const p = new MapProdder(queue, () => map.pending);
    for (let read = 0; read < 3; read++) await proddedRead(p, times, map);
    expect(made()).toBe(1);
    expect(times.length).toBeGreaterThanOrEqual(3);
    map.pending = true;
    p.kick();
    p.close();
    expect(p.running).toBe(false);
    await noMoreProds(times);
  });
});

test("where the browser has scheduler.postTask the loop turns on background-priority tasks, so the map's own delivery goes first", async () => {
  const { queue, times } = fakeQueue();
  const priorities: string[] = [];
  const g = globalThis as { scheduler?: unknown };
  const had = 'scheduler' in g;
  const saved = g.scheduler;
  g.scheduler = {
    postTask(task: () => void, options: { priority: string }) {
      priorities.push(options.priority);
      return new Promise<void>((resolve) => setImmediate(() => resolve(task())));
    },
  };
  try {
    await countingChannels(async (made) => {
      const map = { pending: true };
      const p = new MapProdder(queue, () => map.pending);
      await proddedRead(p, times, map);
      expect(times.length).toBeGreaterThan(0);
      expect(priorities.length).toBeGreaterThan(times.length);
      expect(new Set(priorities)).toEqual(new Set(['background']));
      expect(made()).toBe(0);
      await noMoreProds(times);
    });
  } finally {
    if (had) g.scheduler = saved;
    else delete g.scheduler;
  }
});

// Real timers: a loaded machine (CI runs the browser tests beside it) can stretch one turn past the window.
test('a map that never settles is prodded for a few milliseconds only, about 0.3 ms apart', { retry: 2 }, async () => {
  const { queue, times } = fakeQueue();
  const p = new MapProdder(queue, () => true);
  const t0 = performance.now();
  p.kick();
  await idle(p);
  expect(times.length).toBeGreaterThanOrEqual(2);
  expect(times.length).toBeLessThanOrEqual(15);
  expect(times[0]! - t0).toBeGreaterThan(0.2);
  for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!).toBeGreaterThan(0.2);
  await noMoreProds(times);
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
  const p = new MapProdder(queue, () => true, 4, Number.POSITIVE_INFINITY, () => clock);
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

test('after two prodded reads in a row outlasted the window the next four are not prodded, then one is again; one long read alone changes nothing', async () => {
  const { queue } = fakeQueue();
  let clock = 0;
  const p = new MapProdder(queue, () => true, 4, Number.POSITIVE_INFINITY, () => clock);
  const kicks = () => {
    p.kick();
    return p.running;
  };
  const longRead = async () => {
    expect(kicks()).toBe(true);
    clock += 10;
    await idle(p);
    p.settled(12);
  };
  // A hiccup: one long read between short ones.
  await longRead();
  expect(kicks()).toBe(true);
  clock += 10;
  await idle(p);
  p.settled(0.8);
  await longRead();
  expect(kicks()).toBe(true);
  clock += 10;
  await idle(p);
  p.settled(12);
  for (let i = 0; i < 4; i++) {
    expect(kicks()).toBe(false);
    // An unprodded read is long whatever its work: it does not extend the pause.
    p.settled(12);
  }
  expect(kicks()).toBe(true);
  clock += 10;
  await idle(p);
  // A short prodded read keeps prodding on.
  p.settled(0.8);
  expect(kicks()).toBe(true);
  clock += 10;
  await idle(p);
});

test("a CPU adapter's shorter window ends the prodding sooner, and two reads past it turn prodding off", async () => {
  const { queue, times } = fakeQueue();
  let clock = 0;
  const p = new MapProdder(queue, () => true, PROD_WINDOW_MS.cpu, PROD_MAX_WORK_BYTES.cpu, () => clock);
  p.kick();
  clock = 2.9;
  await sleep(5);
  expect(p.running).toBe(true);
  expect(times.length).toBe(1);
  clock = 3.1;
  await idle(p);
  p.settled(3.5);
  p.kick();
  clock = 6.5;
  await idle(p);
  p.settled(3.5);
  p.kick();
  expect(p.running).toBe(false);
});

test('on a CPU adapter a read of more than a MiB of work is not prodded and does not use up the pause', async () => {
  const { queue, times } = fakeQueue();
  let clock = 0;
  const p = new MapProdder(queue, () => true, PROD_WINDOW_MS.cpu, PROD_MAX_WORK_BYTES.cpu, () => clock);
  p.kick(4 * 2 ** 20);
  expect(p.running).toBe(false);
  // Long, but it was not prodded: the next small read still is.
  p.settled(5);
  p.kick(PROD_MAX_WORK_BYTES.cpu);
  expect(p.running).toBe(true);
  clock = 1;
  await sleep(5);
  expect(times.length).toBe(1);
  clock = 10;
  await idle(p);
});

test('reads are prodded in a browser only: Node has neither window nor worker scope', () => {
  expect(readsNeedProdding()).toBe(false);
});

test('a prodder with no window (Node) never turns and never prods', async () => {
  const { queue, times } = fakeQueue();
  const p = new MapProdder(queue, () => true, 0, PROD_MAX_WORK_BYTES.gpu);
  p.kick();
  expect(p.running).toBe(false);
  await sleep(5);
  expect(times).toEqual([]);
});

test('workgroups shrink to the next power of two at or above a small thread count, and never pass WORKGROUP_SIZE', () => {
  expect([0, 1, 2, 3, 4, 5, 63, 64, 65, 255, 256, 257, 1e6].map(workgroupFor)).toEqual([1, 1, 2, 4, 4, 8, 64, 64, 128, 256, 256, 256, 256]);
  expect(WORKGROUP_SIZE).toBe(256);
  const body = '@compute @workgroup_size(WG)\nfn main() {}\n';
  expect(workgroupSizeOf(wgslModule({ inputs: [], outputs: ['out'], threads: 5 }, body))).toBe(8);
  expect(workgroupSizeOf(wgslModule({ inputs: [], outputs: ['out'] }, body))).toBe(WORKGROUP_SIZE);
  expect(() => workgroupSizeOf(body)).toThrow(/header/);
});

test('a width caps the workgroup (a CPU adapter\'s summing walks), and a small thread count still shrinks it', () => {
  const body = '@compute @workgroup_size(WG)\nfn main() {}\n';
  const width = (threads?: number) => workgroupSizeOf(wgslModule({ inputs: [], outputs: ['out'], width: CPU_WALK_WIDTH, ...(threads === undefined ? {} : { threads }) }, body));
  expect([width(), width(1e6), width(65), width(64), width(5), width(1)]).toEqual([CPU_WALK_WIDTH, CPU_WALK_WIDTH, CPU_WALK_WIDTH, 64, 8, 1]);
  expect(CPU_WALK_WIDTH).toBeLessThan(WORKGROUP_SIZE);
});
