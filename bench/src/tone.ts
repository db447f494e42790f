/**
 * tone: a per-channel tone curve and white balance fitted to a graded photo, a program no op was
 * written for. x, T [S·S, 3]; a, b, g [3];
 * out = sigmoid(a·x + b) ** g; loss = mean(|out − T|) + 0.01·mean((out − T)²); Adam (lr 0.05).
 */
import { nn, numpy as np, type Array as JaxArray } from '@jax-js/jax';
import type { EngineFactory, EngineName } from './common.ts';
import { cpuLoop, photoLike, uniform } from './common.ts';
import { adamFinisherWgsl, grid, RawGpu, rawInstance, streamThreads, walkLoop } from './gpu.ts';
import { ADAM, jaxAdamFit } from './jax-api.ts';
import { pg, plainFitInstance } from './pixelgrad-api.ts';

export const LR_TONE = 0.05;
/** Weight of the squared term beside the L1 term. */
const SQ = 0.01;
/** Where every engine starts: a = 2, b = −1, g = 1 in each channel. */
const A0 = [2, 2, 2];
const B0 = [-1, -1, -1];
const G0 = [1, 1, 1];

export interface ToneInput {
  readonly S: number;
  readonly x: Float32Array;
  readonly T: Float32Array;
}

/** x a photo-like image; T the same photo graded by a known curve (a = 5, 4.5, 5.5; b = −2.5, −2.2, −2.8; g = 1.2, 0.9, 1.1) plus grain. */
export function toneInput(S: number, seed: number): ToneInput {
  const x = photoLike(S, seed);
  const grain = uniform(x.length, seed + 1);
  const a = [5, 4.5, 5.5];
  const b = [-2.5, -2.2, -2.8];
  const g = [1.2, 0.9, 1.1];
  const T = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const c = i % 3;
    const graded = (1 / (1 + Math.exp(-(a[c]! * x[i]! + b[c]!)))) ** g[c]!;
    T[i] = Math.min(1, Math.max(0, graded + 0.05 * (grain[i]! - 0.5)));
  }
  return { S, x, T };
}

/** Bytes a fused step must move: x and T read once (bench/node/report.ts repeats it). */
export const toneBytes = (S: number): number => S * S * 3 * 4 * 2;

// ---------------------------------------------------------------- pixelgrad, plain ops

const pixelgrad: EngineFactory<ToneInput> = async ({ S, x: x0, T: T0 }) => {
  const n = S * S;
  const a = pg.tensor(A0, { shape: [3], requiresGrad: true });
  const b = pg.tensor(B0, { shape: [3], requiresGrad: true });
  const g = pg.tensor(G0, { shape: [3], requiresGrad: true });
  const x = pg.tensor(x0, { shape: [n, 3] });
  const T = pg.tensor(T0, { shape: [n, 3] });
  const loss = () => {
    const d = x.mul(a).add(b).sigmoid().pow(g).sub(T);
    return d.abs().mean().add(d.square().mean().mul(SQ));
  };
  return plainFitInstance('plain ops: x.mul(a).add(b).sigmoid().pow(g).sub(T), d.abs().mean() + 0.01·d.square().mean(), pg.Adam', loss, new pg.Adam([a, b, g], { lr: LR_TONE }), [a, b, g, x, T]);
};

// ---------------------------------------------------------------- raw fused WebGPU

const WG = 64;

/**
 * One pixel quad's 3 vec4s of x and T; vec4 k of a quad holds channels (4k + lane) mod 3, so the
 * parameters come in three lane rotations. All in registers: the curve, the loss, and the
 * per-lane gradient sums of a, b and g (ln s and 1 − s from the one exp).
 */
function toneElement(k: number): string {
  return `    {
      let x = X[3u * q + ${k}u];
      let e = exp(-(a${k} * x + b${k}));
      let s = 1.0 / (1.0 + e);
      let ls = -log(1.0 + e);
      let o = exp(g${k} * ls);
      let d = o - T[3u * q + ${k}u];
      loss += abs(d) + SQ * d * d;
      let go = (sign(d) + 2.0 * SQ * d) * o;
      dg${k} += go * ls;
      let dz = go * g${k} * e * s;
      db${k} += dz;
      da${k} += dz * x;
    }`;
}

/** Channel c's total over the three lane rotations of a quad's accumulators v0..v2. */
const channelSum = (v: string, c: number): string =>
  [
    [`${v}0.x`, `${v}0.w`, `${v}1.z`, `${v}2.y`],
    [`${v}0.y`, `${v}1.x`, `${v}1.w`, `${v}2.z`],
    [`${v}0.z`, `${v}1.y`, `${v}2.x`, `${v}2.w`],
  ][c]!.join(' + ');

function toneWgsl(quads: number, threads: number, n: number, cpuAdapter: boolean): { fused: string; finish: string } {
  const consts = `
const NT: u32 = ${threads}u;
const INV_N: f32 = ${1 / (n * 3)};
const SQ: f32 = ${SQ};
const B1: f32 = ${ADAM.b1};
const B2: f32 = ${ADAM.b2};
const EPS: f32 = ${ADAM.eps};
const LR: f32 = ${LR_TONE};
`;
  const rotations = [0, 1, 2]
    .map((k) => {
      const lanes = [0, 1, 2, 3].map((j) => (4 * k + j) % 3);
      return ['a', 'b', 'g'].map((p, pi) => `  let ${p}${k} = vec4<f32>(${lanes.map((c) => `P[${3 * pi + c}]`).join(', ')});`).join('\n');
    })
    .join('\n');
  const accumulators = ['a', 'b', 'g'].flatMap((p) => [0, 1, 2].map((k) => `  var d${p}${k} = vec4<f32>(0.0);`)).join('\n');
  // Rows 0-8: the gradients of a0..a2, b0..b2, g0..g2; row 9: the loss.
  const stores = ['a', 'b', 'g'].flatMap((p, pi) => [0, 1, 2].map((c) => `  partial[${3 * pi + c}u * NT + tid] = ${channelSum(`d${p}`, c)};`)).join('\n');
  const fused = `${consts}
@group(0) @binding(0) var<storage, read> X: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> T: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> P: array<f32>;
@group(0) @binding(3) var<storage, read_write> partial: array<f32>;

@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let tid = gid.x + gid.y * nwg.x * ${WG}u;
  if (tid >= NT) { return; }
${rotations}
${accumulators}
  var loss = vec4<f32>(0.0);
  ${walkLoop('q', quads, threads, cpuAdapter)} {
${[0, 1, 2].map(toneElement).join('\n')}
  }
${stores}
  partial[9u * NT + tid] = loss.x + loss.y + loss.z + loss.w;
}
`;
  const finish = adamFinisherWgsl(consts, 10, cpuAdapter, 'if (row < 9u) { adam(row, s * INV_N); } else { lossOut[0] = s * INV_N; }');
  return { fused, finish };
}

const raw: EngineFactory<ToneInput> = async ({ S, x: x0, T: T0 }) => {
  if (S % 4) throw new Error(`tone raw: S=${S} is not a multiple of 4 (pixel quads)`);
  const n = S * S;
  const quads = n / 4;
  const gpu = await RawGpu.create();
  const threads = streamThreads(quads, WG, gpu.cpuAdapter);
  const X = gpu.buffer(x0.byteLength, 'x', x0);
  const T = gpu.buffer(T0.byteLength, 'T', T0);
  const P = gpu.buffer(9 * 4, 'a, b, g', Float32Array.from([...A0, ...B0, ...G0]));
  const mP = gpu.buffer(9 * 4, 'm', new Float32Array(9));
  const vP = gpu.buffer(9 * 4, 'v', new Float32Array(9));
  const state = gpu.buffer(9 * 4, 'step counters', new Float32Array(9));
  const partial = gpu.buffer(10 * threads * 4, 'partials');
  const lossOut = gpu.buffer(16, 'loss');
  const staging = gpu.readback(16);
  const src = toneWgsl(quads, threads, n, gpu.cpuAdapter);
  const fused = gpu.kernel('tone fused step', src.fused, [X, T, P, partial]);
  const finish = gpu.kernel('tone finish', src.finish, [partial, P, mP, vP, state, lossOut]);
  const [gx, gy] = grid(threads / WG);
  const step = (read: boolean) => gpu.submit([[fused, gx, gy], [finish, 1]], read ? [[lossOut, staging, 4]] : []);
  return rawInstance(gpu, `2 dispatches/step (fused per-pixel kernel, ${threads} threads, + 1-workgroup finisher with Adam on a, b, g), 1 submit`, step, staging);
};

// ---------------------------------------------------------------- jax-js (WebGPU, jit)

const jax: EngineFactory<ToneInput> = async ({ S, x, T }) => {
  const n = S * S;
  const lossFn = (a: JaxArray, b: JaxArray, g: JaxArray, x: JaxArray, T: JaxArray) => {
    const d = np.power(nn.sigmoid(x.mul(a).add(b)), g).sub(T);
    return np.mean(np.abs(d.ref)).add(np.mean(np.square(d)).mul(SQ));
  };
  const params = [np.array(A0), np.array(B0), np.array(G0)];
  return jaxAdamFit('jit(valueAndGrad(power(sigmoid(x·a + b), g) → mean |d| + 0.01·mean d²) + Adam)', lossFn, params, [np.array(x).reshape([n, 3]), np.array(T).reshape([n, 3])], LR_TONE);
};

// ---------------------------------------------------------------- plain JavaScript (CPU)

const js: EngineFactory<ToneInput> = async ({ S, x, T }) => {
  const n3 = S * S * 3;
  const P = Float64Array.from([...A0, ...B0, ...G0]);
  const m = new Float64Array(9);
  const v = new Float64Array(9);
  const grad = new Float64Array(9);
  let t = 0;
  const step = (): number => {
    grad.fill(0);
    let loss = 0;
    for (let i = 0; i < n3; i++) {
      const c = i % 3;
      const xi = x[i]!;
      const g = P[6 + c]!;
      const e = Math.exp(-(P[c]! * xi + P[3 + c]!));
      const s = 1 / (1 + e);
      const ls = -Math.log1p(e);
      const o = Math.exp(g * ls);
      const d = o - T[i]!;
      loss += Math.abs(d) + SQ * d * d;
      // d loss / d out, then through out = s^g: ∂/∂g = out·ln s, ∂/∂z = g·out·(1 − s).
      const go = (Math.sign(d) + 2 * SQ * d) * o;
      const dz = go * g * e * s;
      grad[c] = grad[c]! + dz * xi;
      grad[3 + c] = grad[3 + c]! + dz;
      grad[6 + c] = grad[6 + c]! + go * ls;
    }
    t++;
    const lrt = LR_TONE / (1 - ADAM.b1 ** t);
    const sbc2 = Math.sqrt(1 - ADAM.b2 ** t);
    for (let k = 0; k < 9; k++) {
      const gk = grad[k]! / n3;
      m[k] = ADAM.b1 * m[k]! + (1 - ADAM.b1) * gk;
      v[k] = ADAM.b2 * v[k]! + (1 - ADAM.b2) * gk * gk;
      P[k] = P[k]! - (lrt * m[k]!) / (Math.sqrt(v[k]!) / sbc2 + ADAM.eps);
    }
    return loss / n3;
  };
  return cpuLoop('single-threaded loop, analytic gradient', step);
};

export const toneEngines: Partial<Record<EngineName, EngineFactory<ToneInput>>> = { pixelgrad, raw, jax, js };
