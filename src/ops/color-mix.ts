/**
 * colorMix and colorMixLoss: a per-pixel palette mix and its mean squared error, composed of plain
 * ops (softmax, matmul, sub, square, mean) with no kernel or gradient of their own. The scheduler
 * computes the mix four pixels a thread with the softmax in registers (src/gpu/render.ts, rows),
 * and a training step's loss and gradients in one walk over the pixels (src/gpu/walks.ts).
 * SwiftShader, S = 512, one page, against the hand-fused kernels these ops had: the softmax mix
 * forward 19.1 against 19.0 ms, the palette step with Adam 40.3 against 37.6, the layers step
 * ([3·S², 4] @ [4, 1], SGD) 9.6 against 8.4 (its walk 8.7 against the fused pass's 8.1).
 */
import { ShapeError } from '../errors.ts';
import { tidy } from '../runtime.ts';
import { fmt, sameShape, type Shape, sizeOf } from '../shape.ts';
import type { Tensor } from '../tensor.ts';
import { checkBool, checkOptions } from '../validate.ts';
import { asFloat, liveInputs } from './mse-loss.ts';

/**
 * Options of pg.colorMix and pg.colorMixLoss.
 * @example
 * pg.colorMix(logits, palette, { softmax: true });
 */
export interface ColorMixOptions {
  /** Treat `weights` as logits and mix with softmax(weights) over the last axis: the same as colorMix(weights.softmax(-1), palette). */
  readonly softmax?: boolean;
}

/** The mix's shape [..., C] for weights [..., K] and palette [K, C]. */
function mixShape(fn: string, w: Shape, p: Shape): Shape {
  const fail = (why: string): never => {
    throw new ShapeError(`${fn}: weights ${fmt(w)} and palette ${fmt(p)} do not fit: ${why} (expected weights [..., K] and palette [K, C])`);
  };
  if (p.length !== 2) fail(`the palette must be 2-D [K, C], got rank ${p.length}`);
  if (w.length < 1) fail('the weights must have at least one dimension [..., K]');
  const [K, C] = p as [number, number];
  if (w.at(-1) !== K) fail(`the weights' last dimension (${w.at(-1)}) must equal the palette's number of colors K (its first dimension, ${K})`);
  if (K === 0 || C === 0) fail('the palette needs at least one color and one channel');
  return [...w.slice(0, -1), C];
}

/** The mix as [pixels, C]: the weights' rows (softmaxed) times the palette. */
function mixRows(w: Tensor, p: Tensor, softmax: boolean): Tensor {
  const rows = asFloat(w).reshape([-1, p.shape[0]!]);
  return (softmax ? rows.softmax(-1) : rows).matmul(asFloat(p));
}

const softmaxOption = (fn: string, options: ColorMixOptions | undefined) => checkBool(fn, 'softmax', checkOptions(fn, options).softmax, false);

/**
 * Mixes a palette per pixel: weights [..., K] (e.g. [H, W, K]) and palette [K, C] give
 * [..., C] with out[..., c] = Σ_k weights[..., k]·palette[k, c]. Differentiable in both.
 * @example
 * const mix = pg.colorMix(logits, palette, { softmax: true }); // [H, W, 3]
 */
export function colorMix(weights: Tensor, palette: Tensor, options?: ColorMixOptions): Tensor {
  const [w, p] = liveInputs('colorMix', [weights, palette]) as [Tensor, Tensor];
  const softmax = softmaxOption('colorMix', options);
  const shape = mixShape('colorMix', w.shape, p.shape);
  return tidy(() => mixRows(w, p, softmax).reshape(shape));
}

/**
 * mean((colorMix(weights, palette, options) − target)²) as a scalar; target has the mix's shape
 * [..., C] (no broadcasting). The same as writing it from colorMix and plain ops, which the
 * scheduler fuses into one pass over the pixels with its gradients.
 * @example
 * pg.colorMixLoss(logits, palette, photo, { softmax: true }).backward();
 */
export function colorMixLoss(weights: Tensor, palette: Tensor, target: Tensor, options?: ColorMixOptions): Tensor {
  const [w, p, t] = liveInputs('colorMixLoss', [weights, palette, target]) as [Tensor, Tensor, Tensor];
  const softmax = softmaxOption('colorMixLoss', options);
  const shape = mixShape('colorMixLoss', w.shape, p.shape);
  if (!sameShape(shape, t.shape)) {
    throw new ShapeError(`colorMixLoss: the target ${fmt(t.shape)} must have the mix's shape ${fmt(shape)} (weights ${fmt(w.shape)}, palette ${fmt(p.shape)}); it does not broadcast`);
  }
  if (sizeOf(shape) === 0) throw new ShapeError(`colorMixLoss: the mix ${fmt(shape)} (weights ${fmt(w.shape)}, palette ${fmt(p.shape)}) is empty; the mean of no elements is undefined`);
  return tidy(() => mixRows(w, p, softmax).sub(asFloat(t).reshape([-1, p.shape[1]!])).square().mean());
}
