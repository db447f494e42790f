/**
 * Colour conversions as compositions of public tensor ops: no kernel and no gradient of their own,
 * so the lazy compiler fuses each into its neighbours and autograd differentiates it op by op.
 *
 * sRGB is IEC 61966-2-1 (values in [0, 1]), white D65 (X, Y, Z = 0.95047, 1, 1.08883), L*a*b* is
 * CIE 1976 with the exact constants ε = 216/24389 and κ = 24389/27 (Lindbloom), as colormath,
 * scikit-image and kornia compute it. The 3 × 3 colour matrices are one thin matmul on a [-1, 3]
 * view each (a fused reduction of 3 elements). Piecewise parts are where() of both branches; the
 * branch a where() drops still gets a zero gradient, so each pow reads its input clamped to its
 * own branch (a negative base would give NaN, and NaN · 0 stays NaN).
 */
import { tensor } from '../creation.ts';
import { InvalidArgumentError, ShapeError } from '../errors.ts';
import { where } from '../logic.ts';
import { tidy } from '../runtime.ts';
import { fmt } from '../shape.ts';
import { Tensor } from '../tensor.ts';
import { repr } from '../validate.ts';

type Matrix = readonly (readonly number[])[];

/** Linear sRGB to XYZ, rows X, Y, Z (IEC 61966-2-1, D65). */
const RGB_TO_XYZ: Matrix = [
  [0.4124564, 0.3575761, 0.1804375],
  [0.2126729, 0.7151522, 0.072175],
  [0.0193339, 0.119192, 0.9503041],
];
/** Its inverse, to the same 7 digits (Lindbloom). */
const XYZ_TO_RGB: Matrix = [
  [3.2404542, -1.5371385, -0.4985314],
  [-0.969266, 1.8760108, 0.041556],
  [0.0556434, -0.2040259, 1.0572252],
];
const WHITE = [0.95047, 1, 1.08883];
const EPSILON = 216 / 24389;
const KAPPA = 24389 / 27;
/** The cube root of EPSILON: where f(t) switches from linear to t^(1/3). */
const DELTA = 6 / 29;

/** xyz divided by the white point: RGB_TO_XYZ with each row scaled. */
const RGB_TO_XYZ_WHITE = /* @__PURE__ */ RGB_TO_XYZ.map((row, i) => row.map((v) => v / WHITE[i]!));
const XYZ_WHITE_TO_RGB = /* @__PURE__ */ XYZ_TO_RGB.map((row) => row.map((v, j) => v * WHITE[j]!));
/** [fx, fy, fz] to [L + 16, a, b]. */
const F_TO_LAB: Matrix = [
  [0, 116, 0],
  [500, -500, 0],
  [0, 200, -200],
];
/** [L, a, b] to [fx, fy, fz] less 16/116. */
const LAB_TO_F: Matrix = [
  [1 / 116, 1 / 500, 0],
  [1 / 116, 0, 0],
  [1 / 116, 0, -1 / 200],
];

function checkTensor(fn: string, x: Tensor): void {
  if (!(x instanceof Tensor)) throw new InvalidArgumentError(`${fn}: needs a Tensor, got ${repr(x)}`);
}

function checkColors(fn: string, x: Tensor): void {
  checkTensor(fn, x);
  if (x.shape.at(-1) !== 3) throw new ShapeError(`${fn}: needs colours in a last axis of size 3, got shape ${fmt(x.shape)}`);
}

/** out[..., i] = Σ_j m[i][j] · x[..., j]: x as rows of a [-1, 3] matrix times mᵀ. */
function mix3(x: Tensor, m: Matrix): Tensor {
  const mt = tensor([0, 1, 2].map((j) => m.map((row) => row[j]!)));
  return x.reshape([-1, 3]).matmul(mt).reshape(x.shape);
}

/**
 * sRGB-encoded values to linear light, elementwise (any shape): x / 12.92 up to 0.04045, else
 * ((x + 0.055) / 1.055)^2.4. Below 0 the linear segment continues.
 * @example
 * await pg.srgbToLinear(pg.tensor([0, 0.5, 1])).data(); // Float32Array [0, 0.214041, 1]
 */
export function srgbToLinear(x: Tensor): Tensor {
  checkTensor('srgbToLinear', x);
  return tidy(() => where(x.le(0.04045), x.div(12.92), x.maximum(0.04045).add(0.055).div(1.055).pow(2.4)));
}

/**
 * Linear light to sRGB-encoded values, elementwise (any shape): 12.92 x up to 0.0031308, else
 * 1.055 x^(1/2.4) − 0.055. Below 0 the linear segment continues.
 * @example
 * await pg.linearToSrgb(pg.tensor([0, 0.214041, 1])).data(); // Float32Array [0, 0.5, 1]
 */
export function linearToSrgb(x: Tensor): Tensor {
  checkTensor('linearToSrgb', x);
  return tidy(() => where(x.le(0.0031308), x.mul(12.92), x.maximum(0.0031308).pow(1 / 2.4).mul(1.055).sub(0.055)));
}

/**
 * sRGB colours [..., 3] in [0, 1] to CIE L*a*b* [..., 3] (D65): L in [0, 100], a and b about
 * ±100. Differentiable; throws ShapeError when the last axis is not 3.
 * @example
 * await pg.rgbToLab(pg.tensor([1, 0, 0])).data(); // Float32Array [53.2408, 80.0925, 67.2032]
 */
export function rgbToLab(rgb: Tensor): Tensor {
  checkColors('rgbToLab', rgb);
  return tidy(() => {
    const t = mix3(srgbToLinear(rgb), RGB_TO_XYZ_WHITE);
    const f = where(t.gt(EPSILON), t.maximum(EPSILON).pow(1 / 3), t.mul(KAPPA).add(16).div(116));
    return mix3(f, F_TO_LAB).sub(tensor([16, 0, 0]));
  });
}

/**
 * CIE L*a*b* colours [..., 3] (D65) to sRGB [..., 3], the inverse of rgbToLab; colours outside the
 * sRGB gamut come out below 0 or above 1 (not clamped). Throws ShapeError when the last axis is not 3.
 * @example
 * await pg.labToRgb(pg.tensor([100, 0, 0])).data(); // Float32Array [1, 1, 1]
 */
export function labToRgb(lab: Tensor): Tensor {
  checkColors('labToRgb', lab);
  return tidy(() => {
    const f = mix3(lab, LAB_TO_F).add(16 / 116);
    const t = where(f.gt(DELTA), f.pow(3), f.mul(116).sub(16).div(KAPPA));
    return linearToSrgb(mix3(t, XYZ_WHITE_TO_RGB));
  });
}

/** Channel c of colours [..., 3], keeping the axis: [..., 1]. */
function channel(x: Tensor, c: number): Tensor {
  const begin = x.shape.map((_, i) => (i === x.rank - 1 ? c : 0));
  return x.slice(begin, x.shape.map((d, i) => (i === x.rank - 1 ? c + 1 : d)));
}

/** Three [..., 1] tensors side by side as [..., 3]: a where() per channel, fused (cat would be a kernel of its own). */
function join3(a: Tensor, b: Tensor, c: Tensor): Tensor {
  const index = tensor([0, 1, 2]);
  return where(index.eq(0), a, where(index.eq(1), b, c));
}

/**
 * sRGB colours [..., 3] in [0, 1] to HSV [..., 3], all in [0, 1]: hue as a fraction of a turn
 * (red 0, green 1/3, blue 2/3; as matplotlib's rgb_to_hsv and Python's colorsys, not kornia's
 * radians), saturation (max − min) / max, value max. Grey has hue 0, black saturation 0.
 * Differentiable where the channels are distinct (hue jumps from 1 to 0 through red); tied maxima
 * share the gradient. Throws ShapeError when the last axis is not 3.
 * @example
 * await pg.rgbToHsv(pg.tensor([0, 0, 1])).data(); // Float32Array [0.6667, 1, 1]
 */
export function rgbToHsv(rgb: Tensor): Tensor {
  checkColors('rgbToHsv', rgb);
  return tidy(() => {
    const [r, g, b] = [0, 1, 2].map((c) => channel(rgb, c)) as [Tensor, Tensor, Tensor];
    const v = rgb.max(-1, true);
    const d = v.add(rgb.neg().max(-1, true));
    // Divisors made 1 where they are 0, so the dropped branch is finite (its gradient is 0, not NaN).
    const chroma = d.gt(0);
    const dSafe = where(chroma, d, 1);
    const fromRed = g.sub(b).div(dSafe);
    const sector = where(r.eq(v), where(fromRed.lt(0), fromRed.add(6), fromRed), where(g.eq(v), b.sub(r).div(dSafe).add(2), r.sub(g).div(dSafe).add(4)));
    const lit = v.gt(0);
    return join3(where(chroma, sector.div(6), 0), where(lit, d.div(where(lit, v, 1)), 0), v);
  });
}

/**
 * HSV colours [..., 3] (hue as a fraction of a turn, as rgbToHsv gives; hues in (−1, 1) wrap) to
 * sRGB [..., 3]: channel n of (5, 3, 1) is v · (1 − s · clamp(min(k, 4 − k), 0, 1)) with
 * k = (n + 6h) mod 6. Throws ShapeError when the last axis is not 3.
 * @example
 * await pg.hsvToRgb(pg.tensor([2 / 3, 1, 1])).data(); // Float32Array [0, 0, 1]
 */
export function hsvToRgb(hsv: Tensor): Tensor {
  checkColors('hsvToRgb', hsv);
  return tidy(() => {
    const [h, s, v] = [0, 1, 2].map((c) => channel(hsv, c)) as [Tensor, Tensor, Tensor];
    const x = h.mul(6).add(tensor([5, 3, 1]));
    const k = where(x.ge(6), x.sub(6), where(x.lt(0), x.add(6), x));
    const ramp = k.minimum(k.neg().add(4)).clamp(0, 1);
    return v.mul(ramp.mul(s).neg().add(1));
  });
}
