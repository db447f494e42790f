/** cat (joining tensors along an existing axis) and stack (along a new one). */
import { InvalidArgumentError, ShapeError } from '../errors.ts';
import { repr } from '../validate.ts';
import { fmt, normalizeAxis, sameShape, type Shape, sizeOf, stridesOf } from '../shape.ts';
import { apply, Tensor } from '../tensor.ts';
import * as ir from '../ir/expr.ts';
import { dot, forEachIndex, template } from './elementwise.ts';
import { defineOp } from './op.ts';
import { gpuGather, referenceGather } from './shape-ops.ts';

export interface CatAttrs {
  /** Normalized (non-negative) axis to join along. */
  readonly axis: number;
}

const listShapes = (shapes: readonly Shape[]) => shapes.map(fmt).join(', ');

/** Where each input's block starts in the output, as a flat offset. */
function blockBases(shapes: readonly Shape[], axis: number, outStrides: readonly number[]): number[] {
  let at = 0;
  return shapes.map((s) => {
    const base = at * outStrides[axis]!;
    at += s[axis]!;
    return base;
  });
}

const axisOf = (attrs: CatAttrs, rank: number) => (attrs.axis < 0 ? attrs.axis + rank : attrs.axis);

/**
 * Parts merged at one level: more become sub-joins of up to this many, merged in turn, so a
 * reader's expression grows with the logarithm of the parts and each sub-join (when the scheduler
 * stores one to stay within a kernel's bindings) is its own parts' size, not the output's.
 */
const MERGE_PARTS = 8;
const MERGE = /* @__PURE__ */ template('cat:merge', 'cat_forward', ['a', 'b'], [], ['bitcast<f32>(bitcast<u32>(a) | bitcast<u32>(b))']);

/**
 * `parts` (shapes equal but on `axis`) joined along `axis`: each zero-padded to the joined shape
 * and merged bit for bit (padding is +0, all bits clear, so an OR gives each part's exact value,
 * -0 and NaN payloads kept). Index arithmetic in whatever kernel reads the result, no kernel of its own.
 */
function joined(parts: readonly ir.Expr[], axis: number): ir.Expr {
  if (parts.length > MERGE_PARTS) {
    const size = Math.ceil(parts.length / MERGE_PARTS);
    const groups = Array.from({ length: Math.ceil(parts.length / size) }, (_, g) => joined(parts.slice(g * size, (g + 1) * size), axis));
    return joined(groups, axis);
  }
  const shape = [...parts[0]!.shape];
  shape[axis] = parts.reduce((n, x) => n + x.shape[axis]!, 0);
  let at = 0;
  const placed = parts.map((x) => {
    const before = shape.map((_, d) => (d === axis ? at : 0));
    at += x.shape[axis]!;
    return ir.pad(x, before, shape);
  });
  // Pairwise as a balanced tree: the reader's expression is log2(parts) merges deep.
  let level = placed;
  while (level.length > 1) level = level.flatMap((x, i) => (i % 2 ? [] : [i + 1 < level.length ? ir.map(MERGE, [x, level[i + 1]!]) : x]));
  return level[0]!;
}

export const catOp = defineOp<CatAttrs>({
  name: 'cat',
  arity: -1,
  shape(shapes, { axis }) {
    if (shapes.length === 0) throw new InvalidArgumentError('cat: needs at least one tensor');
    const first = shapes[0]!;
    const rank = first.length;
    if (rank === 0) throw new ShapeError(`cat: cannot concatenate 0-d tensors (shapes ${listShapes(shapes)}); use stack, or reshape them to [1]`);
    const a = normalizeAxis('cat', axis, rank);
    const fits = (s: Shape) => s.length === rank && s.every((d, i) => i === a || d === first[i]);
    if (!shapes.every(fits)) {
      throw new ShapeError(`cat: shapes ${listShapes(shapes)} cannot be joined along axis ${a}: they need the same rank and equal sizes on every other axis`);
    }
    const out = [...first];
    out[a] = shapes.reduce((n, s) => n + s[a]!, 0);
    return out;
  },
  saves: (needs) => ({ inputs: needs.map(() => false), output: false }),
  gpu: {
    forward(k, inputs, out, { shapes, attrs, outShape }) {
      if (sizeOf(outShape) === 0) return;
      k.define(out, joined(inputs.map((x, j) => k.expr(x, shapes[j]!)), axisOf(attrs, outShape.length)));
    },
    backward(k, { shapes, attrs, outShape, grad, needs }) {
      const os = stridesOf(outShape);
      const bases = blockBases(shapes, axisOf(attrs, outShape.length), os);
      return shapes.map((s, j) => {
        if (!needs[j]) return null;
        const dx = k.alloc('cat backward', s);
        gpuGather(k, grad, outShape, dx, s, os, bases[j]);
        return dx;
      });
    },
  },
  reference(inputs, { shapes, attrs, outShape }) {
    const os = stridesOf(outShape);
    const bases = blockBases(shapes, axisOf(attrs, outShape.length), os);
    const out = new Float64Array(inputs.reduce((n, x) => n + x.length, 0));
    inputs.forEach((x, j) => {
      forEachIndex(shapes[j]!, (i, c) => {
        out[bases[j]! + dot(c, os)] = x[i]!;
      });
    });
    return out;
  },
  referenceBackward({ shapes, attrs, outShape, grad, needs }) {
    const os = stridesOf(outShape);
    const bases = blockBases(shapes, axisOf(attrs, outShape.length), os);
    return shapes.map((s, j) => (needs[j] ? referenceGather(grad, s, os, bases[j]) : null));
  },
  testShapes: (n) => {
    const m = Math.max(1, Math.round(n / 8));
    return [
      [
        [2, 1, m],
        [2, 3, m],
      ],
      [
        [2, 2, m],
        [2, 1, m],
        [2, 3, m],
      ],
      [
        [m, 2],
        [m, 3],
      ],
    ];
  },
  testAttrs: [{ axis: 1 }],
});

function tensorList(op: string, tensors: unknown): Tensor[] {
  if (!Array.isArray(tensors) || tensors.length === 0) {
    throw new InvalidArgumentError(`${op}: expects a non-empty array of Tensors, got ${repr(tensors)}`);
  }
  // Indexed, not forEach: a sparse array's holes are missing tensors.
  for (let i = 0; i < tensors.length; i++) {
    const t: unknown = tensors[i];
    if (!(t instanceof Tensor)) throw new InvalidArgumentError(`${op}: element ${i} is not a Tensor (got ${repr(t)})`);
  }
  return tensors as Tensor[];
}

/** Joins tensors along an existing axis; all other sizes must match. */
export function cat(tensors: Tensor[], axis = 0): Tensor {
  const list = tensorList('cat', tensors);
  return apply(catOp, list, { axis: normalizeAxis('cat', axis, list[0]!.rank) });
}

/** Joins same-shaped tensors along a new axis (at `axis` of the result). */
export function stack(tensors: Tensor[], axis = 0): Tensor {
  const list = tensorList('stack', tensors);
  const shape = list[0]!.shape;
  if (!list.every((t) => sameShape(t.shape, shape))) throw new ShapeError(`stack: all tensors need the same shape, got ${listShapes(list.map((t) => t.shape))}`);
  const a = normalizeAxis('stack', axis, shape.length + 1);
  const parts: Tensor[] = [];
  try {
    for (const t of list) parts.push(t.unsqueeze(a));
    return cat(parts, a);
  } finally {
    // The graph keeps what backward needs through the nodes; the views themselves are dead.
    for (const p of parts) p.dispose();
  }
}
