/**
 * Every registry op's float64 gradient against central finite differences of its float64
 * forward, with PyTorch gradcheck's tolerances (eps 1e-6, atol 1e-5, rtol 1e-3).
 */
import { describe, expect, test } from 'vitest';
import { registeredOps } from '../../src/index.ts';
import { sizeOf } from '../../src/shape.ts';
import { casesFor, randomGrad, randomInput, SMALL_SIZES } from '../shared/registry-cases.ts';

const EPS = 1e-6;
const ATOL = 1e-5;
const RTOL = 1e-3;

describe('registry', () => {
  test('every op has a forward kernel, a backward kernel, a float64 reference and a reference gradient', () => {
    const ops = registeredOps();
    expect(ops.length).toBeGreaterThan(20);
    for (const op of ops) {
      expect(typeof op.gpu?.forward, `${op.name}: gpu.forward`).toBe('function');
      expect(typeof op.gpu?.backward, `${op.name}: gpu.backward`).toBe('function');
      expect(typeof op.reference, `${op.name}: reference`).toBe('function');
      expect(typeof op.referenceBackward, `${op.name}: referenceBackward`).toBe('function');
      expect(casesFor(op, 64).length, `${op.name}: has test cases at size 64`).toBeGreaterThan(0);
    }
  });
});

describe.each(registeredOps().map((op) => [op.name, op] as const))('gradcheck %s', (_name, op) => {
  test.each(SMALL_SIZES)('size %i', (n) => {
    const cases = casesFor(op, n);
    expect(cases.length).toBeGreaterThan(0);
    cases.forEach(({ shapes, attrs, outShape }, c) => {
      const inputs = shapes.map((s, i) => randomInput(op, i, sizeOf(s), 1000 * n + 10 * c + i));
      const g = randomGrad(sizeOf(outShape), n + c);
      const args = { shapes, attrs, outShape };
      const loss = (xs: Float64Array[]) => op.reference(xs, args).reduce((acc, v, i) => acc + v * g[i]!, 0);
      const out = op.reference(inputs, args);
      const analytic = op.referenceBackward({
        ...args,
        inputs,
        output: out,
        grad: g,
        needs: shapes.map(() => true),
      });
      inputs.forEach((x, i) => {
        const a = analytic[i];
        expect(a, `${op.name} input ${i} gradient`).toBeTruthy();
        expect(a!.length).toBe(x.length);
        for (let j = 0; j < x.length; j++) {
          const orig = x[j]!;
          x[j] = orig + EPS;
          const up = loss(inputs);
          x[j] = orig - EPS;
          const down = loss(inputs);
          x[j] = orig;
          const fd = (up - down) / (2 * EPS);
          const err = Math.abs(a![j]! - fd);
          if (err > ATOL + RTOL * Math.abs(fd)) {
            throw new Error(
              `${op.name} shapes ${JSON.stringify(shapes)} attrs ${JSON.stringify(attrs)}: d/dinput${i}[${j}] analytic ${a![j]} vs finite difference ${fd}`,
            );
          }
        }
      });
    });
  });
});
