/**
 * Index-driven ops as functions: pg.takeAlongAxis(x, index, axis) is x.takeAlongAxis(index, axis),
 * and so on. Index tensors are int32, or float32 holding integers.
 */
import { InvalidArgumentError } from './errors.ts';
import { Tensor } from './tensor.ts';
import { repr } from './validate.ts';

function first(op: string, x: unknown, what: string): Tensor {
  if (!(x instanceof Tensor)) throw new InvalidArgumentError(`${op}: ${what} must be a Tensor, got ${repr(x)}`);
  return x;
}

/**
 * `x`'s elements picked along `axis` by `index` (see Tensor.takeAlongAxis; PyTorch's gather).
 * @example
 * await pg.takeAlongAxis(pg.tensor([[1, 2], [3, 4]]), pg.tensor([[1], [0]]), 1).data(); // Float32Array [2, 3]
 */
export const takeAlongAxis = (x: Tensor, index: Tensor, axis: number): Tensor => first('takeAlongAxis', x, 'x').takeAlongAxis(index, axis);

/**
 * The slices of `x` along `axis` that the 1-D `index` names (see Tensor.indexSelect).
 * @example
 * await pg.indexSelect(pg.tensor([5, 6, 7]), 0, pg.tensor([2, 2, 0])).data(); // Float32Array [7, 7, 5]
 */
export const indexSelect = (x: Tensor, axis: number, index: Tensor): Tensor => first('indexSelect', x, 'x').indexSelect(axis, index);

/**
 * `target` plus `src` summed into the positions `index` names along `axis` (see Tensor.scatterAdd; torch.scatter_add).
 * @example
 * await pg.scatterAdd(pg.zeros([2]), 0, pg.tensor([1, 1, 0]), pg.tensor([1, 2, 3])).data(); // Float32Array [3, 3]
 */
export const scatterAdd = (target: Tensor, axis: number, index: Tensor, src: Tensor): Tensor => first('scatterAdd', target, 'target').scatterAdd(axis, index, src);
