/** Registers every unary, binary and binary-with-a-number op from the elementwise table. */
import type { BackwardArgs, ForwardArgs } from '../backend.ts';
import type { GpuOps, GpuStorage } from '../gpu/gpu-ops.ts';
import { mapTemplate } from '../gpu/fusion.ts';
import { fill, kernelCache, section, stridedOffset, wgslModule } from '../gpu/wgsl.ts';
import { InvalidArgumentError } from '../errors.ts';
import { broadcastShapes, broadcastStrides, sameShape, type Shape, sizeOf } from '../shape.ts';
import src from '../../shaders/elementwise.wgsl?raw';
import { BINARY, type BinaryEntry, UNARY, type UnaryEntry } from './elementwise-table.ts';
import { defineOp, type OpDef } from './op.ts';
import { unbroadcast, unbroadcastReference } from './unbroadcast.ts';

const HELPERS = section(src, 'helpers');
const cached = kernelCache('elementwise');

/** An elementwise map's template (fused with its neighbours by the backend; see src/gpu/fusion.ts). */
function template(key: string, name: string, loads: readonly string[], lets: readonly (readonly [string, string])[], stores: readonly string[]) {
  return mapTemplate(key, () => ({ name, loads, lets, stores, helpers: HELPERS }));
}

/** A number operand: bound to `b` from the kernel's first parameter. */
const SCALAR_B = [['b', 'param(0u)']] as const;

// ---------- unary ----------

export interface UnaryAttrs {
  /** clamp's [min, max]; empty for the others. */
  readonly params?: readonly number[];
}

function defineUnary(e: UnaryEntry): OpDef<UnaryAttrs> {
  const params = (a: UnaryAttrs) => a.params ?? [];
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
      forward(k, [x], out, { attrs }) {
        const t = template(`${e.name}:f`, `${e.name}_forward`, ['x'], [], [e.wgsl]);
        k.map({ template: t, n: out.length, inputs: [x!], outputs: [out], params: params(attrs) });
      },
      backward(k, args) {
        const attrs = args.attrs;
        const saved = e.uses === 'x' ? args.inputs[0]! : e.uses === 'y' ? args.output! : null;
        const t = template(`${e.name}:b`, `${e.name}_backward`, saved ? ['g', e.uses] : ['g'], [], [e.grad]);
        const dx = k.alloc(`${e.name} backward`, args.shapes[0]!);
        k.map({ template: t, n: args.grad.length, inputs: saved ? [args.grad, saved] : [args.grad], outputs: [dx], params: params(attrs) });
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
  });
}

// ---------- binary (tensor, tensor) and (tensor, number) ----------

export interface ScalarAttrs {
  readonly scalar: number;
}

const needsA = (u: BinaryEntry['usesA']) => u === 'a' || u === 'ab';
const needsB = (u: BinaryEntry['usesA']) => u === 'b' || u === 'ab';

/** WGSL index expressions for reading a and b under broadcasting to outShape. */
function indexExprs(shapes: readonly Shape[], outShape: Shape): [string, string] {
  return [
    stridedOffset(outShape, broadcastStrides(shapes[0]!, outShape), 'i'),
    shapes[1] ? stridedOffset(outShape, broadcastStrides(shapes[1], outShape), 'i') : '',
  ];
}

function binaryBackwardGpu(e: BinaryEntry, k: GpuOps, args: BackwardArgs<unknown, GpuStorage>, scalar: number | undefined): (GpuStorage | null)[] {
  const { shapes, outShape, needs } = args;
  const n = sizeOf(outShape);
  const isScalar = scalar !== undefined;
  // A gradient that is g itself, in g's shape, is passed on without a kernel (add, sub's first input).
  const aliasA = needs[0]! && e.gradA === 'g' && sameShape(shapes[0]!, outShape);
  const aliasB = !isScalar && needs[1]! && e.gradB === 'g' && sameShape(shapes[1]!, outShape);
  const [wantA, wantB] = [needs[0]! && !aliasA, !isScalar && needs[1]! && !aliasB];
  if (!wantA && !wantB) return [aliasA ? k.retain(args.grad) : null, aliasB ? k.retain(args.grad) : null];
  const usesA = (wantA && needsA(e.usesA)) || (wantB && needsA(e.usesB));
  const usesB = !isScalar && ((wantA && needsB(e.usesA)) || (wantB && needsB(e.usesB)));
  // Same shapes (or a number operand): four elements per thread; broadcasting: one, with index math.
  const flat = isScalar || (sameShape(shapes[0]!, outShape) && sameShape(shapes[1]!, outShape));
  const da = wantA ? k.alloc(`${e.name} backward`, outShape) : null;
  const db = wantB ? k.alloc(`${e.name} backward`, outShape) : null;
  const ins = [args.grad, ...(usesA ? [args.inputs[0]!] : []), ...(usesB ? [args.inputs[1]!] : [])];
  const outs = [da, db].filter((s): s is GpuStorage => s !== null);
  const params = isScalar ? [scalar!] : [];
  const flags = `${+wantA}${+wantB}${+usesA}${+usesB}${+isScalar}`;
  const loads = ['g', ...(usesA ? ['a'] : []), ...(usesB ? ['b'] : [])];
  const stores = [...(wantA ? [e.gradA] : []), ...(wantB ? [e.gradB] : [])];
  if (flat) {
    const t = template(`${e.name}:b:${flags}`, `${e.name}_backward`, loads, isScalar ? SCALAR_B : [], stores);
    k.map({ template: t, n, inputs: ins, outputs: outs, params });
  } else {
    const key = `${e.name}:b:${shapes.map((s) => s.join('x')).join('|')}:${outShape.join('x')}:${flags}`;
    const wgsl = cached(key, () => {
      const [ia, ib] = indexExprs(shapes, outShape);
      const loadLines = [usesA ? `let a = a_[${ia}];` : '', usesB ? `let b = b_[${ib}];` : ''].join(' ');
      const storeLines = outs.map((_, j) => `${j === 0 && wantA ? 'da' : 'db'}[i] = ${stores[j]};`).join(' ');
      return wgslModule(
        { inputs: loads.map((l) => `${l}_`), outputs: [...(wantA ? ['da'] : []), ...(wantB ? ['db'] : [])], threads: n },
        HELPERS + fill(section(src, 'binary_backward'), { N: n, LOADS: loadLines, STORES: storeLines }),
      );
    });
    k.run({ name: `${e.name}_backward`, wgsl, threads: n, inputs: ins, outputs: outs, params });
  }
  return [
    aliasA ? k.retain(args.grad) : da && unbroadcast(k, da, outShape, shapes[0]!),
    aliasB ? k.retain(args.grad) : db && unbroadcast(k, db, outShape, shapes[1]!),
  ];
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
    saves: (needs) => ({
      inputs: [(needs[0]! && needsA(e.usesA)) || (needs[1]! && needsA(e.usesB)), (needs[0]! && needsB(e.usesA)) || (needs[1]! && needsB(e.usesB))],
      output: false,
    }),
    gpu: {
      forward(k, [a, b], out, { shapes, outShape }) {
        const n = out.length;
        if (sameShape(shapes[0]!, outShape) && sameShape(shapes[1]!, outShape)) {
          k.map({ template: template(`${e.name}:f`, `${e.name}_forward`, ['a', 'b'], [], [e.wgsl]), n, inputs: [a!, b!], outputs: [out] });
          return;
        }
        const wgsl = cached(`${e.name}:f:${shapes.map((s) => s.join('x')).join('|')}:${outShape.join('x')}`, () => {
          const [ia, ib] = indexExprs(shapes, outShape);
          return wgslModule(
            { inputs: ['a_', 'b_'], outputs: ['out'], threads: n },
            HELPERS + fill(section(src, 'binary_forward'), { N: n, IDX_A: ia, LOAD_B: `b_[${ib}]`, EXPR: e.wgsl }),
          );
        });
        k.run({ name: `${e.name}_forward`, wgsl, threads: n, inputs: [a!, b!], outputs: [out] });
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
      forward(k, [a], out, { attrs }) {
        const t = template(`${name}:f`, `${name}_forward`, ['a'], SCALAR_B, [e.wgsl]);
        k.map({ template: t, n: out.length, inputs: [a!], outputs: [out], params: [attrs.scalar] });
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

export const unaryOps = Object.fromEntries(UNARY.map((e) => [e.name, defineUnary(e)])) as Record<string, OpDef<UnaryAttrs>>;
export const binaryOps = Object.fromEntries(BINARY.map((e) => [e.name, defineBinary(e)])) as Record<string, OpDef<unknown>>;
export const binaryScalarOps = Object.fromEntries(BINARY.map((e) => [e.name, defineBinaryScalar(e)])) as Record<string, OpDef<ScalarAttrs>>;
