/**
 * mlp: a per-pixel network fitted to a graded photo, a program no op was written for and no
 * workload target names: each pixel's color x [S·S, 3] goes through 3 → 16 (ReLU) → 3;
 * loss = mean((h·W2 + b2 − T)²) with h = relu(x·W1 + b1); Adam (lr 0.01) on W1, b1, W2, b2.
 * Its matmuls have an inner or outer dimension of 3 or 16, which the compiler computes per pixel
 * row as fused reductions. Peers: a hand-fused raw WebGPU step, jax-js (jit) and a plain-JS loop.
 */
import { nn, numpy as np, type Array as JaxArray } from '@jax-js/jax';
import type { EngineFactory, EngineName } from './common.ts';
import { cpuLoop, mulberry32 } from './common.ts';
import { adamFinisherWgsl, grid, RawGpu, rawInstance, streamThreads, walkLoop } from './gpu.ts';
import { ADAM, jaxAdamFit } from './jax-api.ts';
import { pg, plainFitInstance } from './pixelgrad-api.ts';
import { type ToneInput, toneInput } from './tone.ts';

export const LR_MLP = 0.01;
const H = 16;

/** The same starting weights for every engine: uniform in ±1/√fan-in (PyTorch's nn.Linear), biases 0. */
function initial(): { W1: Float32Array; b1: Float32Array; W2: Float32Array; b2: Float32Array } {
  const r = mulberry32(7);
  const u = (n: number, fanIn: number) => Float32Array.from({ length: n }, () => (2 * r() - 1) / Math.sqrt(fanIn));
  return { W1: u(3 * H, 3), b1: new Float32Array(H), W2: u(H * 3, H), b2: new Float32Array(3) };
}

/** x a photo-like image, T the same photo graded by a tone curve (tone.ts's input). */
export const mlpInput = (S: number, seed: number): ToneInput => toneInput(S, seed);

// ---------------------------------------------------------------- pixelgrad, plain ops

const pixelgrad: EngineFactory<ToneInput> = async ({ S, x: x0, T: T0 }) => {
  const n = S * S;
  const w = initial();
  const W1 = pg.tensor(w.W1, { shape: [3, H], requiresGrad: true });
  const b1 = pg.tensor(w.b1, { shape: [H], requiresGrad: true });
  const W2 = pg.tensor(w.W2, { shape: [H, 3], requiresGrad: true });
  const b2 = pg.tensor(w.b2, { shape: [3], requiresGrad: true });
  const x = pg.tensor(x0, { shape: [n, 3] });
  const T = pg.tensor(T0, { shape: [n, 3] });
  const loss = () => x.matmul(W1).add(b1).relu().matmul(W2).add(b2).sub(T).square().mean();
  return plainFitInstance('plain ops: x.matmul(W1).add(b1).relu().matmul(W2).add(b2).sub(T).square().mean(), pg.Adam', loss, new pg.Adam([W1, b1, W2, b2], { lr: LR_MLP }), [W1, b1, W2, b2, x, T]);
};

// ---------------------------------------------------------------- raw fused WebGPU

const WG = 64;
/** Parameters in one buffer: W1 [3, H], b1 [H], W2 [H, 3], b2 [3]; then the loss's row. */
const [OB1, OW2, OB2, NPARAM] = [3 * H, 4 * H, 7 * H, 7 * H + 3];
const range = (n: number) => Array.from({ length: n }, (_, i) => i);

/**
 * One kernel: each thread walks its pixels with every parameter in registers and one partial sum
 * per parameter's gradient (and the loss), all unrolled; then a one-workgroup finisher sums the
 * partials and applies Adam. ∂loss/∂y = 2d/(3n) is applied once, in the finisher.
 */
function mlpWgsl(n: number, threads: number, cpuAdapter: boolean): { fused: string; finish: string } {
  const consts = `
const NT: u32 = ${threads}u;
const SCALE: f32 = ${2 / (3 * n)};
const INV_M: f32 = ${1 / (3 * n)};
const B1: f32 = ${ADAM.b1};
const B2: f32 = ${ADAM.b2};
const EPS: f32 = ${ADAM.eps};
const LR: f32 = ${LR_MLP};
`;
  const loadParams = range(NPARAM).map((k) => `  let w${k} = P[${k}u];`).join('\n');
  const accumulators = range(NPARAM + 1).map((k) => `  var g${k} = 0.0;`).join('\n');
  const w1 = (i: number, j: number) => `w${i * H + j}`;
  const w2 = (j: number, c: number) => `w${OW2 + 3 * j + c}`;
  const pixel = [
    '    let x0 = X[3u * p];',
    '    let x1 = X[3u * p + 1u];',
    '    let x2 = X[3u * p + 2u];',
    ...range(H).map((j) => `    let z${j} = x0 * ${w1(0, j)} + x1 * ${w1(1, j)} + x2 * ${w1(2, j)} + w${OB1 + j};\n    let h${j} = max(z${j}, 0.0);`),
    ...range(3).map((c) => `    let d${c} = ${range(H).map((j) => `h${j} * ${w2(j, c)}`).join(' + ')} + w${OB2 + c} - T[3u * p + ${c}u];`),
    `    g${NPARAM} += d0 * d0 + d1 * d1 + d2 * d2;`,
    ...range(3).map((c) => `    g${OB2 + c} += d${c};`),
    ...range(H).flatMap((j) => [
      ...range(3).map((c) => `    g${OW2 + 3 * j + c} += d${c} * h${j};`),
      `    let e${j} = select(0.0, d0 * ${w2(j, 0)} + d1 * ${w2(j, 1)} + d2 * ${w2(j, 2)}, z${j} > 0.0);`,
      `    g${OB1 + j} += e${j};`,
      ...range(3).map((i) => `    g${i * H + j} += e${j} * x${i};`),
    ]),
  ].join('\n');
  const stores = range(NPARAM + 1).map((k) => `  partial[${k}u * NT + tid] = g${k};`).join('\n');
  const fused = `${consts}
@group(0) @binding(0) var<storage, read> X: array<f32>;
@group(0) @binding(1) var<storage, read> T: array<f32>;
@group(0) @binding(2) var<storage, read> P: array<f32>;
@group(0) @binding(3) var<storage, read_write> partial: array<f32>;

@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let tid = gid.x + gid.y * nwg.x * ${WG}u;
  if (tid >= NT) { return; }
${loadParams}
${accumulators}
  ${walkLoop('p', n, threads, cpuAdapter)} {
${pixel}
  }
${stores}
}
`;
  const finish = adamFinisherWgsl(consts, NPARAM + 1, cpuAdapter, `if (row < ${NPARAM}u) { adam(row, s * SCALE); } else { lossOut[0] = s * INV_M; }`);
  return { fused, finish };
}

const raw: EngineFactory<ToneInput> = async ({ S, x: x0, T: T0 }) => {
  const n = S * S;
  const w = initial();
  const gpu = await RawGpu.create();
  // Whole SIMD groups of 4 on a CPU adapter (walkLoop's chunks).
  const threads = streamThreads(n / 4, WG, gpu.cpuAdapter);
  const X = gpu.buffer(x0.byteLength, 'x', x0);
  const T = gpu.buffer(T0.byteLength, 'T', T0);
  const P = gpu.buffer(NPARAM * 4, 'W1, b1, W2, b2', Float32Array.from([...w.W1, ...w.b1, ...w.W2, ...w.b2]));
  const mP = gpu.buffer(NPARAM * 4, 'm', new Float32Array(NPARAM));
  const vP = gpu.buffer(NPARAM * 4, 'v', new Float32Array(NPARAM));
  const state = gpu.buffer(NPARAM * 4, 'step counters', new Float32Array(NPARAM));
  const partial = gpu.buffer((NPARAM + 1) * threads * 4, 'partials');
  const lossOut = gpu.buffer(16, 'loss');
  const staging = gpu.readback(16);
  const src = mlpWgsl(n, threads, gpu.cpuAdapter);
  const fused = gpu.kernel('mlp fused step', src.fused, [X, T, P, partial]);
  const finish = gpu.kernel('mlp finish', src.finish, [partial, P, mP, vP, state, lossOut]);
  const [gx, gy] = grid(threads / WG);
  const step = (read: boolean) => gpu.submit([[fused, gx, gy], [finish, 1]], read ? [[lossOut, staging, 4]] : []);
  return rawInstance(gpu, `2 dispatches/step (fused per-pixel kernel, ${threads} threads, every parameter and gradient sum in registers, + 1-workgroup finisher with Adam), 1 submit`, step, staging);
};

// ---------------------------------------------------------------- jax-js (WebGPU, jit)

const jax: EngineFactory<ToneInput> = async ({ S, x, T }) => {
  const n = S * S;
  const w = initial();
  const lossFn = (W1: JaxArray, b1: JaxArray, W2: JaxArray, b2: JaxArray, x: JaxArray, T: JaxArray) =>
    np.mean(np.square(np.matmul(nn.relu(np.matmul(x, W1).add(b1)), W2).add(b2).sub(T)));
  const params = [np.array(w.W1).reshape([3, H]), np.array(w.b1), np.array(w.W2).reshape([H, 3]), np.array(w.b2)];
  return jaxAdamFit('jit(valueAndGrad(mean((relu(x·W1 + b1)·W2 + b2 − T)²)) + Adam)', lossFn, params, [np.array(x).reshape([n, 3]), np.array(T).reshape([n, 3])], LR_MLP);
};

// ---------------------------------------------------------------- plain JavaScript (CPU)

const js: EngineFactory<ToneInput> = async ({ S, x, T }) => {
  const n = S * S;
  const w = initial();
  // Parameters in one array (W1 [3, H], b1 [H], W2 [H, 3], b2 [3]) with their Adam state.
  const P = Float64Array.from([...w.W1, ...w.b1, ...w.W2, ...w.b2]);
  const [oB1, oW2, oB2] = [3 * H, 4 * H, 7 * H];
  const m = new Float64Array(P.length);
  const v = new Float64Array(P.length);
  const grad = new Float64Array(P.length);
  const h = new Float64Array(H);
  let t = 0;
  const step = (): number => {
    grad.fill(0);
    let loss = 0;
    for (let p = 0; p < n; p++) {
      const x0 = x[3 * p]!;
      const x1 = x[3 * p + 1]!;
      const x2 = x[3 * p + 2]!;
      for (let j = 0; j < H; j++) h[j] = Math.max(0, x0 * P[j]! + x1 * P[H + j]! + x2 * P[2 * H + j]! + P[oB1 + j]!);
      for (let c = 0; c < 3; c++) {
        let y = P[oB2 + c]!;
        for (let j = 0; j < H; j++) y += h[j]! * P[oW2 + 3 * j + c]!;
        const d = y - T[3 * p + c]!;
        loss += d * d;
        // ∂loss/∂y = 2d/(3n), taken out of the sums and applied once below.
        grad[oB2 + c] = grad[oB2 + c]! + d;
        for (let j = 0; j < H; j++) {
          grad[oW2 + 3 * j + c] = grad[oW2 + 3 * j + c]! + d * h[j]!;
          if (h[j]! > 0) {
            const dh = d * P[oW2 + 3 * j + c]!;
            grad[oB1 + j] = grad[oB1 + j]! + dh;
            grad[j] = grad[j]! + dh * x0;
            grad[H + j] = grad[H + j]! + dh * x1;
            grad[2 * H + j] = grad[2 * H + j]! + dh * x2;
          }
        }
      }
    }
    t++;
    const lrt = LR_MLP / (1 - ADAM.b1 ** t);
    const sbc2 = Math.sqrt(1 - ADAM.b2 ** t);
    const scale = 2 / (3 * n);
    for (let k = 0; k < P.length; k++) {
      const gk = grad[k]! * scale;
      m[k] = ADAM.b1 * m[k]! + (1 - ADAM.b1) * gk;
      v[k] = ADAM.b2 * v[k]! + (1 - ADAM.b2) * gk * gk;
      P[k] = P[k]! - (lrt * m[k]!) / (Math.sqrt(v[k]!) / sbc2 + ADAM.eps);
    }
    return loss / (3 * n);
  };
  return cpuLoop('single-threaded loop, analytic gradient', step);
};

export const mlpEngines: Partial<Record<EngineName, EngineFactory<ToneInput>>> = { pixelgrad, raw, jax, js };
