import { describe, expect, test } from 'vitest';
import * as pg from '../../src/index.ts';
import { withShaders } from '../shared/backends.ts';
import { edgeElementwiseSuite } from '../shared/edge-elementwise.suite.ts';

describe('elementwise edge values on WebGPU', () => edgeElementwiseSuite('webgpu'));

test("pow of a sigmoid's output compiles to the within-[0, 1] form, of an exp's, an abs's or a square's to the never-negative form, and of anything else to the general one", async () => {
  await pg.init();
  await withShaders(async (shaders) => {
    const formOf = async (base: (x: pg.Tensor) => pg.Tensor) => {
      shaders.length = 0;
      // Sizes no other test compiles, so each program builds its own kernels.
      const x = pg.rand([37, 3], { seed: 3 });
      const b = pg.rand([37, 3], { seed: 4 });
      const y = base(x).pow(b);
      await y.data();
      pg.dispose([x, b, y]);
      // The forward's own function (one per template output), not the shared helpers.
      const uses = (fn: string) => shaders.some((s) => new RegExp(`fn f\\w+\\(pb: u32[^)]*\\) -> f32 \\{ return ${fn}\\(a, b, l\\); \\}`).test(s));
      return { unit: uses('pow_unit'), fast: uses('pow_nonneg'), general: uses('pow_log') };
    };
    expect(await formOf((x) => x.sigmoid())).toEqual({ unit: true, fast: false, general: false });
    // A max over a sigmoid's values is within [0, 1] too; a sum of them is only never negative.
    expect(await formOf((x) => x.sigmoid().max(-1, true))).toEqual({ unit: true, fast: false, general: false });
    expect(await formOf((x) => x.sigmoid().sum(-1, true))).toEqual({ unit: false, fast: true, general: false });
    for (const base of [(x: pg.Tensor) => x.exp(), (x: pg.Tensor) => x.abs(), (x: pg.Tensor) => x.square()]) {
      expect(await formOf(base)).toEqual({ unit: false, fast: true, general: false });
    }
    expect(await formOf((x) => x.sub(0.5))).toEqual({ unit: false, fast: false, general: true });
  });
});
