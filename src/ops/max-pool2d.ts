/**
 * maxPool2d on NHWC images [N, H, W, C]: the largest value of each window, padding ignored; the
 * gradient goes to the first maximum of the window (row-major order), as PyTorch's. Plain ops,
 * no kernel or gradient of its own: a running comparison over the window's taps (each a strided
 * view of the padded image) selects the first largest, so the gradient of those selects lands
 * where the value came from.
 */
import { full } from '../creation.ts';
import { InvalidArgumentError, ShapeError } from '../errors.ts';
import { where } from '../logic.ts';
import { tidy } from '../runtime.ts';
import { fmt, type Shape } from '../shape.ts';
import type { Tensor } from '../tensor.ts';
import { windowTaps } from './window-taps.ts';

export interface Pool2dAttrs {
  /** Window rows and columns. */
  readonly kernel: readonly [number, number];
  readonly stride: readonly [number, number];
  /** Rows or columns added on the top, bottom, left and right (they never hold the maximum). */
  readonly padding: readonly [number, number, number, number];
}

const positiveInt = (v: number) => Number.isSafeInteger(v) && v > 0;

/** Throws the typed error a pooling of image x (rank 4) with these attributes deserves, if any. */
function checkPool(x: Shape, a: Pool2dAttrs): void {
  const op = 'maxPool2d';
  if (x.length !== 4) throw new ShapeError(`${op}: needs an image [N, H, W, C] or [H, W, C], got ${fmt(x)}`);
  const { kernel, stride, padding } = a;
  if (![...kernel, ...stride].every(positiveInt)) throw new InvalidArgumentError(`${op}: kernel [${kernel}] and stride [${stride}] must be positive integers`);
  const [KH, KW] = kernel;
  const [PT, PB, PL, PR] = padding;
  if (!padding.every((p) => Number.isSafeInteger(p) && p >= 0) || PT >= KH || PB >= KH || PL >= KW || PR >= KW) {
    throw new InvalidArgumentError(`${op}: padding [${padding}] must be non-negative integers smaller than the kernel [${kernel}] on each side, so that every window holds a pixel`);
  }
  const [, H, W] = x as [number, number, number, number];
  if (KH > H + PT + PB || KW > W + PL + PR) {
    throw new ShapeError(`${op}: the kernel [${kernel}] is larger than the padded image (${H + PT + PB}x${W + PL + PR}: image ${fmt(x)}, padding [${padding}])`);
  }
}

/**
 * The pooling of x [N, H, W, C] (validated: checkPool). A tap outside the image never wins; a
 * later tap wins only when it is larger (ties and NaN keep the first), as the kernels of PyTorch
 * and tfjs compare.
 */
export function maxPool2dByTaps(x: Tensor, a: Pool2dAttrs): Tensor {
  checkPool(x.shape, a);
  return tidy(() => {
    const win = { ...a, dilation: [1, 1] as const };
    const values = windowTaps(x, win);
    const inside = windowTaps(full(x.shape, 1, { dtype: 'bool' }), win);
    // Selects only: the dtype is the image's, and where's gradient goes to the branch it took, so
    // each window's gradient reaches the tap that won.
    let best = values[0]!;
    let found = inside[0]!;
    for (let t = 1; t < values.length; t++) {
      const v = values[t]!;
      best = where(inside[t]!.logicalAnd(found.logicalNot().logicalOr(v.gt(best))), v, best);
      found = found.logicalOr(inside[t]!);
    }
    return best;
  });
}
