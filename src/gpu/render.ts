/**
 * The WGSL renderer: turns a kernel plan (src/gpu/schedule.ts) into a module. An expression node
 * is evaluated at a linear index, a WGSL u32 expression in the node's row-major order: views turn
 * it into their operand's index (reshape passes it through unchanged), a reduction loops over its
 * reduced elements, a map calls its template's function on its operands' values, and a stored
 * node or a source is a load. Each (node, index) is computed once per kernel, in the outermost
 * loop where everything it uses is defined, so loop-invariant work is hoisted out of reductions.
 */
import type { Expr, MapTemplate, ReduceExpr } from '../ir/expr.ts';
import type { GpuStorage, KernelRun } from './gpu-ops.ts';
import type { KernelPlan, Store } from './schedule.ts';
import { kernelCache, stridedOffset, walkBounds, walkSizing, wgslModule } from './wgsl.ts';

const cached = kernelCache('render');

interface Scope {
  readonly parent: Scope | null;
  readonly depth: number;
  readonly lines: string[];
  readonly cache: Map<string, string>;
}

// -inf through a var: a constant one is a compile error in WGSL.
const MAX_HELPERS = `fn is_nan(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u; }
fn neg_inf() -> f32 { var bits = 0xff800000u; return bitcast<f32>(bits); }`;
const INIT = { sum: '0.0', max: 'neg_inf()' } as const;
/** Reductions at least this long sum with compensation (a few more adds per element, no more loads). */
const KAHAN_MIN = 64;
/** max that propagates NaN, as PyTorch's does (WGSL's max may return either operand). */
const combine = (fn: 'sum' | 'max', acc: string, v: string) => (fn === 'sum' ? `${acc} + ${v}` : `select(max(${acc}, ${v}), ${acc} + ${v}, is_nan(${acc}) || is_nan(${v}))`);

/** A kernel's body being built: bindings, parameters, functions and scoped statements. */
class Body {
  readonly inputs: GpuStorage[] = [];
  private readonly inputIndex = new Map<GpuStorage, number>();
  readonly params: number[] = [];
  private readonly paramBase = new Map<readonly number[], number>();
  readonly funcs = new Map<string, string>();
  readonly helpers = new Set<string>();
  /** Quad kernels: vec4 loads of whole inputs, before the per-lane loop. */
  readonly hoisted = new Map<string, string>();
  /** The scope each named value or index variable is defined in. */
  private readonly scopeOf = new Map<string, Scope>();
  readonly root: Scope = { parent: null, depth: 0, lines: [], cache: new Map() };
  private count = 0;
  /** A structural key: the same plan shape renders the same text. */
  readonly key: string[] = [];

  constructor(
    private readonly quad: boolean,
    private readonly n: number,
    /** What the kernel writes: an assignment reads its target's old values through the same binding. */
    private readonly outputs: readonly GpuStorage[],
    private readonly loads: ReadonlyMap<Expr, GpuStorage>,
    private readonly replace: ReadonlyMap<Expr, Expr> | undefined,
    /** A reduction to render as this thread's walk over part of its elements. */
    private readonly walk?: { readonly node: ReduceExpr; readonly bounds: ReturnType<typeof walkBounds> },
  ) {}

  /** Declares an index variable or value in `scope`. */
  define(name: string, scope: Scope): void {
    this.scopeOf.set(name, scope);
  }

  private fresh(prefix: string): string {
    return `${prefix}${this.count++}`;
  }

  /** The deepest scope among those defining the identifiers in `code` (all on the current chain). */
  private placeOf(code: string, deepest: Scope = this.root): Scope {
    let best = deepest;
    for (const id of code.match(/\b[a-z]\w*\b/g) ?? []) {
      const s = this.scopeOf.get(id);
      if (s && s.depth > best.depth) best = s;
    }
    return best;
  }

  /** A simple name for an index expression (bound with let where it is not one already). */
  private name(code: string, scope: Scope): string {
    if (/^[a-z]\w*$/.test(code)) return code;
    const place = this.placeOf(code);
    const key = `@${code}`;
    for (let s: Scope | null = scope; s; s = s.parent) {
      const hit = s.cache.get(key);
      if (hit) return hit;
    }
    const v = this.fresh('x');
    place.lines.push(`let ${v} = ${code};`);
    place.cache.set(key, v);
    this.define(v, place);
    return v;
  }

  private bind(s: GpuStorage): number {
    let b = this.inputIndex.get(s);
    if (b === undefined) {
      b = this.inputs.length;
      this.inputs.push(s);
      this.inputIndex.set(s, b);
    }
    return b;
  }

  private load(s: GpuStorage, size: number, lin: string): string {
    const out = this.outputs.indexOf(s);
    const name = out >= 0 ? `o${out}` : `i${this.bind(s)}`;
    if (!this.quad) return `${name}[${lin}]`;
    if (lin === 'i' && size === this.n) {
      this.hoisted.set(name, `let ${name}q = ${name}[q];`);
      return `${name}q[c]`;
    }
    return `${name}[(${lin}) >> 2u][(${lin}) & 3u]`;
  }

  private func(t: MapTemplate, j: number): string {
    const fn = `f${t.id}_${j}`;
    if (!this.funcs.has(fn)) {
      const withBase = (e: string) => e.replace(/\bparam\(/g, 'param(pb + ');
      const lets = t.lets.map(([name, e]) => `let ${name} = ${withBase(e)}; `).join('');
      const args = ['pb: u32', ...t.loads.map((l) => `${l}: f32`)].join(', ');
      this.funcs.set(fn, `fn ${fn}(${args}) -> f32 { ${lets}return ${withBase(t.stores[j]!)}; }`);
      this.helpers.add(t.helpers);
    }
    return fn;
  }

  /** A value named in the scope where it can live, cached for the rest of that scope. */
  private emit(key: string, code: string, place: Scope): string {
    const v = this.fresh('v');
    place.lines.push(`let ${v} = ${code};`);
    place.cache.set(key, v);
    this.define(v, place);
    return v;
  }

  /** The value of `e` at linear index `lin`, computed in `scope` or an enclosing one. */
  eval(e0: Expr, lin: string, scope: Scope): string {
    const e = this.replace?.get(e0) ?? e0;
    const key = `${e.id}@${lin}`;
    for (let s: Scope | null = scope; s; s = s.parent) {
      const hit = s.cache.get(key);
      if (hit) return hit;
    }
    const stored = this.loads.get(e) ?? (e.op === 'src' ? (e.storage as GpuStorage) : undefined);
    if (stored) {
      const code = this.load(stored, e.size, lin);
      this.key.push(`L${code}`);
      return this.emit(key, code, this.placeOf(lin));
    }
    switch (e.op) {
      case 'map': {
        const args = e.inputs.map((x) => this.eval(x, lin, scope));
        // Keyed by the array: the outputs of one multi-output op share their parameters.
        let pb = this.paramBase.get(e.params);
        if (pb === undefined) {
          pb = this.params.length;
          this.params.push(...e.params);
          this.paramBase.set(e.params, pb);
        }
        this.key.push(`M${e.t.id}.${e.j}@${pb}`);
        const code = `${this.func(e.t, e.j)}(${[`${pb}u`, ...args].join(', ')})`;
        return this.emit(key, code, this.placeOf([lin, ...args].join(' ')));
      }
      case 'view': {
        this.key.push(`V${e.shape}:${e.strides}:${e.base}`);
        const inner = stridedOffset(e.shape, e.strides, this.name(lin, scope), e.base);
        return this.eval(e.x, inner, scope);
      }
      case 'reduce':
        return this.reduce(e, key, lin, scope);
    }
    throw new Error('internal: a src node without storage');
  }

  private reduce(e: ReduceExpr, key: string, lin: string, scope: Scope): string {
    this.key.push(`R${e.fn}${e.x.shape}:${e.axes}`);
    if (e.fn === 'max') this.helpers.add(MAX_HELPERS);
    const place = this.placeOf(lin);
    const xs = e.x.shape;
    const st: number[] = [];
    for (let d = xs.length - 1, acc = 1; d >= 0; d--) {
      st[d] = acc;
      acc *= xs[d]!;
    }
    const outer = stridedOffset(e.shape, e.shape.map((_, d) => (e.axes.includes(d) ? 0 : st[d]!)), this.name(lin, scope));
    const rShape = e.axes.map((a) => xs[a]!);
    const Rn = rShape.reduce((a, b) => a * b, 1);
    const acc = this.fresh('a');
    place.lines.push(`var ${acc}: f32 = ${INIT[e.fn]};`);
    this.define(acc, place);
    if (Rn > 0) {
      const r = this.fresh('r');
      const body: Scope = { parent: place, depth: place.depth + 1, lines: [], cache: new Map() };
      this.define(r, body);
      const base = outer === '0u' ? '' : `${this.name(outer, place)} + `;
      const v = this.eval(e.x, `${base}${stridedOffset(rShape, e.axes.map((a) => st[a]!), r)}`, body);
      const walked = this.walk?.node === e;
      if (e.fn === 'sum' && (walked || Rn >= KAHAN_MIN)) {
        // Compensated (Kahan) summation: 2^24 values of 0.1 come within 1e-6 of the exact sum.
        const comp = this.fresh('k');
        place.lines.push(`var ${comp}: f32 = 0.0;`);
        body.lines.push(`let ${comp}y = ${v} - ${comp};`, `let ${comp}t = ${acc} + ${comp}y;`, `${comp} = (${comp}t - ${acc}) - ${comp}y;`, `${acc} = ${comp}t;`);
      } else {
        body.lines.push(`${acc} = ${combine(e.fn, acc, v)};`);
      }
      const w = this.walk?.node === e ? this.walk.bounds : { setup: '', start: '0u', end: `${Rn}u`, step: '1u' };
      if (w.setup) place.lines.push(w.setup);
      place.lines.push(`for (var ${r} = ${w.start}; ${r} < ${w.end}; ${r} = ${r} + ${w.step}) {`, ...body.lines.map((l) => `  ${l}`), '}');
    }
    place.cache.set(key, acc);
    return acc;
  }

  /** Helpers, then one function per template output. */
  preamble(): string {
    return `${[...this.helpers].join('\n')}\n${[...this.funcs.values()].join('\n')}\n`;
  }
}

const indent = (lines: readonly string[], pad: string) => lines.map((l) => `${pad}${l}`).join('\n');

/** The kernel for a plan: WGSL (cached by its structure), bindings, parameters and thread count. */
export function render(plan: KernelPlan, isSoftware: boolean): KernelRun {
  switch (plan.kind) {
    case 'elementwise':
      return elementwise(plan.n, plan.stores, plan.loads);
    case 'rows':
      return rows(plan.store, plan.loads, plan.replace);
    case 'partials':
      return partials(plan, isSoftware);
  }
}

function kernelName(stores: readonly Store[], fallback: string): string {
  const names = new Set<string>();
  const seen = new Set<Expr>();
  const walk = (e: Expr) => {
    if (seen.has(e) || names.size > 4) return;
    seen.add(e);
    if (e.op === 'map') names.add(e.t.name);
    if (e.op === 'reduce') names.add(`${e.fn}_reduce`);
    if (e.op !== 'src') for (const c of e.op === 'map' ? e.inputs : [e.x]) walk(c);
  };
  for (const s of stores) walk(s.expr);
  if (!names.size) return fallback;
  return names.size === 1 ? [...names][0]! : `fused(${[...names].join('+')})`;
}

function elementwise(n: number, stores: readonly Store[], loads: ReadonlyMap<Expr, GpuStorage>): KernelRun {
  const outputs = stores.map((st) => st.storage);
  const b = new Body(true, n, outputs, loads, undefined);
  b.define('i', b.root);
  const values = stores.map((s) => b.eval(s.expr, 'i', b.root));
  const quads = Math.ceil(n / 4);
  const key = `ew|${n}|${b.key.join(',')}|${values.join(',')}|${[...b.hoisted.keys()]}`;
  const wgsl = cached(key, () => {
    const names = [...b.inputs.map((_, k) => `i${k}`), ...outputs.map((_, k) => `o${k}`)];
    const body = [
      '@compute @workgroup_size(WG)',
      'fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {',
      '  let q = linear_index(gid, nwg);',
      `  if (q >= ${quads}u) { return; }`,
      indent([...b.hoisted.values()], '  '),
      indent(outputs.map((_, k) => `var o${k}r: vec4<f32>;`), '  '),
      '  for (var c = 0u; c < 4u; c = c + 1u) {',
      '    let i = q * 4u + c;',
      indent(b.root.lines, '    '),
      indent(values.map((v, k) => `o${k}r[c] = ${v};`), '    '),
      '  }',
      indent(outputs.map((_, k) => `o${k}[q] = o${k}r;`), '  '),
      '}',
    ].join('\n');
    return wgslModule(
      { inputs: b.inputs.map((_, k) => `i${k}`), outputs: outputs.map((_, k) => `o${k}`), types: Object.fromEntries(names.map((x) => [x, 'vec4<f32>'])), threads: quads },
      b.preamble() + body,
    );
  });
  return { name: kernelName(stores, 'copy'), wgsl, threads: quads, inputs: b.inputs, outputs, params: b.params };
}

function rows(store: Store, loads: ReadonlyMap<Expr, GpuStorage>, replace?: ReadonlyMap<Expr, Expr>): KernelRun {
  const O = store.expr.size;
  const b = new Body(false, O, [store.storage], loads, replace);
  b.define('o', b.root);
  const v = b.eval(store.expr, 'o', b.root);
  const key = `rows|${O}|${b.key.join(',')}|${v}`;
  const wgsl = cached(key, () =>
    wgslModule(
      { inputs: b.inputs.map((_, k) => `i${k}`), outputs: ['o0'], threads: O },
      `${b.preamble()}@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let o = linear_index(gid, nwg);
  if (o >= ${O}u) { return; }
${indent(b.root.lines, '  ')}
  o0[o] = ${v};
}`,
    ),
  );
  return { name: kernelName([store], 'rows'), wgsl, threads: O, inputs: b.inputs, outputs: [store.storage], params: b.params };
}

function partials(plan: Extract<KernelPlan, { kind: 'partials' }>, isSoftware: boolean): KernelRun {
  const { reduce, P, chunked } = plan;
  const O = reduce.size;
  const Rn = reduce.x.size / Math.max(1, O);
  const innerReduced = reduce.axes.includes(reduce.x.shape.length - 1);
  const bounds = walkBounds(Rn, P, chunked, 'p');
  const b = new Body(false, O, [plan.partial], plan.loads, undefined, { node: reduce, bounds });
  b.define('o', b.root);
  b.define('p', b.root);
  const v = b.eval(reduce, 'o', b.root);
  const T = O * P;
  const key = `part|${O}|${P}|${+chunked}|${+innerReduced}|${b.key.join(',')}|${v}`;
  const wgsl = cached(key, () =>
    wgslModule(
      { inputs: b.inputs.map((_, k) => `i${k}`), outputs: ['o0'], threads: T, ...walkSizing(T, chunked && isSoftware) },
      `${b.preamble()}@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = linear_index(gid, nwg);
  if (t >= ${T}u) { return; }
  let o = ${innerReduced ? `t / ${P}u` : `t % ${O}u`};
  let p = ${innerReduced ? `t % ${P}u` : `t / ${O}u`};
${indent(b.root.lines, '  ')}
  o0[o * ${P}u + p] = ${v};
}`,
    ),
  );
  return { name: `${reduce.fn}_reduce`, wgsl, threads: T, inputs: b.inputs, outputs: [plan.partial], params: b.params };
}
