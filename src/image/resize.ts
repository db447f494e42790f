/**
 * Image resizing as two small interpolation matrices, one per spatial axis, applied with matmul:
 * out = Mh · x · Mwᵀ (per channel). The matrices follow PyTorch's F.interpolate index rules, so
 * the values match it; the gradient is matmul's (Mhᵀ · g · Mw), no rule of its own. Each row of a
 * matrix holds at most two nonzeros, so a dedicated gather kernel would do less work on large
 * images; the matmul form keeps the op composed of primitives that are already tuned and tested.
 */
import { tensor } from '../creation.ts';
import { InvalidArgumentError, ShapeError } from '../errors.ts';
import { tidy } from '../runtime.ts';
import { fmt } from '../shape.ts';
import { Tensor } from '../tensor.ts';
import { checkBool, checkOptions, repr } from '../validate.ts';

/** Options of pg.resize(). */
export interface ResizeOptions {
  /**
   * 'bilinear' (the default) or 'nearest'. Nearest is PyTorch's 'nearest': source index
   * floor(dst · in / out) (computed in float32, as PyTorch does), not the rounding of
   * 'nearest-exact'.
   */
  readonly mode?: 'bilinear' | 'nearest';
  /**
   * Bilinear only. false (the default): pixels are areas, sampled at half-pixel centres
   * (src = (dst + 0.5) · in / out - 0.5, clamped at 0); true: the corner pixels' centres line up
   * (src = dst · (in - 1) / (out - 1)).
   */
  readonly alignCorners?: boolean;
}

/**
 * The [outN, inN] matrix taking an axis of inN samples to outN, row by row with PyTorch's
 * formulas (aten/src/ATen/native/UpSample.h: area_pixel_compute_source_index, nearest_idx).
 */
function interpolationMatrix(inN: number, outN: number, mode: 'bilinear' | 'nearest', alignCorners: boolean): Float64Array {
  const m = new Float64Array(outN * inN);
  for (let o = 0; o < outN; o++) {
    if (mode === 'nearest') {
      const scale = Math.fround(inN / outN);
      m[o * inN + Math.min(Math.floor(Math.fround(o * scale)), inN - 1)] = 1;
      continue;
    }
    const src = alignCorners ? (outN > 1 ? (o * (inN - 1)) / (outN - 1) : 0) : Math.max(((o + 0.5) * inN) / outN - 0.5, 0);
    const i0 = Math.min(Math.floor(src), inN - 1);
    const i1 = i0 < inN - 1 ? i0 + 1 : i0;
    const t = src - i0;
    m[o * inN + i0]! += 1 - t;
    m[o * inN + i1]! += t;
  }
  return m;
}

const isIdentity = (m: Float64Array, n: number) => m.every((v, i) => v === (i % (n + 1) === 0 ? 1 : 0));

/** [H, W, C] resized to [outH, outW, C]. */
function resize3(x: Tensor, outH: number, outW: number, mode: 'bilinear' | 'nearest', alignCorners: boolean): Tensor {
  const [H, W, C] = x.shape as [number, number, number];
  let y = x;
  const mh = interpolationMatrix(H, outH, mode, alignCorners);
  if (H !== outH || !isIdentity(mh, H)) y = tensor(Array.from(mh), { shape: [outH, H] }).matmul(y.reshape([H, W * C])).reshape([outH, W, C]);
  const mw = interpolationMatrix(W, outW, mode, alignCorners);
  if (W !== outW || !isIdentity(mw, W)) {
    const cols = y.permute([1, 0, 2]).reshape([W, outH * C]);
    y = tensor(Array.from(mw), { shape: [outW, W] }).matmul(cols).reshape([outW, outH, C]).permute([1, 0, 2]);
  }
  return y === x ? x.reshape(x.shape) : y;
}

/**
 * Resizes `[H, W, C]` or `[N, H, W, C]` images to `[outH, outW]` with PyTorch's F.interpolate
 * conventions (see ResizeOptions): 'bilinear' (default) or 'nearest', half-pixel centres unless
 * `alignCorners`. Differentiable with respect to the image.
 * @example
 * const img = pg.rand([32, 48, 3]);
 * pg.resize(img, [64, 96]).shape; // [64, 96, 3]
 * pg.resize(img, [16, 24], { mode: 'nearest' }).shape; // [16, 24, 3]
 */
export function resize(x: Tensor, size: readonly [number, number], options?: ResizeOptions): Tensor {
  if (!(x instanceof Tensor)) throw new InvalidArgumentError(`resize: expected a Tensor, got ${repr(x)}`);
  const o = checkOptions('resize', options);
  const mode = o.mode ?? 'bilinear';
  if (mode !== 'bilinear' && mode !== 'nearest') throw new InvalidArgumentError(`resize: mode must be 'bilinear' or 'nearest', got ${repr(mode)}`);
  const alignCorners = checkBool('resize', 'alignCorners', o.alignCorners, false);
  if (alignCorners && mode === 'nearest') throw new InvalidArgumentError("resize: alignCorners applies to mode 'bilinear' only (as in PyTorch), not 'nearest'");
  if (!Array.isArray(size) || size.length !== 2 || !size.every((d) => Number.isSafeInteger(d) && d > 0)) {
    throw new InvalidArgumentError(`resize: size must be [outH, outW], two positive integers, got ${repr(size)}`);
  }
  if (x.rank !== 3 && x.rank !== 4) throw new ShapeError(`resize: expected an image of shape [H, W, C] or [N, H, W, C], got ${fmt(x.shape)}`);
  const [H, W] = x.shape.slice(x.rank - 3) as [number, number];
  if (H === 0 || W === 0) throw new ShapeError(`resize: the image ${fmt(x.shape)} has no pixels to interpolate from`);
  const [outH, outW] = size;
  return tidy(() => {
    if (x.rank === 3) return resize3(x, outH, outW, mode, alignCorners);
    // The batch joins the channels: both are carried along untouched by the two matrices.
    const [N, , , C] = x.shape as [number, number, number, number];
    const y = resize3(x.permute([1, 2, 0, 3]).reshape([H, W, N * C]), outH, outW, mode, alignCorners);
    return y.reshape([outH, outW, N, C]).permute([2, 0, 1, 3]);
  });
}
