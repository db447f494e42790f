/**
 * Matrix product of [..., M, K] and [..., K, N] with NumPy-broadcast batch dims. Forward and
 * backward share one register-blocked kernel whose transposed reads make dA = g @ B^T and
 * dB = A^T @ g without transpose copies.
 */
import type { GpuOps, GpuStorage } from '../gpu/gpu-ops.ts';
import { type GemmTiling, gemmTiling } from '../gpu/tuner.ts';
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

const cached = kernelCache('matmul');

/** Shortest k slice per thread, so partial sums stay a small part of the traffic. */
const MIN_SLICE = 64;

/** How many k slices: 1 unless the output has few blocks and k is long (dB of a batch-folded matmul, A^T·g of a GEMV). */
function splitsFor(g: Gemm, blocks: number, target: number): number {
  if (blocks >= target || g.K < 2 * MIN_SLICE) return 1;
  return Math.max(1, Math.min(Math.ceil(target / blocks), Math.floor(g.K / MIN_SLICE), 1024));
}

interface Launch {
  readonly t: GemmTiling;
  readonly blocks: number;
  readonly splits: number;
  readonly chunk: number;
}

function gemmWgsl(g: Gemm, l: Launch): string {
  const { M, N, K, transA, transB } = g;
  const { TM, TN, width } = l.t;
  const key = `${g.batch.join('x')}|${g.aBatch.join('x')}|${g.bBatch.join('x')}|${M},${N},${K},${+transA}${+transB}|${TM}x${TN}/${width},${l.splits},${l.chunk}`;
  return cached(key, () => gemmSource(g, l));
}

/**
 * The kernel for one layout: each thread keeps TM rows × TN columns of C as TM × TN/4 vec4
 * accumulators and, per step of k, loads its slices of A and B (vec4 where the layout is
 * contiguous and aligned) before the multiply-adds.
 */
function gemmSource(g: Gemm, l: Launch): string {
  const { M, N, K, transA, transB } = g;
  const { TM, TN, width } = l.t;
  if (TN % 4 !== 0) throw new Error(`internal: matmul block of ${TN} columns is not whole vec4s`);
  const V = TN / 4;
  const kstep = K % 4 === 0 ? 4 : 1;
  const aVec = !transA ? kstep === 4 : TM % 4 === 0 && M % 4 === 0;
  const bVec = !transB ? N % 4 === 0 : kstep === 4;
  const cVec = N % 4 === 0;
  const vec = (xs: string[]) => `vec4<f32>(${xs.join(', ')})`;
  const row = (r: number) => (M % TM === 0 ? `(m0 + ${r}u)` : `min(m0 + ${r}u, ${M - 1}u)`);
  const col = (c: number) => (N % TN === 0 ? `(n0 + ${c}u)` : `min(n0 + ${c}u, ${N - 1}u)`);
  const [rows, cols, ks, vs] = [range(TM), range(TN), range(kstep), range(V)];
  const group = (v: number) => cols.slice(4 * v, 4 * v + 4);
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

  let bAt: (j: number, v: number) => string;
  if (bVec && !transB) {
    // B[k, n0..n0+TN-1] is V vec4s.
    for (const j of ks) for (const v of vs) step.push(`let b${j}_${v} = B[(bbase + (k + ${j}u) * ${N}u + n0) / 4u + ${v}u];`);
    bAt = (j, v) => `b${j}_${v}`;
  } else if (bVec) {
    // Transposed B: B[k..k+3, n] is one vec4 per column.
    for (const c of cols) setup.push(`let bc${c} = (bbase + ${col(c)} * ${K}u) / 4u;`);
    for (const c of cols) step.push(`let b${c} = B[bc${c} + k / 4u];`);
    bAt = (j, v) => vec(group(v).map((c) => `b${c}.${XYZW[j]}`));
  } else {
    for (const c of cols) setup.push(transB ? `let bc${c} = bbase + ${col(c)} * ${K}u;` : `let bc${c} = bbase + ${col(c)};`);
    for (const j of ks) for (const c of cols) step.push(`let b${c}_${j} = B[bc${c} + ${transB ? `k + ${j}u` : `(k + ${j}u) * ${N}u`}];`);
    bAt = (j, v) => vec(group(v).map((c) => `b${c}_${j}`));
  }

  for (const j of ks) {
    for (const v of vs) {
      step.push(`let r${j}_${v} = ${bAt(j, v)};`);
      for (const r of rows) step.push(`acc${r}_${v} = acc${r}_${v} + ${aAt(r, j)} * r${j}_${v};`);
    }
  }

  const stores: string[] = [];
  const guard = (conds: string[], stmt: string) => (conds.length ? `if (${conds.join(' && ')}) { ${stmt} }` : stmt);
  for (const r of rows) {
    const rowOk = M % TM === 0 ? [] : [`m0 + ${r}u < ${M}u`];
    for (const v of vs) {
      if (cVec) {
        // N is a multiple of 4: a vec4 of C is wholly inside or wholly past the edge.
        const colOk = N % TN === 0 ? [] : [`n0 + ${4 * v}u < ${N}u`];
        stores.push(guard([...rowOk, ...colOk], `C[(cbase + (m0 + ${r}u) * ${N}u + n0) / 4u + ${v}u] = acc${r}_${v};`));
        continue;
      }
      for (const c of group(v)) {
        const colOk = N % TN === 0 ? [] : [`n0 + ${c}u < ${N}u`];
        stores.push(guard([...rowOk, ...colOk], `C[cbase + (m0 + ${r}u) * ${N}u + n0 + ${c}u] = acc${r}_${v}.${XYZW[c & 3]};`));
      }
    }
  }

  const batchOffset = (own: Shape, size: number) =>
    sizeOf(own) === 1 ? '0u' : `${stridedOffset(g.batch, broadcastStrides(own, g.batch), 'bt')} * ${size}u`;
  const tilesM = Math.ceil(M / TM);
  const tilesN = Math.ceil(N / TN);
  const threads = l.blocks * l.splits;
  const body = fill(section(src, 'gemm'), {
    THREADS: threads,
    TILES_ALL: l.blocks,
    SPLITS: l.splits,
    CHUNK: l.chunk,
    OUT: sizeOf(g.batch) * M * N,
    TILES_N: tilesN,
    TILES_M: tilesM,
    TILES_MN: tilesM * tilesN,
    TM,
    TN,
    A_BATCH: batchOffset(g.aBatch, M * K),
    B_BATCH: batchOffset(g.bBatch, K * N),
    SETUP: setup.join('\n  '),
    ACC: rows.flatMap((r) => vs.map((v) => `var acc${r}_${v} = vec4<f32>(0.0);`)).join('\n  '),
    K,
    KSTEP: kstep,
    STEP: step.join('\n    '),
    MN: M * N,
    STORES: stores.join('\n  '),
  });
  const types = { ...(aVec ? { A: 'vec4<f32>' } : {}), ...(bVec ? { B: 'vec4<f32>' } : {}), ...(cVec ? { C: 'vec4<f32>' } : {}) };
  return wgslModule({ inputs: ['A', 'B'], outputs: ['C'], types, threads, width }, body);
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
  const t = gemmTiling(k, sizeOf(g.batch), g.M, g.N);
  const blocks = sizeOf(g.batch) * Math.ceil(g.M / t.TM) * Math.ceil(g.N / t.TN);
  if (blocks === 0) return;
  const splits = splitsFor(g, blocks, t.targetThreads);
  const kstep = g.K % 4 === 0 ? 4 : 1;
  // Slices are whole k steps, so vec4 reads along k stay aligned.
  const chunk = Math.max(kstep, Math.ceil(g.K / splits / kstep) * kstep);
  const wgsl = gemmWgsl(g, { t, blocks, splits, chunk });
  if (splits === 1) {
    k.run({ name, wgsl, threads: blocks, inputs: [a, b], outputs: [c] });
    return;
  }
  const out = sizeOf(g.batch) * g.M * g.N;
  const partial = k.alloc(`${name} partials`, [splits, out]);
  k.run({ name, wgsl, threads: blocks * splits, inputs: [a, b], outputs: [partial] });
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
