/**
 * palette: per-pixel softmax weights over K palette colours, both learnable, fitted to a target.
 * L [S·S, K] logits, P [K, 3] palette, T [S·S, 3] target;
 * loss = mean((softmax(L)·P − T)²); Adam (lr 0.05, betas 0.9/0.999, eps 1e-8) on L and P.
 */
import * as tf from '@tensorflow/tfjs';
import { jit, numpy as np, nn, valueAndGrad, blockUntilReady, type Array as JaxArray } from '@jax-js/jax';
import type { EngineFactory, EngineName, Instance } from './common.ts';
import { cpuLoop, uniform } from './common.ts';
import { ADAM_FINISH_BINDINGS, RawGpu, ROW_TOTAL_WGSL, grid, rawInstance, streamThreads, walkLoop } from './gpu.ts';
import { colorMixFitInstance, pg } from './pixelgrad-api.ts';
import { tfjsInstance } from './tfjs-api.ts';

export const K = 8;
export const LR = 0.05;
const B1 = 0.9;
const B2 = 0.999;
const EPS = 1e-8;

export interface PaletteInput {
  readonly S: number;
  readonly L: Float32Array;
  readonly P: Float32Array;
  readonly T: Float32Array;
}

export function paletteInput(S: number, seed: number): PaletteInput {
  const n = S * S;
  return { S, L: uniform(n * K, seed, -1, 1), P: uniform(K * 3, seed + 1), T: uniform(n * 3, seed + 2) };
}

/** Bytes a fully fused step must move: L, m, v read and written (K each), T read. */
export const paletteBytes = (S: number): number => S * S * (K * 4 * 6 + 3 * 4);

// ---------------------------------------------------------------- pixelgrad

const pixelgrad: EngineFactory<PaletteInput> = async ({ S, L: L0, P: P0, T: T0 }) => {
  const n = S * S;
  const L = pg.tensor(L0, { shape: [n, K], requiresGrad: true });
  const P = pg.tensor(P0, { shape: [K, 3], requiresGrad: true });
  const T = pg.tensor(T0, { shape: [n, 3] });
  return colorMixFitInstance('README form: pg.colorMixLoss(L, P, T, { softmax: true }), pg.Adam', L, P, T, new pg.Adam([L, P], { lr: LR }), { softmax: true });
};

// ---------------------------------------------------------------- raw fused WebGPU

const WG_A = 64;

function paletteWgsl(quads: number, threads: number, n: number, cpuAdapter: boolean): { fused: string; finish: string } {
  const consts = `
const NQ: u32 = ${quads}u;
const NT: u32 = ${threads}u;
const INV_N: f32 = ${1 / (n * 3)};
const B1: f32 = ${B1};
const B2: f32 = ${B2};
const EPS: f32 = ${EPS};
const LR: f32 = ${LR};
`;
  // Component-major partial rows, one per palette entry k·3 + c (then the loss's), so a finisher
  // lane sums one entry's row.
  const PARTIAL_STORES = Array.from({ length: 24 }, (_, e) => {
    const k = Math.floor(e / 3);
    return `  partial[${e}u * NT + tid] = a${'RGB'[e % 3]}${k >> 2}.${'xyzw'[k % 4]};`;
  }).join('\n');
  // One thread handles quads of 4 pixels (T as 3 vec4, L/m/v as 2 vec4 per pixel), computes the
  // softmax, the mix, the loss, both gradients and L's Adam update in registers, and writes its
  // partial sums for dP and the loss: no barrier, no atomics.
  const fused = `${consts}
@group(0) @binding(0) var<storage, read_write> L: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read_write> mL: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> vL: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> T: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read> P: array<f32>;
@group(0) @binding(5) var<storage, read> state: array<f32>;
@group(0) @binding(6) var<storage, read_write> partial: array<f32>;

var<private> PR0: vec4<f32>; var<private> PR1: vec4<f32>;
var<private> PG0: vec4<f32>; var<private> PG1: vec4<f32>;
var<private> PB0: vec4<f32>; var<private> PB1: vec4<f32>;
var<private> aR0: vec4<f32>; var<private> aR1: vec4<f32>;
var<private> aG0: vec4<f32>; var<private> aG1: vec4<f32>;
var<private> aB0: vec4<f32>; var<private> aB1: vec4<f32>;
var<private> aLoss: f32;
var<private> lrt: f32;
var<private> sbc2: f32;

fn pixel(p: u32, tgt: vec3<f32>) {
  let l0 = L[2u * p];
  let l1 = L[2u * p + 1u];
  let mx4 = max(l0, l1);
  let mx = max(max(mx4.x, mx4.y), max(mx4.z, mx4.w));
  let e0 = exp(l0 - vec4<f32>(mx));
  let e1 = exp(l1 - vec4<f32>(mx));
  let inv = 1.0 / (dot(e0, vec4<f32>(1.0)) + dot(e1, vec4<f32>(1.0)));
  let w0 = e0 * inv;
  let w1 = e1 * inv;
  let d = vec3<f32>(dot(w0, PR0) + dot(w1, PR1), dot(w0, PG0) + dot(w1, PG1), dot(w0, PB0) + dot(w1, PB1)) - tgt;
  aLoss += dot(d, d);
  let gm = d * (2.0 * INV_N);
  aR0 += w0 * gm.x; aR1 += w1 * gm.x;
  aG0 += w0 * gm.y; aG1 += w1 * gm.y;
  aB0 += w0 * gm.z; aB1 += w1 * gm.z;
  let dw0 = PR0 * gm.x + PG0 * gm.y + PB0 * gm.z;
  let dw1 = PR1 * gm.x + PG1 * gm.y + PB1 * gm.z;
  let s = dot(w0, dw0) + dot(w1, dw1);
  let g0 = w0 * (dw0 - vec4<f32>(s));
  let g1 = w1 * (dw1 - vec4<f32>(s));
  let m0 = B1 * mL[2u * p] + (1.0 - B1) * g0;
  let m1 = B1 * mL[2u * p + 1u] + (1.0 - B1) * g1;
  let v0 = B2 * vL[2u * p] + (1.0 - B2) * g0 * g0;
  let v1 = B2 * vL[2u * p + 1u] + (1.0 - B2) * g1 * g1;
  mL[2u * p] = m0; mL[2u * p + 1u] = m1;
  vL[2u * p] = v0; vL[2u * p + 1u] = v1;
  L[2u * p] = l0 - lrt * m0 / (sqrt(v0) / sbc2 + vec4<f32>(EPS));
  L[2u * p + 1u] = l1 - lrt * m1 / (sqrt(v1) / sbc2 + vec4<f32>(EPS));
}

@compute @workgroup_size(${WG_A})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let tid = gid.x + gid.y * nwg.x * ${WG_A}u;
  if (tid >= NT) { return; }
  let t = state[0] + 1.0;
  lrt = LR / (1.0 - pow(B1, t));
  sbc2 = sqrt(1.0 - pow(B2, t));
  PR0 = vec4<f32>(P[0], P[3], P[6], P[9]);  PR1 = vec4<f32>(P[12], P[15], P[18], P[21]);
  PG0 = vec4<f32>(P[1], P[4], P[7], P[10]); PG1 = vec4<f32>(P[13], P[16], P[19], P[22]);
  PB0 = vec4<f32>(P[2], P[5], P[8], P[11]); PB1 = vec4<f32>(P[14], P[17], P[20], P[23]);
  ${walkLoop('q', quads, threads, cpuAdapter)} {
    let t0 = T[3u * q];
    let t1 = T[3u * q + 1u];
    let t2 = T[3u * q + 2u];
    pixel(4u * q, t0.xyz);
    pixel(4u * q + 1u, vec3<f32>(t0.w, t1.xy));
    pixel(4u * q + 2u, vec3<f32>(t1.zw, t2.x));
    pixel(4u * q + 3u, t2.yzw);
  }
${PARTIAL_STORES}
  partial[24u * NT + tid] = aLoss;
}
`;
  // One workgroup sums the partials (25 rows), applies Adam to P, stores the loss and advances the
  // step counter.
  const finishHead = `${consts}
${ADAM_FINISH_BINDINGS}
fn adam(i: u32, g: f32, t: f32) {
  let m = B1 * mP[i] + (1.0 - B1) * g;
  let v = B2 * vP[i] + (1.0 - B2) * g * g;
  mP[i] = m;
  vP[i] = v;
  P[i] = P[i] - (LR / (1.0 - pow(B1, t))) * m / (sqrt(v) / sqrt(1.0 - pow(B2, t)) + EPS);
}`;
  // On a CPU adapter a barrier costs more than the sums: each of the 24 palette entries' threads
  // sums its row serially and keeps its own step counter (state[i]; the fused kernel reads
  // state[0]), so no thread reads what another writes.
  const finish = cpuAdapter
    ? `${finishHead}
${ROW_TOTAL_WGSL}@compute @workgroup_size(64)
fn main(@builtin(local_invocation_index) lid: u32) {
  if (lid >= 25u) { return; }
  let s = row_total(lid);
  if (lid < 24u) {
    let t = state[lid] + 1.0;
    adam(lid, s, t);
    state[lid] = t;
  } else {
    lossOut[0] = s * INV_N;
  }
}
`
    : `${finishHead}
var<workgroup> lanes: array<f32, 256>;

@compute @workgroup_size(256)
fn main(@builtin(local_invocation_index) lid: u32) {
  let t = state[0] + 1.0;
  let row = lid / 10u;
  let lane = lid % 10u;
  var acc = vec4<f32>(0.0);
  if (row < 25u) {
    for (var j = lane; j < NT / 4u; j += 10u) { acc += partial[row * (NT / 4u) + j]; }
  }
  lanes[lid] = acc.x + acc.y + acc.z + acc.w;
  workgroupBarrier();
  if (lid < 25u) {
    var s = 0.0;
    for (var j = 0u; j < 10u; j++) { s += lanes[lid * 10u + j]; }
    if (lid < 24u) { adam(lid, s, t); } else { lossOut[0] = s * INV_N; }
  }
  // Every thread read state[0] before the barrier above.
  if (lid == 0u) { state[0] = t; }
}
`;
  return { fused, finish };
}

const raw: EngineFactory<PaletteInput> = async ({ S, L: L0, P: P0, T: T0 }) => {
  const n = S * S;
  const quads = n / 4;
  const gpu = await RawGpu.create();
  const threads = streamThreads(quads, WG_A, gpu.cpuAdapter);
  const zerosLK = new Float32Array(n * K);
  const L = gpu.buffer(n * K * 4, 'L', L0);
  const mL = gpu.buffer(n * K * 4, 'mL', zerosLK);
  const vL = gpu.buffer(n * K * 4, 'vL', zerosLK);
  const T = gpu.buffer(n * 3 * 4, 'T', T0);
  const P = gpu.buffer(K * 3 * 4, 'P', P0);
  const mP = gpu.buffer(K * 3 * 4, 'mP', new Float32Array(K * 3));
  const vP = gpu.buffer(K * 3 * 4, 'vP', new Float32Array(K * 3));
  const state = gpu.buffer(32 * 4, 'step counters', new Float32Array(32));
  const partial = gpu.buffer(25 * threads * 4, 'partials');
  const lossOut = gpu.buffer(16, 'loss');
  const staging = gpu.readback(16);
  const src = paletteWgsl(quads, threads, n, gpu.cpuAdapter);
  const fused = gpu.kernel('palette fused step', src.fused, [L, mL, vL, T, P, state, partial]);
  const finish = gpu.kernel('palette finish', src.finish, [partial, P, mP, vP, state, lossOut]);
  const [gx, gy] = grid(threads / WG_A);
  const step = (read: boolean) => gpu.submit([[fused, gx, gy], [finish, 1]], read ? [[lossOut, staging, 4]] : []);
  return rawInstance(gpu, `2 dispatches/step (fused per-pixel kernel, ${threads} threads × ${Math.ceil(quads / threads) * 4} px, + 1-workgroup finisher${gpu.cpuAdapter ? ", serial sums on this CPU adapter" : ""}), 1 submit`, step, staging);
};

// ---------------------------------------------------------------- tfjs (WebGPU backend)

const tfjs: EngineFactory<PaletteInput> = async ({ S, L: L0, P: P0, T: T0 }) => {
  const n = S * S;
  const L = tf.variable(tf.tensor2d(L0, [n, K]));
  const P = tf.variable(tf.tensor2d(P0, [K, 3]));
  const T = tf.tensor2d(T0, [n, 3]);
  const opt = tf.train.adam(LR, B1, B2, EPS);
  const lossFn = () => tf.mean(tf.square(tf.sub(tf.matMul(tf.softmax(L), P), T))) as tf.Scalar;
  return tfjsInstance('tf.train.adam + optimizer.minimize(softmax → matMul → mean square)', opt, lossFn, [L, P], [L, P, T]);
};

// ---------------------------------------------------------------- jax-js (WebGPU, jit)

const jax: EngineFactory<PaletteInput> = async ({ S, L: L0, P: P0, T: T0 }) => {
  const n = S * S;
  const lossFn = (L: JaxArray, P: JaxArray, T: JaxArray) => np.mean(np.square(np.matmul(nn.softmax(L, -1), P).sub(T)));
  const adam = (p: JaxArray, g: JaxArray, m: JaxArray, v: JaxArray, lrt: JaxArray, sbc2: JaxArray): [JaxArray, JaxArray, JaxArray] => {
    const m2 = m.mul(B1).add(g.ref.mul(1 - B1));
    const v2 = v.mul(B2).add(g.ref.mul(g).mul(1 - B2));
    const p2 = p.sub(lrt.mul(m2.ref).div(np.sqrt(v2.ref).div(sbc2).add(EPS)));
    return [p2, m2, v2];
  };
  // The whole step, forward, backward and both Adam updates, traced and fused by jit.
  const stepFn = jit((L: JaxArray, P: JaxArray, T: JaxArray, mL: JaxArray, vL: JaxArray, mP: JaxArray, vP: JaxArray, lrt: JaxArray, sbc2: JaxArray) => {
    const [loss, [gL, gP]] = valueAndGrad(lossFn, { argnums: [0, 1] })(L.ref, P.ref, T);
    const [L2, mL2, vL2] = adam(L, gL, mL, vL, lrt.ref, sbc2.ref);
    const [P2, mP2, vP2] = adam(P, gP, mP, vP, lrt, sbc2);
    return [loss, L2, P2, mL2, vL2, mP2, vP2];
  });
  let L = np.array(L0).reshape([n, K]);
  let P = np.array(P0).reshape([K, 3]);
  const T = np.array(T0).reshape([n, 3]);
  let mL = np.zeros([n, K]);
  let vL = np.zeros([n, K]);
  let mP = np.zeros([K, 3]);
  let vP = np.zeros([K, 3]);
  let t = 0;
  return {
    note: 'jit(valueAndGrad(softmax → matmul → mean square) + Adam)',
    async steps(count, readEvery) {
      // jax-js evaluates lazily: losses are kept until the batch is ready so that none is skipped.
      let value = Number.NaN;
      const losses: JaxArray[] = [];
      for (let i = 0; i < count; i++) {
        t++;
        const lrt = np.array([LR / (1 - B1 ** t)]);
        const sbc2 = np.array([Math.sqrt(1 - B2 ** t)]);
        const out = stepFn(L, P, T.ref, mL, vL, mP, vP, lrt, sbc2) as JaxArray[];
        let loss: JaxArray;
        [loss, L, P, mL, vL, mP, vP] = out as [JaxArray, JaxArray, JaxArray, JaxArray, JaxArray, JaxArray, JaxArray];
        losses.push(loss);
        if (readEvery || i === count - 1) {
          await blockUntilReady([L, P, mL, vL, mP, vP, ...losses]);
          losses.pop();
          for (const a of losses.splice(0)) a.dispose();
          value = (await loss.data())[0]!; // data() consumes the array
        }
      }
      return value;
    },
    dispose() {
      for (const a of [L, P, T, mL, vL, mP, vP]) a.dispose();
      stepFn.dispose();
    },
  };
};

// ---------------------------------------------------------------- plain JavaScript (CPU)

const js: EngineFactory<PaletteInput> = async ({ S, L: L0, P: P0, T }) => {
  const n = S * S;
  const L = L0.slice();
  const P = P0.slice();
  const mL = new Float32Array(n * K);
  const vL = new Float32Array(n * K);
  const mP = new Float64Array(K * 3);
  const vP = new Float64Array(K * 3);
  const gP = new Float64Array(K * 3);
  const w = new Float64Array(K);
  const dw = new Float64Array(K);
  let t = 0;
  const inv = 1 / (n * 3);
  const step = (): number => {
    t++;
    const lrt = LR / (1 - B1 ** t);
    const sbc2 = Math.sqrt(1 - B2 ** t);
    gP.fill(0);
    let loss = 0;
    for (let p = 0; p < n; p++) {
      const o = p * K;
      let mx = Number.NEGATIVE_INFINITY;
      for (let k = 0; k < K; k++) mx = Math.max(mx, L[o + k]!);
      let sum = 0;
      for (let k = 0; k < K; k++) {
        const e = Math.exp(L[o + k]! - mx);
        w[k] = e;
        sum += e;
      }
      let r = 0;
      let g = 0;
      let b = 0;
      for (let k = 0; k < K; k++) {
        const wk = w[k]! / sum;
        w[k] = wk;
        r += wk * P[k * 3]!;
        g += wk * P[k * 3 + 1]!;
        b += wk * P[k * 3 + 2]!;
      }
      const dr = r - T[p * 3]!;
      const dg = g - T[p * 3 + 1]!;
      const db = b - T[p * 3 + 2]!;
      loss += dr * dr + dg * dg + db * db;
      const gr = 2 * inv * dr;
      const gg = 2 * inv * dg;
      const gb = 2 * inv * db;
      let s = 0;
      for (let k = 0; k < K; k++) {
        const wk = w[k]!;
        gP[k * 3] = gP[k * 3]! + wk * gr;
        gP[k * 3 + 1] = gP[k * 3 + 1]! + wk * gg;
        gP[k * 3 + 2] = gP[k * 3 + 2]! + wk * gb;
        const d = P[k * 3]! * gr + P[k * 3 + 1]! * gg + P[k * 3 + 2]! * gb;
        dw[k] = d;
        s += wk * d;
      }
      for (let k = 0; k < K; k++) {
        const gl = w[k]! * (dw[k]! - s);
        const m = B1 * mL[o + k]! + (1 - B1) * gl;
        const v = B2 * vL[o + k]! + (1 - B2) * gl * gl;
        mL[o + k] = m;
        vL[o + k] = v;
        L[o + k] = L[o + k]! - (lrt * m) / (Math.sqrt(v) / sbc2 + EPS);
      }
    }
    for (let i = 0; i < K * 3; i++) {
      const g = gP[i]!;
      const m = B1 * mP[i]! + (1 - B1) * g;
      const v = B2 * vP[i]! + (1 - B2) * g * g;
      mP[i] = m;
      vP[i] = v;
      P[i] = P[i]! - (lrt * m) / (Math.sqrt(v) / sbc2 + EPS);
    }
    return loss * inv;
  };
  return cpuLoop('single-threaded loop over pixels, Float32Array storage', step);
};

export const paletteEngines: Record<EngineName, EngineFactory<PaletteInput>> = { pixelgrad, raw, tfjs, jax, js };
export type { Instance };
