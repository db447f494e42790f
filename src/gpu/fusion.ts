/**
 * Elementwise fusion. Elementwise kernels are not dispatched when an op asks for one: the backend
 * queues them here and emits them when something needs their results (another kernel, a read, a
 * submit). One emitted kernel computes the whole queued chain per element in registers and stores
 * only the values a tensor still holds, so N chained elementwise ops cost one dispatch and write no
 * intermediate that was disposed in the meantime. On a software adapter a dispatch costs about
 * 0.3 ms whatever its size, which is most of a small step; on a GPU, dispatches and memory
 * round trips are what small ops cost too.
 *
 * Safety: inputs read from outside the queue are retained until the emit, so their buffers cannot
 * be reused under the queued kernels; outputs are written only while their storage is alive, so a
 * buffer freed and handed to someone else is never written. Anything that is not a queued map
 * (run, read, flush) emits first, so the order of effects is the order of calls.
 */
import fusedWgsl from '../../shaders/fused.wgsl?raw';
import type { Shape } from '../shape.ts';
import type { GpuStorage, KernelRun, MapRun, MapTemplate } from './gpu-ops.ts';
import { MAX_PARAMS } from './quirks.ts';
import { fill, kernelCache, section, wgslModule } from './wgsl.ts';

/** Ops per fused kernel: bounds the shader's size (and its compile time). */
export const MAX_NODES = 32;

const templates = new Map<string, MapTemplate>();

/** The template for `key`, built once (the op's expressions never change for a key). */
export function mapTemplate(key: string, build: () => Omit<MapTemplate, 'id'>): MapTemplate {
  let t = templates.get(key);
  if (!t) {
    t = { ...build(), id: templates.size };
    templates.set(key, t);
  }
  return t;
}

/** A constant (param 0): fused into whatever elementwise chain reads it, e.g. the gradient seed of backward(). */
export const fillTemplate = (): MapTemplate => mapTemplate('fill', () => ({ name: 'fill', loads: [], lets: [], stores: ['param(0u)'], helpers: '' }));

/** What the fuser needs from the backend. */
export interface FusionHost {
  /** Records a kernel without emitting the queue first. */
  dispatch(k: KernelRun): void;
  alloc(op: string, shape: Shape): GpuStorage;
  retain(s: GpuStorage): GpuStorage;
  release(s: GpuStorage): void;
  /** Storage buffers one kernel may bind (maxStorageBuffersPerShaderStage). */
  readonly maxBindings: number;
}

interface Node {
  readonly t: MapTemplate;
  /** Per input: >= 0 an index into ext, < 0 the value ~ref. */
  readonly refs: readonly number[];
  /** Value index of each output. */
  readonly values: readonly number[];
  /** Where this node's params start in the queue's params. */
  readonly pb: number;
}

const cached = kernelCache('fused');
const MAIN = section(fusedWgsl, 'main');

export class Fuser {
  private nodes: Node[] = [];
  /** Inputs from outside the queue (retained). */
  private ext: GpuStorage[] = [];
  private extIndex = new Map<GpuStorage, number>();
  /** Storage of every queued output (held by its owners, not by the queue). */
  private values: GpuStorage[] = [];
  private valueIndex = new Map<GpuStorage, number>();
  private params: number[] = [];
  private n = 0;

  constructor(private readonly host: FusionHost) {}

  get pending(): boolean {
    return this.nodes.length > 0;
  }

  append(m: MapRun): void {
    const np = m.params?.length ?? 0;
    if (this.nodes.length && (m.n !== this.n || this.nodes.length >= MAX_NODES || this.params.length + np > MAX_PARAMS)) this.emit();
    this.n = m.n;
    const refs = m.inputs.map((s) => {
      const v = this.valueIndex.get(s);
      if (v !== undefined) return ~v;
      let e = this.extIndex.get(s);
      if (e === undefined) {
        e = this.ext.length;
        this.ext.push(this.host.retain(s));
        this.extIndex.set(s, e);
      }
      return e;
    });
    const values = m.outputs.map((s) => {
      this.valueIndex.set(s, this.values.length);
      return this.values.push(s) - 1;
    });
    this.nodes.push({ t: m.template, refs, values, pb: this.params.length });
    if (np) this.params.push(...m.params!);
  }

  /** Records the queued maps as few kernels as the binding limit allows. */
  emit(): void {
    if (!this.nodes.length) return;
    const { nodes, ext, values, params, n } = this;
    this.clear();
    const scratch: GpuStorage[] = [];
    try {
      const kept = live(nodes, values);
      if (kept.length) this.record(kept, ext, values, params, n, scratch);
    } finally {
      for (const s of ext) this.host.release(s);
      for (const s of scratch) this.host.release(s);
    }
  }

  /** Drops the queue without recording it (the device was lost or shut down), giving back what it held. */
  discard(): void {
    const ext = this.ext;
    this.clear();
    for (const s of ext) this.host.release(s);
  }

  private clear(): void {
    this.nodes = [];
    this.ext = [];
    this.extIndex = new Map();
    this.values = [];
    this.valueIndex = new Map();
    this.params = [];
  }

  private record(nodes: readonly Node[], ext: readonly GpuStorage[], values: readonly GpuStorage[], params: readonly number[], n: number, scratch: GpuStorage[]): void {
    const producer = new Int32Array(values.length).fill(-1);
    const lastUse = new Int32Array(values.length).fill(-1);
    nodes.forEach((node, i) => {
      for (const v of node.values) producer[v] = i;
      for (const r of node.refs) if (r < 0) lastUse[~r] = i;
    });
    const alive = (v: number) => values[v]!.refs > 0;
    /** Buffers a kernel over nodes[first..last] binds: outside inputs and earlier kernels' values, then its stores. */
    const plan = (first: number, last: number) => {
      const loads: number[] = [];
      const stores: number[] = [];
      for (let i = first; i <= last; i++) {
        for (const r of nodes[i]!.refs) if ((r >= 0 || producer[~r]! < first) && !loads.includes(r)) loads.push(r);
        for (const v of nodes[i]!.values) if (alive(v) || lastUse[v]! > last) stores.push(v);
      }
      return { loads, stores };
    };
    /** Where a value stored by an earlier kernel is read from. */
    const home = new Map<number, GpuStorage>();
    for (let first = 0; first < nodes.length; ) {
      let last = first;
      let p = plan(first, last);
      while (last + 1 < nodes.length) {
        const next = plan(first, last + 1);
        if (next.loads.length + next.stores.length > this.host.maxBindings) break;
        last++;
        p = next;
      }
      const outputs = p.stores.map((v) => {
        if (alive(v)) return values[v]!;
        const s = this.host.alloc('fused intermediate', [n]);
        scratch.push(s);
        return s;
      });
      p.stores.forEach((v, i) => {
        home.set(v, outputs[i]!);
      });
      const chunk = nodes.slice(first, last + 1);
      this.host.dispatch({
        name: chunk.length === 1 ? chunk[0]!.t.name : `fused(${chunk.map((c) => c.t.name).join('+')})`,
        wgsl: kernelSource(chunk, p.loads, p.stores, n),
        threads: Math.ceil(n / 4),
        inputs: p.loads.map((r) => (r >= 0 ? ext[r]! : home.get(~r)!)),
        outputs,
        params,
      });
      first = last + 1;
    }
  }
}

/** Nodes whose outputs something still needs: a live storage, or a later needed node's input. */
function live(nodes: readonly Node[], values: readonly GpuStorage[]): Node[] {
  const needed = new Uint8Array(values.length);
  const keep: Node[] = [];
  for (let i = nodes.length - 1; i >= 0; i--) {
    const node = nodes[i]!;
    if (!node.values.some((v) => needed[v] || values[v]!.refs > 0)) continue;
    for (const r of node.refs) if (r < 0) needed[~r] = 1;
    keep.push(node);
  }
  return keep.reverse();
}

/**
 * WGSL for one fused kernel. Bindings i0.. are `loads` (outside inputs, then values of earlier
 * kernels), o0.. are `stores`; v<k> are the chunk's values in order of definition. The key names
 * only the structure, so a training loop builds each string once.
 */
function kernelSource(chunk: readonly Node[], loads: readonly number[], stores: readonly number[], n: number): string {
  const local = new Map<number, number>();
  for (const node of chunk) for (const v of node.values) local.set(v, local.size);
  const arg = (r: number) => {
    const i = loads.indexOf(r);
    return i >= 0 ? `i${i}v[c]` : `v${local.get(~r)}`;
  };
  const key = `${n}|${loads.length}|${chunk.map((c) => `${c.t.id}@${c.pb}(${c.refs.map(arg).join(',')})`).join(';')}|${stores.map((v) => local.get(v)).join(',')}`;
  return cached(key, () => {
    const funcs = new Map<string, string>();
    const helpers = new Set<string>();
    const body: string[] = [];
    for (const { t, refs, values, pb } of chunk) {
      helpers.add(t.helpers);
      t.stores.forEach((expr, j) => {
        const fn = `f${t.id}_${j}`;
        if (!funcs.has(fn)) {
          const withBase = (e: string) => e.replace(/\bparam\(/g, 'param(pb + ');
          const lets = t.lets.map(([name, e]) => `let ${name} = ${withBase(e)}; `).join('');
          const args = ['pb: u32', ...t.loads.map((l) => `${l}: f32`)].join(', ');
          funcs.set(fn, `fn ${fn}(${args}) -> f32 { ${lets}return ${withBase(expr)}; }`);
        }
        body.push(`let v${local.get(values[j]!)} = ${fn}(${[`${pb}u`, ...refs.map(arg)].join(', ')});`);
      });
    }
    stores.forEach((v, k) => {
      body.push(`o${k}r[c] = v${local.get(v)};`);
    });
    const names = [...loads.map((_, i) => `i${i}`), ...stores.map((_, k) => `o${k}`)];
    const main = fill(MAIN, {
      QUADS: Math.ceil(n / 4),
      VLOADS: loads.map((_, i) => `let i${i}v = i${i}[q];`).join(' '),
      VDECLS: stores.map((_, k) => `var o${k}r: vec4<f32>;`).join(' '),
      BODY: body.join('\n    '),
      VSTORES: stores.map((_, k) => `o${k}[q] = o${k}r;`).join(' '),
    });
    return wgslModule(
      { inputs: loads.map((_, i) => `i${i}`), outputs: stores.map((_, k) => `o${k}`), types: Object.fromEntries(names.map((x) => [x, 'vec4<f32>'])), threads: Math.ceil(n / 4) },
      `${[...helpers].join('\n')}\n${[...funcs.values()].join('\n')}\n${main}`,
    );
  });
}
