/** jax-js as the bench uses it for Adam fits: the whole step (value, gradient, update) in one jit. */
import { blockUntilReady, jit, numpy as np, valueAndGrad, type Array as JaxArray } from '@jax-js/jax';
import type { Instance } from './common.ts';

/** torch.optim.Adam's defaults, which every engine of the Adam workloads uses. */
export const ADAM = { b1: 0.9, b2: 0.999, eps: 1e-8 } as const;

/**
 * Adam's update of one parameter inside a traced step, as torch.optim.Adam:
 * lrt = lr / (1 − β1ᵗ) and sbc2 = √(1 − β2ᵗ) come in as arrays so that one trace serves every t.
 * Consumes every argument (jax-js arrays are owned: pass `.ref` to keep one).
 */
export function jaxAdam(p: JaxArray, g: JaxArray, m: JaxArray, v: JaxArray, lrt: JaxArray, sbc2: JaxArray): [JaxArray, JaxArray, JaxArray] {
  const m2 = m.mul(ADAM.b1).add(g.ref.mul(1 - ADAM.b1));
  const v2 = v.mul(ADAM.b2).add(g.ref.mul(g).mul(1 - ADAM.b2));
  const p2 = p.sub(lrt.mul(m2.ref).div(np.sqrt(v2.ref).div(sbc2).add(ADAM.eps)));
  return [p2, m2, v2];
}

/**
 * A bench instance for an Adam fit of `params` to `lossFn(...params, ...data)`: one jitted
 * function computes the loss, every parameter's gradient and every update. Takes ownership of
 * `params` and `data`.
 */
export function jaxAdamFit(note: string, lossFn: (...args: JaxArray[]) => JaxArray, params: JaxArray[], data: JaxArray[], lr: number): Instance {
  const k = params.length;
  const argnums = params.map((_, i) => i);
  const stepFn = jit((...args: JaxArray[]) => {
    const ps = args.slice(0, k);
    const ms = args.slice(k, 2 * k);
    const vs = args.slice(2 * k, 3 * k);
    const ds = args.slice(3 * k, args.length - 2);
    const [lrt, sbc2] = args.slice(args.length - 2) as [JaxArray, JaxArray];
    const [loss, grads] = valueAndGrad(lossFn, { argnums })(...ps.map((p) => p.ref), ...ds) as [JaxArray, JaxArray[]];
    // The last parameter's update consumes lrt and sbc2; earlier ones borrow them.
    const updated = ps.map((p, i) => (i < k - 1 ? jaxAdam(p, grads[i]!, ms[i]!, vs[i]!, lrt.ref, sbc2.ref) : jaxAdam(p, grads[i]!, ms[i]!, vs[i]!, lrt, sbc2)));
    return [loss, ...updated.map((u) => u[0]), ...updated.map((u) => u[1]), ...updated.map((u) => u[2])];
  });
  let ps = params;
  let ms = params.map((p) => np.zeros(p.shape));
  let vs = params.map((p) => np.zeros(p.shape));
  let t = 0;
  return {
    note,
    async steps(count, readEvery) {
      // jax-js evaluates lazily: losses are kept until the batch is ready so that none is skipped.
      let value = Number.NaN;
      const losses: JaxArray[] = [];
      for (let i = 0; i < count; i++) {
        t++;
        const lrt = np.array([lr / (1 - ADAM.b1 ** t)]);
        const sbc2 = np.array([Math.sqrt(1 - ADAM.b2 ** t)]);
        const out = stepFn(...ps, ...ms, ...vs, ...data.map((d) => d.ref), lrt, sbc2) as JaxArray[];
        const loss = out[0]!;
        ps = out.slice(1, 1 + k);
        ms = out.slice(1 + k, 1 + 2 * k);
        vs = out.slice(1 + 2 * k);
        losses.push(loss);
        if (readEvery || i === count - 1) {
          await blockUntilReady([...ps, ...ms, ...vs, ...losses]);
          losses.pop();
          for (const a of losses.splice(0)) a.dispose();
          value = (await loss.data())[0]!; // data() consumes the array
        }
      }
      return value;
    },
    dispose() {
      for (const a of [...ps, ...ms, ...vs, ...data]) a.dispose();
      stepFn.dispose();
    },
  };
}
