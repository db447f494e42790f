/** JAX-style functional gradients: pg.grad(fn) and pg.valueAndGrad(fn). */
import { engine } from '../engine.ts';
import { GradientError, InvalidArgumentError } from '../errors.ts';
import { full } from '../creation.ts';
import { Tensor } from '../tensor.ts';
import { repr } from '../validate.ts';

export interface ValueAndGrad {
  /** fn's output, detached from the graph. */
  readonly value: Tensor;
  /** d value / d argument, one per tensor argument, in argument order. */
  readonly grads: Tensor[];
}

/**
 * How many grad/valueAndGrad functions are running fn now. The gradient an inner one returns is
 * computed outside the graph, so an outer one would see it as a constant and silently get 0 for
 * a second derivative: nesting throws until higher-order gradients exist.
 */
let depth = 0;

/**
 * Returns a function that calls fn on its tensor arguments and gives fn's value and its gradient
 * with respect to each argument. fn must return a one-element tensor. Arguments are not modified
 * and their .grad is untouched.
 */
export function valueAndGrad(fn: (...args: Tensor[]) => Tensor): (...args: Tensor[]) => ValueAndGrad {
  return gradFunction(fn, 'valueAndGrad');
}

function gradFunction(fn: (...args: Tensor[]) => Tensor, name: string): (...args: Tensor[]) => ValueAndGrad {
  if (typeof fn !== 'function') throw new InvalidArgumentError(`${name}: expected a function returning a one-element tensor, got ${repr(fn)}`);
  return (...args: Tensor[]) => {
    if (depth > 0) {
      throw new GradientError(
        `${name}: called inside another pg.grad/pg.valueAndGrad function: higher-order gradients (a gradient of a gradient) are not supported yet, and the outer gradient would silently be 0. Compute the inner gradient outside, or write the derivative out by hand.`,
      );
    }
    args.forEach((a: unknown, i) => {
      if (!(a instanceof Tensor)) throw new InvalidArgumentError(`${name}: argument ${i} is ${repr(a)}, not a Tensor`);
      a._live(name);
    });
    const leaves = args.map((a) => {
      const leaf = a.detach();
      leaf.requiresGrad = true;
      return leaf;
    });
    const prev = engine.gradEnabled;
    engine.gradEnabled = true;
    depth++;
    let out: Tensor;
    try {
      out = fn(...leaves);
      if (!(out instanceof Tensor)) throw new InvalidArgumentError(`${name}: fn must return a Tensor, got ${repr(out)}`);
      if (out.size !== 1) throw new GradientError(`${name}: fn must return a one-element tensor, got shape [${out.shape.join(', ')}]; reduce it (sum or mean) first`);
    } catch (e) {
      for (const leaf of leaves) leaf.dispose();
      throw e;
    } finally {
      engine.gradEnabled = prev;
      depth--;
    }
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
    return { value, grads };
  };
}

/** Like valueAndGrad, giving only the gradients. */
export function grad(fn: (...args: Tensor[]) => Tensor): (...args: Tensor[]) => Tensor[] {
  const vg = gradFunction(fn, 'grad');
  return (...args: Tensor[]) => {
    const { value, grads } = vg(...args);
    value.dispose();
    return grads;
  };
}
