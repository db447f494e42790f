/**
 * layers: K constant images mixed by learnable weights. Y [K, S·S, 3], c [K], T [S·S, 3];
 * loss = mean((Σ_k c_k Y_k − T)²); plain SGD on c. Memory-bound: a fused step reads Y and T once.
 */
import * as tf from '@tensorflow/tfjs';
import { blockUntilReady, jit, numpy as np, valueAndGrad, type Array as JaxArray } from '@jax-js/jax';
import type { EngineFactory, EngineName } from './common.ts';
import { cpuLoop, uniform } from './common.ts';
import { RawGpu, ROW_TOTAL_WGSL, grid, rawInstance, streamThreads, walkLoop } from './gpu.ts';
import { colorMixFitInstance, pg } from './pixelgrad-api.ts';
import { tfjsInstance } from './tfjs-api.ts';

export const KL = 4;
export const LR_LAYERS = 0.1;

export interface LayersInput {
  readonly S: number;
  readonly Y: Float32Array;
  readonly c: Float32Array;
  readonly T: Float32Array;
}

export function layersInput(S: number, seed: number): LayersInput {
  const n = S * S;
  return { S, Y: uniform(KL * n * 3, seed), c: uniform(KL, seed + 1, 0, 0.5), T: uniform(n * 3, seed + 2) };
}

/** Bytes a fused step must move: every Y_k and T read once. */
export const layersBytes = (S: number): number => (KL + 1) * S * S * 3 * 4;

const pixelgrad: EngineFactory<LayersInput> = async ({ S, Y: Y0, c: c0, T: T0 }) => {
  const m = S * S * 3;
  // The README's layout: a weighted sum of K images is a colour mix whose per-pixel weights are the
  // images' values and whose palette is the weights as [K, 1]; the compiler fuses colorMixLoss's
  // mix, loss and c's gradient into one walk over Y and T. Y is laid out [S·S·3, K] once, at setup.
  const Yt = new Float32Array(m * KL);
  for (let k = 0; k < KL; k++) for (let i = 0; i < m; i++) Yt[i * KL + k] = Y0[k * m + i]!;
  const c = pg.tensor(c0, { shape: [KL, 1], requiresGrad: true });
  const Y = pg.tensor(Yt, { shape: [m, KL] });
  const T = pg.tensor(T0, { shape: [m, 1] });
  return colorMixFitInstance('pg.colorMixLoss(Y [S·S·3, K], c [K, 1], T), pg.SGD', Y, c, T, new pg.SGD([c], { lr: LR_LAYERS }));
};

const WG = 64;

const raw: EngineFactory<LayersInput> = async ({ S, Y: Y0, c: c0, T: T0 }) => {
  const n = S * S;
  const m = n * 3;
  const e4 = m / 4;
  const gpu = await RawGpu.create();
  const threads = streamThreads(e4, WG, gpu.cpuAdapter);
  // The K = 4 layers interleaved, [S·S·3, 4] (laid out once, at setup): one vec4 load gives one
  // channel value of every layer, so the step streams a single array instead of four.
  const Yi = new Float32Array(m * KL);
  for (let k = 0; k < KL; k++) for (let i = 0; i < m; i++) Yi[i * KL + k] = Y0[k * m + i]!;
  const Y = gpu.buffer(Yi.byteLength, 'Y', Yi);
  const T = gpu.buffer(T0.byteLength, 'T', T0);
  const c = gpu.buffer(16, 'c', c0);
  const partial = gpu.buffer(5 * threads * 4, 'partials');
  const lossOut = gpu.buffer(16, 'loss');
  const staging = gpu.readback(16);
  const consts = `const E4: u32 = ${e4}u;\nconst NT: u32 = ${threads}u;\nconst INV_N: f32 = ${1 / m};\nconst LR: f32 = ${LR_LAYERS};\n`;
  // Each thread streams vec4s of T (four channel values) and the four matching vec4s of Y once,
  // accumulating d·y and d·d in registers.
  const fused = gpu.kernel(
    'layers fused step',
    `${consts}
@group(0) @binding(0) var<storage, read> Y: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> T: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> c: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> partial: array<f32>;
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let tid = gid.x + gid.y * nwg.x * ${WG}u;
  if (tid >= NT) { return; }
  let w = c[0];
  var g = vec4<f32>(0.0);
  var l = 0.0;
  ${walkLoop('i', e4, threads, gpu.cpuAdapter)} {
    let y0 = Y[4u * i];
    let y1 = Y[4u * i + 1u];
    let y2 = Y[4u * i + 2u];
    let y3 = Y[4u * i + 3u];
    let d = vec4<f32>(dot(w, y0), dot(w, y1), dot(w, y2), dot(w, y3)) - T[i];
    l += dot(d, d);
    g += d.x * y0 + d.y * y1 + d.z * y2 + d.w * y3;
  }
  // Component-major rows (dc_0..dc_3, then the loss), so the finisher sums each with one lane.
  partial[tid] = g.x;
  partial[NT + tid] = g.y;
  partial[2u * NT + tid] = g.z;
  partial[3u * NT + tid] = g.w;
  partial[4u * NT + tid] = l;
}
`,
    [Y, T, c, partial],
  );
  const head = `${consts}
@group(0) @binding(0) var<storage, read> partial: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read_write> c: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> lossOut: array<f32>;`;
  // On a CPU adapter a barrier costs more than the sums: five threads sum a row each, serially.
  const finishSerial = `${head}
${ROW_TOTAL_WGSL}@compute @workgroup_size(64)
fn main(@builtin(local_invocation_index) lid: u32) {
  if (lid >= 5u) { return; }
  let s = row_total(lid);
  if (lid < 4u) { c[0][lid] = c[0][lid] - LR * 2.0 * INV_N * s; } else { lossOut[0] = s * INV_N; }
}
`;
  const finishBarrier = `${head}
var<workgroup> lanes: array<f32, 256>;
@compute @workgroup_size(256)
fn main(@builtin(local_invocation_index) lid: u32) {
  let row = lid / 48u;
  let lane = lid % 48u;
  var acc = vec4<f32>(0.0);
  if (row < 5u) {
    for (var j = lane; j < NT / 4u; j += 48u) { acc += partial[row * (NT / 4u) + j]; }
  }
  lanes[lid] = acc.x + acc.y + acc.z + acc.w;
  workgroupBarrier();
  if (lid < 5u) {
    var s = 0.0;
    for (var j = 0u; j < 48u; j++) { s += lanes[lid * 48u + j]; }
    if (lid < 4u) { c[0][lid] = c[0][lid] - LR * 2.0 * INV_N * s; } else { lossOut[0] = s * INV_N; }
  }
}
`;
  const finish = gpu.kernel(
    'layers finish',
    gpu.cpuAdapter ? finishSerial : finishBarrier,
    [partial, c, lossOut],
  );
  const [gx, gy] = grid(threads / WG);
  const step = (read: boolean) => gpu.submit([[fused, gx, gy], [finish, 1]], read ? [[lossOut, staging, 4]] : []);
  return rawInstance(gpu, `2 dispatches/step (fused streaming kernel, ${threads} threads, + 1-workgroup finisher${gpu.cpuAdapter ? ', serial sums on this CPU adapter' : ''}), 1 submit`, step, staging);
};

const tfjs: EngineFactory<LayersInput> = async ({ S, Y: Y0, c: c0, T: T0 }) => {
  const n = S * S;
  const c = tf.variable(tf.tensor1d(c0));
  const Y = tf.tensor3d(Y0, [KL, n, 3]);
  const T = tf.tensor2d(T0, [n, 3]);
  const opt = tf.train.sgd(LR_LAYERS);
  const lossFn = () => tf.mean(tf.square(tf.sub(tf.sum(tf.mul(tf.reshape(c, [KL, 1, 1]), Y), 0), T))) as tf.Scalar;
  return tfjsInstance('tf.train.sgd + minimize(sum(c·Y, 0) → mean square)', opt, lossFn, [c], [c, Y, T]);
};

const jax: EngineFactory<LayersInput> = async ({ S, Y: Y0, c: c0, T: T0 }) => {
  const n = S * S;
  const lossFn = (c: JaxArray, Y: JaxArray, T: JaxArray) => np.mean(np.square(np.sum(c.reshape([KL, 1, 1]).mul(Y), 0).sub(T)));
  const stepFn = jit((c: JaxArray, Y: JaxArray, T: JaxArray) => {
    const [loss, g] = valueAndGrad(lossFn)(c.ref, Y, T);
    return [loss, c.sub(g.mul(LR_LAYERS))];
  });
  let c = np.array(c0);
  const Y = np.array(Y0).reshape([KL, n, 3]);
  const T = np.array(T0).reshape([n, 3]);
  return {
    note: 'jit(valueAndGrad(sum(c·Y, 0) → mean square) + SGD)',
    async steps(count, readEvery) {
      // jax-js evaluates lazily: losses are kept until the batch is ready so that none is skipped.
      let value = Number.NaN;
      const losses: JaxArray[] = [];
      for (let i = 0; i < count; i++) {
        const [loss, c2] = stepFn(c, Y.ref, T.ref) as [JaxArray, JaxArray];
        c = c2;
        losses.push(loss);
        if (readEvery || i === count - 1) {
          await blockUntilReady([c, ...losses]);
          losses.pop();
          for (const a of losses.splice(0)) a.dispose();
          value = (await loss.data())[0]!; // data() consumes the array
        }
      }
      return value;
    },
    dispose() {
      for (const a of [c, Y, T]) a.dispose();
      stepFn.dispose();
    },
  };
};

const js: EngineFactory<LayersInput> = async ({ S, Y, c: c0, T }) => {
  const n3 = S * S * 3;
  const c = Float64Array.from(c0);
  const step = (): number => {
    let g0 = 0;
    let g1 = 0;
    let g2 = 0;
    let g3 = 0;
    let loss = 0;
    const [a, b, cc, d] = [c[0]!, c[1]!, c[2]!, c[3]!];
    for (let i = 0; i < n3; i++) {
      const y0 = Y[i]!;
      const y1 = Y[n3 + i]!;
      const y2 = Y[2 * n3 + i]!;
      const y3 = Y[3 * n3 + i]!;
      const r = a * y0 + b * y1 + cc * y2 + d * y3 - T[i]!;
      loss += r * r;
      g0 += r * y0;
      g1 += r * y1;
      g2 += r * y2;
      g3 += r * y3;
    }
    const k = (LR_LAYERS * 2) / n3;
    c[0] = a - k * g0;
    c[1] = b - k * g1;
    c[2] = cc - k * g2;
    c[3] = d - k * g3;
    return loss / n3;
  };
  return cpuLoop('single-threaded loop', step);
};

export const layersEngines: Record<EngineName, EngineFactory<LayersInput>> = { pixelgrad, raw, tfjs, jax, js };
