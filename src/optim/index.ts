/** Optimizers: each step() runs one fused in-place WGSL kernel per parameter. */
export { Optimizer, type ParamState } from './optimizer.ts';
export { SGD, type SGDOptions } from './sgd.ts';
export { Adam, AdamW, type AdamOptions } from './adam.ts';
