/**
 * tv: total-variation denoising, a program no op was written for. Y [S, S, 3] a noisy photo; X
 * [S, S, 3] starts at Y; loss = mean((X − Y)²) + 0.1·(mean|X[1:] − X[:-1]| + mean|X[:,1:] − X[:,:-1]|);
 * Adam (lr 0.01) on X.
 */
import { numpy as np, type Array as JaxArray } from '@jax-js/jax';
import type { EngineFactory, EngineName } from './common.ts';
import { cpuLoop, photoLike, uniform } from './common.ts';
import { grid, type Kernel, RawGpu, rawInstance, rowFinisherWgsl, streamThreads } from './gpu.ts';
import { ADAM, jaxAdamFit } from './jax-api.ts';
import { pg, plainFitInstance } from './pixelgrad-api.ts';

export const LR_TV = 0.01;
/** Weight of the total variation beside the data term. */
const TV = 0.1;

export interface TvInput {
  readonly S: number;
  /** The noisy image, [S, S, 3]; X starts as a copy. */
  readonly Y: Float32Array;
}

/** A photo-like image with uniform noise of ±0.1 added (values may leave [0, 1], as real noise does). */
export function tvInput(S: number, seed: number): TvInput {
  const Y = photoLike(S, seed);
  const noise = uniform(Y.length, seed + 1, -0.1, 0.1);
  for (let i = 0; i < Y.length; i++) Y[i] = Y[i]! + noise[i]!;
  return { S, Y };
}

/** Bytes a fused step must move: X, m and v read and written, Y read (bench/node/report.ts repeats it). */
export const tvBytes = (S: number): number => S * S * 3 * 4 * 7;

/** The three means' weights per element: the data term over S·S·3, each difference term over S·(S−1)·3. */
const weights = (S: number) => ({ data: 1 / (S * S * 3), diff: TV / (S * (S - 1) * 3) });

// ---------------------------------------------------------------- pixelgrad, plain ops

const pixelgrad: EngineFactory<TvInput> = async ({ S, Y: Y0 }) => {
  const X = pg.tensor(Y0, { shape: [S, S, 3], requiresGrad: true });
  const Y = pg.tensor(Y0, { shape: [S, S, 3] });
  const loss = () => {
    const data = X.sub(Y).square().mean();
    const down = X.slice([1]).sub(X.slice([0], [-1])).abs().mean();
    const across = X.slice([0, 1]).sub(X.slice([0, 0], [S, -1])).abs().mean();
    return data.add(down.add(across).mul(TV));
  };
  return plainFitInstance('plain ops: X.sub(Y).square().mean() + 0.1·(|X.slice([1]) − X.slice([0], [-1])|.mean() + the same across), pg.Adam', loss, new pg.Adam([X], { lr: LR_TV }), [X, Y]);
};

// ---------------------------------------------------------------- raw fused WebGPU

const WG = 64;

/**
 * One pass per step: each vec4 of X (4 channel values of one row; a row of 3S values is whole
 * vec4s since S is a multiple of 4) reads its neighbours above, below, left and right (3 values
 * away: the left ones straddle the previous vec4), forms the loss terms it owns (the pairs with
 * the value above and to the left), its gradient, and its Adam update. X is double-buffered:
 * neighbours must be read before anyone's update.
 */
function tvWgsl(S: number, threads: number, cpuAdapter: boolean): { fused: string; finish: string } {
  const items = (S * S * 3) / 4;
  const w = weights(S);
  const consts = `
const NT: u32 = ${threads}u;
const Q: u32 = ${items}u;
const R: u32 = ${(3 * S) / 4}u;
const ROW: u32 = ${3 * S}u;
const W_DATA: f32 = ${w.data};
const W_DIFF: f32 = ${w.diff};
const B1: f32 = ${ADAM.b1};
const B2: f32 = ${ADAM.b2};
const EPS: f32 = ${ADAM.eps};
const LR: f32 = ${LR_TV};
`;
  // On a GPU, grid stride (a warp's loads coalesce), the left and right vec4s loaded. On a CPU
  // adapter each thread walks a contiguous run and carries its left and right vec4s in registers
  // (3 loads of X per item instead of 5; 5-10% faster at S=512 on SwiftShader, same run), letting
  // the lane masks below discard what a carried value holds across a row's end.
  const gridWalk = `  for (var q = tid; q < Q; q += NT) {
    let x = X[q];
    var prev = x;
    var next = x;
    if (q % R > 0u) { prev = X[q - 1u]; }
    if (q % R + 1u < R) { next = X[q + 1u]; }`;
  const slidingWalk = `  let lo = tid * ${Math.ceil(items / threads)}u;
  let hi = min(lo + ${Math.ceil(items / threads)}u, Q);
  var prev = X[max(min(lo, Q), 1u) - 1u];
  var x = X[min(lo, Q - 1u)];
  for (var q = lo; q < hi; q++) {
    let next = X[min(q + 1u, Q - 1u)];`;
  const fused = `${consts}
@group(0) @binding(0) var<storage, read> X: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read_write> Xnext: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> Y: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> M: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> V: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read> state: array<f32>;
@group(0) @binding(6) var<storage, read_write> partial: array<f32>;

@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let tid = gid.x + gid.y * nwg.x * ${WG}u;
  if (tid >= NT) { return; }
  let t = state[0] + 1.0;
  let lrt = LR / (1.0 - pow(B1, t));
  let sbc2 = sqrt(1.0 - pow(B2, t));
  let zero = vec4<f32>(0.0);
  var loss = zero;
${cpuAdapter ? slidingWalk : gridWalk}
    let col = 4u * (q % R);
    let lane = vec4<u32>(col) + vec4<u32>(0u, 1u, 2u, 3u);
    let dl = select(zero, x - vec4<f32>(prev.yzw, x.x), lane >= vec4<u32>(3u));
    let dr = select(zero, vec4<f32>(x.w, next.xyz) - x, lane < vec4<u32>(ROW - 3u));
    var du = zero;
    var dd = zero;
    if (q >= R) { du = x - X[q - R]; }
    if (q + R < Q) { dd = X[q + R] - x; }
    let r = x - Y[q];
    loss += W_DATA * r * r + W_DIFF * (abs(du) + abs(dl));
    let g = 2.0 * W_DATA * r + W_DIFF * (sign(du) - sign(dd) + sign(dl) - sign(dr));
    let m = B1 * M[q] + (1.0 - B1) * g;
    let v = B2 * V[q] + (1.0 - B2) * g * g;
    M[q] = m;
    V[q] = v;
    Xnext[q] = x - lrt * m / (sqrt(v) / sbc2 + vec4<f32>(EPS));
${cpuAdapter ? '    prev = x;\n    x = next;\n' : ''}  }
  partial[tid] = loss.x + loss.y + loss.z + loss.w;
}
`;
  const finish = `${consts}
@group(0) @binding(0) var<storage, read> partial: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read_write> state: array<f32>;
@group(0) @binding(2) var<storage, read_write> lossOut: array<f32>;
${rowFinisherWgsl(1, cpuAdapter, 'lossOut[0] = s;\n    state[0] = state[0] + 1.0;')}`;
  return { fused, finish };
}

const raw: EngineFactory<TvInput> = async ({ S, Y: Y0 }) => {
  if (S % 4) throw new Error(`tv raw: S=${S} is not a multiple of 4 (rows of whole vec4s)`);
  const items = (S * S * 3) / 4;
  const gpu = await RawGpu.create();
  const threads = streamThreads(items, WG, gpu.cpuAdapter);
  const zeros = new Float32Array(Y0.length);
  const Xa = gpu.buffer(Y0.byteLength, 'X (even steps)', Y0);
  const Xb = gpu.buffer(Y0.byteLength, 'X (odd steps)', Y0);
  const Y = gpu.buffer(Y0.byteLength, 'Y', Y0);
  const M = gpu.buffer(Y0.byteLength, 'm', zeros);
  const V = gpu.buffer(Y0.byteLength, 'v', zeros);
  const state = gpu.buffer(16, 'step counter', new Float32Array(4));
  const partial = gpu.buffer(threads * 4, 'partials');
  const lossOut = gpu.buffer(16, 'loss');
  const staging = gpu.readback(16);
  const src = tvWgsl(S, threads, gpu.cpuAdapter);
  const even = gpu.kernel('tv fused step', src.fused, [Xa, Xb, Y, M, V, state, partial]);
  const odd: Kernel = { pipeline: even.pipeline, bindGroup: gpu.bind(even.pipeline, [Xb, Xa, Y, M, V, state, partial], 'tv fused step (odd)') };
  const finish = gpu.kernel('tv finish', src.finish, [partial, state, lossOut]);
  const [gx, gy] = grid(threads / WG);
  let parity = 0;
  const step = (read: boolean) => {
    gpu.submit([[parity ? odd : even, gx, gy], [finish, 1]], read ? [[lossOut, staging, 4]] : []);
    parity ^= 1;
  };
  return rawInstance(gpu, `2 dispatches/step (fused stencil + gradient + Adam kernel, ${threads} threads, X double-buffered, + 1-workgroup loss finisher), 1 submit`, step, staging);
};

// ---------------------------------------------------------------- jax-js (WebGPU, jit)

const jax: EngineFactory<TvInput> = async ({ S, Y }) => {
  const lossFn = (X: JaxArray, Y: JaxArray) => {
    const data = np.mean(np.square(X.ref.sub(Y)));
    const down = np.mean(np.abs(X.ref.slice([1]).sub(X.ref.slice([0, -1]))));
    const across = np.mean(np.abs(X.ref.slice([], [1]).sub(X.slice([], [0, -1]))));
    return data.add(down.add(across).mul(TV));
  };
  const X = np.array(Y).reshape([S, S, 3]);
  return jaxAdamFit('jit(valueAndGrad(mean (X − Y)² + 0.1·(mean |ΔX| down + across), via slice) + Adam)', lossFn, [X], [np.array(Y).reshape([S, S, 3])], LR_TV);
};

// ---------------------------------------------------------------- plain JavaScript (CPU)

const js: EngineFactory<TvInput> = async ({ S, Y }) => {
  const row = 3 * S;
  const count = S * S * 3;
  const w = weights(S);
  let X = Y.slice();
  let Xnext = new Float32Array(count);
  const m = new Float32Array(count);
  const v = new Float32Array(count);
  let t = 0;
  const step = (): number => {
    t++;
    const lrt = LR_TV / (1 - ADAM.b1 ** t);
    const sbc2 = Math.sqrt(1 - ADAM.b2 ** t);
    let data = 0;
    let diff = 0;
    for (let e = 0; e < count; e++) {
      const x = X[e]!;
      const col = e % row;
      // Each element owns the pairs with the value above and to its left, for the loss.
      const du = e >= row ? x - X[e - row]! : 0;
      const dd = e + row < count ? X[e + row]! - x : 0;
      const dl = col >= 3 ? x - X[e - 3]! : 0;
      const dr = col < row - 3 ? X[e + 3]! - x : 0;
      const r = x - Y[e]!;
      data += r * r;
      diff += Math.abs(du) + Math.abs(dl);
      const g = 2 * w.data * r + w.diff * (Math.sign(du) - Math.sign(dd) + Math.sign(dl) - Math.sign(dr));
      const mi = ADAM.b1 * m[e]! + (1 - ADAM.b1) * g;
      const vi = ADAM.b2 * v[e]! + (1 - ADAM.b2) * g * g;
      m[e] = mi;
      v[e] = vi;
      Xnext[e] = x - (lrt * mi) / (Math.sqrt(vi) / sbc2 + ADAM.eps);
    }
    [X, Xnext] = [Xnext, X];
    return data * w.data + diff * w.diff;
  };
  return cpuLoop('single-threaded loop, analytic gradient, X double-buffered', step);
};

export const tvEngines: Partial<Record<EngineName, EngineFactory<TvInput>>> = { pixelgrad, raw, jax, js };
