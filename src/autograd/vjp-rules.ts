/**
 * Gradient rules written with tensor ops, for gradients that are themselves differentiable
 * (`backward({ createGraph: true })`, pg.grad inside pg.grad). The first-order path runs each op's
 * own backward kernels on storages (src/autograd/backward.ts); these rules give the same numbers,
 * edge conventions included, as ops that are recorded in the graph, so a second backward can run
 * through them. A rule reads only what the op's `saves` keeps for the first-order pass.
 *
 * One entry per registered op (test/shared/higher-order.suite.ts checks the lists agree): a rule,
 * or a sentence saying why a gradient of that op's gradient is not available, which the walk
 * throws as a GradientError rather than return a wrong number.
 */
import { full } from '../creation.ts';
import { where } from '../logic.ts';
import { cumsumOp } from '../ops/cumsum.ts';
import { conv2dVjp } from './vjp-windows.ts';
import { flipOp } from '../ops/flip.ts';
import { padOp } from '../ops/pad.ts';
import { scatterAddOp, takeAlongAxisOp } from '../ops/gather.ts';
import { keptShape } from '../ops/reduce.ts';
import { sliceWindow } from '../ops/shape-ops.ts';
import { sizeOf, type Shape } from '../shape.ts';
import { apply, type Operand, type Tensor } from '../tensor.ts';

/** What a rule gets: tensors recorded in the graph (null where the op saved nothing). */
export interface VjpArgs {
  /** The op's inputs that its first-order backward saved, as graph tensors; null for the others. */
  readonly x: readonly (Tensor | null)[];
  /** The op's output, when saved. */
  readonly y: Tensor | null;
  /** The gradient of the output. */
  readonly g: Tensor;
  readonly shapes: readonly Shape[];
  readonly outShape: Shape;
  // biome-ignore lint/suspicious/noExplicitAny: each rule knows its op's attrs
  readonly attrs: any;
  readonly needs: readonly boolean[];
}

/**
 * Input gradients, each in its input's shape or in a shape the input broadcasts to (the walk sums
 * it back); null where an input gets none (a mask, an index) or needs none.
 */
export type VjpRule = (a: VjpArgs) => (Tensor | null)[];

// int32 first: two bool masks do not subtract (as PyTorch).
const sign = (x: Tensor) => x.gt(0).to('int32').sub(x.lt(0));
/** g where the mask holds, else exactly 0 (not g·0, which is NaN for an infinite g). */
const keep = (mask: Tensor, g: Tensor) => where(mask, g, 0);
/** maximum's share of the gradient for x against `other`: 1 above, 0.5 at a tie, 0 below, 1 with a NaN. */
const above = (x: Tensor, other: Operand) => x.lt(other).add(x.eq(other).mul(0.5)).neg().add(1);
/** minimum's share, mirrored: 1 below, 0.5 at a tie, 0 above, 1 with a NaN. */
const below = (x: Tensor, other: Operand) => x.gt(other).add(x.eq(other).mul(0.5)).neg().add(1);

const unary: Record<string, VjpRule | string> = {
  neg: ({ g }) => [g.neg()],
  exp: ({ g, y }) => [g.mul(y!)],
  log: ({ g, x }) => [g.div(x[0]!)],
  sqrt: ({ g, y }) => [g.mul(0.5).div(y!)],
  abs: ({ g, x }) => [g.mul(sign(x[0]!))],
  square: ({ g, x }) => [g.mul(2).mul(x[0]!)],
  relu: ({ g, x }) => [keep(x[0]!.gt(0), g)],
  sigmoid: ({ g, y }) => [g.mul(y!).mul(y!.neg().add(1))],
  tanh: ({ g, y }) => [g.mul(y!.square().neg().add(1))],
  clamp: ({ g, x, attrs }) => [keep(x[0]!.ge(attrs.params[0]).logicalAnd(x[0]!.le(attrs.params[1])), g)],
  logicalNot: () => [null],
  toInt32: () => [null],
};

/** A binary op's rule on a tensor `a` and a tensor or number `b` (the `_scalar` variants share it). */
type BinaryRule = (g: Tensor, a: Tensor | null, b: Operand | null, y: Tensor | null, needs: readonly boolean[]) => (Tensor | null)[];

const binary: Record<string, BinaryRule> = {
  add: (g) => [g, g],
  sub: (g) => [g, g.neg()],
  mul: (g, a, b) => [b === null ? null : g.mul(b), a && g.mul(a)],
  div: (g, a, b) => [g.div(b!), a && g.neg().mul(a).div(typeof b === 'number' ? b * b : b!.square())],
  pow: (g, a, b, y, needs) => [
    // 0 wherever b = 0 (x^0 is constant), as the first-order rule.
    needs[0] ? (typeof b === 'number' ? (b === 0 ? null : g.mul(b).mul(a!.pow(b - 1))) : where(b!.eq(0), 0, g.mul(b!).mul(a!.pow(b!.sub(1))))) : null,
    needs[1] && typeof b !== 'number' ? where(a!.eq(0).logicalAnd(b!.ge(0)), 0, g.mul(y ?? a!.pow(b!)).mul(a!.log())) : null,
  ],
  maximum: (g, a, b) => [g.mul(above(a!, b!)), typeof b === 'number' ? null : g.mul(above(b!, a!))],
  minimum: (g, a, b) => [g.mul(below(a!, b!)), typeof b === 'number' ? null : g.mul(below(b!, a!))],
};
const masks = ['eq', 'ne', 'lt', 'le', 'gt', 'ge', 'logicalAnd', 'logicalOr'];

/** A reduction's output gradient read in the kept shape and broadcast over the reduced axes. */
const spread = (g: Tensor, inShape: Shape, axes: readonly number[]) => g.reshape(keptShape(inShape, axes)).expand(inShape);

const structural: Record<string, VjpRule | string> = {
  sum: ({ g, shapes, attrs }) => [spread(g, shapes[0]!, attrs.axes)],
  mean: ({ g, shapes, attrs }) => [spread(g, shapes[0]!, attrs.axes).mul(1 / Math.max(1, sizeOf(shapes[0]!) / Math.max(1, g.size)))],
  max: ({ g, x, y, shapes, attrs }) => {
    // Ties share evenly, as the first-order rule; the mask and the count are constants.
    const kept = keptShape(shapes[0]!, attrs.axes);
    const hit = x[0]!.eq(y!.reshape(kept));
    return [keep(hit, spread(g, shapes[0]!, attrs.axes).div(hit.sum(attrs.axes, true)))];
  },
  where: ({ g, x }) => [null, keep(x[0]!, g), where(x[0]!, 0, g)],
  argmax: () => [null],
  argmin: () => [null],
  cumsum: ({ g, attrs }) => {
    const axes = [attrs.axis];
    return [apply(flipOp, [apply(cumsumOp, [apply(flipOp, [g], { axes })], attrs)], { axes })];
  },
  takeAlongAxis: ({ g, x, shapes, attrs }) => [apply(scatterAddOp, [full(shapes[0]!, 0), x[1]!, g], attrs), null],
  scatterAdd: ({ g, x, attrs }) => [g, null, x[1] ? apply(takeAlongAxisOp, [g, x[1]], attrs) : null],
  matmul: ({ g, x, needs }) => [needs[0] ? g.matmul(x[1]!.transpose(-1, -2)) : null, needs[1] ? x[0]!.transpose(-1, -2).matmul(g) : null],
  softmax: ({ g, y, attrs }) => [y!.mul(g.sub(g.mul(y!).sum(attrs.axis, true)))],
  logSoftmax: ({ g, y, attrs }) => [g.sub(y!.exp().mul(g.sum(attrs.axis, true)))],
  reshape: ({ g, shapes }) => [g.reshape(shapes[0]!)],
  permute: ({ g, attrs }) => [g.permute(inverse(attrs.perm))],
  expand: ({ g }) => [g],
  slice: ({ g, shapes, attrs }) => {
    const { begin, end } = sliceWindow(shapes[0]!, attrs);
    return [apply(padOp, [g], { before: begin, after: end.map((e, i) => shapes[0]![i]! - e) })];
  },
  flip: ({ g, attrs }) => [apply(flipOp, [g], attrs)],
  pad: ({ g, shapes, attrs }) => [g.slice(attrs.before, attrs.before.map((b: number, i: number) => b + shapes[0]![i]!))],
  cat: ({ g, shapes, attrs }) => {
    let at = 0;
    return shapes.map((s) => {
      const begin = s.map((_, i) => (i === attrs.axis ? at : 0));
      at += s[attrs.axis]!;
      return g.slice(begin, s.map((d, i) => (i === attrs.axis ? at : d)));
    });
  },
  // Through the module's functions at call time: the two modules import each other.
  conv2d: (a) => conv2dVjp(a),
};

function inverse(perm: readonly number[]): number[] {
  const inv: number[] = [];
  perm.forEach((p, i) => {
    inv[p] = i;
  });
  return inv;
}

function binaryRule(name: string, scalar: boolean): VjpRule {
  const rule = binary[name]!;
  return ({ g, x, y, attrs, needs }) => {
    const [a, b] = scalar ? [x[0], attrs.scalar as number] : [x[0], x[1]];
    const r = rule(g, a ?? null, b ?? null, y, needs);
    return scalar ? [needs[0] ? r[0]! : null] : r;
  };
}

/** A mask has no gradient (a rule returning fewer entries than inputs gives the rest none). */
const maskRule: VjpRule = () => [];

let rules: Readonly<Record<string, VjpRule | string>> | undefined;

/**
 * Every registered op's rule, or why its gradient cannot be differentiated again. Built on first
 * use, so that a bundle that never differentiates a gradient can drop the table.
 */
export function vjpRules(): Readonly<Record<string, VjpRule | string>> {
  rules ??= {
    ...unary,
    ...structural,
    ...Object.fromEntries(Object.keys(binary).flatMap((n) => [[n, binaryRule(n, false)], [`${n}_scalar`, binaryRule(n, true)]])),
    ...Object.fromEntries(masks.flatMap((n) => [[n, maskRule], [`${n}_scalar`, maskRule]])),
  };
  return rules;
}
