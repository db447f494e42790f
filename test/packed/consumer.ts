/**
 * Compiled by test/unit/packed.test.ts with tsc in a temporary project against the packed .d.ts
 * (strict, noUncheckedIndexedAccess, no @webgpu/types: TypeScript 6's DOM lib declares WebGPU).
 * The repository's typecheck compiles it against src/ too.
 */
import * as pg from 'pixelgrad';

export async function readme(): Promise<number[]> {
  await pg.init();
  const c1 = pg.tensor([0.2], { requiresGrad: true });
  const c2 = pg.tensor([0.7], { requiresGrad: true });
  const loss = c1.mul(0.6).add(c2.mul(0.4)).sub(0.5).pow(2);
  loss.backward();
  const grads = pg.compile(pg.grad((a, b) => a.mul(0.6).add(b.mul(0.4)).sub(0.5).pow(2)));
  const [g1, g2] = grads(pg.tensor([0.2]), pg.tensor([0.7]));
  const [d1, d2] = await Promise.all([g1.data(), g2.data()]);
  const opt = new pg.Adam([c1, c2], { lr: 0.05 });
  pg.tidy(() => {
    opt.step();
    opt.zeroGrad();
  });
  return [d1[0] ?? 0, d2[0] ?? 0, await c1.grad!.item()];
}

export function errorName(e: unknown): string {
  if (e instanceof pg.ShapeError) return e.name;
  if (e instanceof pg.PixelgradError) return `other ${e.name}`;
  return 'not ours';
}

export const webgpuInit = (gpu: GPU): Promise<pg.Backend> => pg.init({ gpu });
