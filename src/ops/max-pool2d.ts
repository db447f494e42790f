/**
 * maxPool2d on NHWC images [N, H, W, C]: the largest value of each window, padding ignored; the
 * gradient goes to the first maximum of the window (row-major order), as PyTorch's. Two small
 * kernels (shaders/max_pool2d.wgsl) that share the window's argmax.
 */
import { fill, kernelCache, section, wgslModule } from '../gpu/wgsl.ts';
import { InvalidArgumentError, ShapeError } from '../errors.ts';
import { fmt, type Shape, sizeOf } from '../shape.ts';
import src from '../../shaders/max_pool2d.wgsl?raw';
import { defineOp } from './op.ts';

export interface Pool2dAttrs {
  /** Window rows and columns. */
  readonly kernel: readonly [number, number];
  readonly stride: readonly [number, number];
  /** Rows or columns added on the top, bottom, left and right (they never hold the maximum). */
  readonly padding: readonly [number, number, number, number];
}

interface PoolGeometry {
  readonly N: number;
  readonly H: number;
  readonly W: number;
  readonly C: number;
  readonly KH: number;
  readonly KW: number;
  readonly SH: number;
  readonly SW: number;
  readonly PT: number;
  readonly PL: number;
  readonly OH: number;
  readonly OW: number;
}

const positiveInt = (v: number) => Number.isSafeInteger(v) && v > 0;

/** Validates a pooling of image x (rank 4) and returns its sizes; `op` names the public function in errors. */
export function poolGeometry(x: Shape, a: Pool2dAttrs, op: string): PoolGeometry {
  if (x.length !== 4) throw new ShapeError(`${op}: needs an image [N, H, W, C] or [H, W, C], got ${fmt(x)}`);
  const { kernel, stride, padding } = a;
  if (![...kernel, ...stride].every(positiveInt)) throw new InvalidArgumentError(`${op}: kernel [${kernel}] and stride [${stride}] must be positive integers`);
  const [KH, KW] = kernel;
  const [PT, PB, PL, PR] = padding;
  if (!padding.every((p) => Number.isSafeInteger(p) && p >= 0) || PT >= KH || PB >= KH || PL >= KW || PR >= KW) {
    throw new InvalidArgumentError(`${op}: padding [${padding}] must be non-negative integers smaller than the kernel [${kernel}] on each side, so that every window holds a pixel`);
  }
  const [N, H, W, C] = x as [number, number, number, number];
  if (KH > H + PT + PB || KW > W + PL + PR) {
    throw new ShapeError(`${op}: the kernel [${kernel}] is larger than the padded image (${H + PT + PB}x${W + PL + PR}: image ${fmt(x)}, padding [${padding}])`);
  }
  const [SH, SW] = stride;
  const OH = Math.floor((H + PT + PB - KH) / SH) + 1;
  const OW = Math.floor((W + PL + PR - KW) / SW) + 1;
  return { N, H, W, C, KH, KW, SH, SW, PT, PL, OH, OW };
}

/** The index into x of each output element's first window maximum (the reference's forward and backward). */
function argmaxes(x: Float64Array, g: PoolGeometry): Int32Array {
  const { N, H, W, C, KH, KW, SH, SW, PT, PL, OH, OW } = g;
  const at = new Int32Array(N * OH * OW * C);
  let o = 0;
  for (let n = 0; n < N; n++) {
    for (let oy = 0; oy < OH; oy++) {
      for (let ox = 0; ox < OW; ox++) {
        for (let c = 0; c < C; c++, o++) {
          let best = -1;
          for (let ky = 0; ky < KH; ky++) {
            const iy = oy * SH + ky - PT;
            if (iy < 0 || iy >= H) continue;
            for (let kx = 0; kx < KW; kx++) {
              const ix = ox * SW + kx - PL;
              if (ix < 0 || ix >= W) continue;
              const i = ((n * H + iy) * W + ix) * C + c;
              if (best < 0 || x[i]! > x[best]!) best = i;
            }
          }
          at[o] = best;
        }
      }
    }
  }
  return at;
}

const cached = kernelCache('maxPool2d');

function poolWgsl(g: PoolGeometry, which: 'forward' | 'backward', threads: number): string {
  return cached(`${which}|${Object.values(g).join(',')}`, () => {
    const vars = { ...g, OHW: g.OH * g.OW, HW: g.H * g.W, THREADS: threads };
    const body = `${fill(section(src, 'argmax'), vars)}\n${fill(section(src, which), vars)}`;
    return wgslModule(which === 'forward' ? { inputs: ['x'], outputs: ['out'], threads } : { inputs: ['x', 'g'], outputs: ['dx'], threads }, body);
  });
}

export const maxPool2dOp = defineOp<Pool2dAttrs>({
  name: 'maxPool2d',
  arity: 1,
  shape([x], attrs) {
    const g = poolGeometry(x!, attrs, 'maxPool2d');
    return [g.N, g.OH, g.OW, g.C];
  },
  saves: (needs) => ({ inputs: [needs[0]!], output: false }),
  gpu: {
    forward(k, [x], out, { shapes, attrs }) {
      const threads = out.length;
      if (threads === 0) return;
      k.run({ name: 'maxPool2d_forward', wgsl: poolWgsl(poolGeometry(shapes[0]!, attrs, 'maxPool2d'), 'forward', threads), threads, inputs: [x!], outputs: [out] });
    },
    backward(k, { shapes, attrs, inputs: [x], grad }) {
      const dx = k.alloc('maxPool2d backward', shapes[0]!);
      const threads = sizeOf(shapes[0]!);
      if (threads > 0) {
        const wgsl = poolWgsl(poolGeometry(shapes[0]!, attrs, 'maxPool2d'), 'backward', threads);
        k.run({ name: 'maxPool2d_backward', wgsl, threads, inputs: [x!, grad], outputs: [dx] });
      }
      return [dx];
    },
  },
  reference([x], { shapes, attrs }) {
    const at = argmaxes(x!, poolGeometry(shapes[0]!, attrs, 'maxPool2d'));
    return Float64Array.from(at, (i) => x![i]!);
  },
  referenceBackward({ shapes, attrs, inputs: [x], grad }) {
    const at = argmaxes(x!, poolGeometry(shapes[0]!, attrs, 'maxPool2d'));
    const dx = new Float64Array(x!.length);
    at.forEach((i, o) => {
      dx[i]! += grad[o]!;
    });
    return [dx];
  },
  testAttrs: [
    { kernel: [2, 2], stride: [2, 2], padding: [0, 0, 0, 0] },
    { kernel: [3, 3], stride: [1, 2], padding: [1, 1, 1, 0] },
    { kernel: [3, 2], stride: [2, 1], padding: [0, 2, 1, 1] },
  ],
  testShapes(n) {
    if (n > 4_000_000) return [[[1, 2, Math.ceil(n / 6), 3]]];
    const s = Math.max(2, Math.round(Math.sqrt(n / 3)));
    return [[[1, s, s + 1, 3]], [[2, s, s, 1]]];
  },
});
