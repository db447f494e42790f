import { catOp } from './concat.ts';
import { conv2dOp } from './conv2d.ts';
import { binaryOps, binaryScalarOps, unaryOps } from './elementwise.ts';
import { matmulOp } from './matmul.ts';
import type { OpDef } from './op.ts';
import { maxOp, meanOp, sumOp } from './reduce.ts';
import { flipOp } from './flip.ts';
import { padOp } from './pad.ts';
import { expandOp, permuteOp, reshapeOp, sliceOp } from './shape-ops.ts';
import { whereOp } from './where.ts';
import { argmaxOp, argminOp } from './argmax.ts';
import { cumsumOp } from './cumsum.ts';
import { scatterAddOp, takeAlongAxisOp } from './gather.ts';
import { logSoftmaxOp, softmaxOp } from './softmax.ts';

let all: OpDef<unknown>[] | undefined;

/**
 * Every op in the registry, with its kernels and float64 reference. A bundle that calls this keeps
 * every op; one that does not keeps only the ops its code uses.
 * @example
 * pg.registeredOps().map((op) => op.name); // ['sum', 'mean', 'max', 'neg', ...]
 */
export function registeredOps(): OpDef<unknown>[] {
  if (!all) {
    // The order in which the op modules registered themselves when they did so at load.
    const ops = [
      sumOp,
      meanOp,
      maxOp,
      ...Object.values(unaryOps),
      ...Object.values(binaryOps),
      ...Object.values(binaryScalarOps),
      whereOp,
      argmaxOp,
      argminOp,
      cumsumOp,
      takeAlongAxisOp,
      scatterAddOp,
      matmulOp,
      softmaxOp,
      logSoftmaxOp,
      reshapeOp,
      permuteOp,
      expandOp,
      sliceOp,
      flipOp,
      padOp,
      catOp,
      conv2dOp,
    ] as unknown as OpDef<unknown>[];
    const names = new Set<string>();
    for (const op of ops) {
      if (names.has(op.name)) throw new Error(`internal: op "${op.name}" registered twice`);
      names.add(op.name);
    }
    all = ops;
  }
  return [...all];
}
