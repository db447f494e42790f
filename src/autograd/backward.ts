/**
 * Reverse-mode autodiff: one walk over the graph in reverse topological order, touching only
 * nodes on a path to a tensor that requires grad, adding each contribution into its parent's
 * gradient. It records kernels and submits them when the current task's code is done (so an
 * optimizer step and reads that follow share the submit); it never reads the GPU back.
 */
import { retain, type Storage } from '../backend.ts';
import { FreedGraphError, GradientError, ShapeError } from '../errors.ts';
import { binaryOps } from '../ops/elementwise.ts';
import { fmt, sameShape } from '../shape.ts';
import type { Tensor } from '../tensor.ts';
import type { Node } from './node.ts';

/** Parents before children, not going past `stop` nodes; iterative so a 100k-op chain does not overflow the stack. */
export function topologicalOrder(root: Node, stop: ReadonlySet<Node> | null = null): Node[] {
  const order: Node[] = [];
  const visited = new Set<Node>([root]);
  const stack: [Node, number][] = [[root, 0]];
  while (stack.length) {
    const top = stack[stack.length - 1]!;
    const [node, next] = top;
    if (next < node.parents.length && !stop?.has(node)) {
      top[1]++;
      const p = node.parents[next];
      if (p && !visited.has(p)) {
        visited.add(p);
        stack.push([p, 0]);
      }
    } else {
      stack.pop();
      order.push(node);
    }
  }
  return order;
}

/** Throws unless backward can start at root with this seed (fn names the caller in messages). */
export function checkBackwardRoot(fn: string, root: Tensor, gradient: Tensor | undefined): void {
  root._live(fn);
  if (!root.requiresGrad) {
    throw new GradientError(
      `${fn}: tensor ${root.id} of shape ${fmt(root.shape)} does not require grad: no input of the computation has requiresGrad: true (or it ran inside noGrad / was detached)`,
    );
  }
  if (gradient === undefined && root.size !== 1) {
    throw new GradientError(
      `${fn}: tensor of shape ${fmt(root.shape)} is not a scalar; pass a gradient of the same shape (loss.backward(pg.onesLike(loss))) or reduce it first (loss.sum().backward())`,
    );
  }
  if (gradient !== undefined && !sameShape(gradient.shape, root.shape)) {
    throw new ShapeError(`${fn}: gradient of shape ${fmt(gradient.shape)} does not match the tensor's shape ${fmt(root.shape)}`);
  }
  gradient?._live(fn);
}

/** Throws if a node on the walk lost what it saved to an earlier backward(). */
export function checkNotFreed(fn: string, order: readonly Node[]): void {
  for (const n of order) {
    if (n.freed && n.hadSaved) {
      throw new FreedGraphError(
        `${fn}: the graph through "${n.op?.name}" was freed by an earlier backward(), which released what it saved. ` +
          'Pass { retainGraph: true } to the first backward() to run backward twice, or recompute the forward pass.',
      );
    }
  }
}

export function backward(root: Tensor, gradient: Tensor | undefined, retainGraph: boolean): void {
  checkBackwardRoot('backward', root, gradient);
  const seed = gradient ? gradient._live('backward') : null;
  const be = root._backend;
  const rootNode = root._gradNode()!;
  const order = topologicalOrder(rootNode);
  checkNotFreed('backward', order);

  const grads = new Map<Node, Storage>([[rootNode, seed ? retain(seed) : be.fill('backward', root.shape, 1)]]);
  // Contributions are summed by the add op, not in place: on the GPU it is queued with the kernels
  // that produce them and fuses into whatever reads the sum.
  const addInto = (node: Node, g: Storage) => {
    const have = grads.get(node);
    if (!have) {
      grads.set(node, g);
    } else {
      const shape = node.outShape;
      grads.set(node, be.forward(binaryOps.add!, [have, g], [shape, shape], {}, shape));
      be.release(have);
      be.release(g);
    }
  };

  for (let i = order.length - 1; i >= 0; i--) {
    const node = order[i]!;
    const g = grads.get(node);
    if (!g) continue;
    grads.delete(node);
    if (node.leaf) {
      if (node.leaf.isDisposed) be.release(g);
      else node.leaf.accumulateGrad(g);
      continue;
    }
    const inputGrads = be.backward(node.op!, {
      shapes: node.inputShapes,
      attrs: node.attrs,
      outShape: node.outShape,
      inputs: node.saved,
      output: node.savedOutput,
      grad: g,
      needs: node.parents.map((p) => p !== null),
    });
    be.release(g);
    if (!retainGraph) {
      node.releaseSaved();
      node.freed = true;
    }
    inputGrads.forEach((ig, j) => {
      if (!ig) return;
      const parent = node.parents[j];
      if (parent) addInto(parent, ig);
      else be.release(ig);
    });
  }
  void be.flushSoon();
}
