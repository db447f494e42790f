/** JAX-style functional gradients: pg.grad(fn) and pg.valueAndGrad(fn). */
import { engine } from '../engine.ts';
import { GradientError, InvalidArgumentError } from '../errors.ts';
import { full } from '../creation.ts';
import { graphGradients } from './graph-backward.ts';
import { Tensor } from '../tensor.ts';
import { repr } from '../validate.ts';

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
   * fn's output, detached from the graph (in it, when called inside another grad function).
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
 * How many grad/valueAndGrad functions are running fn now. An inner one records its gradients in
 * the graph (./graph-backward.ts) so that the outer one can differentiate them again; at the top
 * level the first-order kernels run and nothing extra is kept.
 */
let depth = 0;

/**
 * Returns a function that calls fn on its tensor arguments and gives fn's value and its gradient
 * with respect to each argument. fn must return a one-element tensor. Arguments are not modified
 * and their .grad is untouched. Called inside another grad/valueAndGrad function, the value and
 * the gradients stay in the graph, so the outer one differentiates them (higher-order gradients).
 * @example
 * const f = pg.valueAndGrad((a, b) => a.mul(b).sum());
 * const { value, grads: [ga, gb] } = f(pg.tensor([1, 2]), pg.tensor([3, 4]));
 * await value.item(); // 11
 * await ga.data();    // Float32Array [3, 4]
 */
export function valueAndGrad<A extends Tensor[]>(fn: (...args: A) => Tensor): (...args: A) => ValueAndGrad<A> {
  return gradFunction(fn, 'valueAndGrad');
}

function gradFunction<A extends Tensor[]>(fn: (...args: A) => Tensor, name: string): (...args: A) => ValueAndGrad<A> {
  if (typeof fn !== 'function') throw new InvalidArgumentError(`${name}: expected a function returning a one-element tensor, got ${repr(fn)}`);
  return (...args: A) => {
    args.forEach((a: unknown, i) => {
      if (!(a instanceof Tensor)) throw new InvalidArgumentError(`${name}: argument ${i} is ${repr(a)}, not a Tensor`);
      a._live(name);
    });
    if (depth > 0) return nested(fn, name, args);
    const leaves = args.map((a) => {
      const leaf = a.detach();
      leaf.requiresGrad = true;
      return leaf;
    });
    const out = callChecked(fn, name, leaves);
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

/** Calls fn, checking it returned a one-element tensor (disposing `leaves` if not). */
function callChecked<A extends Tensor[]>(fn: (...args: A) => Tensor, name: string, leaves: Tensor[]): Tensor {
  const prev = engine.gradEnabled;
  engine.gradEnabled = true;
  depth++;
  try {
    const out = fn(...(leaves as A));
    if (!(out instanceof Tensor)) throw new InvalidArgumentError(`${name}: fn must return a Tensor, got ${repr(out)}`);
    if (out.size !== 1) throw new GradientError(`${name}: fn must return a one-element tensor, got shape [${out.shape.join(', ')}]; reduce it (sum or mean) first`);
    return out;
  } catch (e) {
    for (const leaf of leaves) leaf.dispose();
    throw e;
  } finally {
    engine.gradEnabled = prev;
    depth--;
  }
}

/**
 * Inside another grad function: the gradients (and the value) stay in the graph, linked to the
 * arguments' own history, so the outer function differentiates through them. Each argument gets
 * a node of its own (an alias, no copy), so an argument passed twice gets two gradients.
 */
function nested<A extends Tensor[]>(fn: (...args: A) => Tensor, name: string, args: A): ValueAndGrad<A> {
  const prev = engine.gradEnabled;
  engine.gradEnabled = true;
  const leaves = args.map((a) => {
    if (a.requiresGrad) return a.reshape(a.shape);
    const leaf = a.detach();
    leaf.requiresGrad = true;
    return leaf;
  });
  engine.gradEnabled = prev;
  const nodes = leaves.map((l) => l._gradNode()!);
  const out = callChecked(fn, name, leaves);
  let found: Map<unknown, Tensor>;
  try {
    found = out.requiresGrad ? graphGradients(name, out, undefined, new Set(nodes)) : new Map();
  } finally {
    for (const leaf of leaves) leaf.dispose();
  }
  const scope = engine.scopes.at(-1);
  const grads = nodes.map((n, i) => {
    const g = found.get(n) ?? full(args[i]!.shape, 0);
    scope?.tensors.add(g);
    return g;
  });
  return { value: out, grads: grads as Grads<A> };
}

/**
 * Like valueAndGrad, giving only the gradients.
 * @example
 * const [g1, g2] = pg.grad((c1, c2) => c1.mul(0.6).add(c2.mul(0.4)).sub(0.5).pow(2))(pg.tensor([0.2]), pg.tensor([0.7]));
 * await g1.data(); // Float32Array [-0.12]
 */
export function grad<A extends Tensor[]>(fn: (...args: A) => Tensor): (...args: A) => Grads<A> {
  const vg = gradFunction(fn, 'grad');
  return (...args: A) => {
    const { value, grads } = vg(...args);
    value.dispose();
    return grads;
  };
}
