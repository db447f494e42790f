/**
 * pixelgrad: tensors in WebGPU buffers with reverse-mode autograd.
 *
 * ```ts
 * import * as pg from 'pixelgrad';
 * await pg.init();
 * const c1 = pg.tensor([0.2], { requiresGrad: true });
 * const loss = c1.mul(0.6).sub(0.5).pow(2);
 * loss.backward();
 * await c1.grad!.data();
 * ```
 */
export { Tensor, type Operand, type NestedArray, type BackwardOptions } from './tensor.ts';
export type { DType, ArrayFor } from './dtype.ts';
export { tensor, full, zeros, ones, zerosLike, onesLike, rand, randn, arange, type TensorOptions, type TensorData, type CreationOptions, type RandomOptions } from './creation.ts';
export { init, backend, shutdown, flush, memory, releasePooled, tidy, noGrad, dispose, type InitOptions, type MemoryInfo, type NotPromise } from './runtime.ts';
export { grad, valueAndGrad, type Grads, type ValueAndGrad } from './autograd/functional.ts';
export { compile, type Compiled } from './compile.ts';
export { manualSeed, mulberry32 } from './random.ts';
export { format, type FormatOptions, type TensorSummary } from './format.ts';
export { fromGPUBuffer, type FromGPUBufferOptions } from './interop.ts';
export { profile, type Profile } from './profile.ts';
export { saveSafetensors, loadSafetensors, type SaveSafetensorsOptions } from './safetensors.ts';
export type { Backend, BackendStats, KernelTime } from './backend.ts';
export type { Shape } from './shape.ts';
export { registeredOps } from './ops/all.ts';
export type { OpDef } from './ops/op.ts';
export * from './errors.ts';
export { cat, stack } from './ops/concat.ts';
export { flip, roll, pad, type PadOptions } from './movement.ts';
export { conv2d, avgPool2d, maxPool2d, type Conv2dOptions, type Pool2dOptions, type Padding2d } from './conv.ts';
export { eq, ne, lt, le, gt, ge, logicalAnd, logicalOr, logicalNot, where } from './logic.ts';
export { takeAlongAxis, indexSelect, scatterAdd } from './indexing.ts';
export { sort, argsort, topk, SORT_MAX_AXIS, type SortOptions, type TopkOptions, type Sorted } from './sort.ts';
export * from './image/index.ts';
export * from './optim/index.ts';
