/** tfjs as the bench uses it: a training step through optimizer.minimize, its loss read when asked. */
import * as tf from '@tensorflow/tfjs';
import { type Instance, lossLoop } from './common.ts';

/** A bench instance around `opt.minimize(lossFn)` over `vars`; `owned` (and the optimizer) are freed at the end. */
export function tfjsInstance(note: string, opt: tf.Optimizer, lossFn: () => tf.Scalar, vars: tf.Variable[], owned: tf.Tensor[]): Instance {
  return lossLoop(
    {
      note,
      dispose() {
        tf.dispose(owned);
        opt.dispose();
      },
    },
    () => opt.minimize(lossFn, true, vars)!,
    async (loss) => (await loss.data())[0]!,
    (loss) => loss.dispose(),
  );
}
