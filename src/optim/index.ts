/** Optimizers: each step() runs one fused in-place WGSL kernel per parameter. */
export { Optimizer, type ParamState } from './optimizer.ts';
export { SGD, sgdRule, sgdMomentumRule, type SGDOptions } from './sgd.ts';
export { Adam, AdamW, adamRule, type AdamOptions } from './adam.ts';
export type { UpdateRule } from './update-rule.ts';
