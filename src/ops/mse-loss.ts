/** mseLoss: mean((a - b)²) as one fused reduction, and both gradients from one fused kernel. */
import type { GpuStorage } from '../gpu/gpu-ops.ts';
import { CPU_WALK_ITEMS } from '../gpu/quirks.ts';
import { fill, kernelCache, section, walkBounds, walkSizing, walkThreads, wgslModule } from '../gpu/wgsl.ts';
import { ShapeError } from '../errors.ts';
import { fmt, sameShape, sizeOf } from '../shape.ts';
import { apply, type Tensor } from '../tensor.ts';
import src from '../../shaders/mse_loss.wgsl?raw';
import { defineOp } from './op.ts';
import { gpuReduce } from './reduce.ts';

export type MseLossAttrs = Record<string, never>;

/** vec4s each forward thread sums before writing its partial (CPU_WALK_ITEMS on a CPU adapter). */
const VEC4_PER_THREAD = 16;
const MAX_THREADS = 65536;

const cached = kernelCache('mseLoss');

const VEC4 = { a_: 'vec4<f32>', b_: 'vec4<f32>', da: 'vec4<f32>', db: 'vec4<f32>' };

export const mseLossOp = defineOp<MseLossAttrs>({
  name: 'mseLoss',
  arity: 2,
  shape([a, b]) {
    if (!sameShape(a!, b!)) throw new ShapeError(`mseLoss: the prediction ${fmt(a!)} and the target ${fmt(b!)} must have the same shape (mseLoss does not broadcast)`);
    if (sizeOf(a!) === 0) throw new ShapeError(`mseLoss: inputs of shape ${fmt(a!)} are empty; the mean of no elements is undefined`);
    return [];
  },
  saves: (needs) => {
    const any = needs[0]! || needs[1]!;
    return { inputs: [any, any], output: false };
  },
  gpu: {
    forward(k, [a, b], out, { shapes }) {
      const n = sizeOf(shapes[0]!);
      const full = Math.floor(n / 4);
      const cpu = k.isSoftware;
      const T = walkThreads(Math.max(1, Math.min(MAX_THREADS, Math.ceil(Math.ceil(n / 4) / (cpu ? CPU_WALK_ITEMS : VEC4_PER_THREAD)))), cpu);
      const wgsl = cached(`f:${n}:${T}:${+cpu}`, () => {
        const walk = walkBounds(full, T, cpu);
        return wgslModule(
          { inputs: ['a_', 'b_'], outputs: ['part'], types: VEC4, threads: T, ...walkSizing(T, cpu) },
          fill(section(src, 'forward_partial'), { THREADS: T, FULL: full, REM: n - 4 * full, WALK_SETUP: walk.setup, WALK_START: walk.start, WALK_END: walk.end, WALK_STEP: walk.step }),
        );
      });
      const part = T === 1 ? out : k.alloc('mseLoss partials', [T]);
      k.run({ name: 'mseLoss_forward', wgsl, threads: T, inputs: [a!, b!], outputs: [part], params: [1 / n] });
      if (part !== out) {
        gpuReduce(k, 'sum', part, [T], [0], out);
        k.release(part);
      }
    },
    backward(k, { grad, inputs: [a, b], shapes, needs }) {
      const shape = shapes[0]!;
      const n = sizeOf(shape);
      const vecs = Math.ceil(n / 4);
      const [wantA, wantB] = [needs[0]!, needs[1]!];
      const da = wantA ? k.alloc('mseLoss backward', shape) : null;
      const db = wantB ? k.alloc('mseLoss backward', shape) : null;
      if (!da && !db) return [null, null];
      const wgsl = cached(`b:${vecs}:${+wantA}${+wantB}`, () =>
        wgslModule(
          { inputs: ['g_', 'a_', 'b_'], outputs: [...(da ? ['da'] : []), ...(db ? ['db'] : [])], types: VEC4, threads: vecs },
          fill(section(src, 'backward'), { VECS: vecs, STORES: [da ? 'da[v] = d;' : '', db ? 'db[v] = -d;' : ''].join(' ') }),
        ),
      );
      k.run({ name: 'mseLoss_backward', wgsl, threads: vecs, inputs: [grad, a!, b!], outputs: [da, db].filter((s): s is GpuStorage => s !== null), params: [2 / n] });
      return [da, db];
    },
  },
  reference([a, b]) {
    let s = 0;
    for (let i = 0; i < a!.length; i++) s += (a![i]! - b![i]!) ** 2;
    return Float64Array.of(s / a!.length);
  },
  referenceBackward({ grad, inputs: [a, b], needs }) {
    const n = a!.length;
    const scale = (2 / n) * grad[0]!;
    const da = Float64Array.from({ length: n }, (_, i) => (a![i]! - b![i]!) * scale);
    return [needs[0] ? da : null, needs[1] ? da.map((v) => -v) : null];
  },
  testShapes: (n) => [
    [[n], [n]],
    [
      [3, Math.max(1, Math.ceil(n / 3))],
      [3, Math.max(1, Math.ceil(n / 3))],
    ],
  ],
});

/** Mean squared error: mean((a - b)²) over every element, a scalar tensor. a and b must have the same shape. */
export function mseLoss(a: Tensor, b: Tensor): Tensor {
  return apply(mseLossOp, [a, b], {});
}
