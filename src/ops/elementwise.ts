/** Every unary, binary and binary-with-a-number op from the elementwise table. */
import type { BackwardArgs, ForwardArgs } from '../backend.ts';
import type { GpuOps, GpuStorage } from '../gpu/gpu-ops.ts';
import * as ir from '../ir/expr.ts';
import { mapTemplate } from '../ir/expr.ts';
import { section } from '../gpu/wgsl.ts';
import { InvalidArgumentError } from '../errors.ts';
import { broadcastShapes, broadcastStrides, sameShape, type Shape, sizeOf } from '../shape.ts';
import src from '../../shaders/elementwise.wgsl?raw';
import { BINARY, type BinaryEntry, UNARY, type UnaryEntry } from './elementwise-table.ts';
import { defineOp, type OpDef } from './op.ts';
import { unbroadcastExpr, unbroadcastReference } from './unbroadcast.ts';

const HELPERS = section(src, 'helpers');

/** An elementwise map's template (queued as an expression and fused by the scheduler; see src/gpu/lazy.ts). */
export function template(key: string, name: string, loads: readonly string[], lets: readonly (readonly [string, string])[], stores: readonly string[], range?: ir.ValueRange) {
  return mapTemplate(key, () => ({ name, loads, lets, stores, helpers: HELPERS, ...(range ? { range } : {}) }));
}

/** A number operand: bound to `b` from the kernel's first parameter. */
const SCALAR_B = [['b', 'param(0u)']] as const;

// ---------- unary ----------

/** What each op's outputs are known to be (src/ir/expr.ts, rangeOf). */
const RANGES: Readonly<Record<string, ir.ValueRange>> = { exp: 'nonNegative', abs: 'nonNegative', square: 'nonNegative', sigmoid: 'unit' };

export interface UnaryAttrs {
  /** clamp's [min, max]; empty for the others. */
  readonly params?: readonly number[];
}

function defineUnary(e: UnaryEntry): OpDef<UnaryAttrs> {
  const params = (a: UnaryAttrs) => a.params ?? [];
  const attrs = (a: { attrs: UnaryAttrs }) => a.attrs;
  return defineOp<UnaryAttrs>({
    name: e.name,
    arity: 1,
    shape: (shapes, attrs) => {
      if (e.name === 'clamp') {
        const [lo, hi] = params(attrs);
        if (typeof lo !== 'number' || typeof hi !== 'number' || Number.isNaN(lo) || Number.isNaN(hi) || lo > hi) {
          throw new InvalidArgumentError(`clamp: needs numbers min <= max, got min=${lo}, max=${hi}`);
        }
      }
      return shapes[0]!;
    },
    saves: () => ({ inputs: [e.uses === 'x'], output: e.uses === 'y' }),
    gpu: {
      forward(k, [x], out, { attrs, outShape }) {
        const t = template(`${e.name}:f`, `${e.name}_forward`, ['x'], [], [e.wgsl], RANGES[e.name]);
        k.define(out, ir.map(t, [k.expr(x!, outShape)], params(attrs)));
      },
      backward(k, args) {
        const shape = args.shapes[0]!;
        const saved = e.uses === 'x' ? args.inputs[0]! : e.uses === 'y' ? args.output! : null;
        const g = k.expr(args.grad, shape);
        const dx = k.alloc(`${e.name} backward`, shape);
        const y = e.uses === 'y' ? k.expr(saved!, shape) : null;
        const cancelled = y && e.gradPerY ? cancelledGrad(e, g, y) : null;
        const t = template(`${e.name}:b`, `${e.name}_backward`, saved ? ['g', e.uses] : ['g'], [], [e.grad]);
        k.define(dx, cancelled ?? ir.map(t, saved ? [g, k.expr(saved, shape)] : [g], params(attrs(args))));
        return [dx];
      },
    },
    reference([x], { attrs }) {
      const p = params(attrs);
      return x!.map((v) => e.f(v, p));
    },
    referenceBackward({ inputs, output, grad, attrs }) {
      const p = params(attrs);
      const x = inputs[0];
      return [grad.map((g, i) => e.df(x ? x[i]! : 0, output ? output[i]! : 0, g, p))];
    },
    ...(e.domain ? { domain: () => e.domain! } : {}),
    ...(e.name === 'clamp' ? { testAttrs: [{ params: [-0.5, 0.6] }] } : {}),
    ...(e.name === 'toInt32' ? { testAttrs: [{ params: [0] }, { params: [1] }] } : {}),
  });
}

/**
 * Backward templates whose output 0 is a binary op's gradient for its base a, mapped to that
 * gradient times a (BinaryEntry.withY.gradATimesA), over the same loads.
 */
const timesBase = new Map<ir.MapTemplate, string>();

/** One reading of one value: the same node, or the same realized storage read in the same shape. */
const sameValue = (a: ir.Expr, b: ir.Expr) =>
  a === b || (a.op === 'src' && b.op === 'src' && a.storage === b.storage && a.shape.every((d, i) => d === b.shape[i]));

/**
 * This op's gradient when the incoming g is a binary op's gradient for a base that is this op's
 * output y, and y cancels a factor of it (a^(b−1)·y = a^b): gradPerY of (g·y) over g's own
 * operands and parameters (so gradPerY reads no param() of its own), one node instead of two,
 * without the factor's cost. Null where the pattern is absent: also where the queue was compiled
 * between the two backward ops (g is then a stored value), which gives the same numbers except
 * where a^(b−1) alone overflows float32 (there the uncancelled rule's inf, here float64's value).
 */
function cancelledGrad(e: UnaryEntry, g: ir.Expr, y: ir.Expr): ir.Expr | null {
  if (g.op !== 'map' || g.j !== 0) return null;
  const times = timesBase.get(g.t);
  if (times === undefined || !sameValue(g.inputs[1]!, y)) return null;
  const inner = g.t;
  // Built once per pair of templates (mapTemplate caches by key): a step only looks it up.
  const t = mapTemplate(`${e.name}:b:${inner.id}`, () => {
    const names: Record<string, string> = { g: `(${times})`, y: 'a' };
    return { name: `${e.name}_backward`, loads: inner.loads, lets: inner.lets, stores: [e.gradPerY!.replace(/\b[gy]\b/g, (v) => names[v]!)], helpers: HELPERS };
  });
  return ir.map(t, g.inputs, g.params);
}

// ---------- binary (tensor, tensor) and (tensor, number) ----------

export interface ScalarAttrs {
  readonly scalar: number;
}

const needsA = (u: BinaryEntry['usesA']) => u === 'a' || u === 'ab';
const needsB = (u: BinaryEntry['usesA']) => u === 'b' || u === 'ab';

function binaryBackwardGpu(e: BinaryEntry, k: GpuOps, args: BackwardArgs<unknown, GpuStorage>, scalar: number | undefined): (GpuStorage | null)[] {
  const { shapes, outShape, needs } = args;
  const isScalar = scalar !== undefined;
  // A gradient that is g itself, in g's shape, is passed on without a kernel (add, sub's first input).
  const aliasA = needs[0]! && e.gradA === 'g' && sameShape(shapes[0]!, outShape);
  const aliasB = !isScalar && needs[1]! && e.gradB === 'g' && sameShape(shapes[1]!, outShape);
  const [wantA, wantB] = [needs[0]! && !aliasA, !isScalar && needs[1]! && !aliasB];
  if (!wantA && !wantB) return [aliasA ? k.retain(args.grad) : null, aliasB ? k.retain(args.grad) : null];
  const withY = isScalar ? undefined : e.withY;
  const usesA = withY !== undefined || (wantA && needsA(e.usesA)) || (wantB && needsA(e.usesB));
  const usesB = withY !== undefined || (!isScalar && ((wantA && needsB(e.usesA)) || (wantB && needsB(e.usesB))));
  const flags = `${+wantA}${+wantB}${+usesA}${+usesB}${+isScalar}`;
  const loads = ['g', ...(usesA ? ['a'] : []), ...(usesB ? ['b'] : []), ...(withY ? ['y'] : []), ...(withY?.l ? ['l'] : [])];
  // Operands read where they broadcast; each gradient summed back to its input's shape in the same expression.
  const ins = [
    k.expr(args.grad, outShape),
    ...(usesA ? [ir.expand(k.expr(args.inputs[0]!, shapes[0]!), outShape)] : []),
    ...(usesB ? [ir.expand(k.expr(args.inputs[1]!, shapes[1]!), outShape)] : []),
    ...(withY ? [k.expr(args.output!, outShape)] : []),
  ];
  const range = withY ? baseRange(e, ins[1]!) : 'any';
  const rules = withY ? rulesFor(withY, range) : e;
  const t = template(`${e.name}:b:${flags}${SUFFIX[range]}`, `${e.name}_backward`, loads, isScalar ? SCALAR_B : [], [...(wantA ? [rules.gradA] : []), ...(wantB ? [rules.gradB] : [])]);
  if (wantA && 'gradATimesA' in rules && rules.gradATimesA) timesBase.set(t, rules.gradATimesA);
  if (withY?.l) ins.push(sharedL(e, range, ins[1]!, ins[ins.length - 1]!));
  const params = isScalar ? [scalar!] : [];
  const grad = (i: number, j: number) => {
    const dx = k.alloc(`${e.name} backward`, shapes[i]!);
    k.define(dx, unbroadcastExpr(ir.map(t, ins, params, j), outShape, shapes[i]!));
    return dx;
  };
  return [aliasA ? k.retain(args.grad) : wantA ? grad(0, 0) : null, aliasB ? k.retain(args.grad) : wantB ? grad(1, wantA ? 1 : 0) : null];
}

/** What the compiler knows of a binary op's base a (src/ir/expr.ts): nothing, never negative, or also never above 1. */
type BaseRange = ir.ValueRange | 'any';
const SUFFIX: Record<BaseRange, string> = { any: '', nonNegative: '+', unit: '1' };

function baseRange(e: BinaryEntry, a: ir.Expr): BaseRange {
  const w = e.withY;
  const known = w?.nonNegative ? ir.rangeOf(a) : null;
  return known === 'unit' && !w?.unit ? 'nonNegative' : (known ?? 'any');
}

/** An entry's shared-y expressions for a base of `range`: each narrower range overrides what it makes cheaper. */
function rulesFor(w: NonNullable<BinaryEntry['withY']>, range: BaseRange) {
  const any = { gradA: w.gradA, gradB: w.gradB, l: w.l?.expr, forward: w.l?.forward, gradATimesA: w.gradATimesA };
  if (range === 'any') return any;
  return range === 'unit' ? { ...any, ...w.nonNegative, ...w.unit } : { ...any, ...w.nonNegative };
}

const lTemplate = (e: BinaryEntry, range: BaseRange) => template(`${e.name}:l${SUFFIX[range]}`, `${e.name}_forward`, ['a'], [], [rulesFor(e.withY!, range).l!]);
const viaLTemplate = (e: BinaryEntry, range: BaseRange) =>
  template(`${e.name}:fl${SUFFIX[range]}`, `${e.name}_forward`, ['a', 'b', 'l'], [], [rulesFor(e.withY!, range).forward!]);

/** The forward of an entry with a shared `l`: l as its own node, then the forward reading it. */
function forwardViaL(e: BinaryEntry, a: ir.Expr, b: ir.Expr): ir.Expr {
  const range = baseRange(e, a);
  return ir.map(viaLTemplate(e, range), [a, b, ir.map(lTemplate(e, range), [a])]);
}

/** The forward's own l node when y is still that forward (so one kernel computes it once), else a new one. */
function sharedL(e: BinaryEntry, range: BaseRange, a: ir.Expr, y: ir.Expr): ir.Expr {
  return y.op === 'map' && y.t === viaLTemplate(e, range) ? y.inputs[2]! : ir.map(lTemplate(e, range), [a]);
}

function binaryReferenceForward(e: BinaryEntry, a: Float64Array, b: Float64Array | number, args: ForwardArgs<unknown>): Float64Array {
  const out = new Float64Array(sizeOf(args.outShape));
  const sa = broadcastStrides(args.shapes[0]!, args.outShape);
  const sb = typeof b === 'number' ? null : broadcastStrides(args.shapes[1]!, args.outShape);
  forEachIndex(args.outShape, (i, coords) => {
    const av = a[dot(coords, sa)]!;
    const bv = sb ? (b as Float64Array)[dot(coords, sb)]! : (b as number);
    out[i] = e.f(av, bv);
  });
  return out;
}

function binaryReferenceBackward(e: BinaryEntry, args: BackwardArgs<unknown, Float64Array>, scalar: number | undefined): (Float64Array | null)[] {
  const { shapes, outShape, needs, grad } = args;
  const [a, b] = args.inputs;
  const sa = broadcastStrides(shapes[0]!, outShape);
  const sb = scalar === undefined ? broadcastStrides(shapes[1]!, outShape) : null;
  const n = sizeOf(outShape);
  const da = needs[0] ? new Float64Array(n) : null;
  const db = scalar === undefined && needs[1] ? new Float64Array(n) : null;
  forEachIndex(outShape, (i, coords) => {
    const av = a ? a[dot(coords, sa)]! : 0;
    const bv = sb ? (b ? b[dot(coords, sb)]! : 0) : scalar!;
    if (da) da[i] = e.da(av, bv, grad[i]!);
    if (db) db[i] = e.db(av, bv, grad[i]!);
  });
  return [da && unbroadcastReference(da, outShape, shapes[0]!), db && unbroadcastReference(db, outShape, shapes[1]!)];
}

function defineBinary(e: BinaryEntry): OpDef<unknown> {
  return defineOp<unknown>({
    name: e.name,
    arity: 2,
    shape: ([a, b]) => broadcastShapes(e.name, a!, b!),
    saves: (needs) => {
      const any = needs[0]! || needs[1]!;
      return e.withY && any
        ? { inputs: [true, true], output: true }
        : {
            inputs: [(needs[0]! && needsA(e.usesA)) || (needs[1]! && needsA(e.usesB)), (needs[0]! && needsB(e.usesA)) || (needs[1]! && needsB(e.usesB))],
            output: false,
          };
    },
    gpu: {
      forward(k, [a, b], out, { shapes, outShape }) {
        const ins = [ir.expand(k.expr(a!, shapes[0]!), outShape), ir.expand(k.expr(b!, shapes[1]!), outShape)] as const;
        if (e.withY?.l) return void k.define(out, forwardViaL(e, ...ins));
        const t = template(`${e.name}:f`, `${e.name}_forward`, ['a', 'b'], [], [e.wgsl]);
        k.define(out, ir.map(t, ins));
      },
      backward: (k, args) => binaryBackwardGpu(e, k, args, undefined),
    },
    reference: ([a, b], args) => binaryReferenceForward(e, a!, b!, args),
    referenceBackward: (args) => binaryReferenceBackward(e, args, undefined),
    domain: (i) => (i === 0 ? e.domainA : e.domainB) ?? { min: -2, max: 2 },
  });
}

function defineBinaryScalar(e: BinaryEntry): OpDef<ScalarAttrs> {
  const name = `${e.name}_scalar`;
  return defineOp<ScalarAttrs>({
    name,
    arity: 1,
    shape: ([a], { scalar }) => {
      if (typeof scalar !== 'number') throw new InvalidArgumentError(`${e.name}: the operand must be a tensor or a number, got ${typeof scalar}`);
      return a!;
    },
    saves: (needs) => ({ inputs: [needs[0]! && needsA(e.usesA)], output: false }),
    gpu: {
      forward(k, [a], out, { attrs, outShape }) {
        const t = template(`${name}:f`, `${name}_forward`, ['a'], SCALAR_B, [e.wgsl]);
        k.define(out, ir.map(t, [k.expr(a!, outShape)], [attrs.scalar]));
      },
      backward: (k, args) => binaryBackwardGpu(e, k, args as BackwardArgs<unknown, GpuStorage>, args.attrs.scalar),
    },
    reference: ([a], args) => binaryReferenceForward(e, a!, args.attrs.scalar, args),
    referenceBackward: (args) => binaryReferenceBackward(e, args as BackwardArgs<unknown, Float64Array>, args.attrs.scalar),
    domain: () => e.domainA ?? { min: -2, max: 2 },
    testAttrs: [{ scalar: e.name === 'pow' ? 2 : 0.7 }],
  });
}

/** Calls fn(linearIndex, coords) over a row-major shape. */
export function forEachIndex(shape: Shape, fn: (i: number, coords: readonly number[]) => void): void {
  const n = sizeOf(shape);
  const coords = new Array<number>(shape.length).fill(0);
  for (let i = 0; i < n; i++) {
    fn(i, coords);
    for (let d = shape.length - 1; d >= 0; d--) {
      if (++coords[d]! < shape[d]!) break;
      coords[d] = 0;
    }
  }
}

export const dot = (c: readonly number[], s: readonly number[]): number => {
  let r = 0;
  for (let d = 0; d < c.length; d++) r += c[d]! * s[d]!;
  return r;
};

// Marked pure (both calls), so that a bundle that uses no elementwise op drops the tables' ops.
export const unaryOps = /* @__PURE__ */ Object.fromEntries(/* @__PURE__ */ UNARY.map((e) => [e.name, defineUnary(e)])) as Record<string, OpDef<UnaryAttrs>>;
export const binaryOps = /* @__PURE__ */ Object.fromEntries(/* @__PURE__ */ BINARY.map((e) => [e.name, defineBinary(e)])) as Record<string, OpDef<unknown>>;
export const binaryScalarOps = /* @__PURE__ */ Object.fromEntries(
  /* @__PURE__ */ BINARY.map((e) => [e.name, defineBinaryScalar(e)]),
) as Record<string, OpDef<ScalarAttrs>>;
