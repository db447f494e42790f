/**
 * Assembling WGSL: shader files hold named sections with {{PLACEHOLDERS}}; this fills them with
 * validated integers or with code fragments from pixelgrad's own tables (never user text) and adds
 * the shared header: the parameter uniform, the storage bindings and the 2-D grid index.
 */
import { CPU_SIMD_LANES, CPU_WALK_WIDTH, WORKGROUP_SIZE, workgroupFor } from './quirks.ts';

/** Extracts `//# name` ... (up to the next `//#` marker) from a shader file. */
/* @__NO_SIDE_EFFECTS__ */
export function section(file: string, name: string): string {
  const start = file.indexOf(`//# ${name}\n`);
  if (start < 0) throw new Error(`internal: shader section "${name}" not found`);
  const from = start + name.length + 5;
  const end = file.indexOf('\n//# ', from);
  return file.slice(from, end < 0 ? undefined : end + 1);
}

export type TemplateValue = number | string;

/** Replaces {{KEY}}; numbers must be safe non-negative integers (they become WGSL literals). */
export function fill(src: string, vars: Record<string, TemplateValue>): string {
  const out = src.replace(/\{\{(\w+)\}\}/g, (_, key: string) => {
    const v = vars[key];
    if (v === undefined) throw new Error(`internal: shader placeholder {{${key}}} has no value`);
    if (typeof v === 'number' && !(Number.isSafeInteger(v) && v >= 0)) throw new Error(`internal: {{${key}}} = ${v} is not a valid index literal`);
    return String(v);
  });
  return out;
}

export interface Bindings {
  /** Read-only storage arrays, bound at 1..n in order. */
  readonly inputs: readonly string[];
  /** Read-write storage arrays, bound after the inputs. */
  readonly outputs: readonly string[];
  /** Element type of every binding, f32 unless given (vec4<f32> for vectorized kernels). */
  readonly types?: Readonly<Record<string, string>>;
  /**
   * Invocations the kernel runs, for a kernel whose threads share nothing: its workgroups shrink
   * to fit a small count (workgroupFor). Without it they are `width` wide.
   */
  readonly threads?: number;
  /**
   * The widest workgroup, WORKGROUP_SIZE unless given: a CPU adapter's summing walks use
   * CPU_WALK_WIDTH, so that few threads still make enough workgroups to spread over its cores.
   */
  readonly width?: number;
}

// component picks a vec4's component k with selects: SwiftShader indexes a vector by a run-time k
// through memory, even where k is a constant once param is inlined (tv's gradient and Adam pass,
// same page: 13.9 ms indexed, 12.6 with the selects).
const header = (wg: number) => `const WG: u32 = ${wg}u;
struct Params { v: array<vec4<f32>, 16> }
@group(0) @binding(0) var<uniform> params: Params;
fn component(v: vec4<f32>, k: u32) -> f32 { return select(select(v.x, v.y, k == 1u), select(v.z, v.w, k == 3u), k >= 2u); }
fn param(i: u32) -> f32 { return component(params.v[i >> 2u], i & 3u); }
fn linear_index(gid: vec3<u32>, nwg: vec3<u32>) -> u32 { return gid.x + gid.y * nwg.x * WG; }
`;

/** A complete WGSL module: header, bindings (in the order the bind group layout expects) and body. */
export function wgslModule(b: Bindings, body: string): string {
  const decl = (name: string, i: number, access: string) =>
    `@group(0) @binding(${i + 1}) var<storage, ${access}> ${name}: array<${b.types?.[name] ?? 'f32'}>;`;
  const lines = [
    ...b.inputs.map((n, i) => decl(n, i, 'read')),
    ...b.outputs.map((n, i) => decl(n, b.inputs.length + i, 'read_write')),
  ];
  const widest = b.width ?? WORKGROUP_SIZE;
  const wg = b.threads === undefined ? widest : Math.min(widest, workgroupFor(b.threads));
  return `${header(wg)}${lines.join('\n')}\n${body}`;
}

/** The workgroup width a wgslModule() text declares (what dispatches divide its threads by). */
export function workgroupSizeOf(wgsl: string): number {
  const m = /^const WG: u32 = (\d+)u;$/m.exec(wgsl);
  if (!m) throw new Error('internal: a kernel without the wgslModule header');
  return Number(m[1]);
}

/** Straight-line WGSL that maps a linear output index `i` to an offset in an input with the given strides. */
export function stridedOffset(outShape: readonly number[], strides: readonly number[], indexVar: string, base = 0): string {
  const parts: string[] = [];
  let contiguous = true;
  let expect = 1;
  for (let d = outShape.length - 1; d >= 0; d--) {
    if (outShape[d] === 1) continue;
    if (strides[d] !== expect) contiguous = false;
    expect *= outShape[d]!;
  }
  if (contiguous) return base ? `(${indexVar} + ${base}u)` : indexVar;
  let div = 1;
  for (let d = outShape.length - 1; d >= 0; d--) {
    const dim = outShape[d]!;
    const st = strides[d]!;
    if (dim !== 1 && st !== 0) {
      const coord = div === 1 ? `(${indexVar} % ${dim}u)` : `((${indexVar} / ${div}u) % ${dim}u)`;
      parts.push(st === 1 ? coord : `${coord} * ${st}u`);
    }
    div *= dim;
  }
  if (base) parts.push(`${base}u`);
  return parts.length ? `(${parts.join(' + ')})` : '0u';
}

/** Workgroup sizing for a kernel of T threads that walks with walkBounds: CPU_WALK_WIDTH wide when `chunked`, else as the caller's module already sizes it. */
export function walkSizing(T: number, chunked: boolean): Pick<Bindings, 'threads' | 'width'> {
  return chunked ? { threads: T, width: CPU_WALK_WIDTH } : {};
}

/** A thread count for walkBounds: on a CPU adapter (`chunked`), rounded up to whole SIMD groups once there is more than one group's worth. */
export function walkThreads(T: number, chunked: boolean): number {
  return chunked && T > CPU_SIMD_LANES ? CPU_SIMD_LANES * Math.ceil(T / CPU_SIMD_LANES) : T;
}

/** The bounds of a loop in which T threads share items [0, n): `for (var i = start; i < end; i += step)` after `setup`. */
export interface WalkBounds {
  readonly setup: string;
  readonly start: string;
  readonly end: string;
  readonly step: string;
}

/**
 * How thread `t` of T walks n items, each thread summing its own in registers. Grid stride on a
 * GPU (neighbouring threads take neighbouring items, so a warp's loads coalesce); with `chunked`
 * (CPU adapters) each CPU_SIMD_LANES-thread group streams one contiguous chunk, its lanes
 * interleaved in it (see CPU_SIMD_LANES). Either order is fixed by n and T: sums stay deterministic.
 * T not a multiple of the group width (walkThreads rounds it) keeps the grid stride. `n` is a u32
 * expression: the name of a size the kernel reads at run time (a parameter), or a literal.
 */
export function walkBounds(n: string, T: number, chunked: boolean, t = 't'): WalkBounds {
  if (!chunked || T % CPU_SIMD_LANES !== 0) return { setup: '', start: t, end: n, step: `${T}u` };
  const L = CPU_SIMD_LANES;
  return {
    setup: `let walk_per = ${L}u * ((${n} + ${T - 1}u) / ${T}u);\n  let walk_lo = (${t} / ${L}u) * walk_per;\n  let walk_hi = min(walk_lo + walk_per, ${n});`,
    start: `walk_lo + ${t} % ${L}u`,
    end: 'walk_hi',
    step: `${L}u`,
  };
}

/**
 * walkBounds for a row loop that carries values from one row to the next (src/gpu/row-vectors.ts's
 * sliding windows): on a CPU adapter (`chunked`) each thread walks one contiguous run, o advancing
 * by one; elsewhere null (a GPU's grid stride gives a thread no neighbouring rows).
 */
export function slidingBounds(n: string, T: number, chunked: boolean, t: string): WalkBounds | null {
  if (!chunked) return null;
  return { setup: `let walk_per = (${n} + ${T - 1}u) / ${T}u;\n  let walk_lo = ${t} * walk_per;\n  let walk_hi = min(walk_lo + walk_per, ${n});`, start: 'walk_lo', end: 'walk_hi', step: '1u' };
}

/** Least recently used first; at most MAX_KERNEL_SOURCES (a program whose shapes never repeat builds new ones forever). */
const kernelSources = new Map<string, string>();
export const MAX_KERNEL_SOURCES = 1024;

/**
 * WGSL built once per key, so the steady state builds no strings (and the pipeline cache, keyed
 * by the text, compiles nothing). Keys are namespaced by the op file that makes them.
 */
// Called at module level by every op file: the annotation lets bundles drop an unused op's cache.
/* @__NO_SIDE_EFFECTS__ */
export function kernelCache(namespace: string): (key: string, build: () => string) => string {
  return (key, build) => {
    const k = `${namespace}|${key}`;
    let s = kernelSources.get(k);
    if (s === undefined) {
      s = build();
      if (kernelSources.size >= MAX_KERNEL_SOURCES) kernelSources.delete(kernelSources.keys().next().value!);
    } else {
      kernelSources.delete(k);
    }
    kernelSources.set(k, s);
    return s;
  };
}

/** @internal Kernel sources held now (tests). */
export const kernelSourcesHeld = (): number => kernelSources.size;
