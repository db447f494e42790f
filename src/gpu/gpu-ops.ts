/** What an op's GPU code may do: allocate outputs, run a kernel, call another registry op. */
import type { Storage } from '../backend.ts';
import type { OpDef } from '../ops/op.ts';
import type { Shape } from '../shape.ts';
import type { PooledBuffer } from './buffer-pool.ts';

export interface GpuStorage extends Storage {
  readonly buf: PooledBuffer;
}

export interface KernelRun {
  /** Shown in errors and profiles, e.g. "mul_backward". */
  readonly name: string;
  /** Complete module from wgslModule(); pipelines are cached by this text. */
  readonly wgsl: string;
  /** Invocations needed (one workgroup per WORKGROUP_SIZE of them); the grid goes 2-D past 65,535 groups. */
  readonly threads: number;
  readonly inputs: readonly GpuStorage[];
  readonly outputs: readonly GpuStorage[];
  /** Up to 16 floats, read in WGSL with param(i). */
  readonly params?: readonly number[];
}

export interface GpuOps {
  alloc(op: string, shape: Shape): GpuStorage;
  run(k: KernelRun): void;
  retain(s: GpuStorage): GpuStorage;
  release(s: GpuStorage): void;
  /** Runs another registry op's forward (e.g. sum for a reduction inside a backward). */
  forward<A>(op: OpDef<A>, inputs: readonly GpuStorage[], shapes: readonly Shape[], attrs: A, outShape: Shape): GpuStorage;
  /** The adapter has the `subgroups` feature and the device enabled it. */
  readonly subgroups: boolean;
}
