/**
 * The palette model: every pixel is a convex mix of K learned colours.
 *
 *   palette  P = sigmoid(Q)          Q [K, 3]     (colours stay in [0, 1])
 *   weights  W = softmax(L, axis -1) L [H, W, K]  (w >= 0 and sum_k w = 1 per pixel)
 *   recon    R = colorMix(W, P)                   [H, W, 3]
 *   loss     mse(R, photo) + lambdaSparse * mean_p(1 - sum_k w^2) + lambdaSmooth * mean |grad W|^2
 *
 * With the perceptual colour error, the first term is mse(Lab(R), Lab(photo)) / 100^2 instead: a
 * squared CIE76 ΔE, so an error counts as much as it shows (sRGB's squared error underweights
 * dark tones and overweights greens), scaled to about the range of the RGB error.
 *
 * The sparsity term is the Gini impurity of each pixel's weights: 0 when one colour explains the
 * pixel, 1 - 1/K when all K share it. The smoothness term is the mean squared difference between
 * horizontally and vertically neighbouring weights (Tan et al.'s spatial coherence).
 */
import * as pg from 'pixelgrad';

type Tensor = pg.Tensor;

export type OptimizerKind = 'adam' | 'sgd';

export interface ModelSettings {
  readonly k: number;
  readonly seed: number;
  readonly lr: number;
  readonly optimizer: OptimizerKind;
}

export interface Lambdas {
  readonly sparsity: number;
  readonly smoothness: number;
  /** Measure the colour error in CIE L*a*b* (squared ΔE / 100²) instead of sRGB. */
  readonly perceptual?: boolean;
}

/** The three terms of one step's loss, still on the GPU (the caller's tidy scope owns them). */
export interface StepTerms {
  readonly mse: Tensor;
  readonly sparsity: Tensor;
  readonly smoothness: Tensor;
}

/**
 * Each optimizer's own default learning rate. SGD's is for the palette; the logits get it times
 * the pixel count (see Trainer), so that SGD moves: at Adam's 0.05 it went 0.0682 → 0.0658 in 40 steps.
 */
export const DEFAULT_LR: Readonly<Record<OptimizerKind, number>> = { adam: 0.05, sgd: 2 };

export const K_MIN = 2;
export const K_MAX = 16;

export class PaletteModel {
  readonly height: number;
  readonly width: number;
  readonly k: number;
  private readonly photo: Tensor;
  private readonly q: Tensor;
  private readonly l: Tensor;
  private optimizer: Trainer;
  /** [0, 1, 2]: shifts one error value into the three ramps of the heat map. */
  private readonly heatOffsets: Tensor;
  /** [0, 0, 0, 1]: puts a weight map into the alpha channel of an RGBA layer. */
  private readonly alphaOnly: Tensor;
  /** The photo in L*a*b*, the perceptual error's target. */
  private readonly photoLab: Tensor;

  constructor(image: ImageData, settings: ModelSettings) {
    this.height = image.height;
    this.width = image.width;
    this.k = settings.k;
    this.photo = pg.fromImage(image, { channels: 3 });
    // Q = logit(seeded palette), computed where the photo is: no readback before the first step.
    const logits = pg.noGrad(() =>
      pg.tidy(() => {
        const p = seedPalette(this.photo, settings.k, settings.seed).clamp(0.03, 0.97);
        return p.div(p.neg().add(1)).log();
      }),
    );
    this.q = logits.detach();
    logits.dispose();
    this.q.requiresGrad = true;
    this.l = pg.randn([this.height, this.width, settings.k], { seed: settings.seed, std: 0.01, requiresGrad: true });
    this.optimizer = new Trainer(settings.optimizer, this.q, this.l, settings.lr);
    this.heatOffsets = pg.tensor([0, 1, 2]);
    this.alphaOnly = pg.tensor([0, 0, 0, 1]);
    this.photoLab = pg.rgbToLab(this.photo);
  }

  set lr(value: number) {
    this.optimizer.lr = value;
  }

  /** A fresh optimizer (its state starts from zero); the parameters keep their values. */
  switchOptimizer(kind: OptimizerKind, lr: number): void {
    this.optimizer.dispose();
    this.optimizer = new Trainer(kind, this.q, this.l, lr);
  }

  /**
   * One optimisation step. Call inside pg.tidy; the returned terms are the losses before the
   * update. Every term is plain ops: the compiler fuses the softmax, the mix, the error, the
   * regularizers, their gradients and the optimizer's update into a few kernels.
   */
  step(lambdas: Lambdas): StepTerms {
    const weights = this.weights();
    const recon = pg.colorMix(weights, this.palette());
    const mse = lambdas.perceptual ? pg.rgbToLab(recon).sub(this.photoLab).div(100).square().mean() : recon.sub(this.photo).square().mean();
    // The chart shows the regularizers even when they are off: then outside the graph.
    const terms = () => ({ sparsity: weights.sub(weights.square()).sum(-1).mean(), smoothness: this.smoothness(weights) });
    const { sparsity, smoothness } = lambdas.sparsity > 0 || lambdas.smoothness > 0 ? terms() : pg.noGrad(terms);
    let loss = mse;
    if (lambdas.sparsity > 0) loss = loss.add(sparsity.mul(lambdas.sparsity));
    if (lambdas.smoothness > 0) loss = loss.add(smoothness.mul(lambdas.smoothness));
    this.optimizer.zeroGrad();
    loss.backward();
    this.optimizer.step();
    return { mse, sparsity, smoothness };
  }

  palette(): Tensor {
    return this.q.sigmoid();
  }

  weights(): Tensor {
    return this.l.softmax(-1);
  }

  reconstruction(palette: Tensor = this.palette()): Tensor {
    return pg.colorMix(this.weights(), palette);
  }

  /**
   * Posterized [H, W, 3]: each pixel in the one colour with the largest weight (its argmax), a
   * flat-colour print of which colour owns which pixel.
   */
  posterized(palette: Tensor = this.palette()): Tensor {
    const owner = this.weights().argmax(-1).reshape([this.height * this.width]);
    return pg.indexSelect(palette, 0, owner).reshape([this.height, this.width, 3]);
  }

  /**
   * The learned palette with some colours replaced: `overrides` is [K, 3] and `mask` [K, 1] is 1
   * where a colour was edited, so untouched colours keep following training.
   */
  editedPalette(overrides: Tensor, mask: Tensor): Tensor {
    const learned = this.palette();
    return learned.add(overrides.sub(learned).mul(mask));
  }

  /** |recon - photo| averaged over channels, as a black-red-yellow-white heat map. */
  errorMap(recon: Tensor = this.reconstruction(), gain = 5): Tensor {
    const err = recon.sub(this.photo).abs().mean(-1, true);
    return err.mul(3 * gain).sub(this.heatOffsets).clamp(0, 1);
  }

  /** Weight map k as a grey image [H, W, 3] (white = this colour explains the whole pixel). */
  weightMap(weights: Tensor, k: number): Tensor {
    return weights.slice([0, 0, k], [this.height, this.width, k + 1]).expand([this.height, this.width, 3]);
  }

  /** Layer k as RGBA [H, W, 4]: palette colour k with alpha = its weight (for export). */
  layer(weights: Tensor, k: number, rgb: readonly number[]): Tensor {
    const w = weights.slice([0, 0, k], [this.height, this.width, k + 1]);
    return w.mul(this.alphaOnly).add(pg.tensor([rgb[0] ?? 0, rgb[1] ?? 0, rgb[2] ?? 0, 0]));
  }

  photoTensor(): Tensor {
    return this.photo;
  }

  dispose(): void {
    this.optimizer.dispose();
    pg.dispose([this.photo, this.q, this.l, this.heatOffsets, this.alphaOnly, this.photoLab]);
  }

  private smoothness(weights: Tensor): Tensor {
    const { height: h, width: w, k } = this;
    const terms: Tensor[] = [];
    if (w > 1) terms.push(weights.slice([0, 1, 0]).sub(weights.slice([0, 0, 0], [h, w - 1, k])).square().mean());
    if (h > 1) terms.push(weights.slice([1, 0, 0]).sub(weights.slice([0, 0, 0], [h - 1, w, k])).square().mean());
    const [first = pg.zeros([]), ...rest] = terms;
    return rest.reduce((a, b) => a.add(b), first);
  }
}

/**
 * The optimizer over the palette logits Q and the weight logits L. Adam is one optimizer (it
 * normalises every gradient). SGD gets two: the loss is a mean over pixels, so each pixel's logits
 * see a gradient about 1/pixels the size of the palette's, and one learning rate cannot move both;
 * L's rate is lr × pixels.
 */
class Trainer {
  private readonly parts: (pg.Adam | pg.SGD)[];
  private readonly scales: number[];

  constructor(kind: OptimizerKind, q: Tensor, l: Tensor, lr: number) {
    const pixels = (l.shape[0] ?? 1) * (l.shape[1] ?? 1);
    if (kind === 'adam') {
      this.parts = [new pg.Adam([q, l], { lr })];
      this.scales = [1];
    } else {
      this.parts = [new pg.SGD([q], { lr, momentum: 0.9 }), new pg.SGD([l], { lr: lr * pixels, momentum: 0.9 })];
      this.scales = [1, pixels];
    }
  }

  set lr(value: number) {
    this.parts.forEach((o, i) => {
      o.lr = value * this.scales[i]!;
    });
  }

  zeroGrad(): void {
    for (const o of this.parts) o.zeroGrad();
  }

  step(): void {
    for (const o of this.parts) o.step();
  }

  dispose(): void {
    for (const o of this.parts) o.dispose();
  }
}

/**
 * Farthest-point seeding on the photo's colours, computed with pixelgrad. A softmax mix can only
 * make colours inside the convex hull of the palette, so a colour that lies outside the hull of
 * the rest (a red ladybird on green leaves: a few dozen pixels) is never reconstructed unless a
 * swatch starts near it. The first colour is the pixel farthest from the mean colour, each next
 * one the pixel farthest from every colour chosen so far: these are corners of the colour hull,
 * however few pixels have them, and every pixel is a candidate (a random sample of a few thousand
 * misses a small object). Each pick is a one-hot mask over the pixels (the farthest, ties going to
 * the last), so all K picks stay on the GPU: no readback per colour. `seed` only nudges repeats
 * apart (a photo with fewer than K distinct colours). Training then moves these colours; it does
 * not start from a finished palette. `photo` is [H, W, 3]; the result is [K, 3], in [0, 1].
 */
export function seedPalette(photo: Tensor, k: number, seed: number): Tensor {
  const random = pg.mulberry32(seed);
  return pg.noGrad(() =>
    pg.tidy(() => {
      const n = photo.size / 3;
      const pixels = photo.reshape([n, 3]);
      // 1..n, exact in float32 below 2^24 pixels: ranks ties so that one pixel wins.
      const index = pg.arange(1, n + 1);
      const distance2 = (c: Tensor) => pixels.sub(c).square().sum(1);
      let d2 = distance2(pixels.mean(0, true));
      const picks: Tensor[] = [];
      for (let i = 0; i < k; i++) {
        const far = d2.max();
        // 1 where a pixel is (within float error) as far as the farthest, 0 elsewhere.
        const farthest = d2.sub(far).mul(1e9).add(1).clamp(0, 1);
        const ranked = farthest.mul(index);
        // Indices differ by at least 1, so only the last of the farthest keeps a weight.
        const pick = ranked.sub(ranked.max()).add(1).relu();
        let colour = pick.unsqueeze(1).mul(pixels).sum(0, true).div(pick.sum());
        if (i > 0) {
          // 1 when the farthest pixel is already a chosen colour (every colour is taken).
          const repeat = far.mul(-1e6).add(1).clamp(0, 1);
          const nudge = pg.tensor([0, 1, 2].map((c) => (random() - 0.5) * 0.2 * (c + 1)));
          colour = colour.add(nudge.mul(repeat)).clamp(0, 1);
        }
        picks.push(colour);
        d2 = i === 0 ? distance2(colour) : d2.minimum(distance2(colour));
      }
      return pg.cat(picks);
    }),
  );
}
