/**
 * safetensors: files written by the reference Python library load (test/fixtures/make-safetensors.py),
 * our bytes are the spec's layout byte for byte (and Python's for the same tensors), round trips
 * are exact, bad input gets SafetensorsError. Optimizer stateDict()/loadStateDict() resume training.
 */
import { expect, test } from 'vitest';
import * as pg from '../../src/index.ts';
import f16Url from '../fixtures/python-f16.safetensors?inline';
import f32PlainUrl from '../fixtures/python-f32-plain.safetensors?inline';
import f32Url from '../fixtures/python-f32.safetensors?inline';
import { type BackendKind, expectClose, useBackend } from './backends.ts';

const bytesOf = (dataUrl: string): Uint8Array => Uint8Array.from(atob(dataUrl.slice(dataUrl.indexOf(',') + 1)), (c) => c.charCodeAt(0));
const pythonWeights = Float32Array.from({ length: 24 }, (_, i) => i / 8 - 1);

export function safetensorsSuite(kind: BackendKind): void {
  useBackend(kind);

  test("loads a file written by Python's safetensors (metadata skipped)", async () => {
    const loaded = pg.loadSafetensors(bytesOf(f32Url));
    expect(Object.keys(loaded).sort()).toEqual(['bias', 'scale', 'weights']);
    expect(loaded.scale!.shape).toEqual([]);
    expect(await loaded.scale!.item()).toBe(2.5);
    expect(loaded.bias!.shape).toEqual([5]);
    expect(Array.from(await loaded.bias!.data())).toEqual(Array.from(Float32Array.from([-1, 0, 0.5, 1e-3, 3.25])));
    expect(loaded.weights!.shape).toEqual([2, 3, 4]);
    expect(Array.from(await loaded.weights!.data())).toEqual(Array.from(pythonWeights));
    pg.dispose(loaded);
  });

  test("saving the same tensors gives Python's bytes exactly, with and without metadata", async () => {
    const record = {
      weights: pg.tensor(pythonWeights, { shape: [2, 3, 4] }),
      scale: pg.tensor(2.5),
      bias: pg.tensor([-1, 0, 0.5, 1e-3, 3.25]),
    };
    expect(await pg.saveSafetensors(record)).toEqual(bytesOf(f32PlainUrl));
    expect(await pg.saveSafetensors(record, { metadata: { source: 'make-safetensors.py', format: 'np' } })).toEqual(bytesOf(f32Url));
    pg.dispose(record);
  });

  test('the header is the spec byte for byte: u64 LE length, compact JSON in name order, spaces to 8 bytes, data offsets', async () => {
    const b = pg.tensor([1, -2]);
    const a = pg.tensor([[0.5, 0.25, 4]]);
    const bytes = await pg.saveSafetensors({ bias: b, a });
    const json = '{"a":{"dtype":"F32","shape":[1,3],"data_offsets":[0,12]},"bias":{"dtype":"F32","shape":[2],"data_offsets":[12,20]}}';
    expect(json.length).toBe(115);
    const padded = 120; // the next multiple of 8: five spaces
    const expected = new Uint8Array(8 + padded + 20);
    expected.set([padded, 0, 0, 0, 0, 0, 0, 0], 0);
    expected.set(new TextEncoder().encode(json), 8);
    expected.fill(0x20, 8 + json.length, 8 + padded);
    const data = new DataView(expected.buffer, 8 + padded);
    for (const [i, v] of [0.5, 0.25, 4, 1, -2].entries()) data.setFloat32(4 * i, v, true);
    expect(bytes).toEqual(expected);
    // Little-endian float32: 0.5 is 00 00 00 3f.
    expect(Array.from(bytes.subarray(8 + padded, 8 + padded + 4))).toEqual([0, 0, 0, 0x3f]);
    pg.dispose([a, b]);
  });

  test('a round trip is exact, including an empty record', async () => {
    const x = pg.randn([3, 5], { seed: 3 });
    const back = pg.loadSafetensors(await pg.saveSafetensors({ 'layer.0/x': x }));
    expectClose(await back['layer.0/x']!.data(), await x.data(), 0, 0);
    expect(back['layer.0/x']!.shape).toEqual([3, 5]);
    expect(pg.loadSafetensors((await pg.saveSafetensors({})).buffer as ArrayBuffer)).toEqual({});
    pg.dispose([x, back]);
  });

  test('other dtypes and malformed bytes are SafetensorsErrors that say what is wrong', async () => {
    expect(() => pg.loadSafetensors(bytesOf(f16Url))).toThrow(/loadSafetensors: tensor "half" has dtype F16; pixelgrad reads F32, I32 and BOOL only/);
    expect(() => pg.loadSafetensors(new Uint8Array(4))).toThrow(pg.SafetensorsError);
    const good = await pg.saveSafetensors({ x: pg.tensor([1, 2]) });
    expect(() => pg.loadSafetensors(good.subarray(0, good.length - 1))).toThrow(/run past the 7 bytes of data; the file is truncated/);
    const huge = good.slice();
    new DataView(huge.buffer).setBigUint64(0, 1n << 40n, true);
    expect(() => pg.loadSafetensors(huge)).toThrow(/header length \d+ does not fit/);
    const notJson = good.slice();
    notJson[8] = 0x5b; // '['
    expect(() => pg.loadSafetensors(notJson)).toThrow(/not UTF-8 JSON/);
    const withHole = new Uint8Array([...good, 0, 0, 0, 0]);
    expect(() => pg.loadSafetensors(withHole)).toThrow(/cover 8 of the 12 data bytes/);
    const err = (() => {
      try {
        pg.loadSafetensors(new Uint8Array(4));
      } catch (e) {
        return e as Error;
      }
    })();
    expect(err).toBeInstanceOf(pg.PixelgradError);
    expect(err?.name).toBe('SafetensorsError');
  });

  test('bad arguments to saveSafetensors are InvalidArgumentErrors naming the argument', async () => {
    const t = pg.zeros([2]);
    await expect(pg.saveSafetensors([t] as unknown as Record<string, pg.Tensor>)).rejects.toThrow(/saveSafetensors: record must be an object of named tensors/);
    await expect(pg.saveSafetensors({ x: 3 } as unknown as Record<string, pg.Tensor>)).rejects.toThrow(/saveSafetensors: record\["x"\] is number, not a Tensor/);
    await expect(pg.saveSafetensors({ __metadata__: t })).rejects.toThrow(pg.InvalidArgumentError);
    await expect(pg.saveSafetensors({ t }, { metadata: { n: 1 as unknown as string } })).rejects.toThrow(/options.metadata\["n"\] must be a string/);
    const gone = pg.zeros([1]);
    gone.dispose();
    await expect(pg.saveSafetensors({ gone })).rejects.toThrow(pg.DisposedTensorError);
    t.dispose();
  });

  test('optimizer stateDict → safetensors → loadStateDict resumes training exactly', async () => {
    for (const make of [(p: pg.Tensor[]) => new pg.Adam(p, { lr: 0.05 }), (p: pg.Tensor[]) => new pg.SGD(p, { lr: 0.1, momentum: 0.9 })]) {
      const target = pg.tensor([0.25, -0.5, 1]);
      const train = (w: pg.Tensor, opt: pg.Optimizer, steps: number) => {
        for (let i = 0; i < steps; i++) {
          pg.tidy(() => {
            pg.mseLoss(w, target).backward();
            opt.step();
            opt.zeroGrad();
          });
        }
      };
      // Straight through: 6 steps.
      const w1 = pg.tensor([1, 2, 3], { requiresGrad: true });
      const o1 = make([w1]);
      train(w1, o1, 6);
      // 3 steps, save, a fresh optimizer and parameter loaded from the file, 3 more steps.
      const w2 = pg.tensor([1, 2, 3], { requiresGrad: true });
      const o2 = make([w2]);
      train(w2, o2, 3);
      const state = o2.stateDict();
      const file = await pg.saveSafetensors({ ...state, w: w2 });
      pg.dispose(state);
      const loaded = pg.loadSafetensors(file);
      const w3 = loaded.w!.detach();
      w3.requiresGrad = true;
      const o3 = make([w3]);
      const { w: _w, ...optState } = loaded;
      await o3.loadStateDict(optState);
      expect(o3.stateOf(w3).step).toBe(3);
      train(w3, o3, 3);
      // Exact on WebGPU (float32 throughout); the CPU backend's float64 state is rounded to F32 in the file.
      const rtol = kind === 'cpu' ? 1e-6 : 0;
      expectClose(await w3.data(), await w1.data(), rtol, 0, `${o1.constructor.name} resumed`);
      pg.dispose([target, w1, w2, w3, loaded]);
      for (const o of [o1, o2, o3]) o.dispose();
    }
  });

  test('loadStateDict checks keys and shapes', async () => {
    const w = pg.zeros([2], { requiresGrad: true });
    const opt = new pg.Adam([w]);
    const state = opt.stateDict();
    expect(Object.keys(state).sort()).toEqual(['state.0.exp_avg', 'state.0.exp_avg_sq', 'state.0.step']);
    const { 'state.0.exp_avg': _m, ...missing } = state;
    await expect(opt.loadStateDict(missing)).rejects.toThrow(/Adam.loadStateDict: state\["state.0.exp_avg"\] is missing/);
    await expect(opt.loadStateDict({ ...state, extra: pg.zeros([1]) })).rejects.toThrow(/Adam.loadStateDict: unexpected key "extra"/);
    await expect(opt.loadStateDict({ ...state, 'state.0.exp_avg': pg.zeros([3]) })).rejects.toThrow(pg.ShapeError);
    pg.dispose([w, state]);
    opt.dispose();
  });
}
