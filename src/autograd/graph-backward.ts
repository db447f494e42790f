/**
 * Reverse mode that records what it computes: gradients come out as tensors in the graph, so they
 * can be differentiated again (`backward({ createGraph: true })`, pg.grad inside pg.grad). Each
 * op's gradient is its rule in ./vjp-rules.ts run on tensors that stand for what the op saved,
 * linked to the nodes those values came from. Nothing is freed: the new gradient graph reads the
 * saved values, as PyTorch's create_graph keeps the graph.
 */
import { retain, type Storage } from '../backend.ts';
import { engine, type Scope } from '../engine.ts';
import { GradientError } from '../errors.ts';
import { full } from '../creation.ts';
import { Tensor } from '../tensor.ts';
import { checkBackwardRoot, checkNotFreed, topologicalOrder } from './backward.ts';
import type { Node } from './node.ts';
import { vjpRules } from './vjp-rules.ts';

/** A tensor over `s` that backward reaches through `node` (a constant where node is null). */
function standIn(s: Storage, shape: readonly number[], node: Node | null): Tensor {
  const t = new Tensor(node?.backend ?? engine.backend!, retain(s), shape, node !== null, false);
  if (node) {
    node.refs++;
    t._node = node;
  }
  return t;
}

/** g summed over the axes it was broadcast along, to `shape`. */
function sumTo(g: Tensor, shape: readonly number[]): Tensor {
  if (g.shape.length === shape.length && g.shape.every((d, i) => d === shape[i])) return g;
  const lead = g.rank - shape.length;
  const axes = g.shape.flatMap((d, i) => (i < lead || (shape[i - lead] === 1 && d !== 1) ? [i] : []));
  const s = axes.length ? g.sum(axes, true) : g;
  return s.reshape(shape);
}

/** Runs node's rule on g; the input gradients, summed back to the inputs' shapes (null where unwanted). */
function runRule(fn: string, node: Node, g: Tensor, relevant: ReadonlySet<Node> | null): (Tensor | null)[] {
  const op = node.op!;
  const rule = vjpRules()[op.name];
  if (typeof rule !== 'function') {
    throw new GradientError(
      `${fn}: cannot differentiate through the gradient of "${op.name}": ${rule ?? 'it has no gradient rule written with tensor ops'}. First-order gradients (backward() without createGraph) work.`,
    );
  }
  // Intermediates of the rule are disposed here; the graph keeps what the gradients need.
  const scope: Scope = { tensors: new Set() };
  engine.scopes.push(scope);
  const standIns: Tensor[] = [];
  let inputGrads: (Tensor | null)[] = [];
  try {
    const x = node.saved.map((s, j) => (s ? standIn(s, node.inputShapes[j]!, node.parents[j] ?? null) : null));
    const y = node.savedOutput ? standIn(node.savedOutput, node.outShape, node) : null;
    standIns.push(...x.filter((t): t is Tensor => t !== null), ...(y ? [y] : []));
    const raw = rule({ x, y, g, shapes: node.inputShapes, outShape: node.outShape, attrs: node.attrs, needs: node.parents.map((p) => p !== null) });
    // An input that gets no gradient from the rule (a mask's, an index's, x^0's) gets zeros, as
    // the first-order kernels give it: .grad is a tensor of zeros, not missing.
    inputGrads = node.parents.map((p, j) => {
      if (!p || (relevant && !relevant.has(p))) return null;
      const r = raw[j];
      return r ? sumTo(r, node.inputShapes[j]!) : full(node.inputShapes[j]!, 0);
    });
  } finally {
    engine.scopes.pop();
    for (const t of standIns) t.dispose();
    const keep = new Set<unknown>(inputGrads);
    for (const t of scope.tensors) if (!keep.has(t) && t !== g) t.dispose();
    for (const t of inputGrads) if (t) engine.scopes.at(-1)?.tensors.add(t);
  }
  return inputGrads;
}

/**
 * Gradients of `root` (seeded with `seed`, or 1 for a one-element root), recorded in the graph.
 * With `targets`, the walk stops at those nodes and returns their gradients, touching no .grad;
 * without, it adds each leaf's gradient into its .grad and returns an empty map.
 */
export function graphGradients(fn: string, root: Tensor, seed: Tensor | undefined, targets: ReadonlySet<Node> | null): Map<Node, Tensor> {
  checkBackwardRoot(fn, root, seed);
  const rootNode = root._gradNode()!;
  const order = topologicalOrder(rootNode, targets);
  checkNotFreed(fn, order);
  // Only nodes on a path to a target matter; the rest of the graph (an outer computation) is left alone.
  let relevant: Set<Node> | null = null;
  if (targets) {
    relevant = new Set();
    for (const n of order) if (targets.has(n) || (!n.leaf && n.parents.some((p) => p && relevant!.has(p)))) relevant.add(n);
  }
  const prev = engine.gradEnabled;
  engine.gradEnabled = true;
  // Everything the walk makes lands here; what it hands out (results, .grad) leaves with it.
  const walk: Scope = { tensors: new Set() };
  engine.scopes.push(walk);
  const owned = new Set<Tensor>();
  /** A tensor only the walk holds: a fresh alias of t when t is held already (or is the user's seed). */
  const own = (t: Tensor) => {
    const o = owned.has(t) || t === seed ? t.reshape(t.shape) : t;
    owned.add(o);
    return o;
  };
  const drop = (t: Tensor) => {
    owned.delete(t);
    t.dispose();
  };
  const grads = new Map<Node, Tensor>();
  const result = new Map<Node, Tensor>();
  const addInto = (node: Node, g: Tensor) => {
    const have = grads.get(node);
    if (!have) return void grads.set(node, g);
    const sum = own(have.add(g));
    drop(have);
    drop(g);
    grads.set(node, sum);
  };
  const handed = new Set<Tensor>();
  try {
    grads.set(rootNode, own(seed ?? full(root.shape, 1)));
    for (let i = order.length - 1; i >= 0; i--) {
      const node = order[i]!;
      const g = grads.get(node);
      if (!g) continue;
      grads.delete(node);
      // From here g is held by no one: whoever takes it (a parent's sum, a result, .grad) owns it.
      owned.delete(g);
      if (targets?.has(node)) {
        result.set(node, g);
        handed.add(g);
      } else if ((relevant && !relevant.has(node)) || (node.leaf && (targets || node.leaf.isDisposed))) {
        g.dispose();
      } else if (node.leaf) {
        handed.add(node.leaf.accumulateGradTensor(g));
      } else {
        // Owned before any is added: a rule may give two inputs one tensor (x.add(x): g for both),
        // and adding the first into its parent disposes it; the second then takes an alias.
        const mine = runRule(fn, node, g, relevant).map((ig) => ig && own(ig));
        mine.forEach((ig, j) => {
          if (ig) addInto(node.parents[j]!, ig);
        });
        if (!owned.has(g)) g.dispose();
      }
    }
  } catch (e) {
    for (const t of [...owned, ...result.values()]) t.dispose();
    throw e;
  } finally {
    engine.gradEnabled = prev;
    engine.scopes.pop();
    for (const t of grads.values()) t.dispose();
    for (const t of walk.tensors) if (!handed.has(t as Tensor)) t.dispose();
  }
  void root._backend.flushSoon();
  return result;
}
