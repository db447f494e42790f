/**
 * colorMixLoss: mean((colorMix(weights, palette) − target)²) as one fused pass that also writes the
 * gradients (a gradsInForward op). Fitting a palette mix to an image costs one read of the weights
 * and the target per step instead of colorMix, mseLoss and their two backward kernels (about a
 * third less memory traffic, and the softmax computed once instead of twice).
 */
import type { FusedUpdate, GpuOps, GpuStorage } from '../gpu/gpu-ops.ts';
import { MAX_PARAMS, WORKGROUP_SIZE } from '../gpu/quirks.ts';
import { ruleCall, type UpdateRule } from '../optim/update-rule.ts';
import { fill, kernelCache, section, walkSizing, wgslModule } from '../gpu/wgsl.ts';
import { ShapeError } from '../errors.ts';
import { fmt, sameShape, type Shape, sizeOf } from '../shape.ts';
import { apply, type Tensor } from '../tensor.ts';
import src from '../../shaders/color_mix.wgsl?raw';
import { type ColorMixAttrs, type ColorMixOptions, backwardThreads, mixAttrs, colorMixOp, dims, groupWalk, indent, lane, pal, paletteLoads, partialWorkgroups, sum, sumsPerWorkgroup, UNROLLED_KC, vec4s, weightsOf } from './color-mix.ts';
import * as ir from '../ir/expr.ts';
import { template } from './elementwise.ts';
import { defineOp } from './op.ts';

const cached = kernelCache('colorMixLoss');

/** One group of `valid` (1-4) pixels: residuals, the loss, and whichever gradients are wanted. */
function lossGroup(K: number, C: number, valid: number, need: readonly boolean[], softmax: boolean, update: UpdateRule | null, storeW: boolean): string {
  if (valid === 0) return '';
  const [needW, needP, needT] = need as [boolean, boolean, boolean];
  const lines = [`let wb = gi * ${K}u;`, `let tb = gi * ${C}u;`];
  for (let m = 0; m < vec4s(valid * K); m++) lines.push(`let w${m} = wv[wb + ${m}u];`);
  for (let m = 0; m < vec4s(valid * C); m++) lines.push(`let t${m} = tv[tb + ${m}u];`);
  const wAt = weightsOf(K, valid, softmax, lines);
  const qs = Array.from({ length: valid }, (_, q) => q);
  const ks = Array.from({ length: K }, (_, k) => k);
  const cs = Array.from({ length: C }, (_, c) => c);
  for (const q of qs) {
    for (const c of cs) lines.push(`let d${q}_${c} = ${sum(ks.map((k) => `${wAt(q, k)} * ${pal(k, c, C)}`))} - ${lane('t', q * C + c)};`);
  }
  lines.push(`lacc = lacc + ${qs.flatMap((q) => cs.map((c) => `d${q}_${c} * d${q}_${c}`)).join(' + ')};`);
  if (!needW && !needP && !needT) return indent(lines);
  // With only the palette's gradient wanted, the walk sums d·w and scales the sums once, at the
  // store; otherwise each residual is scaled here, by the 2/n loaded once before the walk.
  const scaled = needW || needT;
  for (const q of qs) for (const c of cs) lines.push(`let gm${q}_${c} = ${scaled ? `d${q}_${c} * s2` : `d${q}_${c}`};`);
  const vecStore = (target: string, base: string, per: number, at: (q: number, i: number) => string, store = true) => {
    for (let m = 0; m < vec4s(valid * per); m++) {
      const lanes = [0, 1, 2, 3].map((i) => {
        const j = 4 * m + i;
        return j < valid * per ? at(Math.floor(j / per), j % per) : '0.0';
      });
      lines.push(`let ${target}${m} = vec4<f32>(${lanes.join(', ')});`);
      if (store) lines.push(`${target}[${base} + ${m}u] = ${target}${m};`);
    }
  };
  if (needT) vecStore('dt', 'tb', C, (q, c) => `-gm${q}_${c}`);
  if (needW) {
    const dMix = (q: number, k: number) => sum(cs.map((c) => `gm${q}_${c} * ${pal(k, c, C)}`));
    let dAt = dMix;
    if (softmax) {
      for (const q of qs) {
        for (const k of ks) lines.push(`let dm${q}_${k} = ${dMix(q, k)};`);
        lines.push(`let dot${q} = ${ks.map((k) => `dm${q}_${k} * sw${q}_${k}`).join(' + ')};`);
      }
      dAt = (q, k) => `sw${q}_${k} * (dm${q}_${k} - dot${q})`;
    }
    // Not stored when the gradient was dropped before the kernel was recorded: the update alone uses it.
    vecStore('dw', 'wb', K, dAt, storeW);
    if (update) {
      // The optimizer step on the weights, in registers: the logits read once per step.
      for (let m = 0; m < vec4s(valid * K); m++) {
        const st = update.state.map((_, j) => `us${j}_${m}`);
        lines.push(`var up${m} = w${m};`, ...st.map((v, j) => `var ${v} = st${j}[wb + ${m}u];`));
        lines.push(ruleCall(`up${m}`, `dw${m}`, st, 2), `wv[wb + ${m}u] = up${m};`, ...st.map((v, j) => `st${j}[wb + ${m}u] = ${v};`));
      }
    }
  }
  if (needP) {
    for (const k of ks) for (const c of cs) lines.push(`a${k}_${c} = a${k}_${c} + ${sum(qs.map((q) => `gm${q}_${c} * ${wAt(q, k)}`))};`);
  }
  return indent(lines);
}

/**
 * The per-pixel pass. T threads walk the pixel groups; with `perWorkgroup` (a GPU with subgroups)
 * each workgroup sums its threads' partials (subgroupAdd, then one barrier) and the partial rows
 * are T / WORKGROUP_SIZE long, one per workgroup, instead of T.
 */
function lossKernel(P: number, K: number, C: number, T: number, need: readonly boolean[], softmax: boolean, update: UpdateRule | null, storeW: boolean, perWorkgroup: boolean, chunked: boolean): string {
  return cached(`${P}:${K}:${C}:${T}:${need.map(Number).join('')}${+softmax}:${update?.name ?? ''}:${+storeW}${+perWorkgroup}${+chunked}`, () => {
    const [needW, needP, needT] = need as [boolean, boolean, boolean];
    const rem = P - 4 * Math.floor(P / 4);
    const state = update ? update.state.map((_, j) => `st${j}`) : [];
    // With an update the weights are written too: one read-write binding.
    const inputs = update ? ['pal', 'tv'] : ['wv', 'pal', 'tv'];
    const outputs = [...(update ? ['wv'] : []), ...(needW && storeW ? ['dw'] : []), ...(needT ? ['dt'] : []), 'part', ...state];
    const types = Object.fromEntries(['wv', 'pal', 'tv', 'dw', 'dt', ...state].map((b) => [b, 'vec4<f32>']));
    // The backward kernel's walk, with the loss summed as the row after the palette partials', so
    // one pass (finishKernel) sums them all.
    const walk = groupWalk(P, K, C, T, { palette: needP, scale: needW || needT ? '' : 's2', extra: ['lacc * param(0u)'], perWorkgroup, chunked });
    return wgslModule(
      { inputs, outputs, types, enables: perWorkgroup ? ['subgroups'] : [], ...walkSizing(T, chunked) },
      `${update?.shader ?? ''}\n${fill(section(src, 'backward'), {
        ...walk,
        PALETTE: paletteLoads(K, C),
        // 2/n from the uniform once per thread, not once per group.
        EXTRA_DECL: '  var lacc: f32 = 0.0;\n  let s2 = param(1u);',
        FULL_GROUP: lossGroup(K, C, 4, need, softmax, update, storeW),
        TAIL_GROUP: lossGroup(K, C, rem, need, softmax, update, storeW),
      })}`,
    );
  });
}

/**
 * The pass that sums the partials ([KC + 1, T]: the palette gradient's rows, then the loss's, T per
 * thread or per workgroup of the first pass; KC = 0 when the palette needs no gradient) in one
 * workgroup and, with an update, steps the palette.
 * `serial`: one thread per row and no barrier, for CPU adapters (GpuOps.isSoftware).
 * `storeP`: whether the palette gradient is still wanted (not dropped by zeroGrad).
 */
function finishKernel(KC: number, T: number, update: UpdateRule | null, serial: boolean, storeP: boolean): string {
  return cached(`f:${KC}:${T}:${update?.name ?? ''}:${+serial}${+storeP}`, () => {
    const R = KC + 1;
    const Q = vec4s(KC);
    const state = update ? update.state.map((_, j) => `st${j}`) : [];
    const outputs = [...(update ? ['pal_'] : []), ...(KC && storeP ? ['dp'] : []), 'loss', ...state];
    const types = Object.fromEntries(['pal_', 'dp', ...state].map((b) => [b, 'vec4<f32>']));
    // The optimizer step on the palette at `at`: a whole vec4 (the GPU pass) or one component of
    // one (the serial pass, each thread an element; the rules work lane by lane).
    const step = (at: string, g: string, component: boolean): string[] => {
      if (!update) return [];
      const sv = state.map((_, j) => `s${j}`);
      const load = (ref: string) => (component ? `vec4<f32>(${ref})` : ref);
      const put = (v: string) => (component ? `${v}.x` : v);
      return [
        `var pv = ${load(`pal_${at}`)};`,
        ...sv.map((v, j) => `var ${v} = ${load(`st${j}${at}`)};`),
        ruleCall('pv', g, sv, 0),
        `pal_${at} = ${put('pv')};`,
        ...sv.map((v, j) => `st${j}${at} = ${put(v)};`),
      ];
    };
    const fills: Record<string, string> = serial
      ? { PALETTE_ELEMENT: indent(['let q = lid >> 2u;', 'let j = lid & 3u;', ...(storeP ? ['dp[q][j] = s;'] : []), ...step('[q][j]', 'vec4<f32>(s)', true)]) }
      : {
          PALETTE_GRAD: KC
            ? `  if (lid < ${Q}u) {\n${indent([`let g = vec4<f32>(${[0, 1, 2, 3].map((i) => `grad_at(4u * lid + ${i}u)`).join(', ')});`, ...(storeP ? ['dp[lid] = g;'] : []), ...step('[lid]', 'g', false)])}\n  }`
            : '',
        };
    return wgslModule(
      { inputs: ['part'], outputs, types: { ...types, part: 'vec4<f32>' } },
      `${update?.shader ?? ''}\n${fill(section(src, serial ? 'finish_serial' : 'finish'), {
        R,
        T4: T / 4,
        L: Math.floor(WORKGROUP_SIZE / R),
        KC,
        Q,
        ...fills,
      })}`,
    );
  });
}

/** The unfused route (palettes too large to unroll): colorMix's kernels, the mean square and its gradient as expressions. */
function composed(k: GpuOps, [w, p, t]: readonly GpuStorage[], out: GpuStorage, shapes: readonly Shape[], attrs: ColorMixAttrs, need: readonly boolean[]): (GpuStorage | null)[] {
  const mixShape = shapes[2]!;
  const n = sizeOf(mixShape);
  const mix = k.alloc('colorMixLoss', mixShape);
  colorMixOp.gpu.forward(k, [w!, p!], mix, { shapes: shapes.slice(0, 2), attrs, outShape: mixShape });
  const d = () => ir.map(template('colorMixLoss:d', 'colorMixLoss', ['a', 'b'], [], ['a - b']), [k.expr(mix, [n]), k.expr(t!, [n])]);
  const square = template('colorMixLoss:sq', 'colorMixLoss', ['x'], [], ['x * x * param(0u)']);
  k.define(out, ir.reshape(ir.reduce('sum', ir.map(square, [d()], [1 / n]), [0]), []));
  const [needW, needP, needT] = need as [boolean, boolean, boolean];
  const scaled = (s: number) => {
    const g = k.alloc('colorMixLoss backward', mixShape);
    k.define(g, ir.reshape(ir.map(template('colorMixLoss:g', 'colorMixLoss_backward', ['x'], [], ['x * param(0u)']), [d()], [s]), mixShape));
    return g;
  };
  const dt = needT ? scaled(-2 / n) : null;
  let grads: (GpuStorage | null)[] = [null, null, dt];
  if (needW || needP) {
    const dMix = scaled(2 / n);
    const mixArgs = { shapes: shapes.slice(0, 2), attrs, outShape: mixShape, inputs: [w!, p!], output: null, grad: dMix, needs: [needW, needP] };
    const [dw, dp] = colorMixOp.gpu.backward(k, mixArgs);
    grads = [dw ?? null, dp ?? null, dt];
    k.release(dMix);
  }
  k.release(mix);
  return grads;
}

export const colorMixLossOp = defineOp<ColorMixAttrs>({
  name: 'colorMixLoss',
  arity: 3,
  gradsInForward: true,
  shape([w, p, t], attrs) {
    const mix = colorMixOp.shape([w!, p!], attrs);
    if (!sameShape(mix, t!)) {
      throw new ShapeError(`colorMixLoss: the target ${fmt(t!)} must have the mix's shape ${fmt(mix)} (weights ${fmt(w!)}, palette ${fmt(p!)}); it does not broadcast`);
    }
    if (sizeOf(mix) === 0) throw new ShapeError(`colorMixLoss: the mix ${fmt(mix)} (weights ${fmt(w!)}, palette ${fmt(p!)}) is empty; the mean of no elements is undefined`);
    return [];
  },
  // The forward pass keeps the gradients themselves (gradsInForward), not inputs.
  saves: () => ({ inputs: [false, false, false], output: false }),
  gpu: {
    forward(k, inputs, out, { shapes, attrs, needs }) {
      const need = [0, 1, 2].map((i) => needs?.[i] === true);
      const { P, K, C } = dims(shapes);
      const softmax = attrs.softmax === true;
      if (K * C > UNROLLED_KC) return composed(k, inputs, out, shapes, attrs, need);
      const [w, p, t] = inputs as [GpuStorage, GpuStorage, GpuStorage];
      const KC = need[1] ? K * C : 0;
      // A thread per pixel group and a partial per workgroup on a GPU, a few busy threads with a
      // partial each on a CPU adapter (sumsPerWorkgroup). Rows are a multiple of 4 long: the
      // finishing pass reads them as vec4s.
      const perWorkgroup = sumsPerWorkgroup(k, KC + 1);
      const W = partialWorkgroups(P);
      const T = perWorkgroup ? W * WORKGROUP_SIZE : 4 * Math.ceil(backwardThreads(P, K * C + 1, k.isSoftware) / 4);
      const row = perWorkgroup ? W : T;
      const dw = need[0] ? k.alloc('colorMixLoss gradient', shapes[0]!) : null;
      const dp = need[1] ? k.alloc('colorMixLoss gradient', shapes[1]!) : null;
      const dt = need[2] ? k.alloc('colorMixLoss gradient', shapes[2]!) : null;
      // Allocated here, not when recorded, so every step binds the same buffers however late it is recorded.
      const part = k.alloc('colorMixLoss partials', [KC + 1, row]);
      const n = P * C;
      const fusable = [...(dw ? [{ param: w, grad: dw }] : []), ...(dp ? [{ param: p, grad: dp }] : [])];
      const slotOf = (param: GpuStorage) => fusable.findIndex((f) => f.param === param);
      const record = (updates: readonly (FusedUpdate | null)[]) => {
        const uw = updates[slotOf(w)] ?? null;
        const up = updates[slotOf(p)] ?? null;
        // Gradients dropped since the forward call (zeroGrad after the step) are not stored, and
        // not computed unless an update needs them: freed memory may already be someone else's.
        const storeW = dw !== null && dw.refs > 0;
        const kneed = [storeW || uw !== null, need[1] === true, need[2] === true && dt!.refs > 0];
        k.run({
          name: uw ? `colorMixLoss+${uw.rule.name}` : 'colorMixLoss',
          wgsl: lossKernel(P, K, C, T, kneed, softmax, uw?.rule ?? null, storeW, perWorkgroup, k.isSoftware && !perWorkgroup),
          threads: T,
          inputs: uw ? [p, t] : [w, p, t],
          outputs: [...(uw ? [w] : []), ...(storeW ? [dw!] : []), ...(kneed[2] ? [dt!] : []), part, ...(uw?.state ?? [])],
          params: [1 / n, 2 / n, ...(uw?.params ?? [])],
        });
        const storeP = dp !== null && dp.refs > 0;
        k.run({
          name: up ? `colorMixLoss finish+${up.rule.name}` : 'colorMixLoss finish',
          wgsl: finishKernel(KC, row, up?.rule ?? null, k.isSoftware, storeP),
          threads: WORKGROUP_SIZE,
          inputs: [part],
          outputs: [...(up ? [p] : []), ...(storeP ? [dp!] : []), out, ...(up?.state ?? [])],
          params: up?.params ?? [],
        });
        k.release(part);
      };
      if (!fusable.length) {
        record([]);
        return [dw, dp, dt];
      }
      // Held back: optimizer steps on the weights and the palette that come before any other GPU work run inside these passes.
      const mainBindings = 3 + (dw ? 1 : 0) + (dt ? 1 : 0);
      k.defer({
        // The loss is held too (4 bytes): it is always stored, so the kernels do not change with
        // whether the caller kept it, and a step never compiles a new variant for that.
        reads: [w, p, t, out],
        writes: [out, ...[dw, dp, dt].filter((s): s is GpuStorage => s !== null)],
        fusable,
        canFuse: (slot, u) =>
          fusable[slot]!.param === w
            ? mainBindings + u.state.length <= k.maxStorageBuffers && 2 + u.params.length <= MAX_PARAMS
            : 4 + u.state.length <= k.maxStorageBuffers && u.params.length <= MAX_PARAMS,
        record,
      });
      return [dw, dp, dt];
    },
    backward() {
      throw new Error('internal: colorMixLoss gradients come from its forward pass (gradsInForward)');
    },
  },
  reference([w, p, t], { shapes, attrs }) {
    const mix = colorMixOp.reference([w!, p!], { shapes: shapes.slice(0, 2), attrs, outShape: shapes[2]! });
    let s = 0;
    for (let i = 0; i < mix.length; i++) s += (mix[i]! - t![i]!) ** 2;
    return Float64Array.of(s / mix.length);
  },
  referenceBackward({ grad, inputs: [w, p, t], shapes, needs, attrs }) {
    const mixShape = shapes[2]!;
    const mix = colorMixOp.reference([w!, p!], { shapes: shapes.slice(0, 2), attrs, outShape: mixShape });
    const scale = (2 / mix.length) * grad[0]!;
    const gm = mix.map((v, i) => (v - t![i]!) * scale);
    const [dw, dp] = colorMixOp.referenceBackward({ shapes: shapes.slice(0, 2), attrs, outShape: mixShape, inputs: [w!, p!], output: null, grad: gm, needs: [needs[0]!, needs[1]!] });
    return [dw ?? null, dp ?? null, needs[2] ? gm.map((v) => -v) : null];
  },
  testAttrs: [{}, { softmax: true }],
  testShapes: (n) => {
    const P = (K: number) => Math.max(1, Math.round(n / K));
    return [
      [[P(3), 3], [3, 3], [P(3), 3]],
      [[P(8), 8], [8, 3], [P(8), 3]],
      [[2, Math.max(1, Math.round(n / 10)), 5], [5, 4], [2, Math.max(1, Math.round(n / 10)), 4]],
      // The layer-mix layout: each channel value a row of K weights, a [K, 1] palette.
      [[P(4), 4], [4, 1], [P(4), 1]],
      // K·C above UNROLLED_KC: the composed route.
      [[P(17), 17], [17, 4], [P(17), 4]],
    ];
  },
});

/**
 * mean((colorMix(weights, palette, options) − target)²) as a scalar, computed with its gradients
 * in one fused pass (see the README's "Writing fast steps"). target has the mix's shape [..., C].
 */
export function colorMixLoss(weights: Tensor, palette: Tensor, target: Tensor, options?: ColorMixOptions): Tensor {
  return apply(colorMixLossOp, [weights, palette, target], mixAttrs('colorMixLoss', options));
}
