/**
 * The renderer's index arithmetic folds a node's coordinates back into the linear index they were
 * split from: the same element reached through different views gets the same text (one load), and
 * a neighbour's is the index plus a constant. Evaluated here as plain numbers too.
 */
import { expect, test } from 'vitest';
import { add, alias, delinearize, linearOf, resetForms, sub, viewIndex } from '../../src/gpu/coords.ts';

/** The value of a u32 index expression with `e` bound (JS division truncates like u32 on these non-negative values). */
const evalIndex = (code: string, e: number) => Number(Function('e', `return ${code.replace(/(\d+)u/g, '$1').replace(/\(([^()]*) \/ (\d+)\)/g, 'Math.floor($1 / $2)')};`)(e));

test('coordinates split from e, shifted by a pad and back by a slice, read element e; a neighbour reads e + 3', () => {
  resetForms();
  const shape = [8, 8, 3];
  const idx = delinearize('e', shape);
  // The renderer names coordinates before it uses them.
  const names = idx.c.map((c, k) => {
    alias(`x${k}`, c);
    return `x${k}`;
  });
  expect(linearOf({ c: names }, shape)).toBe('e');
  // x[:, 1:] read at (x0, x1 - 1, x2) (a pad of 1 before axis 1): x itself.
  const shifted = sub(names[1]!, 1);
  alias('s', shifted);
  const back = viewIndex({ c: [names[0]!, 's', names[2]!] }, [8, 7, 3], [24, 3, 1], 3, shape);
  expect(linearOf(back, shape)).toBe('e');
  // The element to the right: e + 3, without its coordinates.
  const right = linearOf({ c: [names[0]!, add(names[1]!, '1u'), names[2]!] }, shape);
  expect(right).toBe('(e + 3u)');
  expect(evalIndex(right, 29)).toBe(32);
});

test('coordinates of different splits, or of one split with the wrong strides, are left as they are', () => {
  resetForms();
  const a = delinearize('e', [4, 6]);
  const b = delinearize('f', [6, 4]);
  expect(linearOf({ c: [a.c[0]!, b.c[1]!] }, [4, 6])).not.toMatch(/^[ef]$/);
  // Transposed: the coordinates of [4, 6] read as [6, 4] are not the same element.
  expect(linearOf({ c: [a.c[1]!, a.c[0]!] }, [6, 4])).not.toBe('e');
});
