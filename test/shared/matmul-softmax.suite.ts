/** matmul, softmax and logSoftmax against plain-JS expectations, on either backend. */
import { expect, test } from 'vitest';
import * as pg from '../../src/index.ts';
import { tunerTesting } from '../../src/gpu/tuner.ts';
import { type BackendKind, expectClose, tol, useBackend } from './backends.ts';

/** Deterministic float32 values in [-1, 1). */
function values(n: number, seed: number): number[] {
  let s = seed >>> 0;
  return Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return Math.fround(s / 2 ** 31 - 1);
  });
}

const size = (s: readonly number[]) => s.reduce((p, d) => p * d, 1);

/** Plain-JS batched matmul with broadcast batch dims; the output's batch is [...batch]. */
function jsMatmul(a: number[], sa: number[], b: number[], sb: number[]) {
  const [M, K, N] = [sa.at(-2)!, sa.at(-1)!, sb.at(-1)!];
  const ba = sa.slice(0, -2);
  const bb = sb.slice(0, -2);
  const rank = Math.max(ba.length, bb.length);
  const pa = [...Array(rank - ba.length).fill(1), ...ba];
  const pb = [...Array(rank - bb.length).fill(1), ...bb];
  const batch = pa.map((d, i) => Math.max(d, pb[i]!));
  const out: number[] = [];
  const idx = (coords: number[], dims: number[]) => coords.reduce((acc, c, i) => acc * dims[i]! + (dims[i] === 1 ? 0 : c), 0);
  for (let t = 0; t < size(batch); t++) {
    const coords = batch.map((_, i) => Math.floor(t / size(batch.slice(i + 1))) % batch[i]!);
    const ao = idx(coords, pa) * M * K;
    const bo = idx(coords, pb) * K * N;
    for (let m = 0; m < M; m++) {
      for (let n = 0; n < N; n++) {
        let s = 0;
        for (let k = 0; k < K; k++) s += a[ao + m * K + k]! * b[bo + k * N + n]!;
        out.push(s);
      }
    }
  }
  return { out, shape: [...batch, M, N] };
}

/** Sums a gradient of shape `from` over the dims an operand of shape `to` was broadcast along. */
function jsUnbroadcast(g: number[], from: number[], to: number[]): number[] {
  const pad = [...Array(from.length - to.length).fill(1), ...to];
  const out = new Array<number>(size(to)).fill(0);
  for (let i = 0; i < g.length; i++) {
    let j = 0;
    for (let d = 0; d < from.length; d++) {
      const c = Math.floor(i / size(from.slice(d + 1))) % from[d]!;
      j = j * pad[d]! + (pad[d] === 1 ? 0 : c);
    }
    out[j]! += g[i]!;
  }
  return out;
}

/** Transposes the last two dims. */
function jsT(x: number[], shape: number[]): { out: number[]; shape: number[] } {
  const [R, C] = [shape.at(-2)!, shape.at(-1)!];
  const out: number[] = [];
  for (let b = 0; b < x.length / (R * C); b++) for (let c = 0; c < C; c++) for (let r = 0; r < R; r++) out.push(x[b * R * C + r * C + c]!);
  return { out, shape: [...shape.slice(0, -2), C, R] };
}

function jsSoftmax(x: number[], shape: number[], axis: number, log: boolean): number[] {
  const len = shape[axis]!;
  const stride = size(shape.slice(axis + 1));
  const y = new Array<number>(x.length);
  for (let r = 0; r < x.length / len; r++) {
    const o = Math.floor(r / stride) * len * stride + (r % stride);
    const row = Array.from({ length: len }, (_, j) => x[o + j * stride]!);
    const mx = Math.max(...row);
    const lse = mx + Math.log(row.reduce((s, v) => s + Math.exp(v - mx), 0));
    row.forEach((v, j) => {
      y[o + j * stride] = log ? v - lse : Math.exp(v - lse);
    });
  }
  return y;
}

export function matmulSoftmaxSuite(kind: BackendKind): void {
  useBackend(kind);
  // Reads come back as float32 on both backends: the float64 CPU tolerance gets a float32 floor.
  const rtol = Math.max(tol(kind).rtol, 1e-6);
  const atol = Math.max(tol(kind).atol, 1e-6);

  test('matmul of 2x3 and 3x2 matches the hand-computed product', async () => {
    const a = pg.tensor([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    const b = pg.tensor([
      [7, 8],
      [9, 10],
      [11, 12],
    ]);
    const c = a.matmul(b);
    expect(c.shape).toEqual([2, 2]);
    expect(await c.toArray()).toEqual([
      [58, 64],
      [139, 154],
    ]);
  });

  const cases: [number[], number[]][] = [
    [[5, 7], [7, 3]],
    [[8, 8], [8, 12]],
    [[4, 12], [12, 5]],
    [[1, 4], [4, 1]],
    [[3, 2], [2, 9]],
    [[6, 4], [4, 8]],
    [[2, 1, 5, 8], [3, 8, 6]],
    [[2, 3, 4, 8], [8, 4]],
    [[7, 8], [2, 8, 4]],
    [[3, 0], [0, 4]],
  ];
  /** A@B and the gradients of sum(A@B * W) against plain JS. */
  async function checkMatmul(sa: number[], sb: number[], rtol: number, atol: number): Promise<void> {
    const av = values(size(sa), 1);
    const bv = values(size(sb), 2);
    const a = pg.tensor(av, { shape: sa, requiresGrad: true });
    const b = pg.tensor(bv, { shape: sb, requiresGrad: true });
    const { out, shape } = jsMatmul(av, sa, bv, sb);
    const c = a.matmul(b);
    expect(c.shape).toEqual(shape);
    expectClose(await c.data(), out, rtol, atol, 'A@B');

    // dA = W @ B^T and dB = A^T @ W, each summed over the batch dims its operand was broadcast along.
    const wv = values(size(shape), 3);
    c.mul(pg.tensor(wv, { shape })).sum().backward();
    const bt = jsT(bv, sb);
    const da = jsMatmul(wv, shape, bt.out, bt.shape);
    const at = jsT(av, sa);
    const db = jsMatmul(at.out, at.shape, wv, shape);
    expectClose(await a.grad!.data(), jsUnbroadcast(da.out, da.shape, sa), rtol, atol, 'dA');
    expectClose(await b.grad!.data(), jsUnbroadcast(db.out, db.shape, sb), rtol, atol, 'dB');
  }
  test.each(cases)('matmul %j @ %j: values and gradients of sum(A@B * W)', (sa, sb) => checkMatmul(sa, sb, rtol, atol));

  // Outputs with 4,096 or more 8 × 4 tiles take 8 rows a thread (src/ops/matmul.ts rowsPerThread):
  // the forward of the first (260 rows: the last tile is half outside), A^T @ W of the second
  // (the transposed read of 8 rows as two vec4s). Sums of up to 520 products: a float32 tolerance.
  test.each([
    [
      [260, 36],
      [36, 516],
    ],
    [
      [16, 520],
      [520, 260],
    ],
  ])('a large matmul %j @ %j (8-row tiles): values and gradients', (sa, sb) => checkMatmul(sa, sb, 1e-5, 1e-4));

  // M, K and N of 17, 33 and 130: blocks that overhang the edge in rows and columns (src/gpu/tuner.ts
  // picks up to 16 × 16), inner dimensions that are not whole vec4s, transposed reads in the
  // backward, broadcast batches, and a row or column of 1 (the fused reduction path).
  const oddSizes: [number[], number[]][] = [
    [
      [17, 33],
      [33, 130],
    ],
    [
      [130, 17],
      [17, 33],
    ],
    [
      [33, 130],
      [130, 17],
    ],
    [
      [130, 33],
      [33, 130],
    ],
    [
      [2, 1, 33, 17],
      [3, 17, 130],
    ],
    [
      [2, 130, 36],
      [36, 33],
    ],
    [
      [1, 130],
      [130, 33],
    ],
    [
      [33, 130],
      [130, 1],
    ],
  ];
  test.each(oddSizes)('matmul of odd sizes %j @ %j: values and gradients', (sa, sb) => checkMatmul(sa, sb, 1e-5, 1e-4));
  // The same products with the blocks a GPU gets (4 rows × 4 columns, 256-wide workgroups; 8 rows for
  // the last, whose output has 4,096 blocks of 8 × 4).
  test.each([
    ...oddSizes,
    [
      [260, 36],
      [36, 516],
    ],
  ])('matmul of odd sizes %j @ %j with a GPU\'s blocks: values and gradients', async (sa, sb) => {
    tunerTesting.profile = { isSoftware: false };
    try {
      await checkMatmul(sa, sb, 1e-5, 1e-4);
    } finally {
      tunerTesting.profile = null;
    }
  });

  test('gradients of sum(A@B) are row and column sums', async () => {
    const a = pg.tensor(
      [
        [1, 2],
        [3, 4],
        [5, 6],
      ],
      { requiresGrad: true },
    );
    const b = pg.tensor(
      [
        [1, -1, 2, 0],
        [0.5, 3, -2, 1],
      ],
      { requiresGrad: true },
    );
    a.matmul(b).sum().backward();
    // dA[m, k] = sum_n B[k, n]; dB[k, n] = sum_m A[m, k].
    expectClose(await a.grad!.data(), [2, 2.5, 2, 2.5, 2, 2.5], rtol, atol, 'dA');
    expectClose(await b.grad!.data(), [9, 9, 9, 9, 12, 12, 12, 12], rtol, atol, 'dB');
  });

  test('matmul saves only what the other gradient needs: a constant operand gets no gradient', async () => {
    const a = pg.tensor(values(12, 4), { shape: [3, 4], requiresGrad: true });
    const b = pg.tensor(values(8, 5), { shape: [4, 2] });
    a.matmul(b).sum().backward();
    expect(b.grad).toBeNull();
    expect(a.grad!.shape).toEqual([3, 4]);
  });

  test.each([
    [[3], [3, 4], 'rank'],
    [[2, 3], [4], 'rank'],
    [[2, 3], [4, 5], 'inner'],
    [[2, 2, 3], [3, 3, 4], 'batch'],
  ])('matmul %j @ %j throws a ShapeError naming matmul and both shapes (%s)', async (sa, sb) => {
    const a = pg.zeros(sa);
    const b = pg.zeros(sb);
    let err: unknown;
    try {
      a.matmul(b);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(pg.ShapeError);
    const msg = (err as Error).message;
    expect(msg).toContain('matmul');
    expect(msg).toContain(`[${sa.join(', ')}]`);
    expect(msg).toContain(`[${sb.join(', ')}]`);
    if (sa.length < 2 || sb.length < 2) expect(msg).toMatch(/reshape|unsqueeze/);
    // The engine keeps working after the error.
    const c = pg.ones([2, 3]).matmul(pg.ones([3, 2]));
    expect(await c.toArray()).toEqual([
      [3, 3],
      [3, 3],
    ]);
  });

  test('softmax rows sum to 1 and match JS, on the last axis and on axis 0', async () => {
    const shape = [5, 9];
    const xv = values(45, 6).map((v) => Math.fround(v * 4));
    const x = pg.tensor(xv, { shape });
    for (const axis of [1, 0]) {
      const y = x.softmax(axis);
      const expected = jsSoftmax(xv, shape, axis, false);
      expectClose(await y.data(), expected, rtol, atol, `softmax axis ${axis}`);
      const sums = await y.sum(axis).data();
      expectClose(sums, new Array(sums.length).fill(1), rtol, atol, `row sums axis ${axis}`);
      expectClose(await x.logSoftmax(axis).data(), jsSoftmax(xv, shape, axis, true), rtol, atol, `logSoftmax axis ${axis}`);
    }
    // Negative axes and a middle axis of a rank-3 tensor.
    const x3 = pg.tensor(values(24, 7), { shape: [2, 3, 4] });
    expectClose(await x3.softmax(-2).data(), jsSoftmax(Array.from(await x3.data()), [2, 3, 4], 1, false), rtol, atol, 'softmax axis 1 of 3');
  });

  test('softmax and logSoftmax are stable for logits of +-80', async () => {
    const x = pg.tensor([
      [80, -80, 0],
      [80, 80, -80],
    ]);
    const y = await x.softmax().data();
    expect(Array.from(y).every(Number.isFinite)).toBe(true);
    expectClose(y, [1, 0, Math.exp(-80), 0.5, 0.5, 0], rtol, atol, 'softmax');
    const ly = await x.logSoftmax().data();
    expectClose(ly, [0, -160, -80, -Math.log(2), -Math.log(2), -160 - Math.log(2)], rtol, atol, 'logSoftmax');
  });

  test.each([
    [1, false],
    [0, false],
    [1, true],
    [0, true],
  ])('gradient of sum(w * softmax(x, %i)) (log: %s)', async (axis, log) => {
    const shape = [4, 6];
    const xv = values(24, 8).map((v) => Math.fround(v * 3));
    const wv = values(24, 9);
    const x = pg.tensor(xv, { shape, requiresGrad: true });
    const y = log ? x.logSoftmax(axis) : x.softmax(axis);
    y.mul(pg.tensor(wv, { shape })).sum().backward();
    const yv = jsSoftmax(xv, shape, axis, log);
    const p = jsSoftmax(xv, shape, axis, false);
    const len = shape[axis]!;
    const stride = size(shape.slice(axis + 1));
    const dx = new Array<number>(24);
    for (let r = 0; r < 24 / len; r++) {
      const o = Math.floor(r / stride) * len * stride + (r % stride);
      const at = (j: number) => o + j * stride;
      let s = 0;
      for (let j = 0; j < len; j++) s += log ? wv[at(j)]! : wv[at(j)]! * yv[at(j)]!;
      for (let j = 0; j < len; j++) dx[at(j)] = log ? wv[at(j)]! - p[at(j)]! * s : yv[at(j)]! * (wv[at(j)]! - s);
    }
    expectClose(await x.grad!.data(), dx, rtol, atol, 'dx');
  });
}
