// The schedule cache's key: equal for the same structure over new storages and parameters, and
// different wherever the scheduler could decide differently. A hash hit is only trusted after the
// codes compare equal.
import { describe, expect, test } from 'vitest';
import type { GpuStorage } from '../../src/gpu/gpu-ops.ts';
import type { Def } from '../../src/gpu/schedule.ts';
import { type RecordedSchedule, sameStructure, signature } from '../../src/gpu/schedule-cache.ts';
import * as ir from '../../src/ir/expr.ts';

const storage = (length: number, refs = 1) => ({ length, refs }) as unknown as GpuStorage;
const scale = ir.mapTemplate('test:scale', () => ({ name: 'scale', loads: ['x'], lets: [], stores: ['x * param(0u)'], helpers: '' }));

/** out = sum over `axis` of (x * s), x [2, 3]: a fresh graph over fresh storages each call. */
function program(axis: number, s: number, held = 1) {
  const x = storage(6);
  const out = storage(axis === 0 ? 3 : 2, held);
  const e = ir.reduce('sum', ir.map(scale, [ir.src(x, [2, 3])], [s]), [axis]);
  const defs: Def[] = [{ expr: ir.reshape(e, [out.length]), storage: out }];
  return { x, out, sig: signature(defs, [1, 8], () => true) };
}

const recorded = (code: readonly number[]): RecordedSchedule => ({ code, scratch: [], runs: [] });

describe('schedule signatures', () => {
  test('the same structure over new storages and new constants has one code and one hash', () => {
    const a = program(1, 2);
    const b = program(1, 5);
    expect(b.sig.code).toEqual(a.sig.code);
    expect(b.sig.hash).toBe(a.sig.hash);
    expect(sameStructure(recorded(a.sig.code), b.sig)).toBe(true);
    // The slots are this queue's own: its storages and its parameter array.
    expect(b.sig.storages).toEqual([b.x, b.out]);
    expect(b.sig.paramArrays).toEqual([[5]]);
  });

  test('another reduced axis, another context or an unheld output is another structure', () => {
    const base = program(1, 2).sig;
    for (const other of [program(0, 2).sig, program(1, 2, 0).sig]) {
      expect(other.code).not.toEqual(base.code);
      expect(sameStructure(recorded(base.code), other)).toBe(false);
    }
    const x = storage(6);
    const out = storage(2);
    const defs: Def[] = [{ expr: ir.reshape(ir.reduce('sum', ir.map(scale, [ir.src(x, [2, 3])], [2]), [1]), [2]), storage: out }];
    expect(signature(defs, [0, 8], () => true).code).not.toEqual(base.code);
  });

  test('a hash collision is not a hit: the codes are compared', () => {
    const a = program(1, 2).sig;
    const forged = { ...program(0, 2).sig, hash: a.hash };
    expect(sameStructure(recorded(a.code), forged)).toBe(false);
    // Same length, one number apart.
    const near = [...a.code];
    near[near.length - 1] = near.at(-1)! + 1;
    expect(sameStructure(recorded(near), a)).toBe(false);
  });
});
