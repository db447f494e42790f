/** Adam (L2 weight decay added to the gradient, as torch.optim.Adam) and AdamW (decoupled decay). */
import optimWgsl from '../../shaders/optim.wgsl?raw';
import { InvalidArgumentError } from '../errors.ts';
import { repr } from '../validate.ts';
import { section } from '../gpu/wgsl.ts';
import type { Tensor } from '../tensor.ts';
import { checkNumber, Optimizer } from './optimizer.ts';
import type { UpdateRule } from './update-rule.ts';

/**
 * Options of pg.Adam and pg.AdamW, as torch.optim.Adam and AdamW.
 * @example
 * new pg.Adam([w], { lr: 0.05, betas: [0.9, 0.99] });
 */
export interface AdamOptions {
  /**
   * Default 1e-3.
   * @example
   * new pg.Adam([w], { lr: 0.05 });
   */
  readonly lr?: number;
  /**
   * Default [0.9, 0.999].
   * @example
   * new pg.Adam([w], { betas: [0.8, 0.99] });
   */
  readonly betas?: readonly [number, number];
  /**
   * Default 1e-8.
   * @example
   * new pg.Adam([w], { eps: 1e-6 });
   */
  readonly eps?: number;
  /**
   * Default 0 for Adam, 1e-2 for AdamW (as in PyTorch).
   * @example
   * new pg.AdamW([w], { weightDecay: 0.05 });
   */
  readonly weightDecay?: number;
}

/**
 * @internal
 * Params [l2, decay, 1 - beta1, beta2, 1 - beta2, lr / (1 - beta1^t), sqrt(1 - beta2^t), eps]:
 * Adam passes l2 = weightDecay, decay = 1; AdamW passes l2 = 0, decay = 1 - lr * weightDecay.
 */
export const adamRule: UpdateRule = {
  name: 'adam',
  shader: section(optimWgsl, 'adam'),
  state: ['exp_avg', 'exp_avg_sq'],
  reference(param, grad, [m, v], [l2 = 0, decay = 1, oneMinusBeta1 = 1, beta2 = 0, oneMinusBeta2 = 1, stepSize = 0, bc2Sqrt = 1, eps = 0]) {
    const ma = m!;
    const va = v!;
    for (let i = 0; i < param.length; i++) {
      const p0 = param[i]!;
      const g = l2 === 0 ? grad[i]! : grad[i]! + l2 * p0;
      const mi = ma[i]! + oneMinusBeta1 * (g - ma[i]!);
      const vi = beta2 * va[i]! + oneMinusBeta2 * g * g;
      ma[i] = mi;
      va[i] = vi;
      param[i] = p0 * decay - stepSize * (mi / (Math.sqrt(vi) / bc2Sqrt + eps));
    }
  },
};

function checkBetas(name: string, betas: unknown): readonly [number, number] {
  if (!Array.isArray(betas) || betas.length !== 2) throw new InvalidArgumentError(`${name}: betas must be a pair [beta1, beta2], got ${repr(betas)}`);
  return [checkNumber(name, 'betas[0]', betas[0], 0, 1), checkNumber(name, 'betas[1]', betas[1], 0, 1)];
}

/**
 * torch.optim.Adam (amsgrad off): one fused kernel per parameter; bias corrections computed here per step.
 * @example
 * const opt = new pg.Adam([L, P], { lr: 0.05 });
 * pg.colorMixLoss(L, P, photo, { softmax: true }).backward();
 * opt.step();
 * opt.zeroGrad();
 */
export class Adam extends Optimizer {
  /**
   * The decay rates of the first and second moment estimates.
   * @example
   * new pg.Adam([w]).betas; // [0.9, 0.999]
   */
  readonly betas: readonly [number, number];
  /**
   * Added to the denominator for numerical stability.
   * @example
   * new pg.Adam([w]).eps; // 1e-8
   */
  readonly eps: number;
  /**
   * L2 penalty (Adam) or decoupled weight decay (AdamW).
   * @example
   * new pg.AdamW([w]).weightDecay; // 0.01
   */
  readonly weightDecay: number;
  /** AdamW applies the decay to the weights, not the gradient. */
  protected readonly decoupled: boolean;

  /** @internal Whether the class decays the weights directly (AdamW) instead of adding L2 to the gradient. */
  static readonly decoupledDecay: boolean = false;

  /**
   * Checks every option (InvalidArgumentError names the bad one) and makes the moment buffers.
   * @example
   * const opt = new pg.Adam([w], { lr: 1e-2 });
   */
  constructor(params: readonly Tensor[], options: AdamOptions = {}) {
    const decoupled = (new.target as typeof Adam).decoupledDecay;
    const name = decoupled ? 'AdamW' : 'Adam';
    if (options === null || typeof options !== 'object') throw new InvalidArgumentError(`${name}: options must be an object`);
    const betas = checkBetas(name, options.betas ?? [0.9, 0.999]);
    const eps = checkNumber(name, 'eps', options.eps ?? 1e-8, 0);
    const weightDecay = checkNumber(name, 'weightDecay', options.weightDecay ?? (decoupled ? 1e-2 : 0), 0);
    super(name, params, options.lr ?? 1e-3, adamRule);
    this.betas = betas;
    this.eps = eps;
    this.weightDecay = weightDecay;
    this.decoupled = decoupled;
  }

  protected stepParams(out: number[], step: number, lr: number): void {
    const [b1, b2] = this.betas;
    const wd = this.weightDecay;
    out.push(this.decoupled ? 0 : wd, this.decoupled ? 1 - lr * wd : 1, 1 - b1, b2, 1 - b2, lr / (1 - b1 ** step), Math.sqrt(1 - b2 ** step), this.eps);
  }
}

/**
 * torch.optim.AdamW: Adam with the weight decay applied to the parameter (p *= 1 - lr * wd) before the update.
 * @example
 * const opt = new pg.AdamW([w], { lr: 1e-3, weightDecay: 0.01 });
 */
export class AdamW extends Adam {
  /** @internal */
  static override readonly decoupledDecay: boolean = true;
}
