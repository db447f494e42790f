/** What an op's GPU code may do: allocate outputs, run a kernel, call another registry op. */
import type { Storage } from '../backend.ts';
import type { Expr, MapTemplate } from '../ir/expr.ts';
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
  /** Invocations needed (one workgroup per workgroup width of the module); the grid goes 2-D past 65,535 groups. */
  readonly threads: number;
  readonly inputs: readonly GpuStorage[];
  readonly outputs: readonly GpuStorage[];
  /** Up to 16 floats, read in WGSL with param(i). */
  readonly params?: readonly number[];
  /**
   * The parameter arrays that `params` concatenates: the expressions' (a replayed schedule refills
   * them: schedule-cache.ts) and the renderer's sizes (sizeParams), which stay as recorded.
   */
  readonly paramArrays?: readonly (readonly number[])[];
  /**
   * In-place updates written into a twin buffer (double buffering): after the kernel, each
   * [target, twin] pair exchanges buffers, so the target holds the values the kernel wrote.
   */
  readonly swaps?: readonly (readonly [GpuStorage, GpuStorage])[];
}

/**
 * Parameter arrays that hold a kernel's sizes rather than an expression's values (render.ts,
 * Body.size): the same for every replay of a schedule, whose shapes are part of its structure.
 */
export const sizeParams = new WeakSet<readonly number[]>();

export interface MapRun {
  readonly template: MapTemplate;
  /** Elements of every input and output. */
  readonly n: number;
  readonly inputs: readonly GpuStorage[];
  /** Freshly allocated storages, one per template store. */
  readonly outputs: readonly GpuStorage[];
  readonly params?: readonly number[];
}

export interface GpuOps {
  alloc(op: string, shape: Shape): GpuStorage;
  run(k: KernelRun): void;
  /** An elementwise kernel over flat storages; queued like define(). */
  map(m: MapRun): void;
  /** The expression for reading `s` as `shape` (src/ir/expr.ts): queued work is read as its own expression. */
  expr(s: GpuStorage, shape: Shape): Expr;
  /** Defines a freshly allocated `out` as `e`: queued, and compiled with its neighbours when results are needed (src/gpu/lazy.ts). */
  define(out: GpuStorage, e: Expr): void;
  /** Storage buffers one kernel may bind. */
  readonly maxStorageBuffers: number;
  retain(s: GpuStorage): GpuStorage;
  release(s: GpuStorage): void;
  /** Runs another registry op's forward (e.g. sum for a reduction inside a backward). */
  forward<A>(op: OpDef<A>, inputs: readonly GpuStorage[], shapes: readonly Shape[], attrs: A, outShape: Shape): GpuStorage;
  /**
   * The adapter is a CPU (SwiftShader and the like). One of them runs a workgroup on one core and
   * pays ~0.2-0.8 ms for each barrier in it, so kernels that finish a reduction in one workgroup
   * sum serially instead (a GPU would idle most of its lanes that way).
   */
  readonly isSoftware: boolean;
}

export type { MapTemplate };
