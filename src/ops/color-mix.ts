/**
 * colorMix: per-pixel mixing of a palette, out[..., c] = Σ_k w[..., k]·palette[k, c]. One fused
 * forward kernel; one fused backward kernel giving both gradients (the palette's as per-thread
 * partial sums, reduced deterministically by a small second pass, gpuReduce). K and C are baked
 * in and the per-pixel arithmetic unrolled; palettes with K·C above UNROLLED_KC use loop kernels.
 */
import type { GpuOps, GpuStorage } from '../gpu/gpu-ops.ts';
import { fill, kernelCache, section, walkBounds, walkSizing, walkThreads, wgslModule } from '../gpu/wgsl.ts';
import { ShapeError } from '../errors.ts';
import { checkBool, checkOptions } from '../validate.ts';
import { CPU_WALK_ITEMS, WORKGROUP_SIZE } from '../gpu/quirks.ts';
import { fmt, type Shape, sizeOf } from '../shape.ts';
import { apply, type Tensor } from '../tensor.ts';
import src from '../../shaders/color_mix.wgsl?raw';
import { defineOp } from './op.ts';
import { gpuReduce } from './reduce.ts';
import { softmaxOp } from './softmax.ts';

export interface ColorMixAttrs {
  /** The weights are logits: mix with softmax(weights) over the last axis, fused into both kernels. */
  readonly softmax?: boolean;
}

/**
 * Largest K·C with fully unrolled kernels (K·C accumulators per thread, 4·K·C-term code): K ≤ 16
 * at C = 4. Beyond it register pressure and compile time grow fast (on SwiftShader, K·C = 64
 * compiles in ~0.8 s, 256 in ~6 s, 1024 in over a minute), so plain loop kernels take over.
 */
export const UNROLLED_KC = 64;
/** Threads of the looped palette-gradient kernel. */
const LOOP_DP_THREADS = 65536;
/** Pixel groups (of 4) each backward thread sums before writing its palette partials. */
const GROUPS_PER_THREAD = 16;
/** Enough threads to fill a large GPU; the partials stay a few percent of the traffic. */
const MAX_BACKWARD_THREADS = 65536;
/** Palette partials (floats) at most: 16 MiB, far below any binding limit. */
const MAX_PARTIALS = 1 << 22;

const cached = kernelCache('colorMix');

/** Lane `flat` of the vec4 locals name0, name1, ...: element `flat` of the group's data. */
export const lane = (name: string, flat: number) => `${name}${flat >> 2}.${'xyzw'[flat & 3]}`;
export const sum = (terms: string[]) => (terms.length ? terms.join(' + ') : '0.0');
export const vec4s = (floats: number) => Math.ceil(floats / 4);
export const indent = (lines: string[]) => lines.map((l) => `    ${l}`).join('\n');

/** The palette as vec4 locals pv0, pv1, ... (K·C/4 loads rather than K·C); entry [k, c] is pal(k, c). */
export function paletteLoads(K: number, C: number): string {
  return Array.from({ length: vec4s(K * C) }, (_, m) => `  let pv${m} = pal[${m}u];`).join('\n');
}
export const pal = (k: number, c: number, C: number) => lane('pv', k * C + c);

/**
 * With softmax weights, per-pixel softmax of the loaded logits as scalar locals sw{q}_{k}
 * (max-subtracted); returns the accessor for weight k of pixel q.
 */
export function weightsOf(K: number, valid: number, softmax: boolean, lines: string[]): (q: number, k: number) => string {
  if (!softmax) return (q, k) => lane('w', q * K + k);
  const ks = Array.from({ length: K }, (_, k) => k);
  for (let q = 0; q < valid; q++) {
    const x = (k: number) => lane('w', q * K + k);
    lines.push(`let mx${q} = ${ks.slice(1).reduce((acc, k) => `max(${acc}, ${x(k)})`, x(0))};`);
    for (const k of ks) lines.push(`let e${q}_${k} = exp(${x(k)} - mx${q});`);
    lines.push(`let is${q} = 1.0 / (${ks.map((k) => `e${q}_${k}`).join(' + ')});`);
    for (const k of ks) lines.push(`let sw${q}_${k} = e${q}_${k} * is${q};`);
  }
  return (q, k) => `sw${q}_${k}`;
}

/** Forward over a group of `valid` (1-4) pixels starting at pixel 4·gi. */
function forwardGroup(K: number, C: number, valid: number, softmax: boolean): string {
  if (valid === 0) return '';
  const lines = [`let wb = gi * ${K}u;`, `let ob = gi * ${C}u;`];
  for (let m = 0; m < vec4s(valid * K); m++) lines.push(`let w${m} = wv[wb + ${m}u];`);
  const wAt = weightsOf(K, valid, softmax, lines);
  for (let m = 0; m < vec4s(valid * C); m++) {
    const lanes = [0, 1, 2, 3].map((i) => {
      const j = 4 * m + i;
      if (j >= valid * C) return '0.0';
      const q = Math.floor(j / C);
      const c = j % C;
      return sum(Array.from({ length: K }, (_, k) => `${wAt(q, k)} * ${pal(k, c, C)}`));
    });
    lines.push(`out[ob + ${m}u] = vec4<f32>(${lanes.join(', ')});`);
  }
  return indent(lines);
}

/**
 * Backward over a group of `valid` pixels: dW stores and/or palette accumulation. With softmax
 * weights, dW is taken through the softmax in registers: dL = sw·(dW − Σ_k dW·sw).
 */
function backwardGroup(K: number, C: number, valid: number, needW: boolean, needP: boolean, softmax: boolean): string {
  if (valid === 0) return '';
  const lines = [`let gb = gi * ${C}u;`, `let wb = gi * ${K}u;`];
  for (let m = 0; m < vec4s(valid * C); m++) lines.push(`let g${m} = gv[gb + ${m}u];`);
  if (needP || softmax) for (let m = 0; m < vec4s(valid * K); m++) lines.push(`let w${m} = wv[wb + ${m}u];`);
  const wAt = weightsOf(K, valid, softmax, lines);
  if (needW) {
    const dMix = (q: number, k: number) => sum(Array.from({ length: C }, (_, c) => `${lane('g', q * C + c)} * ${pal(k, c, C)}`));
    let dAt = dMix;
    if (softmax) {
      const ks = Array.from({ length: K }, (_, k) => k);
      for (let q = 0; q < valid; q++) {
        for (const k of ks) lines.push(`let dm${q}_${k} = ${dMix(q, k)};`);
        lines.push(`let dot${q} = ${ks.map((k) => `dm${q}_${k} * sw${q}_${k}`).join(' + ')};`);
      }
      dAt = (q, k) => `sw${q}_${k} * (dm${q}_${k} - dot${q})`;
    }
    for (let m = 0; m < vec4s(valid * K); m++) {
      const lanes = [0, 1, 2, 3].map((i) => {
        const j = 4 * m + i;
        if (j >= valid * K) return '0.0';
        return dAt(Math.floor(j / K), j % K);
      });
      lines.push(`dw[wb + ${m}u] = vec4<f32>(${lanes.join(', ')});`);
    }
  }
  if (needP) {
    for (let k = 0; k < K; k++) {
      for (let c = 0; c < C; c++) {
        const terms = Array.from({ length: valid }, (_, q) => `${lane('g', q * C + c)} * ${wAt(q, k)}`);
        lines.push(`a${k}_${c} = a${k}_${c} + ${sum(terms)};`);
      }
    }
  }
  return indent(lines);
}

function forwardKernel(P: number, K: number, C: number, softmax: boolean): string {
  return cached(`f:${P}:${K}:${C}:${+softmax}`, () => {
    const full = Math.floor(P / 4);
    return wgslModule(
      { inputs: ['wv', 'pal'], outputs: ['out'], types: { wv: 'vec4<f32>', pal: 'vec4<f32>', out: 'vec4<f32>' } },
      fill(section(src, 'forward'), {
        GROUPS: vec4s(P),
        FULL: full,
        PALETTE: paletteLoads(K, C),
        FULL_GROUP: forwardGroup(K, C, 4, softmax),
        TAIL_GROUP: forwardGroup(K, C, P - 4 * full, softmax),
      }),
    );
  });
}

/**
 * Threads of the backward kernel with per-thread partials (CPU adapters, GPUs without subgroups,
 * palettes past MAX_WORKGROUP_ROWS rows; see sumsPerWorkgroup): a walk of GROUPS_PER_THREAD groups
 * or more each, CPU_WALK_ITEMS on a CPU adapter (`cpu`), which prefers few, busy threads; whole
 * SIMD groups there (walkThreads).
 */
export function backwardThreads(P: number, KC: number, cpu: boolean): number {
  const T = Math.max(1, Math.min(MAX_BACKWARD_THREADS, Math.floor(MAX_PARTIALS / KC), Math.ceil(vec4s(P) / (cpu ? CPU_WALK_ITEMS : GROUPS_PER_THREAD))));
  return walkThreads(T, cpu);
}

/** Subgroups a workgroup can hold: WebGPU's smallest subgroup size is 4. */
const MAX_SUBGROUPS = WORKGROUP_SIZE / 4;
/** Rows a workgroup can sum in its MAX_SUBGROUPS-wide scratch within 16 KiB, WebGPU's default workgroup storage. */
const MAX_WORKGROUP_ROWS = 64;
/** Workgroups of a per-workgroup pass, beyond which its threads walk several pixel groups: partial rows stay short for the pass that sums them. */
const MAX_PARTIAL_WORKGROUPS = 4096;

/**
 * Whether a pass summing `rows` palette partials over the pixels sums them per workgroup: on a GPU
 * with subgroups, a thread per pixel group fills the device, and a partial per workgroup keeps the
 * second pass short. A CPU adapter keeps a few busy threads with a partial each: SwiftShader pays
 * for every workgroup's barrier (forced onto it, colorMixLoss's per-workgroup pass made the
 * palette step at S=256 5.4× slower and the layers step 15×).
 */
export function sumsPerWorkgroup(k: GpuOps, rows: number): boolean {
  return k.subgroups && !k.isSoftware && rows <= MAX_WORKGROUP_ROWS;
}

/**
 * Workgroups (a multiple of 4, so partial rows read as vec4s) of a per-workgroup pass over P pixels;
 * at least 4, so an empty image still runs the pass (its mean is 0·(1/0), NaN, as elsewhere).
 */
export function partialWorkgroups(P: number): number {
  return 4 * Math.ceil(Math.max(1, Math.min(Math.ceil(vec4s(P) / WORKGROUP_SIZE), MAX_PARTIAL_WORKGROUPS)) / 4);
}

/** What a walk over pixel groups sums and how it stores the sums (groupWalk). */
export interface WalkSums {
  /** Sum the K·C palette partials, in accumulators a{k}_{c} the group code adds to, as rows 0..K·C-1. */
  readonly palette: boolean;
  /** A WGSL factor for the palette rows' stores (colorMixLoss's 2/n). */
  readonly scale?: string;
  /** Further per-thread sums (WGSL expressions), stored as the rows after the palette's. */
  readonly extra?: readonly string[];
  /** Add the rows up per workgroup (sumsPerWorkgroup; the module must `enable subgroups`), rows of T / WORKGROUP_SIZE, instead of per thread, rows of T. */
  readonly perWorkgroup: boolean;
  /** Per thread, on a CPU adapter (GpuOps.isSoftware): walk a contiguous chunk per SIMD group (walkBounds). */
  readonly chunked: boolean;
}

/**
 * Fill values of section "backward" for T threads walking P pixels' groups (walkBounds: grid
 * stride, or a chunk per SIMD group with `chunked`): the walk, the tail group's thread, the
 * accumulators, and the rows' stores to `part`.
 *
 * Per workgroup, the walk has no early return (subgroup operations and the barrier need every
 * thread); each row's per-thread value is added over each subgroup, the subgroups' sums go to
 * workgroup memory, and after one barrier thread r adds row r's in a fixed order and stores it at
 * its workgroup's place. Spare workgroups of a 2-D grid store nothing. A subgroup's slot is
 * lid / subgroup_size: this assumes subgroups are runs of consecutive local_invocation_index, which
 * WGSL does not promise but every GPU driver does for 1-D workgroups (WGSL's subgroup_id builtin
 * would remove the assumption where the browser has it).
 */
export function groupWalk(P: number, K: number, C: number, T: number, sums: WalkSums): Record<string, string | number> {
  const full = Math.floor(P / 4);
  const acc = sums.palette ? Array.from({ length: K * C }, (_, j) => `a${Math.floor(j / C)}_${j % C}`) : [];
  const rows = [...acc.map((a) => (sums.scale ? `${a} * ${sums.scale}` : a)), ...(sums.extra ?? [])];
  const walk = {
    WALK_START: 't',
    WALK_STEP: `${T}u`,
    THREADS: T,
    FULL: full,
    HAS_TAIL: P > 4 * full ? 'true' : 'false',
    TAIL_THREAD: full % T,
    ACC_DECL: acc.map((a) => `  var ${a}: f32 = 0.0;`).join('\n'),
  };
  if (!sums.perWorkgroup) {
    const b = walkBounds(full, T, sums.chunked);
    return {
      ...walk,
      SCRATCH: '',
      BUILTINS: '',
      ENTRY: `  if (t >= ${T}u) { return; }${b.setup ? `\n  ${b.setup}` : ''}`,
      WALK_START: b.start,
      WALK_END: b.end,
      WALK_STEP: b.step,
      STORE: rows.map((e, r) => `  part[${r}u * ${T}u + t] = ${e};`).join('\n'),
    };
  }
  const W = T / WORKGROUP_SIZE;
  const store = [
    'let sg = lid / sgs;',
    ...rows.map((e, r) => `let r${r} = subgroupAdd(${e});`),
    'if (sgi == 0u) {',
    ...rows.map((_, r) => `  red[${r * MAX_SUBGROUPS}u + sg] = r${r};`),
    '}',
    'workgroupBarrier();',
    `if (lid < ${rows.length}u) {`,
    '  var s = 0.0;',
    `  for (var i = 0u; i < WG / sgs; i++) { s += red[lid * ${MAX_SUBGROUPS}u + i]; }`,
    '  let w = wid.x + wid.y * nwg.x;',
    `  if (w < ${W}u) { part[lid * ${W}u + w] = s; }`,
    '}',
  ];
  return {
    ...walk,
    SCRATCH: `var<workgroup> red: array<f32, ${rows.length * MAX_SUBGROUPS}>;`,
    BUILTINS: ', @builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>, @builtin(subgroup_size) sgs: u32, @builtin(subgroup_invocation_id) sgi: u32',
    ENTRY: `  let walk_end = select(0u, ${full}u, t < ${T}u);`,
    WALK_END: 'walk_end',
    STORE: store.map((l) => `  ${l}`).join('\n'),
  };
}

function backwardKernel(P: number, K: number, C: number, T: number, needW: boolean, needP: boolean, softmax: boolean, perWorkgroup: boolean, chunked: boolean): string {
  return cached(`b:${P}:${K}:${C}:${T}:${+needW}${+needP}${+softmax}${+perWorkgroup}${+chunked}`, () => {
    const rem = P - 4 * Math.floor(P / 4);
    const inputs = ['gv', ...(needP || softmax ? ['wv'] : []), ...(needW ? ['pal'] : [])];
    const outputs = [...(needW ? ['dw'] : []), ...(needP ? ['part'] : [])];
    return wgslModule(
      { inputs, outputs, types: { gv: 'vec4<f32>', wv: 'vec4<f32>', pal: 'vec4<f32>', dw: 'vec4<f32>' }, enables: perWorkgroup ? ['subgroups'] : [], ...walkSizing(T, chunked) },
      fill(section(src, 'backward'), {
        ...groupWalk(P, K, C, T, { palette: needP, perWorkgroup, chunked }),
        PALETTE: needW ? paletteLoads(K, C) : '',
        EXTRA_DECL: '',
        FULL_GROUP: backwardGroup(K, C, 4, needW, needP, softmax),
        TAIL_GROUP: backwardGroup(K, C, rem, needW, needP, softmax),
      }),
    );
  });
}

/** Pixels, colors and channels of a (validated) colorMix call. */
export function dims(shapes: readonly Shape[]): { P: number; K: number; C: number } {
  const [K, C] = shapes[1]! as [number, number];
  return { P: K ? sizeOf(shapes[0]!) / K : 0, K, C };
}

function colorMixBackwardGpu(
  k: GpuOps,
  g: GpuStorage,
  w: GpuStorage | null,
  pal: GpuStorage | null,
  shapes: readonly Shape[],
  needs: readonly boolean[],
  softmax: boolean,
): (GpuStorage | null)[] {
  const { P, K, C } = dims(shapes);
  const [needW, needP] = [needs[0]!, needs[1]!];
  if (!needW && !needP) return [null, null];
  if (softmax && K * C > UNROLLED_KC) return loopSoftmaxBackward(k, g, w!, pal, shapes, needs);
  const dw = needW ? k.alloc('colorMix backward', shapes[0]!) : null;
  const dp = needP ? k.alloc('colorMix backward', shapes[1]!) : null;
  if (!needP && P === 0) return [dw, null];
  if (K * C > UNROLLED_KC) {
    loopBackward(k, g, w, pal, dw, dp, P, K, C);
    return [dw, dp];
  }
  const perWorkgroup = needP && sumsPerWorkgroup(k, K * C);
  // Without palette partials a GPU gets a thread per pixel group too; a CPU adapter a few busy ones.
  const wide = perWorkgroup || (!needP && !k.isSoftware);
  const T = wide ? partialWorkgroups(P) * WORKGROUP_SIZE : backwardThreads(P, K * C, k.isSoftware);
  const row = perWorkgroup ? T / WORKGROUP_SIZE : T;
  const part = needP ? (row === 1 ? dp! : k.alloc('colorMix palette partials', [K * C, row])) : null;
  const wgsl = backwardKernel(P, K, C, T, needW, needP, softmax, perWorkgroup, k.isSoftware && !perWorkgroup);
  k.run({
    name: 'colorMix_backward',
    wgsl,
    threads: T,
    inputs: [g, ...(needP || softmax ? [w!] : []), ...(needW ? [pal!] : [])],
    outputs: [...(dw ? [dw] : []), ...(part ? [part] : [])],
  });
  if (part && part !== dp) {
    gpuReduce(k, 'sum', part, [K * C, row], [1], dp!);
    k.release(part);
  }
  return [dw, dp];
}

/** Large palettes with softmax weights: the softmax op's kernels around the looped mix. */
function loopSoftmaxBackward(k: GpuOps, g: GpuStorage, logits: GpuStorage, pal: GpuStorage | null, shapes: readonly Shape[], needs: readonly boolean[]) {
  const axis = shapes[0]!.length - 1;
  const sw = k.forward(softmaxOp, [logits], [shapes[0]!], { axis }, shapes[0]!);
  const [dMix, dp] = colorMixBackwardGpu(k, g, sw, pal, shapes, needs, false);
  let dl: GpuStorage | null = null;
  if (dMix) {
    [dl] = softmaxOp.gpu.backward(k, { shapes: [shapes[0]!], attrs: { axis }, outShape: shapes[0]!, inputs: [null], output: sw, grad: dMix, needs: [true] }) as [GpuStorage];
    k.release(dMix);
  }
  k.release(sw);
  return [dl, dp ?? null];
}

/** Backward for large palettes: dW one thread per weight, dP as strided partial sums plus the second pass. */
function loopBackward(k: GpuOps, g: GpuStorage, w: GpuStorage | null, pal: GpuStorage | null, dw: GpuStorage | null, dp: GpuStorage | null, P: number, K: number, C: number) {
  if (dw && P > 0) {
    const wgsl = cached(`bw:${P}:${K}:${C}`, () => wgslModule({ inputs: ['g_', 'pal'], outputs: ['dw'] }, fill(section(src, 'backward_loop_dw'), { PK: P * K, K, C })));
    k.run({ name: 'colorMix_backward', wgsl, threads: P * K, inputs: [g, pal!], outputs: [dw] });
  }
  if (dp) {
    const S = Math.max(1, Math.min(P, Math.floor(LOOP_DP_THREADS / (K * C))));
    const part = S === 1 ? dp : k.alloc('colorMix palette partials', [K * C, S]);
    const wgsl = cached(`bp:${P}:${K}:${C}:${S}`, () =>
      wgslModule({ inputs: ['g_', 'w_'], outputs: ['part'] }, fill(section(src, 'backward_loop_dp'), { THREADS: K * C * S, S, P, K, C })),
    );
    k.run({ name: 'colorMix_backward', wgsl, threads: K * C * S, inputs: [g, w!], outputs: [part] });
    if (part !== dp) {
      gpuReduce(k, 'sum', part, [K * C, S], [1], dp);
      k.release(part);
    }
  }
}

/** Float64 softmax of each pixel's K logits: the softmax op's own reference. */
export const softmaxRows = (x: Float64Array, K: number): Float64Array =>
  softmaxOp.reference([x], { shapes: [[x.length / K, K]], attrs: { axis: 1 }, outShape: [x.length / K, K] });

export const colorMixOp = defineOp<ColorMixAttrs>({
  name: 'colorMix',
  arity: 2,
  shape([w, p]) {
    const fail = (why: string) => {
      throw new ShapeError(`colorMix: weights ${fmt(w!)} and palette ${fmt(p!)} do not fit: ${why} (expected weights [..., K] and palette [K, C])`);
    };
    if (p!.length !== 2) fail(`the palette must be 2-D [K, C], got rank ${p!.length}`);
    if (w!.length < 1) fail('the weights must have at least one dimension [..., K]');
    const [K, C] = p! as [number, number];
    if (w![w!.length - 1] !== K) fail(`the weights' last dimension (${w![w!.length - 1]}) must equal the palette's number of colors K (its first dimension, ${K})`);
    if (K === 0 || C === 0) fail('the palette needs at least one color and one channel');
    return [...w!.slice(0, -1), C];
  },
  // dW reads the palette and dP reads the weights: each is kept only for the other's gradient
  // (softmax weights are recomputed from the logits, which both gradients then need).
  saves: (needs, attrs) => ({ inputs: [needs[1]! || (attrs.softmax === true && needs[0]!), needs[0]!], output: false }),
  gpu: {
    forward(k, [w, pal], out, { shapes, attrs }) {
      const { P, K, C } = dims(shapes);
      if (attrs.softmax && K * C > UNROLLED_KC) {
        const sw = k.forward(softmaxOp, [w!], [shapes[0]!], { axis: shapes[0]!.length - 1 }, shapes[0]!);
        colorMixOp.gpu.forward(k, [sw, pal!], out, { shapes, attrs: {}, outShape: [] });
        k.release(sw);
        return;
      }
      if (K * C > UNROLLED_KC) {
        const wgsl = cached(`fl:${P}:${K}:${C}`, () => wgslModule({ inputs: ['w_', 'pal'], outputs: ['out'] }, fill(section(src, 'forward_loop'), { P, K, C })));
        k.run({ name: 'colorMix_forward', wgsl, threads: P, inputs: [w!, pal!], outputs: [out] });
        return;
      }
      k.run({ name: 'colorMix_forward', wgsl: forwardKernel(P, K, C, attrs.softmax === true), threads: vec4s(P), inputs: [w!, pal!], outputs: [out] });
    },
    backward: (k, { grad, inputs, shapes, needs, attrs }) => colorMixBackwardGpu(k, grad, inputs[0] ?? null, inputs[1] ?? null, shapes, needs, attrs.softmax === true),
  },
  reference([logits, pal], { shapes, attrs }) {
    const { P, K, C } = dims(shapes);
    const w = attrs.softmax ? softmaxRows(logits!, K) : logits;
    const out = new Float64Array(P * C);
    for (let p = 0; p < P; p++) {
      for (let c = 0; c < C; c++) {
        let s = 0;
        for (let k = 0; k < K; k++) s += w![p * K + k]! * pal![k * C + c]!;
        out[p * C + c] = s;
      }
    }
    return out;
  },
  referenceBackward({ grad, inputs: [logits, pal], shapes, needs, attrs }) {
    const { P, K, C } = dims(shapes);
    const w = attrs.softmax && logits ? softmaxRows(logits, K) : logits;
    let dw: Float64Array | null = null;
    let dp: Float64Array | null = null;
    if (needs[0]) {
      dw = new Float64Array(P * K);
      for (let p = 0; p < P; p++) {
        for (let k = 0; k < K; k++) {
          let s = 0;
          for (let c = 0; c < C; c++) s += grad[p * C + c]! * pal![k * C + c]!;
          dw[p * K + k] = s;
        }
      }
    }
    if (needs[1]) {
      dp = new Float64Array(K * C);
      for (let p = 0; p < P; p++) for (let k = 0; k < K; k++) for (let c = 0; c < C; c++) dp[k * C + c]! += grad[p * C + c]! * w![p * K + k]!;
    }
    if (dw && attrs.softmax) {
      for (let p = 0; p < P; p++) {
        let dotp = 0;
        for (let k = 0; k < K; k++) dotp += dw[p * K + k]! * w![p * K + k]!;
        for (let k = 0; k < K; k++) dw[p * K + k] = w![p * K + k]! * (dw[p * K + k]! - dotp);
      }
    }
    return [dw, dp];
  },
  testAttrs: [{}, { softmax: true }],
  testShapes: (n) => [
    [[Math.max(1, Math.round(n / 3)), 3], [3, 3]],
    [[Math.max(1, Math.round(n / 8)), 8], [8, 3]],
    [[2, Math.max(1, Math.round(n / 10)), 5], [5, 4]],
    // K·C above UNROLLED_KC: the looped kernels.
    [[Math.max(1, Math.round(n / 17)), 17], [17, 4]],
  ],
});

/**
 * Options of pg.colorMix and pg.colorMixLoss.
 * @example
 * pg.colorMix(logits, palette, { softmax: true });
 */
export interface ColorMixOptions {
  /**
   * Treat `weights` as logits and mix with softmax(weights) over the last axis: the same as
   * colorMix(weights.softmax(-1), palette), but the softmax runs inside the mix kernels.
   */
  readonly softmax?: boolean;
}

/**
 * Mixes a palette per pixel: weights [..., K] (e.g. [H, W, K]) and palette [K, C] give
 * [..., C] with out[..., c] = Σ_k weights[..., k]·palette[k, c]. Differentiable in both.
 */
export function colorMix(weights: Tensor, palette: Tensor, options?: ColorMixOptions): Tensor {
  return apply(colorMixOp, [weights, palette], mixAttrs('colorMix', options));
}

/** The attrs of a mix from its options (checked: softmax is true, false or left out). */
export function mixAttrs(fn: string, options: ColorMixOptions | undefined): ColorMixAttrs {
  return checkBool(fn, 'softmax', checkOptions(fn, options).softmax, false) ? { softmax: true } : {};
}
