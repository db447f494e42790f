/**
 * Comparisons, logic and selection as functions: pg.eq(a, b) is a.eq(b), and pg.where(cond, a, b)
 * picks elementwise. Masks are bool tensors and carry no gradient.
 */
import { full } from './creation.ts';
import { InvalidArgumentError } from './errors.ts';
import { whereOp } from './ops/where.ts';
import { apply, type Operand, Tensor } from './tensor.ts';
import { repr } from './validate.ts';

/**
 * Elementwise a == b as a bool mask (see Tensor.eq).
 * @example
 * await pg.eq(pg.tensor([1, 2]), 2).data<'bool'>(); // Uint8Array [0, 1]
 */
export const eq = (a: Tensor, b: Operand): Tensor => first('eq', a).eq(b);
/**
 * Elementwise a != b as a bool mask (see Tensor.ne).
 * @example
 * await pg.ne(pg.tensor([1, 2]), 2).data<'bool'>(); // Uint8Array [1, 0]
 */
export const ne = (a: Tensor, b: Operand): Tensor => first('ne', a).ne(b);
/**
 * Elementwise a < b as a bool mask (see Tensor.lt).
 * @example
 * await pg.lt(pg.tensor([1, 2]), 2).data<'bool'>(); // Uint8Array [1, 0]
 */
export const lt = (a: Tensor, b: Operand): Tensor => first('lt', a).lt(b);
/**
 * Elementwise a <= b as a bool mask (see Tensor.le).
 * @example
 * await pg.le(pg.tensor([1, 3]), 2).data<'bool'>(); // Uint8Array [1, 0]
 */
export const le = (a: Tensor, b: Operand): Tensor => first('le', a).le(b);
/**
 * Elementwise a > b as a bool mask (see Tensor.gt).
 * @example
 * await pg.gt(pg.tensor([1, 3]), 2).data<'bool'>(); // Uint8Array [0, 1]
 */
export const gt = (a: Tensor, b: Operand): Tensor => first('gt', a).gt(b);
/**
 * Elementwise a >= b as a bool mask (see Tensor.ge).
 * @example
 * await pg.ge(pg.tensor([1, 2]), 2).data<'bool'>(); // Uint8Array [0, 1]
 */
export const ge = (a: Tensor, b: Operand): Tensor => first('ge', a).ge(b);
/**
 * True where both are nonzero, as a bool mask (see Tensor.logicalAnd).
 * @example
 * await pg.logicalAnd(pg.tensor([0, 1]), 1).data<'bool'>(); // Uint8Array [0, 1]
 */
export const logicalAnd = (a: Tensor, b: Operand): Tensor => first('logicalAnd', a).logicalAnd(b);
/**
 * True where either is nonzero, as a bool mask (see Tensor.logicalOr).
 * @example
 * await pg.logicalOr(pg.tensor([0, 1]), 0).data<'bool'>(); // Uint8Array [0, 1]
 */
export const logicalOr = (a: Tensor, b: Operand): Tensor => first('logicalOr', a).logicalOr(b);
/**
 * True where x is 0, as a bool mask (see Tensor.logicalNot).
 * @example
 * await pg.logicalNot(pg.tensor([0, 2])).data<'bool'>(); // Uint8Array [1, 0]
 */
export const logicalNot = (x: Tensor): Tensor => first('logicalNot', x).logicalNot();

/**
 * Elementwise `a` where `cond` is nonzero (NaN counts as nonzero), `b` elsewhere; the three
 * broadcast NumPy-style and `a`, `b` may be numbers. The gradient goes to `a` where cond holds and
 * to `b` elsewhere, never to `cond`. The result's dtype is a's and b's promoted (see DType). One fused elementwise kernel with its neighbours.
 * @example
 * const x = pg.tensor([-1, 2, -3]);
 * await pg.where(x.gt(0), x, 0).data(); // Float32Array [0, 2, 0]
 */
export function where(cond: Tensor, a: Operand, b: Operand): Tensor {
  first('where', cond);
  // A number becomes a 0-d tensor filled on the device (no upload), broadcast by the op.
  const made: Tensor[] = [];
  const operand = (v: Operand, what: string) => {
    if (v instanceof Tensor) return v;
    if (typeof v !== 'number') throw new InvalidArgumentError(`where: ${what} must be a Tensor or a number, got ${repr(v)}`);
    // An int number keeps an int32 or bool operand's category (as a Python scalar in PyTorch's where).
    const t = full([], v, { dtype: Number.isInteger(v) ? 'int32' : 'float32' });
    made.push(t);
    return t;
  };
  try {
    return apply(whereOp, [cond, operand(a, 'a'), operand(b, 'b')], {});
  } finally {
    for (const t of made) t.dispose();
  }
}

function first(op: string, x: Tensor): Tensor {
  if (!(x instanceof Tensor)) throw new InvalidArgumentError(`${op}: the first operand must be a Tensor, got ${repr(x)}`);
  return x;
}
