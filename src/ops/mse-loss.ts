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

/** Mean squared error: mean((a - b)²) over every element, a scalar tensor. a and b must have the same shape. */
export function mseLoss(a: Tensor, b: Tensor): Tensor {
  for (const t of [a, b]) if (!(t instanceof Tensor)) throw new InvalidArgumentError(`mseLoss: expected a Tensor, got ${repr(t)}`);
  if (!sameShape(a.shape, b.shape)) throw new ShapeError(`mseLoss: the prediction ${fmt(a.shape)} and the target ${fmt(b.shape)} must have the same shape (mseLoss does not broadcast)`);
  if (a.size === 0) throw new ShapeError(`mseLoss: inputs of shape ${fmt(a.shape)} are empty; the mean of no elements is undefined`);
  const f = (t: Tensor) => (t.dtype === 'float32' ? t : t.to('float32'));
  return tidy(() => f(a).sub(f(b)).square().mean());
}
