/**
 * Differentiable gradients of conv2d, whose first-order gradients are kernels: it is rewritten as
 * the same sums over its window taps in plain ops (a tap is a strided view of the padded image:
 * pad, slice and reshape, no copy), and the walk differentiates that: the rules of slice, pad and
 * matmul give the gradient, in the graph. Only gradients of gradients take this path; it is
 * slower than the kernels, not different.
 */
import { full } from '../creation.ts';
import type { Conv2dAttrs } from '../ops/conv2d.ts';
import { padOp } from '../ops/pad.ts';
import { windowTaps } from '../ops/window-taps.ts';
import { apply, type Tensor } from '../tensor.ts';
import { graphGradients } from './graph-backward.ts';
import type { VjpArgs } from './vjp-rules.ts';

/** conv2d as Σ over taps and groups of tap[..., group's channels] @ w[kh, kw][:, group's outputs]. */
function convByTaps(x: Tensor, w: Tensor, a: Conv2dAttrs): Tensor {
  const [KH, KW, CG, COUT] = w.shape as [number, number, number, number];
  const OG = COUT / a.groups;
  let y: Tensor | null = null;
  windowTaps(x, { ...a, kernel: [KH, KW] }).forEach((t, i) => {
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
