/**
 * mseLoss: mean((a - b)²), composed of plain ops. The scheduler sums it in one pass of vec4 reads
 * and, in a training step, in the pass that writes the prediction's gradient (src/gpu/schedule.ts,
 * siblingSums and mergeSiblings): faster than the hand-fused kernels this op had (2^20 elements,
 * one page on SwiftShader: forward 6.3 against 6.9 ms, forward and backward 17.6 against 20.9).
 */
import { InvalidArgumentError, ShapeError } from '../errors.ts';
import { fmt, sameShape } from '../shape.ts';
import { tidy } from '../runtime.ts';
import { Tensor } from '../tensor.ts';
import { repr } from '../validate.ts';

/** The inputs of composite op `fn` as live tensors: a clear error naming `fn` for anything else, or a disposed one. */
export function liveInputs(fn: string, inputs: readonly unknown[]): Tensor[] {
  return inputs.map((t) => {
    if (!(t instanceof Tensor)) throw new InvalidArgumentError(`${fn}: expected a Tensor, got ${repr(t)}`);
    t._live(fn);
    return t;
  });
}

/** `t` as float32 (int32 and bool tensors are converted; a float32 one is itself). */
export const asFloat = (t: Tensor): Tensor => (t.dtype === 'float32' ? t : t.to('float32'));

/** Mean squared error: mean((a - b)²) over every element, a scalar tensor. a and b must have the same shape. */
export function mseLoss(a: Tensor, b: Tensor): Tensor {
  liveInputs('mseLoss', [a, b]);
  if (!sameShape(a.shape, b.shape)) throw new ShapeError(`mseLoss: the prediction ${fmt(a.shape)} and the target ${fmt(b.shape)} must have the same shape (mseLoss does not broadcast)`);
  if (a.size === 0) throw new ShapeError(`mseLoss: inputs of shape ${fmt(a.shape)} are empty; the mean of no elements is undefined`);
  return tidy(() => asFloat(a).sub(asFloat(b)).square().mean());
}
