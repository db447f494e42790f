/**
 * The op registry's entry type. An op declares, in one place: its shape rule (which validates),
 * what it saves for backward, its WGSL forward and backward kernels, and its float64 CPU reference
 * with the reference gradient. Tests iterate the registry, so an op missing any part fails them.
 */
import type { BackwardArgs, ForwardArgs } from '../backend.ts';
import type { GpuOps, GpuStorage } from '../gpu/gpu-ops.ts';
import type { Shape } from '../shape.ts';

export interface Saves {
  readonly inputs: readonly boolean[];
  readonly output: boolean;
}

export interface OpDef<A = unknown> {
  readonly name: string;
  /** Number of tensor inputs, or -1 for any number (cat). */
  readonly arity: number;
  /** Validates input shapes and attrs (throwing ShapeError/InvalidArgumentError that name the op) and returns the output shape. */
  shape(shapes: readonly Shape[], attrs: A): Shape;
  /** What backward needs, given which inputs need a gradient: save an input only when a gradient formula reads it. */
  saves(needs: readonly boolean[], attrs: A): Saves;
  /**
   * Ops whose output is the input's memory reinterpreted (reshape): the forward returns the input
   * storage itself and no kernel runs.
   */
  readonly alias?: boolean;
  readonly gpu: {
    forward(k: GpuOps, inputs: readonly GpuStorage[], out: GpuStorage, args: ForwardArgs<A>): void;
    /**
     * Gradients for the inputs in `needs` (null elsewhere). Each has the input's shape, or a shape
     * the input broadcasts to (autograd sums it back: one shared unbroadcast).
     */
    backward(k: GpuOps, args: BackwardArgs<A, GpuStorage>): (GpuStorage | null)[];
  };
  /** Float64 forward on flat row-major arrays. */
  reference(inputs: readonly Float64Array[], args: ForwardArgs<A>): Float64Array;
  /** Float64 vector-Jacobian product, same conventions as gpu.backward. */
  referenceBackward(args: BackwardArgs<A, Float64Array>): (Float64Array | null)[];
  /** For gradient tests: inputs where the op is smooth (e.g. log needs x > 0). */
  readonly domain?: (inputIndex: number) => {
    min: number;
    max: number;
    /** Whole numbers only: an index input (takeAlongAxis), whose values must name elements. */
    integer?: boolean;
  };
  /** Attribute sets the registry tests exercise (default: one `{}`). */
  readonly testAttrs?: readonly A[];
  /** Input shapes the registry tests exercise for a given base size, when the default (elementwise, broadcast) does not fit. */
  readonly testShapes?: (n: number) => Shape[][];
}

/**
 * Types an op's definition and does nothing else: an op is a constant that the code using it
 * imports, so a bundle keeps the ops it reaches and drops the rest. registeredOps() (./all.ts)
 * lists them all. The annotation tells bundlers so, and lets them drop an op that nothing uses.
 */
/* @__NO_SIDE_EFFECTS__ */
export function defineOp<A>(def: OpDef<A>): OpDef<A> {
  return def;
}
