/** JAX-style functional gradients: pg.grad(fn) and pg.valueAndGrad(fn). */
import { engine } from '../engine.ts';
import { GradientError, InvalidArgumentError } from '../errors.ts';
import { full } from '../creation.ts';
import { Tensor } from '../tensor.ts';

/**
 * One tensor per element of the argument tuple A: a tuple of fn's arity when fn has a fixed one.
 * @example
 * const [ga, gb]: pg.Grads<[pg.Tensor, pg.Tensor]> = pg.grad((a, b) => a.mul(b).sum())(x, y);
 */
export type Grads<A extends readonly Tensor[]> = { [K in keyof A]: Tensor };

/**
 * What pg.valueAndGrad(fn)(...args) returns.
 * @example
 * const { value, grads }: pg.ValueAndGrad<[pg.Tensor]> = pg.valueAndGrad((x: pg.Tensor) => x.square().sum())(w);
 */
export interface ValueAndGrad<A extends readonly Tensor[] = Tensor[]> {
  /**
   * fn's output, detached from the graph.
   * @example
   * await pg.valueAndGrad((x: pg.Tensor) => x.sum())(w).value.item();
   */
  readonly value: Tensor;
  /**
   * d value / d argument, one per tensor argument, in argument order.
   * @example
   * const [gw] = pg.valueAndGrad((x: pg.Tensor) => x.sum())(w).grads;
   */
  readonly grads: Grads<A>;
}

/**
 * Returns a function that calls fn on its tensor arguments and gives fn's value and its gradient
 * with respect to each argument. fn must return a one-element tensor. Arguments are not modified
 * and their .grad is untouched.
 * @example
 * const f = pg.valueAndGrad((a, b) => a.mul(b).sum());
 * const { value, grads: [ga, gb] } = f(pg.tensor([1, 2]), pg.tensor([3, 4]));
 * await value.item(); // 11
 * await ga.data();    // Float32Array [3, 4]
 */
export function valueAndGrad<A extends Tensor[]>(fn: (...args: A) => Tensor): (...args: A) => ValueAndGrad<A> {
  if (typeof fn !== 'function') throw new InvalidArgumentError('valueAndGrad: expected a function returning a one-element tensor');
  return (...args: A) => {
    args.forEach((a, i) => {
      if (!(a instanceof Tensor)) throw new InvalidArgumentError(`valueAndGrad: argument ${i} is not a Tensor`);
    });
    const leaves = args.map((a) => {
      const leaf = a.detach();
      leaf.requiresGrad = true;
      return leaf;
    });
    const prev = engine.gradEnabled;
    engine.gradEnabled = true;
    let out: Tensor;
    try {
      out = fn(...(leaves as A));
    } finally {
      engine.gradEnabled = prev;
    }
    if (!(out instanceof Tensor)) throw new InvalidArgumentError('valueAndGrad: fn must return a Tensor');
    if (out.size !== 1) throw new GradientError(`valueAndGrad: fn must return a one-element tensor, got shape [${out.shape.join(', ')}]; reduce it (sum or mean) first`);
    if (out.requiresGrad) out.backward();
    const scope = engine.scopes.at(-1);
    const grads = leaves.map((leaf) => {
      let g = leaf.grad;
      leaf.grad = null;
      if (g) scope?.tensors.add(g);
      else g = full(leaf.shape, 0);
      leaf.dispose();
      return g;
    });
    const value = out.detach();
    out.dispose();
    return { value, grads: grads as Grads<A> };
  };
}

/**
 * Like valueAndGrad, giving only the gradients.
 * @example
 * const [g1, g2] = pg.grad((c1, c2) => c1.mul(0.6).add(c2.mul(0.4)).sub(0.5).pow(2))(pg.tensor([0.2]), pg.tensor([0.7]));
 * await g1.data(); // Float32Array [-0.12]
 */
export function grad<A extends Tensor[]>(fn: (...args: A) => Tensor): (...args: A) => Grads<A> {
  const vg = valueAndGrad(fn);
  return (...args: A) => {
    const { value, grads } = vg(...args);
    value.dispose();
    return grads;
  };
}
