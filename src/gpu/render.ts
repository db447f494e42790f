/**
 * The WGSL renderer: turns a kernel plan (src/gpu/schedule.ts) into a module. An expression node
 * is evaluated at a linear index, a WGSL u32 expression in the node's row-major order: views turn
 * it into their operand's index (reshape passes it through unchanged), a reduction loops over its
 * reduced elements, a map calls its template's function on its operands' values, and a stored
 * node or a source is a load. Each (node, index) is computed once per kernel, in the outermost
 * loop where everything it uses is defined, so loop-invariant work is hoisted out of reductions.
 */
import { children, type Expr, type MapTemplate, type PadExpr, type ReduceExpr, reduce as reduceExpr, sameDims, src } from '../ir/expr.ts';
import { type GpuStorage, type KernelRun, sizeParams } from './gpu-ops.ts';
import type { KernelPlan, Store } from './schedule.ts';
import { add, alias, delinearize, type Idx, linearOf, lit, mul, num, resetForms, sub, viewIndex } from './coords.ts';
import { MAX_PARAMS, workgroupFor } from './quirks.ts';
import { slidingWindows, vectorizeRows } from './row-vectors.ts';
import { walkedForm } from './walks.ts';
import { kernelCache, section, slidingBounds, walkBounds, walkSizing, wgslModule } from './wgsl.ts';
import compensated from '../../shaders/compensated.wgsl?raw';
import indexing from '../../shaders/indexing.wgsl?raw';
import { around, type Shape } from '../shape.ts';

/**
 * 0 (a sum over nothing, a pad's outside), but not a 0 the shader compiler can see: one it can see
 * lets it fold 0 · x to 0 (SwiftShader does), where x = NaN or inf must give NaN, as in PyTorch.
 * The top bit of an array's length is 0 at run time and unknown when compiling.
 */
const OPAQUE_ZERO = 'bitcast<f32>(arrayLength(&o0) >> 31u)';
const cached = kernelCache('render');

interface Scope {
  readonly parent: Scope | null;
  readonly depth: number;
  readonly lines: string[];
  readonly cache: Map<string, string>;
}

// -inf through a var: a constant one is a compile error in WGSL.
const MAX_HELPERS = `fn neg_inf() -> f32 { var bits = 0xff800000u; return bitcast<f32>(bits); }`;
const INIT = { sum: '0.0', max: 'neg_inf()' } as const;
/** Kahan's correction term (shaders/compensated.wgsl), 0 once the running sum is infinite. */
const KAHAN_HELPERS = section(compensated, 'helpers');
/** An index value as an element of an axis of n: rounded and clamped, never a read out of bounds. */
const PICK = section(indexing, 'pick');

/** One compensated step: `acc` += v, with `comp` carrying what the float sum lost. */
const kahanStep = (acc: string, comp: string, v: string) => [
  `let ${comp}y = ${v} - ${comp};`,
  `let ${comp}t = ${acc} + ${comp}y;`,
  `${comp} = compensation(${comp}t, ${acc}, ${comp}y);`,
  `${acc} = ${comp}t;`,
];
/** Reductions at least this long sum with compensation (a few more adds per element, no more loads). */
const KAHAN_MIN = 64;
/**
 * Elements (a walk's rows) a compensated sum adds plainly before adding the block's sum to its
 * compensated total: a compensated step per row cost a third of a layers step (4 gradient outputs
 * and the loss, 64 rows a thread; 20 against 14 ms without compensation, same page, alternating;
 * 15 in blocks of 16), and 16 plain adds lose at most 15 roundings of the block's magnitude.
 */
const SUM_BLOCK = 16;
/**
 * Rows of a walk or elements of a sibling-sums pass summed plainly per block. Blocks of 16 rows
 * (4 iterations of four rows) left the loop and the compensated steps a fifth of a short walk;
 * S = 512, same page, alternating, medians of 16: `Y.matmul(c).sub(T).square().mean()` with SGD
 * (Y [3·S², 4]) 14.4 ms against 11.5 in blocks of 64 and 10.5 for the hand-fused colorMixLoss
 * step; the layers step from [K, S², 3] images 13.4 against 11.6 (fused 9.8); total variation's
 * sums pass 21.0 against 16.8. 64 plain adds of 0.1 are off by 6e-7 of their sum (256: 2.4e-6,
 * past the 1e-6 the reductions' edge tests ask of 2^24 of them).
 */
const ROW_SUM_BLOCK = 64;
/**
 * A walk whose row body is at most this many statements computes four rows an iteration: the loop's
 * own cost is a large share of a short body, and four rows of 1 or 3 elements are whole vec4s.
 * SwiftShader, same page, alternating, medians of 25, against the hand-fused colorMixLoss step:
 * `Y.matmul(c).sub(T)` (Y [3·S², 4], c [4, 1], 35 statements) with SGD at S = 512 went from 1.61x
 * to 1.37x; the layers step from [K, S², 3] images (about 100) went from 1.39x to 1.67x, and the
 * palette step (about 350) from 1.23x to 1.57x: long bodies lose to the registers four copies hold.
 */
const UNROLL_ROWS_MAX_LINES = 48;
/**
 * Rows of at most this many outputs: the scheduler's row-local reductions (src/gpu/schedule.ts)
 * are computed once per row by the kernels that read them, which compute whole rows.
 */
export const ROW_OUTPUTS = 4;
/**
 * A rows kernel computes a whole row of at most this many outputs a thread (ROW_OUTPUTS' rows
 * among them), so what the row's outputs share (a pixel's loads and the values computed from
 * them) is computed once per row. The demo's weights gradient with smoothness ([512, 512, 6],
 * its incoming gradient from the neighbours and from the mix of 3 channels), same page: 56 ms a
 * thread per output, 38 ms a thread per row...
 */
const ROW_GROUP_MAX = 8;
/** ...when that still leaves this many threads. */
const ROW_THREADS_MIN = 4096;
/**
 * A rows kernel whose row body is at most this many statements computes four rows a thread: its
 * rows of 3 outputs are then stored as whole vec4s, and what every row reads (a palette's colors)
 * is loaded once for four rows. SwiftShader, S = 512, medians of 10 in one page: `W.matmul(P)`
 * (W [S², 8], P [8, 3], 60 statements) 25.9 ms a row a thread, 11.1 four rows a thread (the
 * hand-fused colorMix: 11.0); `L.softmax(-1).matmul(P)` (115 statements) 19.1 against colorMix's
 * 19.0. Longer bodies are left at one row: four copies of a walk's 350 lost to its registers.
 */
const ROWS_UNROLL_MAX_LINES = 160;
/** Elements of a line one thread of a running sum adds: a 4096-long axis is two levels of 64. */
export const SCAN_CHUNK = 64;
/** Reductions at most this long are unrolled (and a row computes one it reads, src/gpu/schedule.ts rule 2). */
export const UNROLL = 16;
/**
 * max that propagates NaN, as PyTorch's does (WGSL's max may return either operand): a plain max
 * per element and the largest magnitude's bits beside it, made NaN once at the end. Half the
 * instructions of checking both operands at every element, which cost the plain-op palette step
 * (a row max of 8 per pixel) about 4% against the hand-fused step.
 */
const maxStep = (acc: string, v: string) => [`${acc} = max(${acc}, ${v});`, `${acc}n = max(${acc}n, bitcast<u32>(${v}) & 0x7fffffffu);`];
const maxEnd = (acc: string) => `${acc} = select(${acc}, bitcast<f32>(${acc}n), ${acc}n > 0x7f800000u);`;

/** A kernel's body being built: bindings, parameters, functions and scoped statements. */
class Body {
  readonly inputs: GpuStorage[] = [];
  private readonly inputIndex = new Map<GpuStorage, number>();
  /** Quad kernels: a second, scalar binding of an input read at other elements than the thread's own. */
  private readonly scalarIndex = new Map<GpuStorage, number>();
  readonly scalarInputs = new Set<number>();
  /** Whether scattered reads may take a scalar binding (only when the bindings fit). */
  scalarAliases = false;
  readonly params: number[] = [];
  readonly paramArrays: (readonly number[])[] = [];
  private readonly paramBase = new Map<readonly number[], number>();
  readonly funcs = new Map<string, string>();
  readonly helpers = new Set<string>();
  /** Quad kernels: vec4 loads of whole inputs, before the per-lane loop. */
  readonly hoisted = new Map<string, string>();
  /** The outputs (by index) read since the set was last cleared: a tail's sections need a barrier only around these. */
  readonly outputsRead = new Set<number>();
  /**
   * A count as WGSL read from a kernel parameter, so that kernels that differ only in it (a walk
   * over images of other sizes) are one text and share a pipeline; a literal past 2^24, which an
   * f32 parameter cannot hold exactly, or where the parameters are full. Called once the body is built.
   */
  size(n: number): string {
    if (n > 2 ** 24 || this.params.length >= MAX_PARAMS) return `${n}u`;
    const a = [n];
    sizeParams.add(a);
    this.paramArrays.push(a);
    this.params.push(n);
    return `u32(param(${this.params.length - 1}u))`;
  }
  /** The scope each named value or index variable is defined in. */
  private readonly scopeOf = new Map<string, Scope>();
  root: Scope = { parent: null, depth: 0, lines: [], cache: new Map() };
  private count = 0;
  /** A structural key: the same plan shape renders the same text. */
  readonly key: string[] = [];

  constructor(
    private readonly quad: boolean,
    private readonly n: number,
    /** What the kernel writes: an assignment reads its target's old values through the same binding. */
    private readonly outputs: readonly GpuStorage[],
    private loads: ReadonlyMap<Expr, GpuStorage>,
    private replace: ReadonlyMap<Expr, Expr> | undefined,
    /** A reduction to render as this thread's walk over part of its elements. */
    private readonly walk?: { readonly node: ReduceExpr; readonly bounds: ReturnType<typeof walkBounds> },
  ) {
    resetForms();
  }

  /** Starts a new section of a tail kernel: its own scope (nothing hoists above what runs before it), stored nodes and replacements. */
  section(loads: ReadonlyMap<Expr, GpuStorage>, replace: ReadonlyMap<Expr, Expr> | undefined): void {
    this.loads = loads;
    this.replace = replace;
    this.root = { parent: null, depth: 0, lines: [], cache: new Map() };
  }

  /** Node `e` at linear index variable `v` (declared in the root scope). */
  at(v: string, e: Expr): Idx {
    return this.atIn(v, e.shape, this.root);
  }

  /** Shape `shape` at linear index variable `v`, its coordinates named in `scope`. */
  atIn(v: string, shape: Shape, scope: Scope): Idx {
    return this.named(delinearize(v, shape), scope);
  }

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
    if (/^([a-z]\w*|\d+u)$/.test(code)) return code;
    const place = this.placeOf(code);
    const key = `@${code}`;
    for (let s: Scope | null = scope; s; s = s.parent) {
      const hit = s.cache.get(key);
      if (hit) return hit;
    }
    const v = this.fresh('x');
    alias(v, code);
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
    if (out >= 0) this.outputsRead.add(out);
    const name = out >= 0 ? `o${out}` : `i${this.bind(s)}`;
    if (!this.quad) return `${name}[${lin}]`;
    const lane = LANES.indexOf(lin);
    if (lane >= 0 && size === this.n) {
      this.hoisted.set(name, `let ${name}q = ${name}[q];`);
      return `${name}q.${'xyzw'[lane]}`;
    }
    // A constant step from the lane's element (a neighbour, x[1:] against x[:-1]): a component
    // of the vec4 that holds it, loaded once for all four lanes (tv's gradient read X at e ± 3
    // and e ± 1536 with 16 scalar loads per vec4). Outside the buffer (the edges, which a pad
    // masks) the load is clamped like the scalar one.
    const shifted = out < 0 ? /^\((e[0-3]) ([+-]) (\d+)u\)$/.exec(lin) : null;
    if (shifted) {
      const at = LANES.indexOf(shifted[1]!) + (shifted[2] === '+' ? 1 : -1) * Number(shifted[3]);
      const d = Math.floor(at / 4);
      const v = d === 0 ? `${name}q` : `${name}q${d < 0 ? 'm' : 'p'}${Math.abs(d)}`;
      this.hoisted.set(d === 0 ? name : v, d === 0 ? `let ${v} = ${name}[q];` : `let ${v} = ${name}[q ${d < 0 ? '-' : '+'} ${Math.abs(d)}u];`);
      return `${v}.${'xyzw'[at - 4 * d]}`;
    }
    if (out < 0 && this.scalarAliases) {
      // A scalar view of the same buffer: a vec4 component picked by a run-time index is slow (on
      // SwiftShader it goes through memory), a scalar load is one load.
      let k = this.scalarIndex.get(s);
      if (k === undefined) {
        k = this.inputs.length;
        this.inputs.push(s);
        this.scalarIndex.set(s, k);
        this.scalarInputs.add(k);
      }
      return `i${k}[${lin}]`;
    }
    return `component(${name}[(${lin}) >> 2u], (${lin}) & 3u)`;
  }

  /**
   * The function computing output `j` of a map, or, for 'all', every output as one vec4 (outputs
   * that share the template's lets compute them once).
   */
  private func(t: MapTemplate, j: number | 'all'): string {
    const fn = `f${t.id}_${j}`;
    if (!this.funcs.has(fn)) {
      const withBase = (e: string) => e.replace(/\bparam\(/g, 'param(pb + ');
      const lets = t.lets.map(([name, e]) => `let ${name} = ${withBase(e)}; `).join('');
      const args = ['pb: u32', ...t.loads.map((l) => `${l}: f32`)].join(', ');
      const result =
        j === 'all' ? `vec4<f32> { ${lets}return vec4<f32>(${[...t.stores.map(withBase), '0.0', '0.0', '0.0'].slice(0, 4).join(', ')}); }` : `f32 { ${lets}return ${withBase(t.stores[j]!)}; }`;
      this.funcs.set(fn, `fn ${fn}(${args}) -> ${result}`);
      this.helpers.add(t.helpers);
    }
    return fn;
  }

  /**
   * A value named in the scope where it can live, cached for the rest of that scope. Keyed by its
   * code as well: two nodes that compute the same thing (a source read twice through different
   * views that meet at one element, a per-lane value that is the same in every lane) share it.
   */
  private emit(key: string, code: string, place: Scope): string {
    const same = `=${code}`;
    for (let s: Scope | null = place; s; s = s.parent) {
      const hit = s.cache.get(same);
      if (hit) {
        place.cache.set(key, hit);
        return hit;
      }
    }
    const v = this.fresh('v');
    place.cache.set(same, v);
    place.lines.push(`let ${v} = ${code};`);
    place.cache.set(key, v);
    this.define(v, place);
    return v;
  }

  /** The value of `e` at index `idx`, computed in `scope` or an enclosing one. */
  eval(e0: Expr, idx: Idx, scope: Scope): string {
    const e = this.replace?.get(e0) ?? e0;
    const key = `${e.id}@${idx.c.join(',')}`;
    for (let s: Scope | null = scope; s; s = s.parent) {
      const hit = s.cache.get(key);
      if (hit) return hit;
    }
    const stored = this.loads.get(e) ?? (e.op === 'src' ? (e.storage as GpuStorage) : undefined);
    if (stored) {
      const lin = linearOf(idx, e.shape);
      const code = this.load(stored, e.size, lin);
      this.key.push(`L${code}`);
      return this.emit(key, code, this.placeOf(`${lin} ${idx.c.join(' ')}`));
    }
    switch (e.op) {
      case 'map': {
        const args = e.inputs.map((x) => this.eval(x, sameDims(x.shape, e.shape) ? idx : this.named(delinearize(this.name(linearOf(idx, e.shape), scope), x.shape), scope), scope));
        // Keyed by the array: the outputs of one multi-output op share their parameters.
        let pb = this.paramBase.get(e.params);
        if (pb === undefined) {
          pb = this.params.length;
          this.params.push(...e.params);
          this.paramArrays.push(e.params);
          this.paramBase.set(e.params, pb);
        }
        this.key.push(`M${e.t.id}.${e.j}@${pb}`);
        const call = (fn: string) => `${fn}(${[`${pb}u`, ...args].join(', ')})`;
        // A map's value depends on its arguments alone: where they are all outside a loop, so is it.
        const place = this.placeOf(args.join(' '));
        if (!jointOutputs(e.t)) return this.emit(key, call(this.func(e.t, e.j)), place);
        // The outputs of one op share its lets (an optimizer's update of param and state): computed
        // once as a vec4, which every output's node finds by its code.
        const all = this.emit(`${key}#all`, call(this.func(e.t, 'all')), place);
        return this.emit(key, `${all}.${'xyzw'[e.j]}`, place);
      }
      case 'view': {
        this.key.push(`V${e.shape}:${e.strides}:${e.base}`);
        return this.eval(e.x, this.named(viewIndex(idx, e.shape, e.strides, e.base, e.x.shape), scope), scope);
      }
      case 'pad':
        return this.pad(e, key, idx, scope);
      case 'iota': {
        this.key.push(`I${e.shape}:${e.axis}`);
        const c = idx.c[e.axis]!;
        return this.emit(key, `f32(${c})`, this.placeOf(c));
      }
      case 'reduce':
        return this.reduce(e, key, idx);
      case 'take': {
        const n = e.x.shape[e.axis]!;
        this.key.push(`T${e.axis}:${n}`);
        this.helpers.add(PICK);
        const v = this.eval(e.index, idx, scope);
        const c = idx.c.map((ci, d) => (d === e.axis ? `pick(${v}, ${n}u)` : ci));
        return this.eval(e.x, this.named({ c }, scope), scope);
      }
    }
    throw new Error('internal: a src node without storage');
  }

  /** `idx` with each compound coordinate bound to a name (its linear index is kept only if simple). */
  private named(idx: Idx, scope: Scope): Idx {
    return { c: idx.c.map((c) => this.name(c, scope)), lin: idx.lin !== undefined && /^([a-z]\w*|\d+u)$/.test(idx.lin) ? idx.lin : undefined };
  }

  /**
   * Zero outside the operand's window. The operand is evaluated at every index, inside or not
   * (u32 arithmetic wraps; bound-checked loads keep it in the buffer), and the select drops what
   * is outside: a branch would split a walk's straight-line code.
   */
  private pad(e: PadExpr, key: string, idx: Idx, scope: Scope): string {
    this.key.push(`P${e.shape}:${e.before}`);
    const xs = e.x.shape;
    const inside: string[] = [];
    const c = idx.c.map((ci, d) => {
      const b = e.before[d]!;
      if (b === 0 && xs[d] === e.shape[d]) return ci;
      const n = num(ci);
      if (n !== null) {
        if (n < b || n >= b + xs[d]!) inside.push('false');
        return lit(n >= b ? n - b : 0);
      }
      if (b > 0) inside.push(`${ci} >= ${b}u`);
      if (b + xs[d]! < e.shape[d]!) inside.push(`${ci} < ${b + xs[d]!}u`);
      return sub(ci, b);
    });
    if (inside.includes('false') || e.x.size === 0) return OPAQUE_ZERO;
    const v = this.eval(e.x, this.named({ c }, scope), scope);
    if (!inside.length) return v;
    return this.emit(key, `select(0.0, ${v}, ${inside.map((c) => `(${c})`).join(' & ')})`, this.placeOf([...idx.c, v].join(' ')));
  }

  private reduce(e: ReduceExpr, key: string, idx: Idx): string {
    this.key.push(`R${e.fn}${e.x.shape}:${e.axes}`);
    if (e.fn === 'max') this.helpers.add(MAX_HELPERS);
    const place = this.placeOf(idx.c.join(' '));
    const xs = e.x.shape;
    const rShape = e.axes.map((a) => xs[a]!);
    const Rn = rShape.reduce((a, b) => a * b, 1);
    const at = (r: Idx): Idx => ({ c: xs.map((_, d) => { const k = e.axes.indexOf(d); return k < 0 ? idx.c[d]! : r.c[k]!; }) });
    const acc = this.fresh('a');
    const init = Rn === 0 && e.fn === 'sum' ? OPAQUE_ZERO : INIT[e.fn];
    place.lines.push(`var ${acc}: f32 = ${init};`);
    if (e.fn === 'max') place.lines.push(`var ${acc}n: u32 = 0u;`);
    this.define(acc, place);
    const step = (v: string) => (e.fn === 'max' ? maxStep(acc, v) : [`${acc} = ${acc} + ${v};`]);
    const walked = this.walk?.node === e;
    if (!walked && Rn <= UNROLL) {
      // Unrolled: each element's index is a constant, so what it reads is shared with every other reader of that element.
      for (let r = 0; r < Rn; r++) place.lines.push(...step(this.eval(e.x, at(delinearize(lit(r), rShape)), place)));
    } else if (Rn > 0) {
      const r = this.fresh('r');
      const body: Scope = { parent: place, depth: place.depth + 1, lines: [], cache: new Map() };
      this.define(r, body);
      const v = this.eval(e.x, at(this.named(delinearize(r, rShape), body)), body);
      const w = walked ? this.walk!.bounds : { setup: '', start: '0u', end: `${Rn}u`, step: '1u' };
      if (w.setup) place.lines.push(w.setup);
      if (e.fn === 'sum' && (walked || Rn >= KAHAN_MIN)) {
        // Compensated (Kahan) summation of blocks of SUM_BLOCK plain sums: 2^24 values of 0.1
        // come within 1e-6 of the exact sum.
        const comp = this.fresh('k');
        place.lines.push(`var ${comp}: f32 = 0.0;`);
        this.helpers.add(KAHAN_HELPERS);
        body.lines.push(`${acc}b = ${acc}b + ${v};`);
        const span = mul(w.step, SUM_BLOCK);
        place.lines.push(
          `for (var ${r}b = ${w.start}; ${r}b < ${w.end}; ${r}b = ${r}b + ${span}) {`,
          `  var ${acc}b: f32 = 0.0;`,
          `  let ${r}e = min(${r}b + ${span}, ${w.end});`,
          `  for (var ${r} = ${r}b; ${r} < ${r}e; ${r} = ${r} + ${w.step}) {`,
          ...body.lines.map((l) => `    ${l}`),
          '  }',
          ...kahanStep(acc, comp, `${acc}b`).map((l) => `  ${l}`),
          '}',
        );
      } else {
        body.lines.push(...step(v));
        place.lines.push(`for (var ${r} = ${w.start}; ${r} < ${w.end}; ${r} = ${r} + ${w.step}) {`, ...body.lines.map((l) => `  ${l}`), '}');
      }
    }
    if (e.fn === 'max') place.lines.push(maxEnd(acc));
    place.cache.set(key, acc);
    return acc;
  }

  /** Helpers, then one function per template output. */
  preamble(): string {
    return `${[...this.helpers].join('\n')}\n${[...this.funcs.values()].join('\n')}\n`;
  }
}

/** The index variables of an elementwise kernel's four lanes (element q · 4 + lane). */
const LANES = ['e0', 'e1', 'e2', 'e3'];

const indent = (lines: readonly string[], pad: string) => lines.map((l) => `${pad}${l}`).join('\n');

/** Kernels with at most this many threads run back to back in one workgroup (a tail kernel). */
const TAIL_MAX = 1024;

/**
 * The kernels for a schedule's plans: consecutive small ones (the finishing passes of a walk, a
 * scalar loss, a small parameter's update) become one tail kernel, where a single workgroup runs
 * them in order with a storage barrier between them, when its bindings and parameters fit.
 */
export function renderAll(plans: readonly KernelPlan[], maxBindings: number): KernelRun[] {
  const out: KernelRun[] = [];
  let run: Extract<KernelPlan, { kind: 'rows' | 'elementwise' }>[] = [];
  const fits = (k: KernelRun) => k.inputs.length + k.outputs.length <= maxBindings && k.params!.length <= MAX_PARAMS;
  // Greedy: each tail takes the next small kernels while its bindings and parameters fit, so a
  // run too big for one tail (three parameters' Adam states) becomes a few tails, not a kernel each.
  const flush = () => {
    let group: typeof run = [];
    let merged: KernelRun | null = null;
    const emit = () => {
      if (merged) out.push(merged);
      else if (group.length) out.push(render(group[0]!, maxBindings));
    };
    for (const p of run) {
      const candidate = group.length ? tail([...group, p]) : null;
      if (!group.length || (candidate && fits(candidate))) {
        group.push(p);
        merged = candidate;
      } else {
        emit();
        group = [p];
        merged = null;
      }
    }
    emit();
    run = [];
  };
  // A storage written twice (steps queued back to back, a value then its update) starts a new
  // tail: the kernels keep the same shape however many steps a read lets queue up.
  const written = new Set<GpuStorage>();
  for (const p of plans) {
    const swaps = storesOf(p).flatMap((st) => (st.target ? [[st.target, st.storage] as const] : []));
    // A kernel after which a target takes its twin's buffer ends the tail: what follows must bind the new buffer.
    const small = !swaps.length && ((p.kind === 'rows' && p.store.expr.size <= TAIL_MAX) || (p.kind === 'elementwise' && p.n <= TAIL_MAX));
    if (small) {
      const writes = p.kind === 'rows' ? [p.store.storage] : p.stores.map((st) => st.storage);
      if (writes.some((w) => written.has(w))) {
        flush();
        written.clear();
      }
      for (const w of writes) written.add(w);
      run.push(p as Extract<KernelPlan, { kind: 'rows' | 'elementwise' }>);
    } else {
      written.clear();
      flush();
      const k = render(p, maxBindings);
      out.push(swaps.length ? { ...k, swaps } : k);
    }
  }
  flush();
  return out;
}

/** What a plan writes of the stored nodes (a partials pass writes none). */
function storesOf(p: KernelPlan): readonly Store[] {
  switch (p.kind) {
    case 'rows':
      return [p.store];
    case 'walk':
      return p.rows;
    case 'partials':
    case 'scan':
    case 'scatter':
      return [];
    default:
      return p.stores;
  }
}

function tail(parts: readonly Extract<KernelPlan, { kind: 'rows' | 'elementwise' }>[]): KernelRun {
  const outputs = [...new Set(parts.flatMap((p) => storesOf(p).map((st) => st.storage)))];
  const b = new Body(false, 0, outputs, new Map(), undefined);
  const T = Math.max(...parts.map((p) => (p.kind === 'rows' ? p.store.expr.size : p.n)));
  const sections: string[] = [];
  // A section waits for the ones before it (a barrier, ~0.2 ms a workgroup on a CPU adapter) only
  // where it reads what they wrote or writes what they read or wrote since the last barrier:
  // a step's independent sums and updates run back to back (tone's finishing kernels: 7 barriers, now 1).
  const [readSince, writtenSince] = [new Set<number>(), new Set<number>()];
  for (const p of parts) {
    b.section(p.loads, p.kind === 'rows' ? p.replace : undefined);
    b.outputsRead.clear();
    b.define('o', b.root);
    const stores = storesOf(p);
    const n = stores[0]!.expr.size;
    const values = stores.map((st) => b.eval(st.expr, b.at('o', st.expr), b.root));
    const writes = stores.map((st) => outputs.indexOf(st.storage));
    const reads = [...b.outputsRead].filter((k) => !writes.includes(k));
    if (reads.some((k) => writtenSince.has(k)) || writes.some((k) => readSince.has(k) || writtenSince.has(k))) {
      sections.push('storageBarrier();\nworkgroupBarrier();');
      readSince.clear();
      writtenSince.clear();
    }
    for (const k of reads) readSince.add(k);
    for (const k of writes) writtenSince.add(k);
    sections.push(
      [`for (var o = lid; o < ${n}u; o = o + WG) {`, indent(b.root.lines, '  '), indent(values.map((v, k) => `o${writes[k]}[o] = ${v};`), '  '), '}'].join('\n'),
    );
  }
  const key = `tail|${b.key.join(',')}|${sections.join('|')}`;
  const wgsl = cached(key, () =>
    wgslModule(
      { inputs: b.inputs.map((_, k) => `i${k}`), outputs: outputs.map((_, k) => `o${k}`), threads: T },
      `${b.preamble()}@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) lid: u32) {
${indent(sections.join('\n').split('\n'), '  ')}
}`,
    ),
  );
  const name = `tail(${parts.map((p) => kernelName(storesOf(p), 'copy')).join(',')})`;
  return { name, wgsl, threads: workgroupFor(T), inputs: b.inputs, outputs, params: b.params, paramArrays: b.paramArrays };
}

/** The kernel for a plan: WGSL (cached by its structure), bindings, parameters and thread count. */
export function render(plan: KernelPlan, maxBindings: number): KernelRun {
  switch (plan.kind) {
    case 'elementwise':
      return (plan.walkers && slidingElementwise(plan, plan.walkers)) || elementwise(plan.n, plan.stores, plan.loads, maxBindings);
    case 'rows':
      return rows(plan.store, plan.loads, plan.replace);
    case 'partials':
      return partials(plan);
    case 'siblings':
      return siblings(plan)!;
    case 'walk':
      return walk(plan);
    case 'scan':
      return scanKernel(plan);
    case 'scatter':
      return scatterKernel(plan);
  }
}

/**
 * A thread per value of a scatter, its index and value computed inline, added into the target's
 * copy where the index points. WGSL has no float atomics: a compare-exchange loop on the bits,
 * so threads that hit one element retry in turn and the order of the sum varies by run.
 */
function scatterKernel(plan: Extract<KernelPlan, { kind: 'scatter' }>): KernelRun {
  const e = plan.scatter;
  const T = e.index.size;
  const b = new Body(false, T, [plan.out], plan.loads, undefined);
  b.helpers.add(PICK);
  b.define('t', b.root);
  const idx = b.at('t', e.index);
  const where = b.eval(e.index, idx, b.root);
  const v = b.eval(e.values, idx, b.root);
  const c = idx.c.map((ci, d) => (d === e.axis ? `pick(${where}, ${e.shape[e.axis]}u)` : ci));
  const lines = [
    ...b.root.lines,
    `let at = ${linearOf({ c }, e.shape)};`,
    'var old = atomicLoad(&o0[at]);',
    'loop {',
    `  let r = atomicCompareExchangeWeak(&o0[at], old, bitcast<u32>(bitcast<f32>(old) + ${v}));`,
    '  if (r.exchanged) { break; }',
    '  old = r.old_value;',
    '}',
  ];
  return threadKernel('scatter_add', b, T, lines, plan.out, 'atomic<u32>');
}

/** A kernel of T threads (`t`) running `lines`, writing one output `o0` (of WGSL element type `type`). */
function threadKernel(name: string, b: Body, T: number, lines: readonly string[], out: GpuStorage, type = 'f32'): KernelRun {
  const key = `thread|${name}|${T}|${type}|${b.key.join(',')}|${lines.join(';')}`;
  const wgsl = cached(key, () =>
    wgslModule(
      { inputs: b.inputs.map((_, k) => `i${k}`), outputs: ['o0'], types: { o0: type }, threads: T },
      `${b.preamble()}@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = linear_index(gid, nwg);
  if (t >= ${T}u) { return; }
${indent(lines, '  ')}
}`,
    ),
  );
  return { name, wgsl, threads: T, inputs: b.inputs, outputs: [out], params: b.params, paramArrays: b.paramArrays };
}

/**
 * A running sum: a thread per chunk of a line (outer, inner), its operand computed inline at each
 * element, the sum compensated (Kahan: a 4096-long axis stays as accurate as a float64 sum rounded
 * once). It stores the chunk's total, or every running sum from the chunk's offset (the scanned
 * totals of the chunks before it).
 */
function scanKernel(plan: Extract<KernelPlan, { kind: 'scan' }>): KernelRun {
  const e = plan.scan;
  const [O, L, I] = around(e.shape, e.axis);
  const NC = Math.ceil(L / SCAN_CHUNK);
  const T = O * I * NC;
  const b = new Body(false, T, [plan.out], plan.loads, undefined);
  b.helpers.add(KAHAN_HELPERS);
  for (const v of ['t', 'c', 'first']) b.define(v, b.root);
  const offset = plan.offsets ? `select(0.0, ${b.eval(src(plan.offsets, [T]), { c: ['(max(t, 1u) - 1u)'] }, b.root)}, c > 0u)` : '0.0';
  const body: Scope = { parent: b.root, depth: 1, lines: [], cache: new Map() };
  for (const v of ['p', 'at']) b.define(v, body);
  body.lines.push(`let at = first + ${e.reverse ? `(${L - 1}u - p)` : 'p'} * ${I}u;`);
  const v = b.eval(e.x, b.atIn('at', e.shape, body), body);
  const step = [...kahanStep('s', 'k', v), ...(plan.totals ? [] : ['o0[at] = s;'])];
  const lines = [
    `let c = t % ${NC}u;`,
    `let first = (t / ${NC * I}u) * ${L * I}u + (t / ${NC}u) % ${I}u;`,
    ...b.root.lines,
    `var s: f32 = ${offset};`,
    'var k: f32 = 0.0;',
    `for (var p = c * ${SCAN_CHUNK}u; p < min(c * ${SCAN_CHUNK}u + ${SCAN_CHUNK}u, ${L}u); p = p + 1u) {`,
    indent([...body.lines, ...step], '  '),
    '}',
    ...(plan.totals ? ['o0[t] = s;'] : []),
  ];
  return threadKernel(plan.totals ? 'cumsum_totals' : 'cumsum', b, T, lines, plan.out);
}

/** Whether a map's outputs are computed together: they share lets, and fit one vec4. */
const jointOutputs = (t: MapTemplate): boolean => t.lets.length > 0 && t.stores.length > 1 && t.stores.length <= 4;

function kernelName(stores: readonly Store[], fallback: string): string {
  const names = new Set<string>();
  const seen = new Set<Expr>();
  const walk = (e: Expr) => {
    if (seen.has(e) || names.size > 4) return;
    seen.add(e);
    if (e.op === 'map') names.add(e.t.name);
    if (e.op === 'reduce') names.add(`${e.fn}_reduce`);
    if (e.op === 'take') names.add('take_along_axis');
    for (const c of children(e)) walk(c);
  };
  for (const s of stores) walk(s.expr);
  if (!names.size) return fallback;
  return names.size === 1 ? [...names][0]! : `fused(${[...names].join('+')})`;
}

function elementwise(n: number, stores: readonly Store[], loads: ReadonlyMap<Expr, GpuStorage>, maxBindings: number, aliases = true): KernelRun {
  const outputs = stores.map((st) => st.storage);
  const b = new Body(true, n, outputs, loads, undefined);
  b.scalarAliases = aliases;
  // The four lanes unrolled, each reading its component of the hoisted vec4 loads by a constant:
  // a lane loop picks components by a run-time index, which SwiftShader does through memory (an
  // Adam update at 786K elements: 16 ms a step with the loop).
  const values = LANES.map((lane, c) => {
    b.define(lane, b.root);
    b.root.lines.push(`let ${lane} = q * 4u + ${c}u;`);
    return stores.map((s) => b.eval(s.expr, b.at(lane, s.expr), b.root));
  });
  // Scalar bindings for scattered reads only where they fit; else vec4 components picked at run time.
  if (aliases && b.inputs.length + outputs.length > maxBindings) return elementwise(n, stores, loads, maxBindings, false);
  const quads = Math.ceil(n / 4);
  const bound = b.size(quads);
  const key = `ew|${n}|${b.params.length}|${b.key.join(',')}|${values.flat().join(',')}|${[...b.hoisted.keys()]}`;
  const wgsl = cached(key, () => {
    const names = [...b.inputs.map((_, k) => `i${k}`), ...outputs.map((_, k) => `o${k}`)];
    const body = [
      '@compute @workgroup_size(WG)',
      'fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {',
      '  let q = linear_index(gid, nwg);',
      `  if (q >= ${bound}) { return; }`,
      indent([...b.hoisted.values()], '  '),
      indent(b.root.lines, '  '),
      indent(outputs.map((_, k) => `o${k}[q] = vec4<f32>(${values.map((lane) => lane[k]).join(', ')});`), '  '),
      '}',
    ].join('\n');
    return wgslModule(
      { inputs: b.inputs.map((_, k) => `i${k}`), outputs: outputs.map((_, k) => `o${k}`), types: Object.fromEntries(names.map((x, k) => [x, b.scalarInputs.has(k) ? 'f32' : 'vec4<f32>'])), threads: quads },
      b.preamble() + body,
    );
  });
  return { name: kernelName(stores, 'copy'), wgsl, threads: quads, inputs: b.inputs, outputs, params: b.params, paramArrays: b.paramArrays };
}

function rows(store: Store, loads: ReadonlyMap<Expr, GpuStorage>, replace?: ReadonlyMap<Expr, Expr>): KernelRun {
  const O = store.expr.size;
  const shape = store.expr.shape;
  const C = shape[shape.length - 1] ?? 1;
  // A thread per row of a short last axis: what the row's outputs share (a pixel's weights, read
  // by each of its mix's channels) is loaded once, not once per output.
  const G = shape.length >= 2 && C > 1 && C <= ROW_GROUP_MAX && O / C >= ROW_THREADS_MIN ? C : 1;
  const b = new Body(false, O, [store.storage], loads, replace);
  // The row's own values in a scope of their own: what every row shares (a palette's colors) is
  // computed in the root scope, once per thread.
  const body: Scope = { parent: b.root, depth: 1, lines: [], cache: new Map() };
  b.define('o', body);
  const lead = b.atIn('o', shape.slice(0, -1), body).c;
  const values = Array.from({ length: G }, (_, j) => {
    const idx = G === 1 ? b.atIn('o', shape, body) : { c: [...lead, lit(j)], lin: add(mul('o', G), lit(j)) };
    return b.eval(store.expr, idx, body);
  });
  const R = O / G;
  const writes = G === 1 ? [`o0[o] = ${values[0]};`] : values.map((v, j) => `o0[${add(mul('o', G), lit(j))}] = ${v};`);
  // Rows read and written as vec4s where their layout allows (src/gpu/row-vectors.ts), four rows a
  // thread (see ROWS_UNROLL_MAX_LINES).
  const unroll = G > 1 && R % 4 === 0 && body.lines.length <= ROWS_UNROLL_MAX_LINES ? 4 : 1;
  const rowBody = vectorizeRows([...body.lines, ...writes], b.root.lines, [...b.inputs.map((_, k) => `i${k}`), 'o0'], unroll);
  const T = R / unroll;
  const bound = b.size(T);
  const key = `rows|${O}|${b.params.length}|${G}|${b.key.join(',')}|${b.root.lines.join(';')}|${rowBody.loop.join(';')}`;
  const wgsl = cached(key, () =>
    wgslModule(
      { inputs: b.inputs.map((_, k) => `i${k}`), outputs: ['o0'], types: Object.fromEntries(rowBody.vec4.map((x) => [x, 'vec4<f32>'])), threads: T },
      `${b.preamble()}@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let o = linear_index(gid, nwg);
  if (o >= ${bound}) { return; }
${indent([...b.root.lines, ...rowBody.loop], '  ')}
}`,
    ),
  );
  return { name: kernelName([store], 'rows'), wgsl, threads: T, inputs: b.inputs, outputs: [store.storage], params: b.params, paramArrays: b.paramArrays };
}

function partials(plan: Extract<KernelPlan, { kind: 'partials' }>): KernelRun {
  const { reduce, P, chunked } = plan;
  const O = reduce.size;
  const Rn = reduce.x.size / Math.max(1, O);
  const innerReduced = reduce.axes.includes(reduce.x.shape.length - 1);
  // The reduction's length is read at run time (Body.size), as walk_n, defined once it is known.
  const bounds = walkBounds('walk_n', P, chunked, 'p');
  const b = new Body(false, O, [plan.partial], plan.loads, undefined, { node: reduce, bounds });
  b.define('o', b.root);
  b.define('p', b.root);
  const v = b.eval(reduce, b.at('o', reduce), b.root);
  const length = b.size(Rn);
  const T = O * P;
  const key = `part|${O}|${b.params.length}|${P}|${+chunked}|${+innerReduced}|${b.key.join(',')}|${v}`;
  const wgsl = cached(key, () =>
    wgslModule(
      { inputs: b.inputs.map((_, k) => `i${k}`), outputs: ['o0'], threads: T, ...walkSizing(T, chunked) },
      `${b.preamble()}@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = linear_index(gid, nwg);
  if (t >= ${T}u) { return; }
  let o = ${innerReduced ? `t / ${P}u` : `t % ${O}u`};
  let p = ${innerReduced ? `t % ${P}u` : `t / ${O}u`};
  let walk_n = ${length};
${indent(b.root.lines, '  ')}
  o0[o * ${P}u + p] = ${v};
}`,
    ),
  );
  return { name: `${reduce.fn}_reduce`, wgsl, threads: T, inputs: b.inputs, outputs: [plan.partial], params: b.params, paramArrays: b.paramArrays };
}

/**
 * `lines` without the `let`s nothing after them reads: index arithmetic a load folded into a
 * simpler form leaves its own variables unread (tv's gradient left 12 of 53 statements). Dropped
 * before the statements are counted (rowsPerIteration) and copied four times.
 */
function live(lines: readonly string[]): string[] {
  const read = new Set<string>();
  const kept: string[] = [];
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = lines[i]!;
    const name = /^let (\w+) = /.exec(line)?.[1];
    if (name && !read.has(name)) continue;
    for (const id of line.slice(name ? name.length + 7 : 0).match(/\b[A-Za-z_]\w*/g) ?? []) read.add(id);
    kept.push(line);
  }
  return kept.reverse();
}

/**
 * Four rows an iteration for a short body without loops of its own (see UNROLL_ROWS_MAX_LINES;
 * rows holding a loop are long, and four copies of it load no vec4), else one.
 */
function rowsPerIteration(rows: number, lines: readonly string[]): 1 | 4 {
  return rows % 4 === 0 && lines.length <= UNROLL_ROWS_MAX_LINES && !lines.some((l) => l.startsWith('for ')) ? 4 : 1;
}

/**
 * The loop over a thread's rows o (a walk's rows, a sibling-sums pass's elements), `unroll` rows
 * an iteration; with block sums, the rows go in blocks of ROW_SUM_BLOCK, each summed plainly, the
 * blocks' sums compensated.
 */
function rowLoops(bounds: ReturnType<typeof walkBounds>, unroll: 1 | 4, body: readonly string[], blockInit: readonly string[], blockEnd: readonly string[]): string[] {
  const rowLoop = (start: string, end: string, lines: readonly string[]) => [`for (var o = ${start}; o < ${end}; o = o + ${bounds.step}) {`, ...lines.map((l) => `  ${l}`), '}'];
  if (!blockInit.length) return rowLoop(bounds.start, bounds.end, body);
  const { lines, grouped } = unroll === 4 ? iterationSums(body, blockInit) : { lines: body, grouped: false };
  // An iteration's four rows summed first: a block of ROW_SUM_BLOCK iterations then rounds as
  // often per element as ROW_SUM_BLOCK rows added one by one.
  const block = mul(bounds.step, grouped ? ROW_SUM_BLOCK : ROW_SUM_BLOCK / unroll);
  return [
    `for (var ob = ${bounds.start}; ob < ${bounds.end}; ob = ob + ${block}) {`,
    ...[...blockInit, `let oe = min(ob + ${block}, ${bounds.end});`, ...rowLoop('ob', 'oe', lines), ...blockEnd].map((l) => `  ${l}`),
    '}',
  ];
}

/**
 * An unrolled iteration's adds into each block sum (`acc = acc + v;`, one per row) made into a sum
 * of the iteration's rows, added to the block sum once: each row's value is still added as soon as
 * it is computed (short live ranges), and a block of ROW_SUM_BLOCK iterations needs a quarter of
 * the compensated steps and inner-loop restarts (total variation's sums pass at 512²: 14.8 → 13.5
 * ms, as fast as the pass without the loss's sums). `grouped` is false where some block sum is not
 * added to exactly once per row copy.
 */
function iterationSums(body: readonly string[], blockInit: readonly string[]): { lines: string[]; grouped: boolean } {
  const accs = blockInit.map((l) => /^var (\w+): f32/.exec(l)?.[1] ?? '');
  const at = accs.map((a) => body.flatMap((l, i) => (l.startsWith(`${a} = ${a} + `) ? [i] : [])));
  // (A sum inside a block would be declared where the other rows cannot see it.)
  if (body.some((l) => l.includes('{')) || at.some((is) => is.length !== 4)) return { lines: [...body], grouped: false };
  const lines = [...body];
  accs.forEach((a, k) => {
    at[k]!.forEach((i, j) => {
      const v = lines[i]!.slice(2 * a.length + 6, -1);
      lines[i] = (j ? `${a}q = ${a}q + ${v};` : `var ${a}q = ${v};`) + (j === 3 ? ` ${a} = ${a} + ${a}q;` : '');
    });
  });
  return { lines, grouped: true };
}

/**
 * A row loop's bounds and the windows it carries: each thread's rows contiguous where a binding's
 * vec4s slide from row to row (see slidingWindows), else walkBounds' order and no windows.
 */
function rowBounds(n: string, T: number, chunked: boolean, t: string, statements: readonly string[], outside: readonly string[], names: readonly string[], unroll: 1 | 4) {
  const sliding = slidingBounds(n, T, chunked, t);
  const windows = sliding ? slidingWindows(statements, outside, names, unroll) : [];
  return sliding && windows.length ? { ...sliding, windows } : { ...walkBounds(n, T, chunked, t), windows };
}

/** A sibling-sums pass, or an elementwise pass (no reduces, no partial) walked the same way. */
type SiblingsPass = Omit<Extract<KernelPlan, { kind: 'siblings' }>, 'partial'> & { readonly partial: GpuStorage | null };

/**
 * An elementwise plan walked as a sibling pass without sums, on a CPU adapter: each of P threads
 * takes a contiguous run of elements, so that neighbouring reads slide (tv's gradient and Adam
 * update in a step whose loss is unread: 19.1 ms as four elements a thread, 16.3 walked; best of
 * 8 in one test before and after). Null where no read slides: the plain kernel then.
 */
function slidingElementwise(plan: Extract<KernelPlan, { kind: 'elementwise' }>, P: number): KernelRun | null {
  return siblings({ kind: 'siblings', domain: [plan.n], reduces: [], stores: plan.stores, P, chunked: true, partial: null, loads: plan.loads }, true);
}

/**
 * Sibling sums (src/gpu/schedule.ts): thread p walks its part of the domain, evaluates each
 * reduction's operand at every element inside that operand's own shape, and keeps a plain sum
 * per block of SUM_BLOCK elements and a compensated total per reduction. With `onlySliding`,
 * null unless some read slides from one element to the next (slidingElementwise).
 */
function siblings(plan: SiblingsPass, onlySliding = false): KernelRun | null {
  const { domain, reduces, P, chunked } = plan;
  const n = domain.reduce((a, b) => a * b, 1);
  const first = plan.partial ? 1 : 0;
  const outputs = [...(plan.partial ? [plan.partial] : []), ...plan.stores.map((st) => st.storage)];
  const b = new Body(false, P, outputs, plan.loads, undefined);
  b.define('p', b.root);
  const body: Scope = { parent: b.root, depth: 1, lines: [], cache: new Map() };
  b.define('o', body);
  const at = b.atIn('o', domain, body);
  b.helpers.add(KAHAN_HELPERS);
  // Each sum takes its value as soon as it is computed, so that the value's register is free for
  // what follows: SwiftShader keeps every value until its last use (tv's pass with its loss: 15.3
  // ms with the sums after the gradient and update, 14.3 with each right after its value).
  reduces.forEach((red, k) => {
    const v = b.eval(red.x, at, body);
    const inside = red.x.shape.flatMap((d, i) => (d < domain[i]! ? [`(${at.c[i]} < ${d}u)`] : []));
    body.lines.push(`s${k}b = s${k}b + ${inside.length ? `select(0.0, ${v}, ${inside.join(' & ')})` : v};`);
  });
  const writes = plan.stores.map((st, k) => `o${first + k}[o] = ${b.eval(st.expr, { ...b.atIn('o', st.expr.shape, body), lin: 'o' }, body)};`);
  // Four elements an iteration where the body is short, so that contiguous reads and the stores
  // are vec4s (src/gpu/row-vectors.ts); the elements then walk in quads.
  const statements = live([...body.lines, ...writes]);
  const unroll = rowsPerIteration(n, statements);
  const accs = reduces.flatMap((_, k) => [`var s${k}: f32 = 0.0;`, `var s${k}k: f32 = 0.0;`]);
  const results = reduces.map((_, k) => `o0[${k * P}u + p] = s${k};`);
  const outside = [...accs, ...b.root.lines, ...results];
  const names = [...b.inputs.map((_, k) => `i${k}`), ...plan.stores.map((_, k) => `o${first + k}`)];
  const bounds = rowBounds('walk_n', P, chunked, 'p', statements, outside, names, unroll);
  if (onlySliding && !bounds.windows.length) return null;
  const rowBody = vectorizeRows(statements, outside, names, unroll, bounds);
  const blockInit = reduces.map((_, k) => `var s${k}b: f32 = 0.0;`);
  const blockEnd = reduces.flatMap((_, k) => kahanStep(`s${k}`, `s${k}k`, `s${k}b`));
  const lines = [...accs, ...b.root.lines, `let walk_n = ${b.size(n / unroll)};`, bounds.setup, ...rowBody.before, ...rowLoops(bounds, unroll, rowBody.loop, blockInit, blockEnd), ...results];
  const key = `sib|${domain}|${b.params.length}|${P}|${+chunked}|${b.key.join(',')}|${lines.join(';')}`;
  const wgsl = cached(key, () =>
    wgslModule(
      {
        inputs: b.inputs.map((_, k) => `i${k}`),
        outputs: outputs.map((_, k) => `o${k}`),
        types: Object.fromEntries(rowBody.vec4.map((x) => [x, 'vec4<f32>'])),
        threads: P,
        ...walkSizing(P, chunked),
      },
      `${b.preamble()}@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let p = linear_index(gid, nwg);
  if (p >= ${P}u) { return; }
${indent(lines, '  ')}
}`,
    ),
  );
  const sums = `sums(${kernelName(reduces.map((expr) => ({ expr, storage: outputs[0]! })), 'sum').replace(/^fused\((.*)\)$/, '$1')})`;
  const name = [...(reduces.length ? [sums] : []), ...(plan.stores.length ? [kernelName(plan.stores, 'copy')] : [])].join('+');
  return { name, wgsl, threads: P, inputs: b.inputs, outputs, params: b.params, paramArrays: b.paramArrays };
}

/**
 * The elements a walk that only sums walks instead of its rows, or 0: when every sum covers the
 * walked axis and every axis after it (a weighted sum of K images [K, S², 3] and its weights'
 * gradient, summed over pixels and channels), element o of those axes is a row of one, whose
 * contiguous reads four an iteration make vec4s; rows of a pixel's 3 channels are not. 0 where
 * the sums differ in those elements or where the walk also stores rows.
 */
function flatElements(plan: Extract<KernelPlan, { kind: 'walk' }>, partials: Extract<KernelPlan, { kind: 'walk' }>['partials']): number {
  if (plan.rows.length) return 0;
  const sizes = partials.map(({ reduce: r, axis }) => {
    const tail = r.x.shape.length - axis;
    return r.fn === 'sum' && r.axes.length === tail && r.axes.every((a, i) => a === axis + i) ? r.x.shape.slice(axis).reduce((m, d) => m * d, 1) : 0;
  });
  return sizes.every((m) => m > 0 && m === sizes[0]) ? sizes[0]! : 0;
}

/**
 * A walk (src/gpu/walks.ts): thread t walks its rows o; per row it computes every row store's
 * elements and every reduction's contribution (unrolled, so a row's shared values are computed
 * once), then writes the row: all of a row's reads come before its writes, which is what lets an
 * in-place update of the walked rows live here.
 */
function walk(plan: Extract<KernelPlan, { kind: 'walk' }>): KernelRun {
  const { N, P, chunked } = plan;
  const outputs = [...plan.rows.map((st) => st.storage), plan.partial];
  const b = new Body(false, N, outputs, plan.loads, undefined);
  b.define('t', b.root);
  const body: Scope = { parent: b.root, depth: 1, lines: [], cache: new Map() };
  b.define('o', body);
  const writes: string[] = [];
  const accs: string[] = [];
  const results: string[] = [];
  /** Sums: a block's plain partial sums, set up before it and added (compensated) after it. */
  const blockInit: string[] = [];
  const blockEnd: string[] = [];
  // Each reduction as the walk reads it (a loss over an [H, W, 3] image as [H·W, 3]).
  const partials = plan.partials.map((p) => {
    const w = walkedForm(p.reduce, p.axis, N);
    return { reduce: w.r, axis: w.axis, offset: p.offset };
  });
  const M = flatElements(plan, partials);
  // Each partial sum takes its value as soon as it is computed, as the sibling sums do (see siblings).
  partials.forEach(({ reduce, axis, offset }, k) => {
    const other = reduce.axes.filter((a) => a !== axis);
    const row = reduceExpr(reduce.fn, reduce.x, other);
    const rowShape = reduce.shape.map((d, a) => (a === axis ? N : d));
    const tail = M ? b.atIn('o', reduce.x.shape.slice(axis), body).c : [];
    for (let q = 0; q < reduce.size; q++) {
      const c = delinearize(lit(q), reduce.shape).c.map((x, a) => (a === axis ? 'o' : x));
      // Flat: element o of the walked axis and those after it, after output q's leading coordinates.
      const v = M
        ? b.eval(reduce.x, { c: [...c.slice(0, axis), ...tail], lin: q ? add(lit(q * M), 'o') : 'o' }, body)
        : b.eval(row, { c, lin: linearOf({ c }, rowShape) }, body);
      const acc = `p${k}_${q}`;
      accs.push(`var ${acc}: f32 = ${reduce.fn === 'sum' ? '0.0' : 'neg_inf()'};`);
      if (reduce.fn === 'sum') {
        // Compensated across blocks of rows: a walk sums up to N / P rows per thread.
        accs.push(`var ${acc}k: f32 = 0.0;`);
        b.helpers.add(KAHAN_HELPERS);
        blockInit.push(`var ${acc}b: f32 = 0.0;`);
        body.lines.push(`${acc}b = ${acc}b + ${v};`);
        blockEnd.push(...kahanStep(acc, `${acc}k`, `${acc}b`));
      } else {
        b.helpers.add(MAX_HELPERS);
        accs.push(`var ${acc}n: u32 = 0u;`);
        body.lines.push(...maxStep(acc, v));
        results.push(maxEnd(acc));
      }
      results.push(`o${plan.rows.length}[${offset + q * P}u + t] = ${acc};`);
    }
  });
  plan.rows.forEach((st, k) => {
    const R = st.expr.size / N;
    // Axis 0 holds B rows' worth of each row's elements.
    const B = st.expr.shape[0]! / N;
    const rest = [B, ...st.expr.shape.slice(1)];
    for (let j = 0; j < R; j++) {
      const within = delinearize(lit(j), rest).c;
      const c = [add(mul('o', B), within[0]!), ...within.slice(1)];
      const lin = add(mul('o', R), lit(j));
      writes.push(`o${k}[${lin}] = ${b.eval(st.expr, { c, lin }, body)};`);
    }
  });
  // (Four copies of an image row's loop left three of four threads without rows in a TV loss's walk.)
  const statements = live([...body.lines, ...writes]);
  const unroll = rowsPerIteration(M || N, statements);
  // The row count is a parameter (Body.size): what else the rows read is indexed from o alone.
  b.root.lines.push(`let walk_n = ${b.size((M || N) / unroll)};`);
  const outside = [...accs, ...b.root.lines, ...results];
  const bindings = [...b.inputs.map((_, k) => `i${k}`), ...plan.rows.map((_, k) => `o${k}`)];
  const bounds = rowBounds('walk_n', P, chunked, 't', statements, outside, bindings, unroll);
  const rowBody = vectorizeRows(statements, outside, bindings, unroll, bounds);
  const loop = [...rowBody.before, ...rowLoops(bounds, unroll, rowBody.loop, blockInit, blockEnd)];
  const key = `walk|${N}|${b.params.length}|${M}|${P}|${+chunked}|${b.key.join(',')}|${loop.join(';')}|${results.join(';')}`;
  const wgsl = cached(key, () =>
    wgslModule(
      { inputs: b.inputs.map((_, k) => `i${k}`), outputs: outputs.map((_, k) => `o${k}`), types: Object.fromEntries(rowBody.vec4.map((x) => [x, 'vec4<f32>'])), threads: P, ...walkSizing(P, chunked) },
      `${b.preamble()}@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = linear_index(gid, nwg);
  if (t >= ${P}u) { return; }
${indent([...accs, ...b.root.lines], '  ')}
  ${bounds.setup}
${indent(loop, '  ')}
${indent(results, '  ')}
}`,
    ),
  );
  const names = new Set([...plan.rows.map((st) => st.expr), ...plan.partials.map((x) => x.reduce)]);
  return { name: `walk(${kernelName([...names].map((expr) => ({ expr, storage: outputs[0]! })), '').replace(/^fused\((.*)\)$/, '$1')})`, wgsl, threads: P, inputs: b.inputs, outputs, params: b.params, paramArrays: b.paramArrays };
}
