/**
 * A window op's taps: for each kernel position, the image's values that position reads in every
 * window, as a strided view of the zero-padded image (pad, slice and reshape: no copy). maxPool2d
 * is a comparison over them, and conv2d's gradients of gradients sums over them.
 */
import { apply, type Tensor } from '../tensor.ts';
import { padOp } from './pad.ts';

export interface Window {
  readonly kernel: readonly [number, number];
  readonly stride: readonly [number, number];
  readonly dilation: readonly [number, number];
  readonly padding: readonly [number, number, number, number];
}

/** Every tap of the window over x [N, H, W, C] (zero padding), each [N, OH, OW, C], row-major tap order. */
export function windowTaps(x: Tensor, { kernel: [KH, KW], stride: [SH, SW], dilation: [DH, DW], padding: [PT, PB, PL, PR] }: Window): Tensor[] {
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

