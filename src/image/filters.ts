/**
 * Image filters as depthwise convolutions (pg.conv2d with groups = channels) on NHWC images, so
 * they are differentiable in the image. Edges are replicated (the border pixel repeats, as
 * OpenCV's BORDER_REPLICATE), so a blur keeps a flat image flat up to its border.
 */
import { conv2d } from '../conv.ts';
import { tensor } from '../creation.ts';
import { InvalidArgumentError, ShapeError } from '../errors.ts';
import { cat } from '../ops/concat.ts';
import { fmt } from '../shape.ts';
import { Tensor } from '../tensor.ts';
import { checkOptions, repr } from '../validate.ts';

/** Options of {@link gaussianBlur}. */
export interface GaussianBlurOptions {
  /** Taps along each axis, odd; default 2·ceil(3σ) + 1 (the kernel holds 99.7% of the weight). */
  readonly kernelSize?: number;
}

function image(fn: string, x: unknown): [Tensor, (y: Tensor) => Tensor] {
  if (!(x instanceof Tensor)) throw new InvalidArgumentError(`${fn}: the image must be a Tensor, got ${repr(x)}`);
  if (x.rank === 4) return [x, (y) => y];
  if (x.rank === 3) return [x.unsqueeze(0), (y) => y.squeeze(0)];
  throw new ShapeError(`${fn}: needs an image [N, H, W, C] or [H, W, C], got ${fmt(x.shape)}`);
}

/** x with `r` copies of its first and last row (axis 1) or column (axis 2) added on either side. */
function replicateEdges(x: Tensor, axis: 1 | 2, r: number): Tensor {
  if (r === 0) return x;
  const size = x.shape[axis]!;
  const edge = (at: number) => {
    const begin = [0, 0, 0, 0];
    const end = [...x.shape];
    begin[axis] = at;
    end[axis] = at + 1;
    const shape = [...x.shape];
    shape[axis] = r;
    return x.slice(begin, end).expand(shape);
  };
  return cat([edge(0), x, edge(size - 1)], axis);
}

/** Depthwise weights [kH, kW, 1, C·M]: output channel c·M + m applies kernels[m] to channel c. */
function depthwise(kernels: readonly Float32Array[], kH: number, kW: number, C: number): Tensor {
  const M = kernels.length;
  const w = new Float32Array(kH * kW * C * M);
  for (let t = 0; t < kH * kW; t++) for (let c = 0; c < C; c++) for (let m = 0; m < M; m++) w[t * C * M + c * M + m] = kernels[m]![t]!;
  return tensor(w, { shape: [kH, kW, 1, C * M] });
}

/**
 * Gaussian blur of NHWC images ([N, H, W, C] or [H, W, C]) with standard deviation `sigma` pixels:
 * two 1-D depthwise convolutions (rows, then columns), edges replicated. Differentiable in x.
 * @example
 * const img = pg.rand([64, 64, 3]);
 * pg.gaussianBlur(img, 1.5).shape; // [64, 64, 3]
 */
export function gaussianBlur(x: Tensor, sigma: number, options?: GaussianBlurOptions): Tensor {
  const [x4, back] = image('gaussianBlur', x);
  if (typeof sigma !== 'number' || !Number.isFinite(sigma) || sigma <= 0) throw new InvalidArgumentError(`gaussianBlur: sigma must be a finite number > 0, got ${repr(sigma)}`);
  const o = checkOptions('gaussianBlur', options);
  const K = o.kernelSize ?? 2 * Math.ceil(3 * sigma) + 1;
  if (typeof K !== 'number' || !Number.isSafeInteger(K) || K < 1 || K % 2 === 0) throw new InvalidArgumentError(`gaussianBlur: kernelSize must be an odd positive integer, got ${repr(K)}`);
  const r = (K - 1) / 2;
  const taps = Float32Array.from({ length: K }, (_, i) => Math.exp(-((i - r) ** 2) / (2 * sigma * sigma)));
  const total = taps.reduce((a, b) => a + b, 0);
  const g = taps.map((v) => v / total);
  const C = x4.shape[3]!;
  const wy = depthwise([g], K, 1, C);
  const wx = depthwise([g], 1, K, C);
  try {
    const rows = conv2d(replicateEdges(x4, 1, r), wy, { groups: C });
    return back(conv2d(replicateEdges(rows, 2, r), wx, { groups: C }));
  } finally {
    wy.dispose();
    wx.dispose();
  }
}

/** Sobel kernels, row-major 3 × 3: x (columns, increasing to the right) and y (rows, increasing downwards). */
const SOBEL_X = Float32Array.of(-1, 0, 1, -2, 0, 2, -1, 0, 1);
const SOBEL_Y = Float32Array.of(-1, -2, -1, 0, 0, 0, 1, 2, 1);

/**
 * Sobel gradients of NHWC images, per channel, edges replicated and not normalized (a unit step
 * gives 4, as OpenCV's Sobel with ksize 3). The result has a new last axis of 2: [..., H, W, C, 2]
 * holds [gx, gy], gx the change along a row (to the right), gy down the columns. One depthwise
 * convolution with two outputs per channel; differentiable in x.
 * @example
 * const img = pg.rand([32, 32, 1]);
 * const g = pg.sobel(img);
 * g.shape;                              // [32, 32, 1, 2]
 * const magnitude = g.square().sum(-1).sqrt();
 */
export function sobel(x: Tensor): Tensor {
  const [x4, back] = image('sobel', x);
  const [N, H, W, C] = x4.shape as [number, number, number, number];
  const w = depthwise([SOBEL_X, SOBEL_Y], 3, 3, C);
  try {
    const padded = replicateEdges(replicateEdges(x4, 1, 1), 2, 1);
    return back(conv2d(padded, w, { groups: C }).reshape([N, H, W, C, 2]));
  } finally {
    w.dispose();
  }
}
