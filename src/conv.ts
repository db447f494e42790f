/**
 * Convolution and pooling on NHWC images ([N, H, W, C], or one image [H, W, C]), with the
 * option forms of tfjs and jax: stride and dilation a number or a [rows, columns] pair, padding a
 * number, a pair, or 'same' / 'valid'.
 */
import { full } from './creation.ts';
import { InvalidArgumentError, ShapeError } from './errors.ts';
import { type Conv2dAttrs, conv2dOp } from './ops/conv2d.ts';
import { maxPool2dByTaps, type Pool2dAttrs } from './ops/max-pool2d.ts';
import { fmt } from './shape.ts';
import { apply, Tensor } from './tensor.ts';
import { checkOptions, repr } from './validate.ts';

/**
 * Padding of a convolution or pooling: a number of zero rows and columns on every side, a
 * [rows, columns] pair (each added on both sides), or TensorFlow's 'same' (the output has
 * ceil(size / stride) pixels; an odd total puts the extra row or column at the end) or 'valid' (none).
 */
export type Padding2d = number | readonly [number, number] | 'same' | 'valid';

/** Options of {@link conv2d}. */
export interface Conv2dOptions {
  /** Rows and columns between windows: a number or [rows, columns] (default 1). */
  readonly stride?: number | readonly [number, number];
  /** Default 'valid' (no padding), as tfjs and jax. */
  readonly padding?: Padding2d;
  /** Spacing between kernel taps (default 1). */
  readonly dilation?: number | readonly [number, number];
  /** Channel groups: each group of Cin/groups inputs feeds Cout/groups outputs (groups = Cin: depthwise). Default 1. */
  readonly groups?: number;
}

/** Options of {@link avgPool2d} and {@link maxPool2d}. */
export interface Pool2dOptions {
  /** Default: the kernel size (windows that do not overlap). */
  readonly stride?: number | readonly [number, number];
  /** Default 'valid'. */
  readonly padding?: Padding2d;
}

function pair(fn: string, what: string, v: unknown, fallback: number): [number, number] {
  if (v === undefined) return [fallback, fallback];
  const ok = (n: unknown) => typeof n === 'number' && Number.isSafeInteger(n) && n > 0;
  if (ok(v)) return [v as number, v as number];
  if (Array.isArray(v) && v.length === 2 && v.every(ok)) return [v[0], v[1]];
  throw new InvalidArgumentError(`${fn}: ${what} must be a positive integer or a [rows, columns] pair of them, got ${repr(v)}`);
}

/** Explicit [top, bottom, left, right] padding for an image of H x W, effective kernel kH x kW and stride. */
function resolvePadding(fn: string, p: unknown, H: number, W: number, eff: [number, number], stride: [number, number]): [number, number, number, number] {
  if (p === undefined || p === 'valid') return [0, 0, 0, 0];
  if (p === 'same') {
    const side = (size: number, k: number, s: number) => {
      const total = Math.max(0, (Math.ceil(size / s) - 1) * s + k - size);
      return [Math.floor(total / 2), total - Math.floor(total / 2)] as const;
    };
    const [t, b] = side(H, eff[0], stride[0]);
    const [l, r] = side(W, eff[1], stride[1]);
    return [t, b, l, r];
  }
  const ok = (n: unknown) => typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;
  if (ok(p)) return [p as number, p as number, p as number, p as number];
  if (Array.isArray(p) && p.length === 2 && p.every(ok)) return [p[0], p[0], p[1], p[1]];
  throw new InvalidArgumentError(`${fn}: padding must be a non-negative integer, a [rows, columns] pair of them, 'same' or 'valid', got ${repr(p)}`);
}

/** The image as [N, H, W, C] and how to give the result back the caller's rank. */
function batched(fn: string, x: unknown): [Tensor, (y: Tensor) => Tensor] {
  if (!(x instanceof Tensor)) throw new InvalidArgumentError(`${fn}: the image must be a Tensor, got ${repr(x)}`);
  if (x.rank === 4) return [x, (y) => y];
  if (x.rank === 3) return [x.unsqueeze(0), (y) => y.squeeze(0)];
  throw new ShapeError(`${fn}: needs an image [N, H, W, C] or [H, W, C], got ${fmt(x.shape)}`);
}

/**
 * 2-D convolution (cross-correlation, as every deep learning library) of NHWC images with HWIO
 * weights [kH, kW, Cin / groups, Cout]; differentiable in both. Output [N, OH, OW, Cout] (or
 * [OH, OW, Cout] for a [H, W, Cin] image).
 * @example
 * const x = pg.randn([1, 32, 32, 16]);
 * const w = pg.randn([3, 3, 16, 16], { requiresGrad: true });
 * pg.conv2d(x, w, { padding: 'same' }).shape; // [1, 32, 32, 16]
 * pg.conv2d(x, pg.randn([3, 3, 1, 16]), { stride: 2, padding: 1, groups: 16 }).shape; // [1, 16, 16, 16] (depthwise)
 */
export function conv2d(x: Tensor, w: Tensor, options?: Conv2dOptions): Tensor {
  const o = checkOptions('conv2d', options);
  const [x4, back] = batched('conv2d', x);
  if (!(w instanceof Tensor)) throw new InvalidArgumentError(`conv2d: the weights must be a Tensor, got ${repr(w)}`);
  const stride = pair('conv2d', 'stride', o.stride, 1);
  const dilation = pair('conv2d', 'dilation', o.dilation, 1);
  const groups = o.groups ?? 1;
  if (!(typeof groups === 'number' && Number.isSafeInteger(groups) && groups > 0)) throw new InvalidArgumentError(`conv2d: groups must be a positive integer, got ${repr(groups)}`);
  if (w.rank !== 4) throw new ShapeError(`conv2d: weights must be [kH, kW, Cin/groups, Cout], got ${fmt(w.shape)} (image ${fmt(x.shape)})`);
  const eff: [number, number] = [(w.shape[0]! - 1) * dilation[0] + 1, (w.shape[1]! - 1) * dilation[1] + 1];
  const padding = resolvePadding('conv2d', o.padding, x4.shape[1]!, x4.shape[2]!, eff, stride);
  const attrs: Conv2dAttrs = { stride, padding, dilation, groups };
  return back(apply(conv2dOp, [x4, w], attrs));
}

function poolAttrs(fn: string, x4: Tensor, kernel: unknown, options: Pool2dOptions | undefined): Pool2dAttrs {
  const o = checkOptions(fn, options);
  const k = pair(fn, 'kernel', kernel, 0);
  const stride = pair(fn, 'stride', o.stride ?? k, 1);
  return { kernel: k, stride, padding: resolvePadding(fn, o.padding, x4.shape[1]!, x4.shape[2]!, k, stride) };
}

/**
 * Mean of each kernel window, per channel, on NHWC images. Padding counts as zeros in the mean
 * (PyTorch's count_include_pad; tfjs leaves padding out of the count). A depthwise conv2d with
 * constant weights, so its gradient is conv2d's.
 * @example
 * const x = pg.arange(16).reshape([4, 4, 1]);
 * await pg.avgPool2d(x, 2).toArray(); // [[[2.5], [4.5]], [[10.5], [12.5]]]
 */
export function avgPool2d(x: Tensor, kernel: number | readonly [number, number], options?: Pool2dOptions): Tensor {
  const [x4, back] = batched('avgPool2d', x);
  const a = poolAttrs('avgPool2d', x4, kernel, options);
  const C = x4.shape[3]!;
  const w = full([a.kernel[0], a.kernel[1], 1, C], 1 / (a.kernel[0] * a.kernel[1]));
  try {
    return back(apply(conv2dOp, [x4, w], { stride: a.stride, padding: a.padding, dilation: [1, 1], groups: Math.max(1, C) }));
  } finally {
    w.dispose();
  }
}

/**
 * Largest value of each kernel window, per channel, on NHWC images; padding never wins. The
 * gradient goes to the first maximum of each window in row-major order.
 * @example
 * const x = pg.arange(16).reshape([4, 4, 1]);
 * await pg.maxPool2d(x, 2).toArray(); // [[[5], [7]], [[13], [15]]]
 */
export function maxPool2d(x: Tensor, kernel: number | readonly [number, number], options?: Pool2dOptions): Tensor {
  const [x4, back] = batched('maxPool2d', x);
  return back(maxPool2dByTaps(x4, poolAttrs('maxPool2d', x4, kernel, options)));
}
