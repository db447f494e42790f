/**
 * seed: the README's two-ingredient example, from tensor creation to both gradients read back.
 * c1 = 0.2, c2 = 0.7, loss = (0.6·c1 + 0.4·c2 − 0.5)²; dc1 = −0.12, dc2 = −0.08.
 * One "step" is one full iteration; the checked value is dc1 (dc2 is asserted inside).
 */
import * as tf from '@tensorflow/tfjs';
import { jit, numpy as np, valueAndGrad, type Array as JaxArray } from '@jax-js/jax';
import type { EngineFactory, EngineName, Instance } from './common.ts';
import { RawGpu } from './gpu.ts';
import { pg, pixelgradCounters, pixelgradDevice } from './pixelgrad-api.ts';

export interface SeedInput {
  readonly c1: number;
  readonly c2: number;
}

function checkG2(g2: number): void {
  if (Math.abs(g2 + 0.08) > 1e-5) throw new Error(`dc2 = ${g2}, expected -0.08`);
}

function loop(iteration: () => Promise<number>, extra: Partial<Instance> = {}): Instance {
  return {
    async steps(count) {
      let v = Number.NaN;
      for (let i = 0; i < count; i++) v = await iteration();
      return v;
    },
    dispose() {},
    ...extra,
  };
}

/** As jax-js's peer uses jit(valueAndGrad): the gradient function compiled once, new argument tensors every iteration. */
const pixelgrad: EngineFactory<SeedInput> = async ({ c1: v1, c2: v2 }) => {
  let cpuMs = 0;
  const grads = pg.compile(pg.grad((c1: pg.Tensor, c2: pg.Tensor) => c1.mul(0.6).add(c2.mul(0.4)).sub(0.5).pow(2)));
  return loop(
    async () => {
      const t0 = performance.now();
      const c1 = pg.tensor([v1]);
      const c2 = pg.tensor([v2]);
      const [g1, g2] = grads(c1, c2);
      cpuMs += performance.now() - t0;
      const [a, b] = await Promise.all([g1!.data(), g2!.data()]);
      pg.dispose([c1, c2, g1, g2]);
      checkG2(b[0]!);
      return a[0]!;
    },
    {
      note: 'pg.compile(pg.grad(f)), pg.tensor ×2, both data()',
      counters: () => pixelgradCounters(cpuMs),
      device: pixelgradDevice(),
      dispose: () => grads.dispose(),
    },
  );
};

/** The README's code as it is written: no compile, the graph and backward built every iteration. */
const pixelgradEager: EngineFactory<SeedInput> = async ({ c1: v1, c2: v2 }) => {
  let cpuMs = 0;
  return loop(
    async () => {
      const t0 = performance.now();
      // tidy frees the four intermediates; the leaves and the loss are returned and disposed below.
      const [c1, c2, loss] = pg.tidy(() => {
        const c1 = pg.tensor([v1], { requiresGrad: true });
        const c2 = pg.tensor([v2], { requiresGrad: true });
        const loss = c1.mul(0.6).add(c2.mul(0.4)).sub(0.5).pow(2);
        loss.backward();
        return [c1, c2, loss];
      });
      cpuMs += performance.now() - t0;
      const [g1, g2] = await Promise.all([c1.grad!.data(), c2.grad!.data()]);
      pg.dispose([c1, c2, loss]);
      checkG2(g2[0]!);
      return g1[0]!;
    },
    { note: 'pg.tensor ×2 → mul/add/sub/pow → backward → both grads data()', counters: () => pixelgradCounters(cpuMs), device: pixelgradDevice() },
  );
};

const raw: EngineFactory<SeedInput> = async ({ c1, c2 }) => {
  const gpu = await RawGpu.create();
  const input = gpu.buffer(16, 'c');
  const out = gpu.buffer(16, 'loss, dc1, dc2');
  const staging = gpu.readback(16);
  const k = gpu.kernel(
    'seed loss + both gradients',
    `@group(0) @binding(0) var<storage, read> c: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@compute @workgroup_size(1)
fn main() {
  let r = 0.6 * c[0] + 0.4 * c[1] - 0.5;
  out[0] = r * r;
  out[1] = 2.0 * r * 0.6;
  out[2] = 2.0 * r * 0.4;
}`,
    [input, out],
  );
  const data = new Float32Array(4);
  return loop(
    async () => {
      data[0] = c1;
      data[1] = c2;
      gpu.device.queue.writeBuffer(input, 0, data);
      gpu.submit([[k, 1]], [[out, staging, 12]]);
      const r = await gpu.read(staging, 3, true);
      checkG2(r[2]!);
      return r[1]!;
    },
    { note: 'writeBuffer → 1 dispatch → copy → mapAsync (prodded)', counters: () => gpu.counters(), dispose: () => gpu.destroy() },
  );
};

const tfjs: EngineFactory<SeedInput> = async ({ c1: v1, c2: v2 }) => {
  const g = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.square(tf.sub(tf.add(tf.mul(a, 0.6), tf.mul(b, 0.4)), 0.5)));
  return loop(
    async () => {
      const [g1, g2] = tf.tidy(() => g([tf.scalar(v1), tf.scalar(v2)]));
      const [a, b] = await Promise.all([g1!.data(), g2!.data()]);
      tf.dispose([g1!, g2!]);
      checkG2(b[0]!);
      return a[0]!;
    },
    { note: 'tf.grads, tf.scalar ×2, both data()' },
  );
};

const jax: EngineFactory<SeedInput> = async ({ c1: v1, c2: v2 }) => {
  const f = jit(valueAndGrad((a: JaxArray, b: JaxArray) => np.square(a.mul(0.6).add(b.mul(0.4)).sub(0.5)), { argnums: [0, 1] }));
  return loop(
    async () => {
      const [loss, [g1, g2]] = f(np.array(v1), np.array(v2)) as unknown as [JaxArray, [JaxArray, JaxArray]];
      loss.dispose();
      const [a, b] = await Promise.all([g1.data(), g2.data()]);
      checkG2(b[0]!);
      return a[0]!;
    },
    { note: 'jit(valueAndGrad), np.array ×2, both data()', dispose: () => f.dispose() },
  );
};

const js: EngineFactory<SeedInput> = async ({ c1, c2 }) =>
  loop(
    async () => {
      const r = 0.6 * c1 + 0.4 * c2 - 0.5;
      checkG2(2 * r * 0.4);
      return 2 * r * 0.6;
    },
    { note: 'arithmetic' },
  );

export const seedEngines: Record<EngineName, EngineFactory<SeedInput>> = { pixelgrad, raw, tfjs, jax, js };
/** The same peers against pixelgrad without pg.compile. */
export const seedEagerEngines: Record<EngineName, EngineFactory<SeedInput>> = { ...seedEngines, pixelgrad: pixelgradEager };
