/**
 * Matrix product of [..., M, K] and [..., K, N] with NumPy-broadcast batch dims. Forward and
 * backward share one register-blocked kernel whose transposed reads make dA = g @ B^T and
 * dB = A^T @ g without transpose copies.
 */
import type { GpuOps, GpuStorage } from '../gpu/gpu-ops.ts';
import { fill, kernelCache, section, stridedOffset, wgslModule } from '../gpu/wgsl.ts';
import { ShapeError } from '../errors.ts';
import { broadcastShapes, broadcastStrides, fmt, type Shape, sizeOf } from '../shape.ts';
import src from '../../shaders/matmul.wgsl?raw';
import { dot, forEachIndex } from './elementwise.ts';
import { defineOp } from './op.ts';
import { gpuReduce } from './reduce.ts';
import * as ir from '../ir/expr.ts';
import { type Expr, mapTemplate } from '../ir/expr.ts';
import { unbroadcast, unbroadcastReference } from './unbroadcast.ts';

/** C[batch..., M, N] = opA(A) @ opB(B). transA: A is stored [K, M]; transB: B is stored [N, K]. */
interface Gemm {
  readonly batch: Shape;
  /** The operands' own batch dims, broadcast to `batch`. */
  readonly aBatch: Shape;
  readonly bBatch: Shape;
  readonly M: number;
  readonly N: number;
  readonly K: number;
  readonly transA: boolean;
  readonly transB: boolean;
}

const XYZW = 'xyzw';
const range = (n: number) => [...Array(n).keys()];
/** Rows (or columns) per thread: 4, or fewer for thin matrices so matrix-vector products waste nothing. */
const tile = (d: number) => (d >= 3 ? 4 : Math.max(d, 1));

const cached = kernelCache('matmul');

/** Threads worth keeping busy; fewer output tiles than this with a long inner dimension split k. */
const TARGET_THREADS = 4096;
/** Shortest k slice per thread, so partial sums stay a small part of the traffic. */
const MIN_SLICE = 64;

/**
 * Rows of C per thread: 8 when the output still has TARGET_THREADS tiles of 8 × 4 (twice the
 * multiply-adds per load of a 4 × 4 tile), else tile(M). matmul forward at N=512 on SwiftShader,
 * two same-page runs each: 1.53-1.67 GFLOP/s with 8 rows against 1.28-1.34 with 4 (16 rows:
 * 1.52-1.72, no better, and twice the registers on a GPU).
 */
function rowsPerThread(g: Gemm): number {
  const tall = sizeOf(g.batch) * Math.ceil(g.M / 8) * Math.ceil(g.N / tile(g.N));
  return g.M >= 8 && tall >= TARGET_THREADS ? 8 : tile(g.M);
}

/** How many k slices: 1 unless the output has few tiles and k is long (dB of a batch-folded matmul, A^T·g of a GEMV). */
function splitsFor(g: Gemm, tiles: number): number {
  if (tiles >= TARGET_THREADS || g.K < 2 * MIN_SLICE) return 1;
  return Math.max(1, Math.min(Math.ceil(TARGET_THREADS / tiles), Math.floor(g.K / MIN_SLICE), 1024));
}

function gemmWgsl(g: Gemm, TM: number, tiles: number, splits: number, chunk: number): string {
  const { M, N, K, transA, transB } = g;
  const key = `${g.batch.join('x')}|${g.aBatch.join('x')}|${g.bBatch.join('x')}|${M},${N},${K},${+transA}${+transB}|${TM},${splits},${chunk}`;
  return cached(key, () => gemmSource(g, TM, tiles, splits, chunk));
}

function gemmSource(g: Gemm, TM: number, tiles: number, splits: number, chunk: number): string {
  const { M, N, K, transA, transB } = g;
  const TN = tile(N);
  const kstep = K % 4 === 0 ? 4 : 1;
  const aVec = !transA ? kstep === 4 : TM % 4 === 0 && M % 4 === 0;
  const bVec = !transB ? TN === 4 && N % 4 === 0 : kstep === 4;
  const cVec = TN === 4 && N % 4 === 0;
  const vt = TN === 1 ? 'f32' : `vec${TN}<f32>`;
  const vec = (xs: string[]) => (TN === 1 ? xs[0]! : `${vt}(${xs.join(', ')})`);
  const row = (r: number) => (M % TM === 0 ? `(m0 + ${r}u)` : `min(m0 + ${r}u, ${M - 1}u)`);
  const col = (c: number) => (N % TN === 0 ? `(n0 + ${c}u)` : `min(n0 + ${c}u, ${N - 1}u)`);
  const [rows, cols, ks] = [range(TM), range(TN), range(kstep)];
  const setup: string[] = [];
  const step: string[] = [];

  let aAt: (r: number, j: number) => string;
  if (aVec && !transA) {
    // A[m, k..k+3] is one vec4.
    for (const r of rows) setup.push(`let ar${r} = (abase + ${row(r)} * ${K}u) / 4u;`);
    for (const r of rows) step.push(`let a${r} = A[ar${r} + k / 4u];`);
    aAt = (r, j) => `a${r}.${XYZW[j]}`;
  } else if (aVec) {
    // Transposed A: A[m0..m0+TM-1, k] is TM / 4 vec4s.
    for (const j of ks) for (let h = 0; h < TM / 4; h++) step.push(`let a${j}_${h} = A[(abase + (k + ${j}u) * ${M}u + m0) / 4u + ${h}u];`);
    aAt = (r, j) => `a${j}_${r >> 2}.${XYZW[r & 3]}`;
  } else {
    for (const r of rows) setup.push(transA ? `let ar${r} = abase + ${row(r)};` : `let ar${r} = abase + ${row(r)} * ${K}u;`);
    for (const j of ks) for (const r of rows) step.push(`let a${r}_${j} = A[ar${r} + ${transA ? `(k + ${j}u) * ${M}u` : `k + ${j}u`}];`);
    aAt = (r, j) => `a${r}_${j}`;
  }

  let bRow: (j: number) => string;
  if (bVec && !transB) {
    // B[k, n0..n0+3] is one vec4.
    for (const j of ks) step.push(`let b${j} = B[(bbase + (k + ${j}u) * ${N}u + n0) / 4u];`);
    bRow = (j) => `b${j}`;
  } else if (bVec) {
    // Transposed B: B[k..k+3, n] is one vec4.
    for (const c of cols) setup.push(`let bc${c} = (bbase + ${col(c)} * ${K}u) / 4u;`);
    for (const c of cols) step.push(`let b${c} = B[bc${c} + k / 4u];`);
    bRow = (j) => vec(cols.map((c) => `b${c}.${XYZW[j]}`));
  } else {
    for (const c of cols) setup.push(transB ? `let bc${c} = bbase + ${col(c)} * ${K}u;` : `let bc${c} = bbase + ${col(c)};`);
    for (const j of ks) for (const c of cols) step.push(`let b${c}_${j} = B[bc${c} + ${transB ? `k + ${j}u` : `(k + ${j}u) * ${N}u`}];`);
    bRow = (j) => vec(cols.map((c) => `b${c}_${j}`));
  }

  for (const j of ks) {
    step.push(`let r${j} = ${bRow(j)};`);
    for (const r of rows) step.push(`acc${r} = acc${r} + ${aAt(r, j)} * r${j};`);
  }

  const stores: string[] = [];
  const guard = (conds: string[], stmt: string) => (conds.length ? `if (${conds.join(' && ')}) { ${stmt} }` : stmt);
  for (const r of rows) {
    const rowOk = M % TM === 0 ? [] : [`m0 + ${r}u < ${M}u`];
    if (cVec) {
      stores.push(guard(rowOk, `C[(cbase + (m0 + ${r}u) * ${N}u + n0) / 4u] = acc${r};`));
      continue;
    }
    for (const c of cols) {
      const colOk = N % TN === 0 ? [] : [`n0 + ${c}u < ${N}u`];
      stores.push(guard([...rowOk, ...colOk], `C[cbase + (m0 + ${r}u) * ${N}u + n0 + ${c}u] = ${TN === 1 ? `acc${r}` : `acc${r}.${XYZW[c]}`};`));
    }
  }

  const batchOffset = (own: Shape, size: number) =>
    sizeOf(own) === 1 ? '0u' : `${stridedOffset(g.batch, broadcastStrides(own, g.batch), 'bt')} * ${size}u`;
  const tilesM = Math.ceil(M / TM);
  const tilesN = Math.ceil(N / TN);
  const body = fill(section(src, 'gemm'), {
    THREADS: tiles * splits,
    TILES_ALL: tiles,
    SPLITS: splits,
    CHUNK: chunk,
    OUT: sizeOf(g.batch) * M * N,
    TILES_N: tilesN,
    TILES_M: tilesM,
    TILES_MN: tilesM * tilesN,
    TM,
    TN,
    A_BATCH: batchOffset(g.aBatch, M * K),
    B_BATCH: batchOffset(g.bBatch, K * N),
    SETUP: setup.join('\n  '),
    ACC: rows.map((r) => `var acc${r} = ${vt}(0.0);`).join('\n  '),
    K,
    KSTEP: kstep,
    STEP: step.join('\n    '),
    MN: M * N,
    STORES: stores.join('\n  '),
  });
  const types = { ...(aVec ? { A: 'vec4<f32>' } : {}), ...(bVec ? { B: 'vec4<f32>' } : {}), ...(cVec ? { C: 'vec4<f32>' } : {}) };
  return wgslModule({ inputs: ['A', 'B'], outputs: ['C'], types, threads: tiles * splits }, body);
}

/**
 * Below this in M, N or K a product is a fused reduction (an expression the scheduler fuses with
 * its producers and consumers: a palette's [pixels, K] @ [K, 3], its gradients) rather than a
 * register-blocked GEMM, whose tiles would be mostly empty.
 */
const SMALL_DIM = 16;

const mulTemplate = () => mapTemplate('matmul:mul', () => ({ name: 'matmul', loads: ['a', 'b'], lets: [], stores: ['a * b'], helpers: '' }));

/** C = opA(A) @ opB(B) as sum over k of A and B broadcast to [batch..., M, K, N]. */
function gemmExpr(k: GpuOps, g: Gemm, a: GpuStorage, b: GpuStorage): Expr {
  const { M, N, K, transA, transB } = g;
  const full = [...g.batch, M, K, N];
  const batchStrides = (own: Shape, block: number) => broadcastStrides(own, g.batch).map((s) => s * block);
  const A = ir.view(k.expr(a, [a.length]), full, [...batchStrides(g.aBatch, M * K), transA ? 1 : K, transA ? M : 1, 0]);
  const B = ir.view(k.expr(b, [b.length]), full, [...batchStrides(g.bBatch, K * N), 0, transB ? 1 : N, transB ? K : 1]);
  return ir.reduce('sum', ir.map(mulTemplate(), [A, B]), [g.batch.length + 1]);
}

function gemm(k: GpuOps, name: string, g: Gemm, a: GpuStorage, b: GpuStorage, c: GpuStorage): void {
  if (c.length === 0) return;
  if (Math.min(g.M, g.N, g.K) <= SMALL_DIM) {
    k.define(c, gemmExpr(k, g, a, b));
    return;
  }
  const TM = rowsPerThread(g);
  const tiles = sizeOf(g.batch) * Math.ceil(g.M / TM) * Math.ceil(g.N / tile(g.N));
  if (tiles === 0 || g.M === 0 || g.N === 0) return;
  const splits = splitsFor(g, tiles);
  const kstep = g.K % 4 === 0 ? 4 : 1;
  // Slices are whole k steps, so vec4 reads along k stay aligned.
  const chunk = Math.max(kstep, Math.ceil(g.K / splits / kstep) * kstep);
  const wgsl = gemmWgsl(g, TM, tiles, splits, chunk);
  if (splits === 1) {
    k.run({ name, wgsl, threads: tiles, inputs: [a, b], outputs: [c] });
    return;
  }
  const out = sizeOf(g.batch) * g.M * g.N;
  const partial = k.alloc(`${name} partials`, [splits, out]);
  k.run({ name, wgsl, threads: tiles * splits, inputs: [a, b], outputs: [partial] });
  gpuReduce(k, 'sum', partial, [splits, out], [0], c);
  k.release(partial);
}

function gemmReference(a: Float64Array, b: Float64Array, g: Gemm): Float64Array {
  const { M, N, K, transA, transB } = g;
  const out = new Float64Array(sizeOf(g.batch) * M * N);
  const sa = broadcastStrides(g.aBatch, g.batch);
  const sb = broadcastStrides(g.bBatch, g.batch);
  forEachIndex(g.batch, (bt, coords) => {
    const ao = dot(coords, sa) * M * K;
    const bo = dot(coords, sb) * K * N;
    for (let m = 0; m < M; m++) {
      for (let n = 0; n < N; n++) {
        let acc = 0;
        for (let q = 0; q < K; q++) acc += a[ao + (transA ? q * M + m : m * K + q)]! * b[bo + (transB ? n * K + q : q * N + n)]!;
        out[bt * M * N + m * N + n] = acc;
      }
    }
  });
  return out;
}

/** Batch dims, rows and columns of an operand. */
const split = (s: Shape): [Shape, number, number] => [s.slice(0, -2), s.at(-2)!, s.at(-1)!];

function batchOf(a: Shape, b: Shape): Shape {
  try {
    return broadcastShapes('matmul', split(a)[0], split(b)[0]);
  } catch (e) {
    if (!(e instanceof ShapeError)) throw e;
    throw new ShapeError(`matmul: the batch dimensions of ${fmt(a)} and ${fmt(b)} do not broadcast (${fmt(split(a)[0])} vs ${fmt(split(b)[0])})`);
  }
}

/** The three products of one matmul node: forward, dA = g @ B^T and dB = A^T @ g (all in the output's batch). */
function plans(shapes: readonly Shape[]) {
  const [aB, M, K] = split(shapes[0]!);
  const [bB, , N] = split(shapes[1]!);
  const batch = batchOf(shapes[0]!, shapes[1]!);
  return {
    batch,
    forward: { batch, aBatch: aB, bBatch: bB, M, N, K, transA: false, transB: false },
    dA: { batch, aBatch: batch, bBatch: bB, M, N: K, K: N, transA: false, transB: true },
    dB: { batch, aBatch: aB, bBatch: batch, M: K, N, K: M, transA: true, transB: false },
    /** b has no batch: fold the batch into rows (forward) or into the inner dim (dB), so dB needs no reduction. */
    fold: sizeOf(bB) === 1 ? sizeOf(batch) : 0,
  };
}

export const matmulOp = defineOp<Record<string, never>>({
  name: 'matmul',
  arity: 2,
  shape([a, b]) {
    if (a!.length < 2 || b!.length < 2) {
      throw new ShapeError(
        `matmul: needs tensors of rank >= 2, got shapes ${fmt(a!)} and ${fmt(b!)}; ` +
          'reshape or unsqueeze a vector first (v.unsqueeze(0) for a row [1, n], v.unsqueeze(-1) for a column [n, 1])',
      );
    }
    if (a!.at(-1) !== b!.at(-2)) {
      throw new ShapeError(
        `matmul: inner dimensions differ: ${fmt(a!)} @ ${fmt(b!)} (${a!.at(-1)} vs ${b!.at(-2)}); the first's last dimension must equal the second's second-to-last`,
      );
    }
    return [...batchOf(a!, b!), a!.at(-2)!, b!.at(-1)!];
  },
  saves: (needs) => ({ inputs: [needs[1]!, needs[0]!], output: false }),
  gpu: {
    forward(k, [a, b], out, { shapes }) {
      const p = plans(shapes);
      const g = p.fold ? { ...p.forward, batch: [], aBatch: [], bBatch: [], M: p.fold * p.forward.M } : p.forward;
      gemm(k, 'matmul_forward', g, a!, b!, out);
    },
    backward(k, { shapes, inputs, grad, needs }) {
      const p = plans(shapes);
      const [aShape, bShape] = [shapes[0]!, shapes[1]!];
      let da: GpuStorage | null = null;
      let db: GpuStorage | null = null;
      if (needs[0]) {
        const full = [...p.batch, p.dA.M, p.dA.N];
        da = k.alloc('matmul backward', full);
        gemm(k, 'matmul_backward_a', p.dA, grad, inputs[1]!, da);
        da = unbroadcast(k, da, full, aShape);
      }
      if (needs[1] && p.fold) {
        db = k.alloc('matmul backward', bShape);
        gemm(k, 'matmul_backward_b', { ...p.dB, batch: [], aBatch: [], bBatch: [], K: p.fold * p.dB.K }, inputs[0]!, grad, db);
      } else if (needs[1]) {
        const full = [...p.batch, p.dB.M, p.dB.N];
        db = k.alloc('matmul backward', full);
        gemm(k, 'matmul_backward_b', p.dB, inputs[0]!, grad, db);
        db = unbroadcast(k, db, full, bShape);
      }
      return [da, db];
    },
  },
  reference: ([a, b], { shapes }) => gemmReference(a!, b!, plans(shapes).forward),
  referenceBackward({ shapes, inputs, grad, needs }) {
    const p = plans(shapes);
    const da = needs[0] ? unbroadcastReference(gemmReference(grad, inputs[1]!, p.dA), [...p.batch, p.dA.M, p.dA.N], shapes[0]!) : null;
    const db = needs[1] ? unbroadcastReference(gemmReference(inputs[0]!, grad, p.dB), [...p.batch, p.dB.M, p.dB.N], shapes[1]!) : null;
    return [da, db];
  },
  testShapes(n) {
    const s = Math.max(1, Math.round(Math.sqrt(n)));
    // Large outputs: a tiny inner dimension keeps the float64 reference cheap.
    if (n > 4_000_000) return [[[s, 2], [2, s]]];
    const s4 = Math.max(4, 4 * Math.round(s / 4));
    const q = Math.max(1, Math.round(Math.sqrt(n / 6)));
    return [
      [[s, 7], [7, s]],
      [[s4, 8], [8, s4]],
      [[2, 1, q, 8], [3, 8, q]],
      [[2, 3, q, 5], [5, q]],
      [[n, 4], [4, 1]],
      // A long inner dimension and a tiny output: split-K, forward and backward.
      [[2, 4 * n + 130], [4 * n + 130, 3]],
    ];
  },
});
