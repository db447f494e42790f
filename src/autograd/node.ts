/**
 * A graph node records how a tensor was made: the op, its attrs, the input shapes, the parents'
 * nodes (null where an input needs no gradient) and what backward saved. Nodes are
 * reference-counted by the tensors and child nodes that point at them, so disposing the tensors
 * of a step (e.g. through tidy) releases everything the step saved even if backward never ran.
 */
import type { Backend, Storage } from '../backend.ts';
import type { OpDef } from '../ops/op.ts';
import type { Shape } from '../shape.ts';

/** The tensor fields a leaf node needs to accumulate into (kept structural to avoid an import cycle). */
export interface LeafTensor {
  readonly shape: Shape;
  readonly isDisposed: boolean;
  /** Adds g (owned by the callee) into .grad. */
  accumulateGrad(g: Storage): void;
  /** Adds g, a tensor in the graph (owned by the callee), into .grad out of place; returns the new .grad. */
  accumulateGradTensor(g: import('../tensor.ts').Tensor): import('../tensor.ts').Tensor;
}

export class Node {
  refs = 1;
  /** Saved storages were released after a backward without retainGraph. */
  freed = false;
  readonly hadSaved: boolean;

  constructor(
    readonly backend: Backend,
    readonly op: OpDef<unknown> | null,
    readonly attrs: unknown,
    readonly inputShapes: readonly Shape[],
    readonly outShape: Shape,
    readonly parents: readonly (Node | null)[],
    public saved: (Storage | null)[],
    public savedOutput: Storage | null,
    /** Set for leaves: backward adds into this tensor's .grad. */
    readonly leaf: LeafTensor | null = null,
  ) {
    this.hadSaved = saved.some((s) => s !== null) || savedOutput !== null;
    for (const p of parents) if (p) p.refs++;
  }

  static leaf(backend: Backend, t: LeafTensor): Node {
    return new Node(backend, null, null, [], t.shape, [], [], null, t);
  }

  releaseSaved(): void {
    for (const s of this.saved) if (s) this.backend.release(s);
    if (this.savedOutput) this.backend.release(this.savedOutput);
    this.saved = this.saved.map(() => null);
    this.savedOutput = null;
  }

  unref(): void {
    // Iterative, so that dropping the end of a 100k-op chain does not overflow the stack.
    const stack: Node[] = [this];
    while (stack.length) {
      const n = stack.pop()!;
      if (--n.refs > 0) continue;
      n.releaseSaved();
      for (const p of n.parents) if (p) stack.push(p);
    }
  }
}
