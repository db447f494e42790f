/**
 * Differentiable gradients of the window ops (conv2d, maxPool2d), whose first-order gradients are
 * kernels. Each op is rewritten as the same sums over its window taps in plain ops (a tap is a
 * strided view of the padded image: pad, slice and reshape, no copy), and the walk differentiates
 * that: the rules of slice, pad, matmul, cat and takeAlongAxis give the gradient, in the graph.
 * Only gradients of gradients take this path; it is slower than the kernels, not different.
 */
import { full } from '../creation.ts';
import { where } from '../logic.ts';
import type { Conv2dAttrs } from '../ops/conv2d.ts';
import type { Pool2dAttrs } from '../ops/max-pool2d.ts';
import { padOp } from '../ops/pad.ts';
import { apply, type Tensor } from '../tensor.ts';
import { graphGradients } from './graph-backward.ts';
import type { VjpArgs } from './vjp-rules.ts';

interface Window {
  readonly kernel: readonly [number, number];
  readonly stride: readonly [number, number];
  readonly dilation: readonly [number, number];
  readonly padding: readonly [number, number, number, number];
}

/** Every tap of the window over x [N, H, W, C] (zero padding), each [N, OH, OW, C], row-major tap order. */
function taps(x: Tensor, { kernel: [KH, KW], stride: [SH, SW], dilation: [DH, DW], padding: [PT, PB, PL, PR] }: Window): Tensor[] {
  const [N, H, W, C] = x.shape as [number, number, number, number];
  const OH = Math.floor((H + PT + PB - (KH - 1) * DH - 1) / SH) + 1;
  const OW = Math.floor((W + PL + PR - (KW - 1) * DW - 1) / SW) + 1;
  // Tall and wide enough for every tap's OH·SH rows and OW·SW columns; the extra zeros are never read.
  const HP = Math.max(H + PT + PB, (KH - 1) * DH + OH * SH);
  const WP = Math.max(W + PL + PR, (KW - 1) * DW + OW * SW);
  const xp = apply(padOp, [x], { before: [0, PT, PL, 0], after: [0, HP - H - PT, WP - W - PL, 0] });
  const out: Tensor[] = [];
  for (let kh = 0; kh < KH; kh++) {
    for (let kw = 0; kw < KW; kw++) {
      const win = xp.slice([0, kh * DH, kw * DW, 0], [N, kh * DH + OH * SH, kw * DW + OW * SW, C]);
      out.push(win.reshape([N, OH, SH, OW, SW, C]).slice([0, 0, 0, 0, 0, 0], [N, OH, 1, OW, 1, C]).reshape([N, OH, OW, C]));
    }
  }
  return out;
}

/** conv2d as Σ over taps and groups of tap[..., group's channels] @ w[kh, kw][:, group's outputs]. */
function convByTaps(x: Tensor, w: Tensor, a: Conv2dAttrs): Tensor {
  const [KH, KW, CG, COUT] = w.shape as [number, number, number, number];
  const OG = COUT / a.groups;
  let y: Tensor | null = null;
  taps(x, { ...a, kernel: [KH, KW] }).forEach((t, i) => {
    const [kh, kw] = [Math.floor(i / KW), i % KW];
    for (let gi = 0; gi < a.groups; gi++) {
      const tg = a.groups === 1 ? t : t.slice([0, 0, 0, gi * CG], [...t.shape.slice(0, 3), (gi + 1) * CG]);
      let term = tg.matmul(w.slice([kh, kw, 0, gi * OG], [kh + 1, kw + 1, CG, (gi + 1) * OG]).reshape([CG, OG]));
      // The group's outputs placed among all COUT channels (zeros elsewhere): summed, the groups join.
      if (a.groups > 1) term = apply(padOp, [term], { before: [0, 0, 0, gi * OG], after: [0, 0, 0, COUT - (gi + 1) * OG] });
      y = y ? y.add(term) : term;
    }
  });
  return y!;
}

/**
 * maxPool2d as the first largest tap of each window (padding never chosen): a running comparison
 * over the taps keeps the winner's number, and the output is the sum of each tap where it won.
 */
function poolByTaps(x: Tensor, a: Pool2dAttrs): Tensor {
  const win = { ...a, dilation: [1, 1] as const };
  const values = taps(x, win);
  const inside = taps(full(x.shape, 1), win);
  let best = where(inside[0]!, values[0]!, Number.NEGATIVE_INFINITY);
  let winner = full(best.shape, 0);
  for (let t = 1; t < values.length; t++) {
    const v = where(inside[t]!, values[t]!, Number.NEGATIVE_INFINITY);
    const better = v.gt(best);
    best = where(better, v, best);
    winner = where(better, t, winner);
  }
  return values.map((v, t) => where(winner.eq(t), v, 0)).reduce((s, term) => s.add(term));
}

/**
 * The input gradients of `op(inputs)` for the output gradient g, by the walk over `build`'s ops.
 * An input that was not saved gets zeros: each window op is linear in the input whose gradient
 * does not read it, so its value cannot change the other's gradient.
 */
function viaTaps({ g, x, shapes, needs }: VjpArgs, build: (ins: Tensor[]) => Tensor): (Tensor | null)[] {
  const ins = shapes.map((s, i) => {
    if (x[i]?.requiresGrad) return x[i]!.reshape(s);
    const t = x[i] ? x[i]!.detach() : full(s, 0);
    if (needs[i]) t.requiresGrad = true;
    return t;
  });
  try {
    const nodes = ins.map((t, i) => (needs[i] ? t._gradNode() : null));
    const found = graphGradients('backward', build(ins), g, new Set(nodes.filter((n) => n !== null)));
    return nodes.map((n) => (n ? (found.get(n) ?? null) : null));
  } finally {
    for (const t of ins) t.dispose();
  }
}

export const conv2dVjp = (a: VjpArgs) => viaTaps(a, ([x, w]) => convByTaps(x!, w!, a.attrs as Conv2dAttrs));
export const maxPool2dVjp = (a: VjpArgs) => viaTaps(a, ([x]) => poolByTaps(x!, a.attrs as Pool2dAttrs));
