/**
 * conv: sum(conv2d(x, w)) for one S×S image of 16 channels and a 3×3, 16 → 16 kernel, 'same'
 * padding, forward alone and forward + backward (dx and dw of the sum, whose upstream gradient is
 * all ones). NHWC / HWIO for pixelgrad, tfjs and the raw kernels; jax-js's lax.convGeneralDilated
 * takes NCHW / OIHW, so its inputs are transposed once, outside the timed steps.
 * FLOPs: 2·S²·9·16·16 forward, three times that with both gradients.
 */
import * as tf from '@tensorflow/tfjs';
import { blockUntilReady, getWebGPUDevice, jit, lax, numpy as np, valueAndGrad, type Array as JaxArray } from '@jax-js/jax';
import type { EngineFactory, EngineName } from './common.ts';
import { cpuLoop, uniform } from './common.ts';
import { grid, type Kernel, RawGpu, rawInstance } from './gpu.ts';
import { pg, pixelgradInstance } from './pixelgrad-api.ts';

/** Channels in and out, and the kernel side. */
export const CONV_C = 16;
const K = 3;

export interface ConvInput {
  readonly S: number;
  readonly backward: boolean;
  /** [S, S, C] row-major. */
  readonly x: Float32Array;
  /** [3, 3, C, C] (HWIO). */
  readonly w: Float32Array;
}

/** Positive inputs, so that the checked sum has no cancellation. */
export function convInput(S: number, backward: boolean, seed: number): ConvInput {
  return { S, backward, x: uniform(S * S * CONV_C, seed), w: uniform(K * K * CONV_C * CONV_C, seed + 1, 0, 0.1) };
}

export const convFlops = (S: number, backward: boolean): number => (backward ? 3 : 1) * 2 * S * S * K * K * CONV_C * CONV_C;

const pixelgrad: EngineFactory<ConvInput> = async ({ S, backward, x: x0, w: w0 }) => {
  const x = pg.tensor(x0, { shape: [1, S, S, CONV_C], requiresGrad: backward });
  const w = pg.tensor(w0, { shape: [K, K, CONV_C, CONV_C], requiresGrad: backward });
  const step = () => {
    const s = pg.tidy(() => {
      const s = pg.conv2d(x, w, { padding: 'same' }).sum();
      if (backward) s.backward();
      return s;
    });
    if (backward) {
      x.zeroGrad();
      w.zeroGrad();
    }
    return s;
  };
  return pixelgradInstance(backward ? "pg.conv2d(x, w, { padding: 'same' }).sum().backward()" : "pg.conv2d(x, w, { padding: 'same' }).sum()", step, [x, w]);
};

const HEADER = (S: number) => `const S: u32 = ${S}u;
const P: u32 = ${S * S}u;
fn pixel(gid: vec3<u32>, nwg: vec3<u32>) -> u32 { return gid.x + gid.y * nwg.x * 64u; }
`;

/** Forward: one thread per pixel, all 16 outputs as four vec4 accumulators, 4 vec4 image reads per tap. */
const forwardWgsl = (S: number) => `${HEADER(S)}
@group(0) @binding(0) var<storage, read> X: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> W: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> Y: array<vec4<f32>>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let p = pixel(gid, nwg);
  if (p >= P) { return; }
  let py = i32(p / S);
  let px = i32(p % S);
  var a0 = vec4<f32>(0.0); var a1 = vec4<f32>(0.0); var a2 = vec4<f32>(0.0); var a3 = vec4<f32>(0.0);
  for (var ky = 0; ky < 3; ky++) {
    let iy = py + ky - 1;
    if (iy < 0 || iy >= i32(S)) { continue; }
    for (var kx = 0; kx < 3; kx++) {
      let ix = px + kx - 1;
      if (ix < 0 || ix >= i32(S)) { continue; }
      let xb = (u32(iy) * S + u32(ix)) * 4u;
      let wb = u32(ky * 3 + kx) * 64u;
      for (var c = 0u; c < 4u; c++) {
        let v = X[xb + c];
        let w = wb + c * 16u;
        a0 += v.x * W[w] + v.y * W[w + 4u] + v.z * W[w + 8u] + v.w * W[w + 12u];
        a1 += v.x * W[w + 1u] + v.y * W[w + 5u] + v.z * W[w + 9u] + v.w * W[w + 13u];
        a2 += v.x * W[w + 2u] + v.y * W[w + 6u] + v.z * W[w + 10u] + v.w * W[w + 14u];
        a3 += v.x * W[w + 3u] + v.y * W[w + 7u] + v.z * W[w + 11u] + v.w * W[w + 15u];
      }
    }
  }
  Y[p * 4u] = a0; Y[p * 4u + 1u] = a1; Y[p * 4u + 2u] = a2; Y[p * 4u + 3u] = a3;
}
`;

/** dx: one thread per pixel; each tap of the flipped kernel reaches one output pixel, whose 16 gradients (4 vec4) dot each input channel's 4 weight vec4s. */
const dxWgsl = (S: number) => {
  const ch = [...Array(16).keys()];
  return `${HEADER(S)}
@group(0) @binding(0) var<storage, read> G: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> W: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> DX: array<vec4<f32>>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let p = pixel(gid, nwg);
  if (p >= P) { return; }
  let py = i32(p / S);
  let px = i32(p % S);
  ${ch.map((c) => `var a${c} = 0.0;`).join(' ')}
  for (var ky = 0; ky < 3; ky++) {
    let oy = py + 1 - ky;
    if (oy < 0 || oy >= i32(S)) { continue; }
    for (var kx = 0; kx < 3; kx++) {
      let ox = px + 1 - kx;
      if (ox < 0 || ox >= i32(S)) { continue; }
      let gb = (u32(oy) * S + u32(ox)) * 4u;
      let g0 = G[gb]; let g1 = G[gb + 1u]; let g2 = G[gb + 2u]; let g3 = G[gb + 3u];
      let w = u32(ky * 3 + kx) * 64u;
      ${ch.map((c) => `a${c} += dot(g0, W[w + ${4 * c}u]) + dot(g1, W[w + ${4 * c + 1}u]) + dot(g2, W[w + ${4 * c + 2}u]) + dot(g3, W[w + ${4 * c + 3}u]);`).join('\n      ')}
    }
  }
  ${[0, 1, 2, 3].map((v) => `DX[p * 4u + ${v}u] = vec4<f32>(a${4 * v}, a${4 * v + 1}, a${4 * v + 2}, a${4 * v + 3});`).join(' ')}
}
`;
};

/**
 * The forward and dx on a CPU adapter: SwiftShader keeps every scalar of 4 invocations in one
 * vector register, so loads per multiply-add decide; a thread takes 8 pixels of a row × 16
 * channels in scalar accumulators and reads each input and weight once per tap (as pixelgrad's).
 * `dx` runs the flipped kernel over the gradient, reading W[tap][ci][co] along co.
 */
const blockedWgsl = (S: number, dx: boolean) => {
  const ps = [...Array(8).keys()];
  const cs = [...Array(16).keys()];
  const [inp, out] = dx ? ['G', 'DX'] : ['X', 'Y'];
  return `${HEADER(S)}
@group(0) @binding(0) var<storage, read> ${inp}: array<f32>;
@group(0) @binding(1) var<storage, read> W: array<f32>;
@group(0) @binding(2) var<storage, read_write> ${out}: array<f32>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = pixel(gid, nwg);
  if (t >= P / 8u) { return; }
  let py = i32(t / (S / 8u));
  let px0 = i32(t % (S / 8u)) * 8;
  ${ps.flatMap((j) => cs.map((o) => `var a${j}_${o} = 0.0;`)).join(' ')}
  for (var ky = 0; ky < 3; ky++) {
    let iy = py + ${dx ? '1 - ky' : 'ky - 1'};
    if (iy < 0 || iy >= i32(S)) { continue; }
    for (var kx = 0; kx < 3; kx++) {
      ${ps.map((j) => `let ix${j} = px0 + ${j} + ${dx ? '1 - kx' : 'kx - 1'}; let m${j} = (ix${j} >= 0) & (ix${j} < i32(S)); let b${j} = (u32(iy) * S + u32(clamp(ix${j}, 0, i32(S) - 1))) * 16u;`).join('\n      ')}
      let wb = u32(ky * 3 + kx) * 256u;
      for (var c = 0u; c < 16u; c++) {
        ${ps.map((j) => `let v${j} = select(0.0, ${inp}[b${j} + c], m${j});`).join(' ')}
        ${cs.map((o) => `let w${o} = W[wb + ${dx ? `${o * 16}u + c` : `c * 16u + ${o}u`}];`).join(' ')}
        ${ps.flatMap((j) => cs.map((o) => `a${j}_${o} += v${j} * w${o};`)).join(' ')}
      }
    }
  }
  let o = (u32(py) * S + u32(px0)) * 16u;
  ${ps.flatMap((j) => cs.map((o) => `${out}[o + ${j * 16 + o}u] = a${j}_${o};`)).join(' ')}
}
`;
};

/** dw partials: thread (slice, tap, 4 input channels) sums x·g over its slice's pixels into 16 vec4 accumulators (4 inputs × 16 outputs). */
const dwPartialWgsl = (S: number, slices: number) => {
  const chunk = Math.ceil((S * S) / slices);
  const accs: string[] = [];
  const fmas: string[] = [];
  const stores: string[] = [];
  for (let j = 0; j < 4; j++) {
    for (let v = 0; v < 4; v++) {
      accs.push(`var a${j}${v} = vec4<f32>(0.0);`);
      fmas.push(`a${j}${v} += v.${'xyzw'[j]} * g${v};`);
      stores.push(`D[s * 576u + (tap * 16u + c4 * 4u + ${j}u) * 4u + ${v}u] = a${j}${v};`);
    }
  }
  return `${HEADER(S)}
@group(0) @binding(0) var<storage, read> X: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> G: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> D: array<vec4<f32>>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = pixel(gid, nwg);
  if (t >= ${36 * slices}u) { return; }
  let b = t % 36u;
  let s = t / 36u;
  let c4 = b % 4u;
  let tap = b / 4u;
  let dy = i32(tap / 3u) - 1;
  let dx = i32(tap % 3u) - 1;
  ${accs.join(' ')}
  let end = min(P, (s + 1u) * ${chunk}u);
  for (var p = s * ${chunk}u; p < end; p++) {
    let iy = i32(p / S) + dy;
    let ix = i32(p % S) + dx;
    if (iy < 0 || iy >= i32(S) || ix < 0 || ix >= i32(S)) { continue; }
    let v = X[(u32(iy) * S + u32(ix)) * 4u + c4];
    let g0 = G[p * 4u]; let g1 = G[p * 4u + 1u]; let g2 = G[p * 4u + 2u]; let g3 = G[p * 4u + 3u];
    ${fmas.join(' ')}
  }
  ${stores.join('\n  ')}
}
`;
};

/** dw partials on a CPU adapter: thread (slice, tap, 8 input channels) keeps 8 × 16 scalar sums, so a pixel's 24 loads feed 128 multiply-adds. */
const dwBlockedWgsl = (S: number, slices: number) => {
  const chunk = Math.ceil((S * S) / slices);
  const is = [...Array(8).keys()];
  const os = [...Array(16).keys()];
  return `${HEADER(S)}
@group(0) @binding(0) var<storage, read> X: array<f32>;
@group(0) @binding(1) var<storage, read> G: array<f32>;
@group(0) @binding(2) var<storage, read_write> D: array<f32>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = pixel(gid, nwg);
  if (t >= ${18 * slices}u) { return; }
  let b = t % 18u;
  let s = t / 18u;
  let ci = (b % 2u) * 8u;
  let tap = b / 2u;
  let dy = i32(tap / 3u) - 1;
  let dx = i32(tap % 3u) - 1;
  ${is.flatMap((i) => os.map((o) => `var a${i}_${o} = 0.0;`)).join(' ')}
  let end = min(P, (s + 1u) * ${chunk}u);
  for (var p = s * ${chunk}u; p < end; p++) {
    let iy = i32(p / S) + dy;
    let ix = i32(p % S) + dx;
    // Loads unconditional from a clamped address, masked after (SwiftShader masks loads in a branch lane by lane).
    let ok = (iy >= 0) & (iy < i32(S)) & (ix >= 0) & (ix < i32(S));
    let xb = (u32(clamp(iy, 0, i32(S) - 1)) * S + u32(clamp(ix, 0, i32(S) - 1))) * 16u + ci;
    ${is.map((i) => `let v${i} = select(0.0, X[xb + ${i}u], ok);`).join(' ')}
    ${os.map((o) => `let g${o} = G[p * 16u + ${o}u];`).join(' ')}
    ${is.flatMap((i) => os.map((o) => `a${i}_${o} += v${i} * g${o};`)).join(' ')}
  }
  ${is.flatMap((i) => os.map((o) => `D[s * 2304u + (tap * 16u + ci + ${i}u) * 16u + ${o}u] = a${i}_${o};`)).join(' ')}
}
`;
};

/** dw: one thread per weight vec4 (576) adds its slices' partials. */
const dwFinishWgsl = (slices: number) => `@group(0) @binding(0) var<storage, read> D: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read_write> DW: array<vec4<f32>>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x;
  if (i >= 576u) { return; }
  var a = vec4<f32>(0.0);
  for (var s = 0u; s < ${slices}u; s++) { a += D[s * 576u + i]; }
  DW[i] = a;
}
`;

const SUM_THREADS = 4096;

const raw: EngineFactory<ConvInput> = async ({ S, backward, x: x0, w: w0 }) => {
  const gpu = await RawGpu.create();
  const bytes = S * S * CONV_C * 4;
  const X = gpu.buffer(bytes, 'x', x0);
  const W = gpu.buffer(w0.byteLength, 'w', w0);
  const Y = gpu.buffer(bytes, 'y');
  const G = gpu.buffer(bytes, 'g (ones)', new Float32Array(S * S * CONV_C).fill(1));
  const DX = gpu.buffer(bytes, 'dx');
  const DW = gpu.buffer(w0.byteLength, 'dw');
  // A GPU wants ~64k threads for the dw sums; a CPU adapter runs a few thousand as fast.
  const blocks = gpu.cpuAdapter ? 18 : 36;
  const slices = Math.max(1, Math.min(Math.ceil((gpu.cpuAdapter ? 4096 : 65536) / blocks), Math.ceil((S * S) / 64)));
  const D = gpu.buffer(slices * 576 * 16, 'dw partials');
  const partial = gpu.buffer(SUM_THREADS * 4, 'partials');
  const out = gpu.buffer(16, 'sum');
  const staging = gpu.readback(16);
  const e4 = (S * S * CONV_C) / 4;
  const sumPartial = gpu.kernel(
    'sum partial',
    `@group(0) @binding(0) var<storage, read> Y: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read_write> partial: array<f32>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  var s = vec4<f32>(0.0);
  for (var i = gid.x; i < ${e4}u; i += ${SUM_THREADS}u) { s += Y[i]; }
  partial[gid.x] = dot(s, vec4<f32>(1.0));
}`,
    [Y, partial],
  );
  const sumFinish = gpu.kernel(
    'sum finish',
    `@group(0) @binding(0) var<storage, read> partial: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@compute @workgroup_size(1)
fn main() {
  var t = 0.0;
  for (var j = 0u; j < ${SUM_THREADS}u; j++) { t += partial[j]; }
  out[0] = t;
}`,
    [partial, out],
  );
  // One thread a pixel on a GPU; 8 pixels a thread on a CPU adapter (blockedWgsl).
  const cpu = gpu.cpuAdapter;
  const pixels = grid(Math.ceil((S * S) / (cpu ? 8 : 1) / 64));
  const fwd = gpu.kernel('conv forward', cpu ? blockedWgsl(S, false) : forwardWgsl(S), [X, W, Y]);
  const kernels: [Kernel, number, number][] = [[fwd, ...pixels], [sumPartial, SUM_THREADS / 64, 1], [sumFinish, 1, 1]];
  if (backward) {
    kernels.push([gpu.kernel('conv dx', cpu ? blockedWgsl(S, true) : dxWgsl(S), [G, W, DX]), ...pixels]);
    const dw = cpu ? dwBlockedWgsl(S, slices) : dwPartialWgsl(S, slices);
    kernels.push([gpu.kernel('conv dw partials', dw, [X, G, D]), ...grid(Math.ceil((blocks * slices) / 64))]);
    kernels.push([gpu.kernel('conv dw finish', dwFinishWgsl(slices), [D, DW]), 9, 1]);
  }
  const step = (read: boolean) => gpu.submit(kernels, read ? [[out, staging, 4]] : []);
  if (backward) {
    // With g all ones, dw[ky][kx][ci][co] is the sum of channel ci over the pixels that tap reaches,
    // and dx of an interior pixel is the sum of every weight of its input channel: checked once.
    const big = gpu.readback(bytes, 'gradient check');
    gpu.submit(kernels, [[DW, big, w0.byteLength]]);
    const gotW = await gpu.read(big, w0.length);
    gpu.submit([], [[DX, big, bytes]]);
    const gotX = await gpu.read(big, S * S * CONV_C);
    const ci = 5;
    let centre = 0;
    for (let p = 0; p < S * S; p++) centre += x0[p * CONV_C + ci]!;
    let rowW = 0;
    for (let t = 0; t < 9; t++) for (let co = 0; co < CONV_C; co++) rowW += w0[(t * CONV_C + ci) * CONV_C + co]!;
    const inner = ((S >> 1) * S + (S >> 1)) * CONV_C + ci;
    const wCentre = gotW[(4 * CONV_C + ci) * CONV_C + 7]!;
    if (Math.abs(wCentre - centre) > 1e-3 * centre || Math.abs(gotX[inner]! - rowW) > 1e-3 * rowW) {
      throw new Error(`raw conv gradients wrong: dw ${wCentre} vs ${centre}, dx ${gotX[inner]} vs ${rowW}`);
    }
  }
  return rawInstance(gpu, `direct kernels, ${cpu ? '8 pixels' : 'a pixel'} × 16 channels a thread${backward ? `; dw as per-thread partials (${cpu ? '8 × 16' : '4 × 16'} channels) + one pass` : ''}; ${kernels.length} dispatches/step, 1 submit`, step, staging);
};

const tfjs: EngineFactory<ConvInput> = async ({ S, backward, x: x0, w: w0 }) => {
  const x = tf.tensor4d(x0, [1, S, S, CONV_C]);
  const w = tf.tensor4d(w0, [K, K, CONV_C, CONV_C]);
  const f = (a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, 'same')) as tf.Scalar;
  const vg = tf.valueAndGrads(f);
  const step = (): tf.Tensor => (backward ? tf.tidy(() => vg([x, w]).value) : tf.tidy(() => f(x, w)));
  return {
    note: backward ? "tf.valueAndGrads(sum(conv2d(x, w, 1, 'same')))" : "tf.sum(tf.conv2d(x, w, 1, 'same'))",
    async steps(count, readEvery) {
      let value = Number.NaN;
      for (let i = 0; i < count; i++) {
        const s = step();
        if (readEvery || i === count - 1) value = (await s.data())[0]!;
        s.dispose();
      }
      return value;
    },
    dispose: () => tf.dispose([x, w]),
  };
};

const jax: EngineFactory<ConvInput> = async ({ S, backward, x: x0, w: w0 }) => {
  const C = CONV_C;
  const xc = new Float32Array(x0.length);
  for (let p = 0; p < S * S; p++) for (let c = 0; c < C; c++) xc[c * S * S + p] = x0[p * C + c]!;
  const wo = new Float32Array(w0.length);
  for (let t = 0; t < K * K; t++) for (let i = 0; i < C; i++) for (let o = 0; o < C; o++) wo[(o * C + i) * K * K + t] = w0[(t * C + i) * C + o]!;
  const f = (a: JaxArray, b: JaxArray) => np.sum(lax.convGeneralDilated(a, b, [1, 1], 'SAME'));
  const fwd = jit(f);
  const both = jit((a: JaxArray, b: JaxArray) => {
    const [v, [ga, gb]] = valueAndGrad(f, { argnums: [0, 1] })(a, b);
    return [v, ga, gb];
  });
  const x = np.array(xc).reshape([1, C, S, S]);
  const w = np.array(wo).reshape([C, C, K, K]);
  const run = () => (backward ? both(x.ref, w.ref) : [fwd(x.ref, w.ref)]) as JaxArray[];
  return {
    note: backward ? "jit(valueAndGrad(sum(lax.convGeneralDilated(x, w, [1, 1], 'SAME')))), NCHW" : "jit(sum(lax.convGeneralDilated(x, w, [1, 1], 'SAME'))), NCHW",
    device: getWebGPUDevice(),
    async recordOneStep() {
      const out = run();
      await blockUntilReady(out);
      for (const a of out) a.dispose();
    },
    async steps(count, readEvery) {
      // jax-js evaluates lazily: every output is kept until its batch is ready (as matmul.ts).
      let value = Number.NaN;
      const pending: JaxArray[] = [];
      for (let i = 0; i < count; i++) {
        const out = run();
        pending.push(...out);
        if (readEvery || i === count - 1) {
          await blockUntilReady(pending);
          for (const a of pending.splice(0)) if (a !== out[0]) a.dispose();
          value = (await out[0]!.data())[0]!;
        }
      }
      return value;
    },
    dispose() {
      x.dispose();
      w.dispose();
      fwd.dispose();
      both.dispose();
    },
  };
};

const js: EngineFactory<ConvInput> = async ({ S, backward, x, w }) => {
  const C = CONV_C;
  const dx = new Float32Array(x.length);
  const dw = new Float32Array(w.length);
  // Each tap's window: pixels whose neighbour (dy, dx) is inside the image.
  const taps = (visit: (p: number, q: number, t: number) => void) => {
    for (let t = 0; t < K * K; t++) {
      const oy = Math.floor(t / K) - 1;
      const ox = (t % K) - 1;
      for (let py = Math.max(0, -oy); py < Math.min(S, S - oy); py++) for (let px = Math.max(0, -ox); px < Math.min(S, S - ox); px++) visit(py * S + px, (py + oy) * S + px + ox, t);
    }
  };
  return cpuLoop(backward ? 'single-threaded loops: forward, dx, dw' : 'single-threaded loops', () => {
    const y = new Float32Array(S * S * C);
    taps((p, q, t) => {
      for (let i = 0; i < C; i++) {
        const v = x[q * C + i]!;
        const wb = (t * C + i) * C;
        for (let o = 0; o < C; o++) y[p * C + o] = y[p * C + o]! + v * w[wb + o]!;
      }
    });
    if (backward) {
      dx.fill(0);
      dw.fill(0);
      // g is all ones: dx[q][i] = Σ_o w[t][i][o] over taps reaching q, dw[t][i][o] = Σ_p x[q][i].
      taps((_p, q, t) => {
        for (let i = 0; i < C; i++) {
          const wb = (t * C + i) * C;
          let s = 0;
          for (let o = 0; o < C; o++) {
            s += w[wb + o]!;
            dw[wb + o] = dw[wb + o]! + x[q * C + i]!;
          }
          dx[q * C + i] = dx[q * C + i]! + s;
        }
      });
    }
    let sum = 0;
    for (let i = 0; i < y.length; i++) sum += y[i]!;
    return sum;
  });
};

export const convEngines: Record<EngineName, EngineFactory<ConvInput>> = { pixelgrad, raw, tfjs, jax, js };
