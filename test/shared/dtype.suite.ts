/**
 * Dtypes: float32, int32 and bool tensors on float storage, with PyTorch's promotion; creation from
 * each input kind, data()'s array types, to()'s edge values, the promotion table of every binary
 * op, reductions, errors, printing and safetensors.
 */
import { expect, test } from 'vitest';
import * as pg from '../../src/index.ts';
import dtypesUrl from '../fixtures/python-dtypes.safetensors?inline';
import { type BackendKind, expectError, useBackend } from './backends.ts';

const bytesOf = (dataUrl: string): Uint8Array => Uint8Array.from(atob(dataUrl.slice(dataUrl.indexOf(',') + 1)), (c) => c.charCodeAt(0));

const { NaN: nan, POSITIVE_INFINITY: inf } = Number;
const DTYPES: readonly pg.DType[] = ['bool', 'int32', 'float32'];
const rank = (d: pg.DType) => DTYPES.indexOf(d);
const higher = (a: pg.DType, b: pg.DType): pg.DType => (rank(a) >= rank(b) ? a : b);

/** A small tensor of `dtype` whose values fit every op below (0/1 for bool, whole numbers for int32). */
const sample = (d: pg.DType) => (d === 'bool' ? pg.tensor([true, false, true]) : d === 'int32' ? pg.tensor([2, -3, 4], { dtype: 'int32' }) : pg.tensor([1.5, -2, 0.25]));

export function dtypeSuite(kind: BackendKind): void {
  useBackend(kind);

  test('creation from each input kind, and data() array types', async () => {
    const f = pg.tensor([1, 2]);
    const i = pg.tensor(new Int32Array([3, -4]));
    const b = pg.tensor(new Uint8Array([0, 7, 1]));
    const j = pg.tensor([[true], [false]]);
    const k = pg.tensor([1.9, -1.9, 0], { dtype: 'int32' });
    const c = pg.tensor([0, -0.5, nan], { dtype: 'bool' });
    expect([f.dtype, i.dtype, b.dtype, j.dtype, k.dtype, c.dtype]).toEqual(['float32', 'int32', 'bool', 'bool', 'int32', 'bool']);
    expect(await f.data()).toEqual(new Float32Array([1, 2]));
    expect(await i.data<'int32'>()).toEqual(new Int32Array([3, -4]));
    expect(await b.data<'bool'>()).toEqual(new Uint8Array([0, 1, 1]));
    expect(await j.toArray()).toEqual([[true], [false]]);
    expect(await k.data<'int32'>()).toEqual(new Int32Array([1, -1, 0]));
    expect(await c.toArray()).toEqual([false, true, true]);
    expect(await pg.tensor(true).item<'bool'>()).toBe(true);
    expect(await i.toArray()).toEqual([3, -4]);
    // Mixed booleans and numbers are float32 (1 and 0).
    expect(pg.tensor([true, 2]).dtype).toBe('float32');
    expect(pg.tensor(new Int32Array([5]), { dtype: 'float32' }).dtype).toBe('float32');
    pg.dispose([f, i, b, j, k, c]);
  });

  test('creation functions take dtype; zerosLike keeps the dtype; arange stays float32 by default', async () => {
    expect(await pg.zeros([2], { dtype: 'int32' }).data<'int32'>()).toEqual(new Int32Array([0, 0]));
    expect(await pg.ones([2], { dtype: 'bool' }).toArray()).toEqual([true, true]);
    expect(await pg.full([2], -2.7, { dtype: 'int32' }).data<'int32'>()).toEqual(new Int32Array([-2, -2]));
    expect(await pg.full([1], 0.5, { dtype: 'bool' }).toArray()).toEqual([true]);
    expect(pg.zerosLike(pg.tensor([1], { dtype: 'int32' })).dtype).toBe('int32');
    expect(pg.onesLike(pg.tensor([true])).dtype).toBe('bool');
    expect(pg.onesLike(pg.tensor([true]), { dtype: 'float32' }).dtype).toBe('float32');
    expect(pg.arange(3).dtype).toBe('float32');
    expect(await pg.arange(-1, 2, 0.75, { dtype: 'int32' }).data<'int32'>()).toEqual(new Int32Array([-1, 0, 0, 1]));
    expectError(() => pg.zeros([1], { dtype: 'int64' as pg.DType }), pg.InvalidArgumentError, 'zeros', "'float32', 'int32' or 'bool'", 'int64');
  });

  test('int32 values beyond ±2^24 are a LimitError naming the op and the limit', () => {
    expect(pg.tensor([2 ** 24, -(2 ** 24)], { dtype: 'int32' }).dtype).toBe('int32');
    expectError(() => pg.tensor([2 ** 24 + 1], { dtype: 'int32' }), pg.LimitError, 'tensor', '2^24', '16777217');
    expectError(() => pg.tensor(new Int32Array([-(2 ** 24) - 2])), pg.LimitError, 'tensor', '2^24');
    expectError(() => pg.full([1], inf, { dtype: 'int32' }), pg.LimitError, 'full', '2^24');
    expectError(() => pg.arange(2 ** 24, 2 ** 24 + 2, 1, { dtype: 'int32' }), pg.LimitError, 'arange', '2^24');
    expectError(() => pg.tensor([nan], { dtype: 'int32' }), pg.InvalidArgumentError, 'tensor', 'NaN');
  });

  test('to(): truncation toward zero, NaN to 0, the ±2^24 clamp, != 0 for bool, exact back to float32', async () => {
    const x = pg.tensor([nan, inf, -inf, -0.5, 0.5, -1.5, 2.99, 2 ** 24 + 4, -(2 ** 25), 0]);
    const i = x.to('int32');
    expect(i.dtype).toBe('int32');
    expect(Array.from(await i.data<'int32'>())).toEqual([0, 2 ** 24, -(2 ** 24), 0, 0, -1, 2, 2 ** 24, -(2 ** 24), 0]);
    const b = x.to('bool');
    expect(await b.toArray()).toEqual([true, true, true, true, true, true, true, true, true, false]);
    expect(await i.to('bool').toArray()).toEqual([false, true, true, false, false, true, true, true, true, false]);
    const back = i.to('float32');
    expect(back.dtype).toBe('float32');
    expect(Array.from(await back.data())).toEqual([0, 2 ** 24, -(2 ** 24), 0, 0, -1, 2, 2 ** 24, -(2 ** 24), 0]);
    expect(Array.from(await b.to('int32').data<'int32'>())).toEqual([1, 1, 1, 1, 1, 1, 1, 1, 1, 0]);
    expect(Array.from(await b.to('float32').data())).toEqual([1, 1, 1, 1, 1, 1, 1, 1, 1, 0]);
    expect(i.to('int32').dtype).toBe('int32');
    // Fused with its neighbours on the GPU: a chain through to() gives the same values.
    expect(Array.from(await pg.tensor([1.7, -2.2]).mul(2).to('int32').add(1).data<'int32'>())).toEqual([4, -3]);
    expectError(() => x.to('float16' as pg.DType), pg.InvalidArgumentError, 'to', 'float16');
    // An int32 zero from neg or a product converts to +0, as an integer does (1 / it is +inf).
    const zeros = pg.tensor([0, 3], { dtype: 'int32' }).neg().mul(pg.tensor([1, 0], { dtype: 'int32' }));
    const recip = pg.tensor([1, 1]).div(zeros.to('float32'));
    expect(Array.from(await recip.data())).toEqual([inf, inf]);
    pg.dispose([x, i, b, back, zeros, recip]);
  });

  test('to(float32) of a float32 tensor keeps the gradient; to(int32) records nothing', async () => {
    const w = pg.tensor([1, 2], { requiresGrad: true });
    const y = w.to('float32').mul(3).sum();
    y.backward();
    expect(Array.from(await w.grad!.data())).toEqual([3, 3]);
    const n = w.to('int32');
    expect(n.requiresGrad).toBe(false);
    expect(w.gt(1).requiresGrad).toBe(false);
    pg.dispose([w, y, n]);
  });

  test('the promotion table: every binary op over every dtype pair', async () => {
    for (const da of DTYPES) {
      for (const db of DTYPES) {
        const a = sample(da);
        const b = sample(db);
        const ab = higher(da, db);
        const got: Record<string, pg.DType> = {};
        const ops: Record<string, () => pg.Tensor> = {
          add: () => a.add(b),
          mul: () => a.mul(b),
          maximum: () => a.maximum(b),
          minimum: () => a.minimum(b),
          div: () => a.div(b),
          pow: () => a.pow(b),
          matmul: () => a.reshape([1, 3]).matmul(b.reshape([3, 1])),
          cat: () => pg.cat([a, b]),
          where: () => pg.where(a.gt(0), a, b),
          eq: () => a.eq(b),
          lt: () => a.lt(b),
          logicalAnd: () => a.logicalAnd(b),
          logicalOr: () => a.logicalOr(b),
        };
        if (!(da === 'bool' && db === 'bool')) ops.sub = () => a.sub(b);
        for (const [name, fn] of Object.entries(ops)) {
          const r = fn();
          got[name] = r.dtype;
          // Values stay what the dtype can hold: 0/1 for bool, whole numbers for int32.
          const v = Array.from(await r.data<pg.DType>());
          if (r.dtype === 'bool') expect(v.every((x) => x === 0 || x === 1), `${da} ${name} ${db}`).toBe(true);
          if (r.dtype === 'int32') expect(v.every(Number.isInteger), `${da} ${name} ${db}`).toBe(true);
          r.dispose();
        }
        const expected: Record<string, pg.DType> = {
          add: ab,
          mul: ab,
          maximum: ab,
          minimum: ab,
          div: 'float32',
          pow: ab,
          matmul: ab,
          cat: ab,
          where: ab,
          eq: 'bool',
          lt: 'bool',
          logicalAnd: 'bool',
          logicalOr: 'bool',
          ...(da === 'bool' && db === 'bool' ? {} : { sub: ab }),
        };
        expect(got, `${da} with ${db}`).toEqual(expected);
        pg.dispose([a, b]);
      }
    }
  });

  test('number operands: an integer raises bool to int32, a fraction raises to float32', () => {
    const names = ['add', 'sub', 'mul', 'maximum', 'minimum'] as const;
    for (const d of DTYPES) {
      const a = sample(d);
      for (const n of [2, 0.5]) {
        const want = n === 2 ? higher(d, 'int32') : 'float32';
        for (const name of names) {
          const r = a[name](n);
          expect(r.dtype, `${d} ${name} ${n}`).toBe(want);
          r.dispose();
        }
        for (const r of [a.div(n), a.eq(n), a.ge(n), a.logicalAnd(n)]) r.dispose();
        expect(a.div(n).dtype).toBe('float32');
        expect(a.eq(n).dtype).toBe('bool');
        expect(pg.where(a.gt(0), a, n).dtype).toBe(want);
      }
      expect(a.clamp(-1, 1).dtype).toBe(higher(d, 'int32'));
      expect(a.clamp(-0.5, 1).dtype).toBe('float32');
      a.dispose();
    }
  });

  test('bool arithmetic: bool + bool is logical or, bool × bool is and; int32 results are whole', async () => {
    const a = pg.tensor([true, true, false, false]);
    const b = pg.tensor([true, false, true, false]);
    expect(await a.add(b).toArray()).toEqual([true, true, true, false]);
    expect(await a.mul(b).toArray()).toEqual([true, false, false, false]);
    expect(await a.add(1).toArray()).toEqual([2, 2, 1, 1]);
    const i = pg.tensor([3, -7, 5], { dtype: 'int32' });
    expect(Array.from(await i.pow(3).data<'int32'>())).toEqual([27, -343, 125]);
    expect(Array.from(await i.pow(pg.tensor([2, 3, 0], { dtype: 'int32' })).data<'int32'>())).toEqual([9, -343, 1]);
    expect(Array.from(await i.mul(i).sub(1).data<'int32'>())).toEqual([8, 48, 24]);
    expect(Array.from(await i.div(2).data())).toEqual([1.5, -3.5, 2.5]);
    expect(i.pow(0.5).dtype).toBe('float32');
    pg.dispose([a, b, i]);
  });

  test('unary ops and reductions: result dtypes', async () => {
    const i = pg.tensor([[1, -2], [3, 4]], { dtype: 'int32' });
    const b = pg.tensor([[true, false], [true, true]]);
    for (const d of [i, b]) {
      for (const r of [d.exp(), d.log(), d.sqrt(), d.sigmoid(), d.tanh(), d.softmax(), d.logSoftmax()]) {
        expect(r.dtype).toBe('float32');
        r.dispose();
      }
      expect([d.abs().dtype, d.relu().dtype, d.max().dtype, d.reshape([4]).dtype, d.transpose().dtype, d.slice([0], [1]).dtype]).toEqual([d.dtype, d.dtype, d.dtype, d.dtype, d.dtype, d.dtype]);
      expect([pg.flip(d, 0).dtype, pg.pad(d, [[1, 0]]).dtype, pg.roll(d, 1, 0).dtype, d.expand([3, 2, 2]).dtype]).toEqual([d.dtype, d.dtype, d.dtype, d.dtype]);
      expect([d.sum().dtype, d.cumsum(0).dtype, d.square().dtype, d.argmax().dtype, d.argmin(1).dtype]).toEqual(['int32', 'int32', 'int32', 'int32', 'int32']);
    }
    expect(i.neg().dtype).toBe('int32');
    expect(Array.from(await b.sum(1).data<'int32'>())).toEqual([1, 2]);
    const padded = pg.pad(i.slice([0], [1]), [[0, 0], [1, 1]], { value: -7.9 });
    expect([padded.dtype, ...(await padded.data<'int32'>())]).toEqual(['int32', -7, 1, -2, -7]);
    const paddedB = pg.pad(b.slice([0], [1]), [[0, 0], [1, 0]], { value: 3 });
    expect([paddedB.dtype, ...(await paddedB.data<'bool'>())]).toEqual(['bool', 1, 1, 0]);
    pg.dispose([padded, paddedB]);
    expect(Array.from(await b.cumsum(0).data<'int32'>())).toEqual([1, 0, 2, 1]);
    expect(await i.max().item()).toBe(4);
    expect(Array.from(await i.argmax(1).data<'int32'>())).toEqual([0, 1]);
    const f = pg.tensor([1.5, 2]);
    expect([f.sum().dtype, f.mean().dtype, f.argmax().dtype, f.logicalNot().dtype]).toEqual(['float32', 'float32', 'int32', 'bool']);
    expect(await pg.tensor([2, 0]).logicalNot().toArray()).toEqual([false, true]);
    // Max pooling picks values, so it keeps the dtype (as PyTorch); a convolution's sums are float32.
    const img = pg.tensor([5, -3, 7, 2], { shape: [2, 2, 1], dtype: 'int32' });
    const pooled = pg.maxPool2d(img, 2);
    expect([pooled.dtype, ...(await pooled.data<'int32'>())]).toEqual(['int32', 7]);
    const mask = pg.maxPool2d(pg.tensor([0, 1, 0, 0], { shape: [2, 2, 1], dtype: 'bool' }), 2);
    expect([mask.dtype, ...(await mask.data<'bool'>())]).toEqual(['bool', 1]);
    const conv = pg.conv2d(img, pg.ones([1, 1, 1, 1]));
    expect(conv.dtype).toBe('float32');
    pg.dispose([i, b, f, img, pooled, conv]);
  });

  test('int32 index tensors for takeAlongAxis, indexSelect and scatterAdd; x keeps its dtype', async () => {
    const x = pg.tensor([[10, 20, 30], [40, 50, 60]], { dtype: 'int32' });
    const idx = pg.tensor([[2], [0]], { dtype: 'int32' });
    const picked = x.takeAlongAxis(idx, 1);
    expect(picked.dtype).toBe('int32');
    expect(Array.from(await picked.data<'int32'>())).toEqual([30, 40]);
    const sel = pg.tensor([1.5, 2.5, 3.5]).indexSelect(0, pg.tensor([2, 0], { dtype: 'int32' }));
    expect(Array.from(await sel.data())).toEqual([3.5, 1.5]);
    const s = pg.zeros([3], { dtype: 'int32' }).scatterAdd(0, pg.tensor([0, 2, 0], { dtype: 'int32' }), pg.tensor([1, 2, 3], { dtype: 'int32' }));
    expect([s.dtype, ...(await s.data<'int32'>())]).toEqual(['int32', 4, 0, 2]);
    // float32 integer indices still work
    expect(Array.from(await pg.tensor([5, 6]).takeAlongAxis(pg.tensor([1]), 0).data())).toEqual([6]);
    expectError(() => x.takeAlongAxis(idx.gt(0), 1), pg.InvalidArgumentError, 'takeAlongAxis', 'bool');
    expectError(() => pg.zeros([3]).scatterAdd(0, pg.tensor([0]), pg.tensor([1], { dtype: 'int32' })), pg.InvalidArgumentError, 'scatterAdd', 'int32', 'float32');
    pg.dispose([x, idx, picked, sel, s]);
  });

  test('errors: requiresGrad on int32 or bool, mean of int, sub and neg of bools', () => {
    expectError(() => pg.tensor([1], { dtype: 'int32', requiresGrad: true }), pg.GradientError, 'int32', ".to('float32')");
    expectError(() => pg.tensor([true], { requiresGrad: true }), pg.GradientError, 'bool');
    expectError(() => pg.zeros([1], { dtype: 'bool', requiresGrad: true }), pg.GradientError, 'zeros', 'bool');
    const i = pg.tensor([1, 2], { dtype: 'int32' });
    expectError(() => {
      i.requiresGrad = true;
    }, pg.GradientError, 'requiresGrad', 'int32');
    expectError(() => i.mean(), pg.InvalidArgumentError, 'mean', 'int32', "t.to('float32').mean()");
    expectError(() => i.gt(1).mean(), pg.InvalidArgumentError, 'mean', 'bool');
    const b = pg.tensor([true]);
    expectError(() => b.sub(b), pg.InvalidArgumentError, 'sub', 'bool');
    expectError(() => b.neg(), pg.InvalidArgumentError, 'neg', 'bool', 'logicalNot');
    expectError(() => i.pow(-1), pg.InvalidArgumentError, 'pow', 'negative integer power');
    // The engine works afterwards.
    expect(i.to('float32').mean().dtype).toBe('float32');
    pg.dispose([i, b]);
  });

  test('gradients flow through float32 only; float32 code is unchanged', async () => {
    const x = pg.tensor([1, -2, 3], { requiresGrad: true });
    const m = x.gt(0);
    const y = x.mul(m).sum();
    expect(y.dtype).toBe('float32');
    y.backward();
    expect(Array.from(await x.grad!.data())).toEqual([1, 0, 1]);
    const z = x.mul(x.argmax()).sum();
    expect(z.requiresGrad).toBe(true);
    const f = pg.tensor([1, 2]).add(pg.tensor([3, 4])).mul(2);
    expect(f.dtype).toBe('float32');
    expect(await f.data()).toEqual(new Float32Array([8, 12]));
    pg.dispose([x, m, y, z, f]);
  });

  test('printing: int32 without decimal points, bool as True/False, the dtype in toString and toJSON', async () => {
    const i = pg.tensor([1, -20, 3], { dtype: 'int32' });
    expect(await pg.format(i)).toBe('tensor([  1, -20,   3], dtype=int32, shape=[3])');
    expect(await pg.format(pg.tensor([true, false]))).toBe('tensor([ True, False], shape=[2])');
    expect(await pg.format(pg.zeros([0], { dtype: 'bool' }))).toBe('tensor([], dtype=bool, shape=[0])');
    expect(await pg.format(pg.tensor([[2 ** 24]], { dtype: 'int32' }))).toBe('tensor([[16777216]], dtype=int32, shape=[1, 1])');
    expect(String(i)).toBe(`Tensor(id=${i.id}, shape=[3], dtype=int32)`);
    expect(i.toJSON()).toEqual({ type: 'Tensor', id: i.id, shape: [3], size: 3, requiresGrad: false, dtype: 'int32' });
    expect(pg.zeros([1]).toJSON().dtype).toBeUndefined();
    expect(String(pg.zeros([1]))).not.toContain('dtype');
    i.dispose();
  });

  test('compiled functions keep the dtypes of their inputs and results', async () => {
    const f = pg.compile((x: pg.Tensor) => ({ mask: x.gt(1), next: x.add(1), any: x.gt(1).add(x.lt(0)) }));
    const i = pg.tensor([1, 2, -3], { dtype: 'int32' });
    for (let call = 0; call < 3; call++) {
      const r = f(i);
      expect([r.mask.dtype, r.next.dtype, r.any.dtype]).toEqual(['bool', 'int32', 'bool']);
      expect(await r.mask.toArray()).toEqual([false, true, false]);
      expect(Array.from(await r.next.data<'int32'>())).toEqual([2, 3, -2]);
      expect(await r.any.toArray()).toEqual([false, true, true]);
      pg.dispose(r);
    }
    i.dispose();
  });

  test('safetensors: int32 as I32, bool as BOOL, and back', async () => {
    const record = { b: pg.tensor([true, false, true]), f: pg.tensor([0.5]), i: pg.tensor([-(2 ** 24), 7], { dtype: 'int32' }) };
    const bytes = await pg.saveSafetensors(record);
    const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
    expect(header).toEqual({
      f: { dtype: 'F32', shape: [1], data_offsets: [0, 4] },
      i: { dtype: 'I32', shape: [2], data_offsets: [4, 12] },
      b: { dtype: 'BOOL', shape: [3], data_offsets: [12, 15] },
    });
    // Wider dtypes first, as the reference library writes them (keys in that order too).
    expect(Object.keys(header)).toEqual(['f', 'i', 'b']);
    expect(Array.from(bytes.subarray(8 + n + 12, 8 + n + 15))).toEqual([1, 0, 1]);
    const back = pg.loadSafetensors(bytes);
    expect([back.b!.dtype, back.f!.dtype, back.i!.dtype]).toEqual(['bool', 'float32', 'int32']);
    expect(await back.b!.toArray()).toEqual([true, false, true]);
    expect(Array.from(await back.i!.data<'int32'>())).toEqual([-(2 ** 24), 7]);
    // An I32 value beyond 2^24 cannot be held exactly.
    const big = new Uint8Array(bytes);
    new DataView(big.buffer).setInt32(8 + n + 8, 2 ** 24 + 1, true);
    expectError(() => pg.loadSafetensors(big), pg.LimitError, 'loadSafetensors', '2^24');
    pg.dispose([record, back]);
  });

  test("Python's I32 and BOOL tensors load as int32 and bool, and save back to the same bytes", async () => {
    const file = bytesOf(dtypesUrl);
    const t = pg.loadSafetensors(file);
    expect([t.ids!.dtype, t.mask!.dtype, t.w!.dtype]).toEqual(['int32', 'bool', 'float32']);
    expect(await t.ids!.toArray()).toEqual([
      [0, -1, 2 ** 24],
      [-(2 ** 24), 7, 123456],
    ]);
    expect(await t.mask!.toArray()).toEqual([true, false, false, true, true]);
    expect(await t.w!.toArray()).toEqual([0.5, -2]);
    expect(await pg.saveSafetensors(t)).toEqual(file);
    pg.dispose(t);
  });
}
