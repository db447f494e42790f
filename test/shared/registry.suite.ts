/**
 * Every registry op, run through the public Tensor machinery on a backend, against its float64
 * reference: forward values, and backward gradients against the reference gradient (which
 * test/unit/gradcheck.test.ts checks against finite differences).
 */
import { describe, expect, test } from 'vitest';
import * as pg from '../../src/index.ts';
import { registeredOps } from '../../src/ops/all.ts';
import type { OpDef } from '../../src/ops/op.ts';
import { type Shape, sizeOf } from '../../src/shape.ts';
import { apply } from '../../src/tensor.ts';
import { type BackendKind, expectClose, tol, useBackend } from './backends.ts';
import { casesFor, LARGE_SIZE, type OpCase, randomGrad, randomInput, SMALL_SIZES } from './registry-cases.ts';

const maxAbs = (a: ArrayLike<number>) => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]!));
  return m;
};

async function checkCase(kind: BackendKind, op: OpDef<unknown>, c: OpCase, seed: number): Promise<void> {
  const { rtol, atol } = tol(kind);
  const inputs = c.shapes.map((s, i) => randomInput(op, i, sizeOf(s), seed + i));
  const g = randomGrad(sizeOf(c.outShape), seed);
  const args = { shapes: c.shapes, attrs: c.attrs, outShape: c.outShape };
  const expected = op.reference(inputs, args);
  const expectedGrads = op.referenceBackward({ ...args, inputs, output: expected, grad: g, needs: c.shapes.map(() => true) });
  const what = `${op.name} ${JSON.stringify(c.shapes)} ${JSON.stringify(c.attrs)}`;
  const biggest = Math.max(sizeOf(c.outShape), ...c.shapes.map((s: Shape) => sizeOf(s)));

  const ts = c.shapes.map((s, i) => pg.tensor(Float32Array.from(inputs[i]!), { shape: s, requiresGrad: true }));
  const out = apply(op, ts, c.attrs);
  expect(out.shape).toEqual(c.outShape);
  // An int32 or bool result (a mask, an index) records nothing: its reference gradient is 0.
  const recorded = out.requiresGrad;
  expect(recorded, `${what}: only float32 results are recorded`).toBe(out.dtype === 'float32');
  if (recorded) out.backward(pg.tensor(Float32Array.from(g), { shape: c.outShape }));
  const got = await out.data<pg.DType>();
  const fwdAtol = atol * Math.max(1, maxAbs(expected)) * Math.sqrt(Math.max(1, biggest / Math.max(1, sizeOf(c.outShape))));
  expectClose(got, expected, rtol, fwdAtol, `${what} forward`);
  for (let i = 0; i < ts.length; i++) {
    const gi = recorded ? await ts[i]!.grad!.data() : new Float32Array(sizeOf(c.shapes[i]!));
    const e = expectedGrads[i]!;
    const bwdAtol = atol * Math.max(1, maxAbs(e)) * Math.sqrt(Math.max(1, biggest / Math.max(1, e.length)));
    expectClose(gi, e, rtol, bwdAtol, `${what} gradient of input ${i}`);
  }
  pg.dispose([out, ts]);
}

export function registrySuite(kind: BackendKind): void {
  useBackend(kind);
  const ops = registeredOps();
  test('the registry is not empty', () => expect(ops.length).toBeGreaterThan(20));
  describe.each(ops.map((op) => [op.name, op] as const))('%s', (_name, op) => {
    test.each(SMALL_SIZES)('forward and backward match the float64 reference at size %i', async (n) => {
      const cases = casesFor(op, n);
      expect(cases.length).toBeGreaterThan(0);
      for (const [i, c] of cases.entries()) await checkCase(kind, op, c, 7919 * n + 31 * i);
    });
    if (kind === 'webgpu') {
      test(`forward and backward above a 65,535-workgroup grid (${LARGE_SIZE} elements)`, async () => {
        const [c] = casesFor(op, LARGE_SIZE);
        expect(c).toBeDefined();
        await checkCase(kind, op, c!, 42);
      });
    }
  });
}
