/** Stochastic gradient descent with PyTorch's momentum, dampening, Nesterov and L2 weight decay. */
import optimWgsl from '../../shaders/optim.wgsl?raw';
import { InvalidArgumentError } from '../errors.ts';
import { repr } from '../validate.ts';
import { section } from '../gpu/wgsl.ts';
import type { Tensor } from '../tensor.ts';
import { checkNumber, Optimizer } from './optimizer.ts';
import type { UpdateRule } from './update-rule.ts';

/**
 * Options of pg.SGD, as torch.optim.SGD.
 * @example
 * new pg.SGD([w], { lr: 0.1, momentum: 0.9, nesterov: true });
 */
export interface SGDOptions {
  /**
   * The learning rate (required).
   * @example
   * new pg.SGD([w], { lr: 0.01 });
   */
  readonly lr: number;
  /**
   * 0 (default) runs plain SGD with no state.
   * @example
   * new pg.SGD([w], { lr: 0.01, momentum: 0.9 });
   */
  readonly momentum?: number;
  /**
   * L2 penalty added to the gradient.
   * @example
   * new pg.SGD([w], { lr: 0.01, weightDecay: 1e-4 });
   */
  readonly weightDecay?: number;
  /**
   * Nesterov momentum (needs momentum > 0 and dampening 0). Default false.
   * @example
   * new pg.SGD([w], { lr: 0.01, momentum: 0.9, nesterov: true });
   */
  readonly nesterov?: boolean;
  /**
   * Dampening of the momentum (default 0).
   * @example
   * new pg.SGD([w], { lr: 0.01, momentum: 0.9, dampening: 0.1 });
   */
  readonly dampening?: number;
}

/**
 * @internal Plain SGD: params [lr, weightDecay].
 */
export const sgdRule: UpdateRule = {
  name: 'sgd',
  shader: section(optimWgsl, 'sgd'),
  state: [],
  reference(param, grad, _state, [lr = 0, wd = 0]) {
    for (let i = 0; i < param.length; i++) {
      const p = param[i]!;
      param[i] = p - lr * (wd === 0 ? grad[i]! : grad[i]! + wd * p);
    }
  },
};

/**
 * @internal SGD with a momentum buffer: params [lr, weightDecay, momentum, 1 - dampening, nesterov 0/1, first step 0/1].
 */
export const sgdMomentumRule: UpdateRule = {
  name: 'sgd_momentum',
  shader: section(optimWgsl, 'sgd_momentum'),
  state: ['momentum_buffer'],
  reference(param, grad, [buf], [lr = 0, wd = 0, mu = 0, undamped = 1, nesterov = 0, first = 0]) {
    const b = buf!;
    for (let i = 0; i < param.length; i++) {
      const p = param[i]!;
      const g = wd === 0 ? grad[i]! : grad[i]! + wd * p;
      const m = first > 0.5 ? g : mu * b[i]! + undamped * g;
      b[i] = m;
      param[i] = p - lr * (nesterov > 0.5 ? g + mu * m : m);
    }
  },
};

/**
 * torch.optim.SGD: `step()` runs one fused kernel per parameter that has a gradient.
 * @example
 * const opt = new pg.SGD([w], { lr: 0.1, momentum: 0.9 });
 * w.square().sum().backward();
 * opt.step();
 * opt.zeroGrad();
 */
export class SGD extends Optimizer {
  /**
   * The momentum factor (0: plain SGD).
   * @example
   * new pg.SGD([w], { lr: 0.1 }).momentum; // 0
   */
  readonly momentum: number;
  /**
   * The L2 penalty added to the gradient.
   * @example
   * new pg.SGD([w], { lr: 0.1 }).weightDecay; // 0
   */
  readonly weightDecay: number;
  /**
   * Whether the update uses Nesterov momentum.
   * @example
   * new pg.SGD([w], { lr: 0.1 }).nesterov; // false
   */
  readonly nesterov: boolean;
  /**
   * The dampening of the momentum.
   * @example
   * new pg.SGD([w], { lr: 0.1 }).dampening; // 0
   */
  readonly dampening: number;

  /**
   * Checks every option (InvalidArgumentError names the bad one) and makes the momentum buffers.
   * @example
   * const opt = new pg.SGD([w, b], { lr: 0.05 });
   */
  constructor(params: readonly Tensor[], options: SGDOptions) {
    if (options === null || typeof options !== 'object') throw new InvalidArgumentError('SGD: needs options with at least { lr }');
    const momentum = checkNumber('SGD', 'momentum', options.momentum ?? 0, 0);
    const dampening = checkNumber('SGD', 'dampening', options.dampening ?? 0, 0);
    const nesterov = options.nesterov ?? false;
    if (typeof nesterov !== 'boolean') throw new InvalidArgumentError(`SGD: nesterov must be true or false, got ${repr(nesterov)}`);
    if (nesterov && (momentum <= 0 || dampening !== 0)) {
      throw new InvalidArgumentError(`SGD: Nesterov momentum needs momentum > 0 and dampening 0, got momentum ${momentum}, dampening ${dampening}`);
    }
    const weightDecay = checkNumber('SGD', 'weightDecay', options.weightDecay ?? 0, 0);
    if (options.lr === undefined) throw new InvalidArgumentError('SGD: options.lr is required (a finite number >= 0)');
    super('SGD', params, options.lr, momentum === 0 ? sgdRule : sgdMomentumRule);
    this.momentum = momentum;
    this.weightDecay = weightDecay;
    this.nesterov = nesterov;
    this.dampening = dampening;
  }

  protected stepParams(out: number[], step: number, lr: number): void {
    out.push(lr, this.weightDecay);
    if (this.momentum !== 0) out.push(this.momentum, 1 - this.dampening, this.nesterov ? 1 : 0, step === 1 ? 1 : 0);
  }
}
