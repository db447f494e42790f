/** Test cases drawn from the op registry: shapes of a given size, attrs and random inputs in each op's domain. */
import type { OpDef } from '../../src/ops/op.ts';
import { mulberry32 } from '../../src/random.ts';
import type { Shape } from '../../src/shape.ts';

/** Sizes every op is tested at: around one workgroup (64) and one above a 65,535 × 64 grid. */
export const SMALL_SIZES = [1, 63, 64, 65];
export const LARGE_SIZE = 65_535 * 64 + 1;

function defaultShapes(op: OpDef<unknown>, n: number): Shape[][] {
  if (op.arity === 1) return n % 5 === 0 ? [[[n]], [[5, n / 5]]] : [[[n]], [[1, n]]];
  // Binary elementwise: plain, and broadcasting in both directions.
  const cases: Shape[][] = [[[n], [n]]];
  if (n > 1) cases.push([[n, 1], [1, 3]], [[2, n], [n]], [[n], [1]]);
  return cases;
}

export interface OpCase {
  readonly shapes: Shape[];
  readonly attrs: unknown;
  readonly outShape: Shape;
}

/** Every valid (shapes, attrs) pair for size n; invalid pairs (the op's shape rule throws) are skipped. */
export function casesFor(op: OpDef<unknown>, n: number): OpCase[] {
  const shapeSets = op.testShapes?.(n) ?? defaultShapes(op, n);
  const attrSets = op.testAttrs ?? [{}];
  const out: OpCase[] = [];
  for (const shapes of shapeSets) {
    for (const attrs of attrSets) {
      let outShape: Shape;
      try {
        outShape = op.shape(shapes, attrs);
      } catch {
        continue;
      }
      out.push({ shapes, attrs, outShape });
    }
  }
  return out;
}

/** Random float32-representable values in the op's domain for input i. */
export function randomInput(op: OpDef<unknown>, i: number, size: number, seed: number): Float64Array {
  const { min, max, integer } = op.domain?.(i) ?? { min: -2, max: 2 };
  const r = mulberry32(seed);
  return Float64Array.from({ length: size }, () => (integer ? Math.round(min + (max - min) * r()) : Math.fround(min + (max - min) * r())));
}

export function randomGrad(size: number, seed: number): Float64Array {
  const r = mulberry32(seed ^ 0x9e3779b9);
  return Float64Array.from({ length: size }, () => Math.fround(2 * r() - 1));
}
