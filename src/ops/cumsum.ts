/**
 * cumsum along one axis: out[..., j, ...] = Σ_{i ≤ j} x[..., i, ...]. The gradient is the same
 * scan run backwards over the upstream gradient. Hand-written chunked scan (shaders/cumsum.wgsl):
 * a scan is not a map or a reduction, so the IR has no node for it.
 */
import type { GpuOps, GpuStorage } from '../gpu/gpu-ops.ts';
import { fill, kernelCache, section, wgslModule } from '../gpu/wgsl.ts';
import { InvalidArgumentError } from '../errors.ts';
import { fmt, type Shape, sizeOf, stridesOf } from '../shape.ts';
import src from '../../shaders/cumsum.wgsl?raw';
import compensated from '../../shaders/compensated.wgsl?raw';
import { defineOp } from './op.ts';

export interface CumsumAttrs {
  /** Normalized (non-negative) axis. */
  readonly axis: number;
}

/**
 * Elements one thread scans. On SwiftShader, 64 gave a 4096-long axis 64 threads of 64 steps and a
 * second level of one chunk: two passes of the data and no third kernel.
 */
const CHUNK = 64;

const cached = kernelCache('cumsum');
const body = (name: string, vars: Record<string, number | string>) => section(compensated, 'helpers') + fill(section(src, name), vars);

/** (outer, axis length, inner) of a shape around one axis. */
function lines(shape: Shape, axis: number): [number, number, number] {
  const L = shape[axis]!;
  const I = stridesOf(shape)[axis]!;
  return [sizeOf(shape) / Math.max(1, L * I), L, I];
}

/**
 * Scans x into out along the middle axis of (O, L, I), reversed when `rev`. Past one chunk, the
 * chunk totals (a [O·I, chunks] tensor) are scanned by the same function, then each chunk rescans
 * from its offset.
 */
function scan(k: GpuOps, x: GpuStorage, out: GpuStorage, O: number, L: number, I: number, rev: boolean): void {
  const NC = Math.ceil(L / CHUNK);
  const threads = O * I * NC;
  const vars = { C: CHUNK, L, I, NC, THREADS: threads, POS: rev ? `${L - 1}u - p` : 'p' };
  if (NC === 1) {
    const wgsl = cached(`scan:${O}:${L}:${I}:${+rev}`, () => wgslModule({ inputs: ['x'], outputs: ['out'], threads }, body('scan', { ...vars, OFFSET: '0.0' })));
    k.run({ name: 'cumsum', wgsl, threads, inputs: [x], outputs: [out] });
    return;
  }
  const totals = k.alloc('cumsum chunk totals', [threads]);
  const wgslT = cached(`totals:${O}:${L}:${I}:${+rev}`, () => wgslModule({ inputs: ['x'], outputs: ['totals'], threads }, body('totals', vars)));
  k.run({ name: 'cumsum_totals', wgsl: wgslT, threads, inputs: [x], outputs: [totals] });
  const offsets = k.alloc('cumsum chunk offsets', [threads]);
  scan(k, totals, offsets, O * I, NC, 1, false);
  k.release(totals);
  const wgsl = cached(`scan+:${O}:${L}:${I}:${+rev}`, () =>
    wgslModule({ inputs: ['x', 'offsets'], outputs: ['out'], threads }, body('scan', { ...vars, OFFSET: 'select(0.0, offsets[max(t, 1u) - 1u], c > 0u)' })),
  );
  k.run({ name: 'cumsum', wgsl, threads, inputs: [x, offsets], outputs: [out] });
  k.release(offsets);
}

function referenceScan(x: Float64Array, shape: Shape, axis: number, rev: boolean): Float64Array {
  const [O, L, I] = lines(shape, axis);
  const out = new Float64Array(x.length);
  for (let o = 0; o < O; o++) {
    for (let i = 0; i < I; i++) {
      let s = 0;
      for (let p = 0; p < L; p++) {
        const at = (o * L + (rev ? L - 1 - p : p)) * I + i;
        s += x[at]!;
        out[at] = s;
      }
    }
  }
  return out;
}

export const cumsumOp = /* @__PURE__ */ defineOp<CumsumAttrs>({
  name: 'cumsum',
  arity: 1,
  shape([s], { axis }) {
    if (!Number.isInteger(axis) || axis < 0 || axis >= s!.length) throw new InvalidArgumentError(`cumsum: internal: axis ${axis} must be normalized for shape ${fmt(s!)}`);
    return s!;
  },
  saves: () => ({ inputs: [false], output: false }),
  gpu: {
    forward(k, [x], out, { shapes, attrs }) {
      if (out.length === 0) return;
      const [O, L, I] = lines(shapes[0]!, attrs.axis);
      scan(k, x!, out, O, L, I, false);
    },
    backward(k, { shapes, attrs, grad }) {
      const dx = k.alloc('cumsum backward', shapes[0]!);
      if (dx.length) {
        const [O, L, I] = lines(shapes[0]!, attrs.axis);
        scan(k, grad, dx, O, L, I, true);
      }
      return [dx];
    },
  },
  reference: ([x], { shapes, attrs }) => referenceScan(x!, shapes[0]!, attrs.axis, false),
  referenceBackward: ({ shapes, attrs, grad }) => [referenceScan(grad, shapes[0]!, attrs.axis, true)],
  // Past one chunk, and a long axis (two levels) for the large size.
  testShapes: (n) => (n > 4096 ? [[[Math.ceil(n / 4096), 4096]]] : [[[n]], [[n, 3]], [[2, n, 2]]]),
  testAttrs: [{ axis: 1 }, { axis: 0 }],
});
