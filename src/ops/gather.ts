/**
 * takeAlongAxis (PyTorch's gather) and scatterAdd: reads and sums driven by an index tensor along
 * one axis. Tensor.indexSelect is takeAlongAxis with its 1-D index broadcast over the other axes.
 * Index tensors are float32 holding integers (no integer dtype yet). The CPU backend throws
 * InvalidArgumentError for an index that is out of range, NaN or not an integer; on the GPU an
 * index cannot throw, so it rounds to the nearest integer and clamps into [0, n) (pick in
 * shaders/indexing.wgsl): never a read or write out of bounds, and the backward pass uses the same
 * clamped index, so GPU gradients match the GPU forward. A read is a take node of the compiler's
 * IR, fused with its neighbours; a scatter-add along a short index axis is a reduction of a
 * one-hot select, and a long one (WGSL has no float atomics) adds with a compare-exchange loop.
 * Each gradient is the other op: gather's is a scatter-add into zeros, scatterAdd's is a gather for
 * src and the identity for target.
 */
import type { GpuOps, GpuStorage } from '../gpu/gpu-ops.ts';
import { section } from '../gpu/wgsl.ts';
import * as ir from '../ir/expr.ts';
import { InvalidArgumentError, LimitError, ShapeError } from '../errors.ts';
import { around, fmt, type Shape, sizeOf } from '../shape.ts';
import src from '../../shaders/indexing.wgsl?raw';
import { MAX_EXACT_INDEX } from './argmax.ts';
import { forEachIndex } from './elementwise.ts';
import { defineOp } from './op.ts';

export interface GatherAttrs {
  /** Normalized (non-negative) axis. */
  readonly axis: number;
  /** The public function, for messages: indexSelect reaches takeAlongAxis. */
  readonly caller?: string;
}

/** An index this far from an integer still counts as one (float32 arithmetic that produced it). */
const INTEGER_SLACK = 1e-3;

const PICK = section(src, 'pick');

/** Shape rule shared by both ops: same rank, the index's non-axis sizes equal the data's, and an axis that float32 can index. */
function checkIndexShape(op: string, data: Shape, dataWhat: string, index: Shape, axis: number): void {
  if (index.length !== data.length || data.length === 0) {
    throw new ShapeError(`${op}: index of shape ${fmt(index)} needs the rank of ${dataWhat} ${fmt(data)} (at least 1)`);
  }
  if (!Number.isInteger(axis) || axis < 0 || axis >= data.length) throw new InvalidArgumentError(`${op}: internal: axis ${axis} must be normalized for shape ${fmt(data)}`);
  if (index.some((d, i) => i !== axis && d !== data[i])) {
    throw new ShapeError(`${op}: index of shape ${fmt(index)} must match ${dataWhat} ${fmt(data)} on every axis but ${axis}`);
  }
  const n = data[axis]!;
  if (n === 0 && sizeOf(index) > 0) throw new ShapeError(`${op}: cannot index axis ${axis} of ${dataWhat} ${fmt(data)}: it has no elements`);
  if (n > MAX_EXACT_INDEX) throw new LimitError(`${op}: axis ${axis} of ${dataWhat} ${fmt(data)} has ${n} elements; float32 indices are exact only up to 2^24 (${MAX_EXACT_INDEX})`);
}

/** The integer an index value stands for, or an InvalidArgumentError naming it and where it sits. */
function checkedIndex(op: string, v: number, n: number, at: readonly number[], axis: number): number {
  const j = Math.round(v);
  if (!(Math.abs(v - j) <= INTEGER_SLACK && j >= 0 && j < n)) {
    throw new InvalidArgumentError(`${op}: index ${v} at position [${at.join(', ')}] is out of range for axis ${axis} of size ${n} (valid: integers 0 to ${n - 1})`);
  }
  return j;
}

/** out[o, k, i] = x[o, index[o, k, i], i] over the index's shape. */
function referenceGather(op: string, x: Float64Array, index: Float64Array, xShape: Shape, iShape: Shape, axis: number): Float64Array {
  const [, N, I] = around(xShape, axis);
  const K = iShape[axis]!;
  const out = new Float64Array(index.length);
  forEachIndex(iShape, (i, c) => {
    const outer = Math.floor(i / (K * I));
    out[i] = x[(outer * N + checkedIndex(op, index[i]!, N, c, axis)) * I + (i % I)]!;
  });
  return out;
}

/** target + src summed into the positions index names, over target's shape. */
function referenceScatterAdd(op: string, target: Float64Array | null, index: Float64Array, values: Float64Array, tShape: Shape, iShape: Shape, axis: number): Float64Array {
  const [, N, I] = around(tShape, axis);
  const K = iShape[axis]!;
  const out = target ? target.slice() : new Float64Array(sizeOf(tShape));
  forEachIndex(iShape, (i, c) => {
    const outer = Math.floor(i / (K * I));
    out[(outer * N + checkedIndex(op, index[i]!, N, c, axis)) * I + (i % I)]! += values[i]!;
  });
  return out;
}

/** out = x read along `axis` where index points: a take node, fused with what it reads and what reads it. */
function gpuGather(k: GpuOps, x: GpuStorage, index: GpuStorage, out: GpuStorage, xShape: Shape, iShape: Shape, axis: number): void {
  if (sizeOf(iShape) > 0) k.define(out, ir.take(k.expr(x, xShape), k.expr(index, iShape), axis));
}

/**
 * Index axes longer than this scatter with atomics: one compare-exchange per src element instead of
 * K index reads per output element. Measured on SwiftShader, [2000, 64] summed into [1000, 64]
 * (K = 2000): 2.4 s looping, 12 ms with atomics. A short axis keeps the loop: deterministic sums,
 * one kernel and no contention.
 */
const ATOMIC_MIN_K = 17;

/** out = (target or zeros) + values summed where index points, over tShape. */
function gpuScatterAdd(k: GpuOps, target: GpuStorage | null, index: GpuStorage, values: GpuStorage, out: GpuStorage, tShape: Shape, iShape: Shape, axis: number): void {
  const size = sizeOf(tShape);
  if (size === 0) return;
  const [, N, I] = around(tShape, axis);
  const K = iShape[axis]!;
  if (K >= ATOMIC_MIN_K) {
    const base = target ? k.expr(target, tShape) : ir.map(zeroTemplate(), [], [], 0, tShape);
    k.define(out, ir.scatter(base, k.expr(index, iShape), k.expr(values, iShape), axis));
    return;
  }
  // A short index axis: out[o, n, i] sums the src[o, k, i] whose index picks n, as a reduction over
  // k of a one-hot select (the sum in k order, deterministic), fused like any other reduction.
  const O = size / (N * I);
  const wide = [O, N, K, I];
  const spread = (s: GpuStorage) => ir.view(k.expr(s, iShape), wide, [K * I, 0, I, 1]);
  const hits = ir.map(oneHotTemplate(), [spread(index), ir.iota(wide, 1), spread(values)], [N]);
  const sums = ir.reshape(ir.reduce('sum', hits, [2]), tShape);
  k.define(out, target ? ir.map(addTemplate(), [k.expr(target, tShape), sums]) : sums);
}

const oneHotTemplate = () =>
  ir.mapTemplate('gather:one-hot', () => ({ name: 'scatter_add', loads: ['index', 'n', 'src'], lets: [], stores: ['select(0.0, src, f32(pick(index, u32(param(0u)))) == n)'], helpers: PICK }));
const addTemplate = () => ir.mapTemplate('gather:add', () => ({ name: 'scatter_add', loads: ['a', 'b'], lets: [], stores: ['a + b'], helpers: '' }));
const zeroTemplate = () => ir.mapTemplate('gather:zero', () => ({ name: 'index_backward', loads: [], lets: [], stores: ['0.0'], helpers: '' }));

/** A zero gradient for an index tensor (a selection is piecewise constant in it). */
function zerosLike(k: GpuOps, shape: Shape): GpuStorage {
  const z = k.alloc('index gradient', shape);
  k.define(z, ir.map(zeroTemplate(), [], [], 0, shape));
  return z;
}

const nameOf = (a: GatherAttrs) => a.caller ?? 'takeAlongAxis';

export const takeAlongAxisOp = /* @__PURE__ */ defineOp<GatherAttrs>({
  name: 'takeAlongAxis',
  arity: 2,
  shape([x, index], attrs) {
    checkIndexShape(nameOf(attrs), x!, 'the tensor of shape', index!, attrs.axis);
    return index!;
  },
  saves: (needs) => ({ inputs: [false, needs[0]!], output: false }),
  gpu: {
    forward(k, [x, index], out, { shapes, attrs }) {
      gpuGather(k, x!, index!, out, shapes[0]!, shapes[1]!, attrs.axis);
    },
    backward(k, { shapes, attrs, grad, inputs, needs }) {
      let dx: GpuStorage | null = null;
      if (needs[0]) {
        dx = k.alloc('takeAlongAxis backward', shapes[0]!);
        gpuScatterAdd(k, null, inputs[1]!, grad, dx, shapes[0]!, shapes[1]!, attrs.axis);
      }
      return [dx, needs[1] ? zerosLike(k, shapes[1]!) : null];
    },
  },
  reference: ([x, index], { shapes, attrs }) => referenceGather(nameOf(attrs), x!, index!, shapes[0]!, shapes[1]!, attrs.axis),
  referenceBackward: ({ shapes, attrs, grad, inputs, needs }) => [
    needs[0] ? referenceScatterAdd(nameOf(attrs), null, inputs[1]!, grad, shapes[0]!, shapes[1]!, attrs.axis) : null,
    needs[1] ? new Float64Array(sizeOf(shapes[1]!)) : null,
  ],
  // The index input holds integers 0..2: every test shape's indexed axis has 3 elements.
  domain: (i) => (i === 1 ? { min: 0, max: 2, integer: true } : { min: -2, max: 2 }),
  testShapes: (n) => {
    const m = Math.ceil(n / 2);
    return [
      [
        [3, m],
        [2, m],
      ],
      [
        [m, 3],
        [m, 4],
      ],
      [
        [2, 3, m],
        [2, 5, m],
      ],
    ];
  },
  testAttrs: [{ axis: 0 }, { axis: 1 }],
});

export const scatterAddOp = /* @__PURE__ */ defineOp<GatherAttrs>({
  name: 'scatterAdd',
  arity: 3,
  shape([target, index, values], attrs) {
    const op = nameOf({ ...attrs, caller: attrs.caller ?? 'scatterAdd' });
    checkIndexShape(op, target!, 'the target of shape', index!, attrs.axis);
    if (values!.length !== index!.length || values!.some((d, i) => d !== index![i])) {
      throw new ShapeError(`${op}: src of shape ${fmt(values!)} must have the index's shape ${fmt(index!)}`);
    }
    return target!;
  },
  saves: (needs) => ({ inputs: [false, needs[2]!, false], output: false }),
  gpu: {
    forward(k, [target, index, values], out, { shapes, attrs }) {
      gpuScatterAdd(k, target!, index!, values!, out, shapes[0]!, shapes[1]!, attrs.axis);
    },
    backward(k, { shapes, attrs, grad, inputs, needs }) {
      let dv: GpuStorage | null = null;
      if (needs[2]) {
        dv = k.alloc('scatterAdd backward', shapes[2]!);
        gpuGather(k, grad, inputs[1]!, dv, shapes[0]!, shapes[1]!, attrs.axis);
      }
      return [needs[0] ? k.retain(grad) : null, needs[1] ? zerosLike(k, shapes[1]!) : null, dv];
    },
  },
  reference: ([target, index, values], { shapes, attrs }) => referenceScatterAdd(attrs.caller ?? 'scatterAdd', target!, index!, values!, shapes[0]!, shapes[1]!, attrs.axis),
  referenceBackward: ({ shapes, attrs, grad, inputs, needs }) => [
    needs[0] ? grad.slice() : null,
    needs[1] ? new Float64Array(sizeOf(shapes[1]!)) : null,
    needs[2] ? referenceGather(attrs.caller ?? 'scatterAdd', grad, inputs[1]!, shapes[0]!, shapes[1]!, attrs.axis) : null,
  ],
  domain: (i) => (i === 1 ? { min: 0, max: 2, integer: true } : { min: -2, max: 2 }),
  testShapes: (n) => {
    const m = Math.ceil(n / 2);
    return [
      [
        [3, m],
        [2, m],
        [2, m],
      ],
      [
        [m, 3],
        [m, 4],
        [m, 4],
      ],
      [
        [2, 3, m],
        [2, 5, m],
        [2, 5, m],
      ],
    ];
  },
  testAttrs: [{ axis: 0 }, { axis: 1 }],
});
