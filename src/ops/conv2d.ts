/**
 * conv2d on NHWC images [N, H, W, Cin] with HWIO weights [kH, kW, Cin/groups, Cout] (the layout of
 * tfjs and jax): stride, explicit per-side padding, dilation and groups (depthwise when groups =
 * Cin). Three direct kernels (shaders/conv2d.wgsl): the forward, dx as the gradient convolved with
 * the flipped, transposed kernel, and dw as per-thread partial sums over pixel slices followed by
 * one small reduction. Each has two forms: vec4 loads and accumulators for a GPU, and scalar blocks
 * of pixels × channels for a CPU adapter (SwiftShader), where loads per multiply-add decide. The
 * public function (src/conv.ts) resolves 'same'/'valid' and rank 3 inputs.
 */
import type { GpuOps, GpuStorage } from '../gpu/gpu-ops.ts';
import { CPU_WALK_WIDTH } from '../gpu/quirks.ts';
import { convForm } from '../gpu/tuner.ts';
import { fill, kernelCache, section, wgslModule } from '../gpu/wgsl.ts';
import { InvalidArgumentError, ShapeError } from '../errors.ts';
import { fmt, type Shape } from '../shape.ts';
import src from '../../shaders/conv2d.wgsl?raw';
import { defineOp } from './op.ts';
import { gpuReduce } from './reduce.ts';

export interface Conv2dAttrs {
  /** Rows and columns between neighbouring windows. */
  readonly stride: readonly [number, number];
  /** Zero rows or columns added on the top, bottom, left and right. */
  readonly padding: readonly [number, number, number, number];
  /** Distance between kernel taps (1: adjacent). */
  readonly dilation: readonly [number, number];
  readonly groups: number;
}

/** Every size a kernel or a reference needs, from validated shapes. */
interface Geometry {
  readonly N: number;
  readonly H: number;
  readonly W: number;
  readonly CIN: number;
  readonly KH: number;
  readonly KW: number;
  readonly CIN_G: number;
  readonly COUT: number;
  readonly COUT_G: number;
  readonly OH: number;
  readonly OW: number;
  readonly SH: number;
  readonly SW: number;
  readonly DH: number;
  readonly DW: number;
  readonly PT: number;
  readonly PL: number;
}

const positiveInt = (v: number) => Number.isSafeInteger(v) && v > 0;

/** The op's shape rule and every kernel's sizes: throws the typed errors the API promises. */
export function conv2dGeometry(x: Shape, w: Shape, a: Conv2dAttrs, op = 'conv2d'): Geometry {
  if (x.length !== 4 || w.length !== 4) {
    throw new ShapeError(`${op}: needs an image [N, H, W, Cin] (or [H, W, Cin]) and weights [kH, kW, Cin/groups, Cout], got ${fmt(x)} and ${fmt(w)}`);
  }
  const { stride, dilation, padding, groups } = a;
  if (![...stride, ...dilation, groups].every(positiveInt)) {
    throw new InvalidArgumentError(`${op}: stride [${stride}], dilation [${dilation}] and groups ${groups} must be positive integers`);
  }
  if (!padding.every((p) => Number.isSafeInteger(p) && p >= 0)) throw new InvalidArgumentError(`${op}: padding [${padding}] must be non-negative integers`);
  const [N, H, W, CIN] = x as [number, number, number, number];
  const [KH, KW, CIN_G, COUT] = w as [number, number, number, number];
  if (CIN % groups !== 0 || COUT % groups !== 0) {
    throw new ShapeError(`${op}: groups ${groups} must divide both the input channels (${CIN}, image ${fmt(x)}) and the output channels (${COUT}, weights ${fmt(w)})`);
  }
  if (CIN_G * groups !== CIN) {
    throw new ShapeError(`${op}: weights ${fmt(w)} take ${CIN_G} input channels per group, but the image ${fmt(x)} has ${CIN} channels in ${groups} group(s) (${CIN / groups} each)`);
  }
  if (KH === 0 || KW === 0 || COUT === 0) throw new ShapeError(`${op}: the weights ${fmt(w)} are empty`);
  const [DH, DW] = dilation;
  const [PT, PB, PL, PR] = padding;
  const effH = (KH - 1) * DH + 1;
  const effW = (KW - 1) * DW + 1;
  if (effH > H + PT + PB || effW > W + PL + PR) {
    throw new ShapeError(
      `${op}: the kernel (${effH}x${effW} with dilation [${dilation}]) is larger than the padded image (${H + PT + PB}x${W + PL + PR}: image ${fmt(x)}, padding [${padding}]); pad more or use a smaller kernel`,
    );
  }
  const [SH, SW] = stride;
  const OH = Math.floor((H + PT + PB - effH) / SH) + 1;
  const OW = Math.floor((W + PL + PR - effW) / SW) + 1;
  return { N, H, W, CIN, KH, KW, CIN_G, COUT, COUT_G: COUT / groups, OH, OW, SH, SW, DH, DW, PT, PL };
}

const geometryOf = (shapes: readonly Shape[], attrs: Conv2dAttrs) => conv2dGeometry(shapes[0]!, shapes[1]!, attrs);

/** The float64 forward and both gradients share one walk over (output pixel, tap, channel pairs). */
function walk(g: Geometry, visit: (xi: number, wi: number, oi: number) => void): void {
  const { N, H, W, CIN, KH, KW, CIN_G, COUT, COUT_G, OH, OW, SH, SW, DH, DW, PT, PL } = g;
  for (let n = 0; n < N; n++) {
    for (let oy = 0; oy < OH; oy++) {
      for (let ox = 0; ox < OW; ox++) {
        const ob = ((n * OH + oy) * OW + ox) * COUT;
        for (let ky = 0; ky < KH; ky++) {
          const iy = oy * SH - PT + ky * DH;
          if (iy < 0 || iy >= H) continue;
          for (let kx = 0; kx < KW; kx++) {
            const ix = ox * SW - PL + kx * DW;
            if (ix < 0 || ix >= W) continue;
            const xb = ((n * H + iy) * W + ix) * CIN;
            const wb = (ky * KW + kx) * CIN_G * COUT;
            for (let co = 0; co < COUT; co++) {
              const ci0 = Math.floor(co / COUT_G) * CIN_G;
              for (let c = 0; c < CIN_G; c++) visit(xb + ci0 + c, wb + c * COUT + co, ob + co);
            }
          }
        }
      }
    }
  }
}

const range = (n: number) => [...Array(n).keys()];
const LANES = 'xyzw';
const cached = kernelCache('conv2d');

/** Output channels per thread: up to 16 (four vec4 accumulators), inside one group. */
function coPer(g: Geometry): number {
  if (g.COUT_G % 4 !== 0) return 1;
  return [16, 8, 4].find((c) => g.COUT_G % c === 0)!;
}

const key = (g: Geometry) => Object.values(g).join(',');

function forwardWgsl(g: Geometry): { wgsl: string; threads: number } {
  const per = coPer(g);
  const V = per >= 4 ? per / 4 : 0;
  const XL = g.CIN_G % 4 === 0 ? 4 : 1;
  const WL = V ? 4 : 1;
  const threads = g.N * g.OH * g.OW * (g.COUT / per);
  const wgsl = cached(`f|${key(g)}`, () => {
    const accs = V ? range(V) : [0];
    const xl = (j: number) => (XL === 4 ? `xv.${LANES[j]}` : 'xv');
    const wStride = g.COUT / WL;
    const fma = range(XL).flatMap((j) => accs.map((v) => `acc${v} = acc${v} + ${xl(j)} * w[wi + c * ${XL * wStride}u + ${j * wStride + v}u];`));
    const store = V ? accs.map((v) => `out[(p * ${g.COUT}u + co) / 4u + ${v}u] = acc${v};`) : [`out[p * ${g.COUT}u + co] = acc0;`];
    const body = fill(section(src, 'forward'), {
      ...dims(g),
      THREADS: threads,
      CO_BLOCKS: g.COUT / per,
      CO_PER: per,
      XL,
      WL,
      CIN_STEPS: g.CIN_G / XL,
      ACC: accs.map((v) => `var acc${v} = ${V ? 'vec4<f32>(0.0)' : '0.0'};`).join('\n  '),
      FMA: fma.join('\n        '),
      STORE: store.join('\n  '),
    });
    const types = { ...(XL === 4 ? { x: 'vec4<f32>' } : {}), ...(V ? { w: 'vec4<f32>', out: 'vec4<f32>' } : {}) };
    return wgslModule({ inputs: ['x', 'w'], outputs: ['out'], types, threads }, body);
  });
  return { wgsl, threads };
}

/** Pixels of a row each thread of a blocked (CPU adapter) kernel computes. */
const BLOCK_PIXELS = 8;
/** Largest of 16, 8, 4, 2, 1 dividing n: channels a blocked kernel's thread keeps. */
const blockOf = (n: number) => [16, 8, 4, 2, 1].find((c) => n % c === 0)!;

/**
 * Loads, multiply-adds and guarded stores of a blocked kernel: NP pixels (j) × NC channels (o) of
 * scalar accumulators; pixel j's input is read at `at(j)` where `ok(j)` holds, else as 0.
 */
function blockedParts(NP: number, NC: number, read: string, at: (j: number) => string, weight: (o: number) => string) {
  const ps = range(NP);
  const cs = range(NC);
  return {
    ACC: ps.flatMap((j) => cs.map((o) => `var a${j}_${o} = 0.0;`)).join(' '),
    LOADS: [...ps.map((j) => `let v${j} = select(0.0, ${read}[${at(j)} + c], m${j});`), ...cs.map((o) => `let w${o} = w[${weight(o)}];`)].join(' '),
    FMA: ps.flatMap((j) => cs.map((o) => `a${j}_${o} = a${j}_${o} + v${j} * w${o};`)).join(' '),
  };
}

function forwardBlockedWgsl(g: Geometry): { wgsl: string; threads: number } {
  const per = blockOf(g.COUT_G);
  const NP = Math.min(BLOCK_PIXELS, g.OW);
  const segs = Math.ceil(g.OW / NP);
  const threads = g.N * g.OH * segs * (g.COUT / per);
  const wgsl = cached(`fb|${key(g)}`, () => {
    const cols = range(NP).map(
      (j) => `let ix${j} = i32((ox0 + ${j}u) * ${g.SW}u + kx * ${g.DW}u) - ${g.PL}; let m${j} = (ix${j} >= 0) & (ix${j} < ${g.W}); let xb${j} = (row + u32(clamp(ix${j}, 0, ${g.W - 1}))) * ${g.CIN}u + ci0;`,
    );
    const parts = blockedParts(NP, per, 'x', (j) => `xb${j}`, (o) => `wb + c * ${g.COUT}u + ${o}u`);
    const store = range(NP).map(
      (j) => `if (ox0 + ${j}u < ${g.OW}u) { let o${j} = ((n * ${g.OH}u + oy) * ${g.OW}u + ox0 + ${j}u) * ${g.COUT}u + co; ${range(per).map((o) => `out[o${j} + ${o}u] = a${j}_${o};`).join(' ')} }`,
    );
    const body = fill(section(src, 'forward_blocked'), {
      ...dims(g),
      THREADS: threads,
      CO_BLOCKS: g.COUT / per,
      CO_PER: per,
      NP,
      SEGS: segs,
      SEGS_OH: segs * g.OH,
      COLS: cols.join('\n      '),
      ...parts,
      STORE: store.join('\n  '),
    });
    return wgslModule({ inputs: ['x', 'w'], outputs: ['out'], threads }, body);
  });
  return { wgsl, threads };
}

function backwardInputBlockedWgsl(g: Geometry): { wgsl: string; threads: number } {
  const per = blockOf(g.CIN_G);
  const NP = Math.min(BLOCK_PIXELS, g.W);
  const segs = Math.ceil(g.W / NP);
  const threads = g.N * g.H * segs * (g.CIN / per);
  const wgsl = cached(`dxb|${key(g)}`, () => {
    const cols = range(NP).map(
      (j) =>
        `let tx${j} = i32(ix0 + ${j}u) + ${g.PL} - i32(kx * ${g.DW}u); let m${j} = (tx${j} >= 0) & (tx${j} % ${g.SW} == 0) & (tx${j} / ${g.SW} < ${g.OW}); ` +
        `let gb${j} = (row + u32(clamp(tx${j} / ${g.SW}, 0, ${g.OW - 1}))) * ${g.COUT}u + co0;`,
    );
    const parts = blockedParts(NP, per, 'g', (j) => `gb${j}`, (i) => `wb + ${i * g.COUT}u + c`);
    const store = range(NP).map(
      (j) => `if (ix0 + ${j}u < ${g.W}u) { let o${j} = ((n * ${g.H}u + u32(iy)) * ${g.W}u + ix0 + ${j}u) * ${g.CIN}u + ci; ${range(per).map((i) => `out[o${j} + ${i}u] = a${j}_${i};`).join(' ')} }`,
    );
    const body = fill(section(src, 'backward_input_blocked'), {
      ...dims(g),
      THREADS: threads,
      CI_BLOCKS: g.CIN / per,
      CI_PER: per,
      NP,
      SEGS: segs,
      SEGS_H: segs * g.H,
      COLS: cols.join('\n      '),
      ...parts,
      STORE: store.join('\n  '),
    });
    return wgslModule({ inputs: ['g', 'w'], outputs: ['out'], threads }, body);
  });
  return { wgsl, threads };
}

function dims(g: Geometry) {
  return { ...g, OHW: g.OH * g.OW, HW: g.H * g.W };
}

function backwardInputWgsl(g: Geometry): { wgsl: string; threads: number } {
  const per = [16, 8, 4, 2, 1].find((c) => g.CIN_G % c === 0)!;
  const GL = g.COUT_G % 4 === 0 ? 4 : 1;
  const threads = g.N * g.H * g.W * (g.CIN / per);
  const wgsl = cached(`dx|${key(g)}`, () => {
    const rowStride = g.COUT / GL;
    const fma = range(per).map((j) => `acc${j} = acc${j} + ${GL === 4 ? 'dot(gv, ' : 'gv * ('}w[wi + ${j * rowStride}u + c]);`);
    const body = fill(section(src, 'backward_input'), {
      ...dims(g),
      THREADS: threads,
      CI_BLOCKS: g.CIN / per,
      CI_PER: per,
      GL,
      COUT_STEPS: g.COUT_G / GL,
      ACC: range(per).map((j) => `var acc${j} = 0.0;`).join('\n  '),
      FMA: fma.join('\n        '),
      STORE: range(per).map((j) => `out[base + ${j}u] = acc${j};`).join('\n  '),
    });
    const types: Record<string, string> = GL === 4 ? { g: 'vec4<f32>', w: 'vec4<f32>' } : {};
    return wgslModule({ inputs: ['g', 'w'], outputs: ['out'], types, threads }, body);
  });
  return { wgsl, threads };
}

/** Pixels each dw thread sums at the least, so partials stay a small part of the traffic. */
const MIN_CHUNK = 64;

function backwardWeightWgsl(g: Geometry, blocked: boolean): { wgsl: string; threads: number; slices: number; nw: number } {
  // Blocked (a CPU adapter): scalar CI_PER × CO_PER blocks (up to 8 × 16); else 4 input channels × up to 4 vec4s of outputs.
  const per = blocked ? blockOf(g.COUT_G) : coPer(g);
  const V = !blocked && per >= 4 ? per / 4 : 0;
  const ciPer = blocked ? Math.min(8, blockOf(g.CIN_G)) : g.CIN_G % 4 === 0 ? 4 : 1;
  const blocks = g.KH * g.KW * (g.CIN_G / ciPer) * (g.COUT / per);
  const P = g.N * g.OH * g.OW;
  // A CPU adapter runs a few thousand threads as fast as more; a GPU wants enough to fill it.
  const target = blocked ? 4096 : 65536;
  const slices = Math.max(1, Math.min(Math.ceil(target / blocks), Math.ceil(P / MIN_CHUNK)));
  const chunk = Math.ceil(P / slices);
  const threads = blocks * slices;
  const nw = g.KH * g.KW * g.CIN_G * g.COUT;
  const wgsl = cached(`dw|${key(g)}|${slices}|${+blocked}`, () => {
    const common = { ...dims(g), THREADS: threads, BLOCKS: blocks, CO_BLOCKS: g.COUT / per, CO_PER: per, CI_BLOCKS: g.CIN_G / ciPer, CI_PER: ciPer, P, CHUNK: chunk, NW: nw };
    if (blocked) {
      const is = range(ciPer);
      const os = range(per);
      const body = fill(section(src, 'backward_weight_blocked'), {
        ...common,
        ACC: is.flatMap((i) => os.map((o) => `var a${i}_${o} = 0.0;`)).join(' '),
        LOADS: [...is.map((i) => `let v${i} = select(0.0, x[xb + ${i}u], ok);`), ...os.map((o) => `let g${o} = g[gb + ${o}u];`)].join(' '),
        FMA: is.flatMap((i) => os.map((o) => `a${i}_${o} = a${i}_${o} + v${i} * g${o};`)).join(' '),
        STORE: is.flatMap((i) => os.map((o) => `part[wbase + ${i * g.COUT + o}u] = a${i}_${o};`)).join(' '),
      });
      // Narrow workgroups: a few thousand threads still make dozens of them for SwiftShader's workers.
      return wgslModule({ inputs: ['x', 'g'], outputs: ['part'], threads, width: CPU_WALK_WIDTH }, body);
    }
    const accs = V ? range(V) : [0];
    const xl = (j: number) => (ciPer === 4 ? `xv.${LANES[j]}` : 'xv');
    const loads = accs.map((v) => `let g${v} = g[gi + ${v}u];`);
    const fma = range(ciPer).flatMap((j) => accs.map((v) => `acc${j}_${v} = acc${j}_${v} + ${xl(j)} * g${v};`));
    const OL = V ? 4 : 1;
    const store = range(ciPer).flatMap((j) => accs.map((v) => `part[(wbase + ${j * g.COUT}u) / ${OL}u + ${v}u] = acc${j}_${v};`));
    const body = fill(section(src, 'backward_weight'), {
      ...common,
      XL: ciPer,
      GL: OL,
      ACC: range(ciPer)
        .flatMap((j) => accs.map((v) => `var acc${j}_${v} = ${V ? 'vec4<f32>(0.0)' : '0.0'};`))
        .join('\n  '),
      FMA: [...loads, ...fma].join('\n    '),
      STORE: store.join('\n  '),
    });
    const types = { ...(ciPer === 4 ? { x: 'vec4<f32>' } : {}), ...(V ? { g: 'vec4<f32>', part: 'vec4<f32>' } : {}) };
    return wgslModule({ inputs: ['x', 'g'], outputs: ['part'], types, threads }, body);
  });
  return { wgsl, threads, slices, nw };
}

function gpuWeightGrad(k: GpuOps, g: Geometry, x: GpuStorage, grad: GpuStorage, wShape: Shape): GpuStorage {
  const dw = k.alloc('conv2d backward', wShape);
  const { wgsl, threads, slices, nw } = backwardWeightWgsl(g, convForm(k) === 'blocked');
  if (slices === 1) {
    k.run({ name: 'conv2d_backward_weight', wgsl, threads, inputs: [x, grad], outputs: [dw] });
    return dw;
  }
  const part = k.alloc('conv2d partials', [slices, nw]);
  k.run({ name: 'conv2d_backward_weight', wgsl, threads, inputs: [x, grad], outputs: [part] });
  gpuReduce(k, 'sum', part, [slices, nw], [0], dw);
  k.release(part);
  return dw;
}

export const conv2dOp = defineOp<Conv2dAttrs>({
  name: 'conv2d',
  arity: 2,
  shape([x, w], attrs) {
    const g = conv2dGeometry(x!, w!, attrs);
    return [g.N, g.OH, g.OW, g.COUT];
  },
  // dx reads only the weights, dw only the image.
  saves: (needs) => ({ inputs: [needs[1]!, needs[0]!], output: false }),
  gpu: {
    forward(k, [x, w], out, { shapes, attrs }) {
      if (out.length === 0) return;
      const g = geometryOf(shapes, attrs);
      const { wgsl, threads } = convForm(k) === 'blocked' ? forwardBlockedWgsl(g) : forwardWgsl(g);
      k.run({ name: 'conv2d_forward', wgsl, threads, inputs: [x!, w!], outputs: [out] });
    },
    backward(k, { shapes, attrs, inputs: [x, w], grad, needs }) {
      const g = geometryOf(shapes, attrs);
      let dx: GpuStorage | null = null;
      if (needs[0]) {
        dx = k.alloc('conv2d backward', shapes[0]!);
        const { wgsl, threads } = convForm(k) === 'blocked' ? backwardInputBlockedWgsl(g) : backwardInputWgsl(g);
        if (threads > 0) k.run({ name: 'conv2d_backward_input', wgsl, threads, inputs: [grad, w!], outputs: [dx] });
      }
      return [dx, needs[1] ? gpuWeightGrad(k, g, x!, grad, shapes[1]!) : null];
    },
  },
  reference([x, w], { shapes, attrs, outShape }) {
    const out = new Float64Array(outShape.reduce((a, b) => a * b, 1));
    walk(geometryOf(shapes, attrs), (xi, wi, oi) => {
      out[oi]! += x![xi]! * w![wi]!;
    });
    return out;
  },
  referenceBackward({ shapes, attrs, inputs: [x, w], grad, needs }) {
    const dx = new Float64Array(x?.length ?? shapes[0]!.reduce((a, b) => a * b, 1));
    const dw = new Float64Array(w?.length ?? shapes[1]!.reduce((a, b) => a * b, 1));
    walk(geometryOf(shapes, attrs), (xi, wi, oi) => {
      if (needs[0]) dx[xi]! += grad[oi]! * w![wi]!;
      if (needs[1]) dw[wi]! += grad[oi]! * x![xi]!;
    });
    return [needs[0] ? dx : null, needs[1] ? dw : null];
  },
  testAttrs: [
    { stride: [1, 1], padding: [1, 1, 1, 1], dilation: [1, 1], groups: 1 },
    { stride: [2, 1], padding: [0, 1, 2, 0], dilation: [1, 2], groups: 1 },
    { stride: [1, 2], padding: [1, 1, 0, 1], dilation: [1, 1], groups: 2 },
    { stride: [1, 1], padding: [1, 1, 1, 1], dilation: [2, 1], groups: 4 },
  ],
  testShapes(n) {
    // Above a 65,535-workgroup grid: one channel and a 1x1 kernel keep the float64 reference cheap.
    if (n > 4_000_000) return [[[1, 2, Math.ceil(n / 2), 1], [1, 1, 1, 1]]];
    const s = Math.max(1, Math.round(Math.sqrt(n / 4)));
    return [
      // Scalar channels (3 in, 5 out).
      [[1, s, s + 1, 3], [3, 3, 3, 5]],
      // vec4 image reads and four vec4 accumulators (16 out), a batch of two.
      [[2, s, s, 4], [3, 2, 4, 16]],
      // Two groups of 4 → 4 (vec4 inside each group).
      [[1, s + 1, s, 8], [2, 3, 4, 8]],
      // Depthwise, two outputs per input channel.
      [[1, s, s, 4], [3, 3, 1, 8]],
    ];
  },
});
