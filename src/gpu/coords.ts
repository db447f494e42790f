/**
 * Index arithmetic for the renderer: a node is evaluated at one WGSL u32 expression per axis, so
 * that a value's index names exactly the loop variables it depends on. Constants fold, which lets
 * an unrolled short loop (a row of K ≤ 16) give each element a literal index that every reader of
 * the same element shares, and lets a row's values (its max, its sum) hoist out of the loop over
 * the row's elements.
 */
import { isContiguous } from '../ir/expr.ts';
import { type Shape, stridesOf } from '../shape.ts';

/** An index into a node: one u32 expression per axis, plus the row-major linear index where it is already at hand. */
export interface Idx {
  readonly c: readonly string[];
  readonly lin?: string;
}

/** The value of a literal index (`12u`), null for anything else. */
export const num = (s: string): number | null => (/^\d+u$/.test(s) ? Number(s.slice(0, -1)) : null);
export const lit = (n: number): string => `${n}u`;

/**
 * Expressions known to be x · a + b (b < a, x ≥ 0 an index): what a row walk's indices look like
 * (o · K + j), so that dividing by K gives back o and the remainder j. Keyed by the text, and by
 * the names the renderer binds such texts to; reset per kernel (resetForms).
 */
interface Affine {
  readonly x: string;
  readonly a: number;
  readonly b: number;
}
const forms = new Map<string, Affine>();

/**
 * Index expressions as sums Σ coef · atom + k (u32 arithmetic wraps, so any such sum may be
 * reordered), where an atom is a name or a division: what lets two views that meet at one element
 * (x[1:] − x[:-1] read back through its gradient's pad) give the same text for the same element.
 */
interface Sum {
  readonly t: ReadonlyMap<string, number>;
  readonly k: number;
}
const sums = new Map<string, Sum>();

/** The coordinates delinearize made of a linear index: Σ c[k] · strides[k] = lin. */
interface Split {
  readonly lin: string;
  readonly c: readonly string[];
  readonly strides: readonly number[];
}
/** Each coordinate text, with the splits it is axis k of. */
const splitsOf = new Map<string, { split: Split; k: number }[]>();

/** Forgets the names of the previous kernel. */
export function resetForms(): void {
  forms.clear();
  sums.clear();
  splitsOf.clear();
}

/** Records that `name` stands for `code`. */
export function alias(name: string, code: string): void {
  const f = forms.get(code);
  if (f) forms.set(name, f);
  const sm = sums.get(code);
  if (sm) sums.set(name, sm);
  else if (num(code) === null) {
    // An atom: its sums are written in the text it names, so a split's coordinates match.
    sums.set(name, { t: new Map([[code, 1]]), k: 0 });
  }
  const sp = splitsOf.get(code);
  if (sp) splitsOf.set(name, sp);
}

function sumOf(s: string): Sum {
  const x = num(s);
  if (x !== null) return { t: new Map(), k: x };
  return sums.get(s) ?? { t: new Map([[s, 1]]), k: 0 };
}

function combine(a: Sum, b: Sum, scale: number): Sum {
  const t = new Map(a.t);
  for (const [atom, c] of b.t) {
    const v = (t.get(atom) ?? 0) + scale * c;
    if (v === 0) t.delete(atom);
    else t.set(atom, v);
  }
  return { t, k: a.k + scale * b.k };
}

/** Remembers what `code` sums to (returns it). */
function noted(code: string, sm: Sum): string {
  if (num(code) === null && !sums.has(code)) sums.set(code, sm);
  return code;
}

/** `a` − k (a coordinate shifted back by a pad), known to stay ≥ 0 where it is used. */
export function sub(a: string, k: number): string {
  const x = num(a);
  if (x !== null && x >= k) return lit(x - k);
  if (k === 0) return a;
  return noted(`(${a} - ${k}u)`, combine(sumOf(a), { t: new Map(), k: -k }, 1));
}

/**
 * The shortest text for a linear index: every full set of coordinates of one split (with matching
 * strides, times a common factor) folds back into its linear index, e.g. the coordinates
 * (i / 1536, i / 3 % 512, i % 3) of element i read at [i / 1536, i / 3 % 512 − 1 + 1, i % 3]
 * become i itself. `code` unchanged where nothing folds.
 */
function simplified(code: string): string {
  let sm = sumOf(code);
  let folded = false;
  for (let changed = true; changed; ) {
    changed = false;
    for (const atom of sm.t.keys()) {
      for (const { split, k } of splitsOf.get(atom) ?? []) {
        const f = sm.t.get(atom)! / split.strides[k]!;
        if (!Number.isInteger(f) || !split.c.every((c, j) => split.strides[j] === 0 || sm.t.get(c) === f * split.strides[j]!)) continue;
        const rest: Sum = { t: new Map(split.c.flatMap((c, j) => (split.strides[j] ? [[c, split.strides[j]!] as const] : []))), k: 0 };
        sm = combine(combine(sm, rest, -f), sumOf(split.lin), f);
        folded = changed = true;
        break;
      }
      if (changed) break;
    }
  }
  if (!folded) return code;
  const terms = [...sm.t].filter(([, c]) => c > 0);
  const minus = [...sm.t].filter(([, c]) => c < 0);
  let out = terms.length ? terms.map(([atom, c]) => mulText(atom, c)).reduce((a, b) => `(${a} + ${b})`) : '0u';
  if (sm.k > 0) out = out === '0u' ? lit(sm.k) : `(${out} + ${sm.k}u)`;
  for (const [atom, c] of minus) out = `(${out} - ${mulText(atom, -c)})`;
  if (sm.k < 0) out = `(${out} - ${-sm.k}u)`;
  return noted(out, sm);
}

// Atoms are written as their own text: a name bound to one may live in a scope that has closed.
const mulText = (atom: string, c: number) => (c === 1 ? atom : `${atom} * ${c}u`);

const formOf = (s: string): Affine => forms.get(s) ?? { x: s, a: 1, b: 0 };

function affine(x: string, a: number, b: number): string {
  const s = b === 0 ? mul(x, a) : `(${mul(x, a)} + ${b}u)`;
  if (a > 1 || b > 0) forms.set(s, { x, a, b });
  return s;
}

export function add(a: string, b: string): string {
  return noted(addText(a, b), combine(sumOf(a), sumOf(b), 1));
}

function addText(a: string, b: string): string {
  const x = num(a);
  const y = num(b);
  if (x !== null && y !== null) return lit(x + y);
  if (x === 0) return b;
  if (y === 0) return a;
  const f = y !== null ? formOf(a) : x !== null ? formOf(b) : null;
  const c = y ?? x;
  if (f && c !== null && f.b + c < f.a) return affine(f.x, f.a, f.b + c);
  return `(${a} + ${b})`;
}

export function mul(a: string, k: number): string {
  return noted(mulLin(a, k), combine({ t: new Map(), k: 0 }, sumOf(a), k));
}

function mulLin(a: string, k: number): string {
  const x = num(a);
  if (x !== null) return lit(x * k);
  if (k === 0) return '0u';
  if (k === 1) return a;
  const f = formOf(a);
  if (f.b === 0 && f.a > 1) return mul(f.x, f.a * k);
  const s = `${a} * ${k}u`;
  forms.set(s, { x: a, a: k, b: 0 });
  return s;
}

function div(a: string, k: number): string {
  const x = num(a);
  if (x !== null) return lit(Math.floor(x / k));
  if (k === 1) return a;
  const f = formOf(a);
  if (f.a % k === 0) return add(mul(f.x, f.a / k), lit(Math.floor(f.b / k)));
  if (k % f.a === 0 && f.a > 1) return div(f.x, k / f.a);
  return `(${a} / ${k}u)`;
}

function mod(a: string, k: number): string {
  const x = num(a);
  if (x !== null) return lit(x % k);
  if (k === 1) return '0u';
  const f = formOf(a);
  if (f.a % k === 0) return lit(f.b % k);
  if (k % f.a === 0 && f.a > 1) return add(mul(mod(f.x, k / f.a), f.a), lit(f.b));
  return `(${a} % ${k}u)`;
}

/** The coordinates of linear index `lin` (known to be below the shape's size) in `shape`. */
export function delinearize(lin: string, shape: Shape): Idx {
  const st = stridesOf(shape);
  const first = shape.findIndex((d) => d !== 1);
  // From the last axis outwards, each quotient divided by the next axis: (i / 3) / 512 and
  // (i / 3) % 512 share one division by 3 (i / 1536 was a second), and a power-of-two axis is a shift.
  const c: string[] = [];
  let q = lin;
  for (let k = shape.length - 1; k >= 0; k--) {
    const d = shape[k]!;
    c[k] = d === 1 ? '0u' : k === first ? q : mod(q, d);
    if (d !== 1 && k > first) q = div(q, d);
  }
  // Remembered only where every coordinate is an expression of its own: a literal one (a row's
  // unrolled element) folds through the affine forms above instead.
  const own = c.filter((_, k) => shape[k] !== 1);
  if (num(lin) === null && own.every((x) => num(x) === null && x !== lin) && new Set(own).size === own.length) {
    const split: Split = { lin, c, strides: shape.map((d, k) => (d === 1 ? 0 : st[k]!)) };
    c.forEach((x, k) => {
      if (shape[k] !== 1) splitsOf.set(x, [...(splitsOf.get(x) ?? []), { split, k }]);
    });
  }
  return { c, lin };
}

/** The row-major linear index of `idx` in `shape`. */
export function linearOf(idx: Idx, shape: Shape): string {
  if (idx.lin !== undefined) return idx.lin;
  const st = stridesOf(shape);
  return simplified(idx.c.reduce((acc, c, k) => (shape[k] === 1 ? acc : add(acc, mul(c, st[k]!))), '0u'));
}

/**
 * A view with its negative strides (flipped axes) turned positive: each such axis reads
 * coordinate n-1-c instead, from the element its base reaches at c = n-1. Every index the view
 * reads is then base + Σ c·|s| with each term ≥ 0, which u32 arithmetic can hold.
 */
export function unflip(shape: Shape, strides: readonly number[], base: number): { strides: number[]; base: number; flipped: boolean[] } {
  const flipped = strides.map((s, d) => s < 0 && shape[d]! > 1);
  return {
    strides: strides.map((s, d) => (flipped[d] ? -s : s)),
    base: strides.reduce((b, s, d) => (flipped[d] ? b + s * (shape[d]! - 1) : b), base),
    flipped,
  };
}

/** n-1-c for a coordinate c < n. */
function reversed(c: string, n: number): string {
  const x = num(c);
  return x !== null ? lit(n - 1 - x) : `(${n - 1}u - ${c})`;
}

/** How a view's axes step along its operand's axes: per view axis, the operand axis (-1: none) and the step in it; the base offset per operand axis. */
export interface ViewAxes {
  readonly k: readonly number[];
  readonly m: readonly number[];
  readonly off: readonly number[];
}

/**
 * The view (shape, strides, base) over an operand of shape `xs` axis by axis, where each of its
 * axes steps along one operand axis within that axis's bounds (permute, expand, slice, splitting
 * an axis); null where some axis crosses operand axes (merging them).
 */
export function viewAxes(shape: Shape, signed: readonly number[], base0: number, xs: Shape): ViewAxes | null {
  const { strides, base } = unflip(shape, signed, base0);
  const xst = stridesOf(xs);
  const off = xs.map((d, k) => Math.floor(base / xst[k]!) % d);
  const reach = [...off];
  const k: number[] = [];
  const m: number[] = [];
  for (let d = 0; d < shape.length; d++) {
    k.push(-1);
    m.push(0);
    if (shape[d] === 1 || strides[d] === 0) continue;
    const kk = xs.findIndex((x, j) => x > 1 && strides[d]! % xst[j]! === 0);
    if (kk < 0) return null;
    k[d] = kk;
    m[d] = strides[d]! / xst[kk]!;
    reach[kk]! += (shape[d]! - 1) * m[d]!;
    if (reach[kk]! >= xs[kk]!) return null;
  }
  return { k, m, off };
}

/** The index into a view's operand (of shape `xs`) for index `idx` into the view. */
export function viewIndex(idx0: Idx, shape: Shape, signed: readonly number[], base0: number, xs: Shape): Idx {
  const { strides, base, flipped } = unflip(shape, signed, base0);
  const idx = flipped.some(Boolean) ? { c: idx0.c.map((c, d) => (flipped[d] ? reversed(c, shape[d]!) : c)) } : idx0;
  const contiguous = base === 0 && isContiguous(shape, strides);
  const lin = contiguous && idx.lin !== undefined ? idx.lin : shape.reduce((acc, d, k) => (d === 1 ? acc : add(acc, mul(idx.c[k]!, strides[k]!))), lit(base));
  const axes = viewAxes(shape, strides, base, xs);
  if (!axes) return delinearize(lin, xs);
  const terms: string[][] = xs.map(() => []);
  axes.k.forEach((k, d) => {
    if (k >= 0) terms[k]!.push(mul(idx.c[d]!, axes.m[d]!));
  });
  return { c: xs.map((_, k) => terms[k]!.reduce(add, lit(axes.off[k]!))), lin: contiguous ? lin : undefined };
}
