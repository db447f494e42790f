/**
 * Negative strides in the IR's view node: how flips fold, how the renderer's index arithmetic
 * reads them (evaluated here as plain numbers), and which walks the scheduler accepts over them.
 */
import { expect, test } from 'vitest';
import type { Storage } from '../../src/backend.ts';
import { viewIndex } from '../../src/gpu/coords.ts';
import type { GpuStorage } from '../../src/gpu/gpu-ops.ts';
import { findWalk } from '../../src/gpu/walks.ts';
import * as ir from '../../src/ir/expr.ts';

const storage = (n: number) => ({ length: n }) as unknown as Storage;

/** The value of a u32 index expression from coords.ts, with `i` and `j` bound. */
const evalIndex = (code: string, i: number, j: number) => Number(Function('i', 'j', `return ${code.replace(/(\d+)u/g, '$1')};`)(i, j));

test('a flip is a view with a negative stride from the last element; flips of views fold, and cancel', () => {
  const x = ir.src(storage(12), [3, 4]);
  const f = ir.flip(x, [0]);
  expect(f.op).toBe('view');
  expect(f.op === 'view' && [f.strides, f.base]).toEqual([[-4, 1], 8]);
  const ff = ir.flip(f, [0, 1]);
  expect(ff.op === 'view' && ff.x === x && [ff.strides, ff.base]).toEqual([[4, -1], 3]);
  expect(ir.flip(ir.flip(x, [1]), [1])).toBe(x);
  const t = ir.flip(ir.permute(x, [1, 0]), [1]);
  expect(t.op === 'view' && t.x === x && [t.strides, t.base]).toEqual([[1, -4], 8]);
  // A size-1 axis or a broadcast one reads the same elements either way.
  expect(ir.flip(ir.src(storage(4), [1, 4]), [0])).toEqual(expect.objectContaining({ op: 'src' }));
});

test('the renderer reads a flipped view at n-1-c with only non-negative u32 terms', () => {
  const shape = [3, 4];
  for (const [strides, base] of [
    [[-4, 1], 8],
    [[4, -1], 3],
    [[-4, -1], 11],
    [[1, -3], 9],
  ] as const) {
    const idx = viewIndex({ c: ['i', 'j'] }, shape, strides, base, [12]);
    expect(idx.c[0]).not.toMatch(/-\s*\d+u\s*\*|\*\s*-/);
    for (let i = 0; i < 3; i++) for (let j = 0; j < 4; j++) expect(evalIndex(idx.c[0]!, i, j), `${strides} at ${i},${j}`).toBe(base + i * strides[0] + j * strides[1]);
  }
  // Read as the operand's 2-D shape, each coordinate stays on its own axis.
  const two = viewIndex({ c: ['i', 'j'] }, shape, [-4, 1], 8, [3, 4]);
  for (let i = 0; i < 3; i++) for (let j = 0; j < 4; j++) expect([evalIndex(two.c[0]!, i, j), evalIndex(two.c[1]!, i, j)]).toEqual([2 - i, j]);
});

test('a walk follows rows through a flip of another axis, never along a flipped walked axis', () => {
  const n = 5000;
  const x = ir.src(storage(3 * n), [n, 3]);
  const walkOf = (e: ir.Expr) => findWalk(new Map([[ir.reduce('sum', e, [0]), {} as GpuStorage]]), new Set(), new Map(), 8);
  expect(walkOf(x)).not.toBeNull();
  expect(walkOf(ir.flip(x, [1]))).not.toBeNull();
  expect(walkOf(ir.flip(x, [0]))).toBeNull();
});
