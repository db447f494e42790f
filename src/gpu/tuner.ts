/**
 * The tuner: the one place that turns the device profile (quirks.ts, GpuOps.isSoftware) and a
 * problem's shape into a kernel's block shape, thread target, workgroup width, walk order and
 * form. The scheduler, the renderer and the routines (matmul, conv2d) take what it returns and
 * read nothing about the device themselves.
 */
import { CPU_SIMD_LANES, CPU_WALK_ITEMS } from './quirks.ts';
import { walkThreads } from './wgsl.ts';

/** What the tuner reads about the device. */
export interface DeviceProfile {
  readonly isSoftware: boolean;
}

/** How a GEMM is cut into per-thread blocks. */
export interface GemmTiling {
  /** Rows of C a thread keeps in registers. */
  readonly TM: number;
  /** Columns of C a thread keeps in registers (a multiple of 4: vec4 accumulators). */
  readonly TN: number;
  /** Threads worth keeping busy: fewer blocks than this and a long inner dimension split k. */
  readonly targetThreads: number;
  /** The widest workgroup the kernel may declare. */
  readonly width: number;
}

/**
 * A CPU adapter runs CPU_SIMD_LANES invocations in step and spreads workgroups over its cores, so a
 * few hundred threads fill any CPU; what counts is the multiply-adds per load. 16 × 16 blocks do
 * 256 vec4 multiply-adds per 32 vec4 loads, 8 × 4 do 32 per 12. matmul forward (with its sum and
 * read) at N=512 on SwiftShader, best of 8 in one page, machine shared (load ~5): 16 × 16 67-107
 * ms, 8 × 8 104-115, 8 × 16 and 16 × 8 133-138, 8 × 4 159-181. Quiet, same page: 16 × 16 47-50
 * ms, 32 × 16 40-44 and 32 × 32 41 but their first call compiles for 1.4 and 2.9 s (16 × 16: 0.7).
 * Bench, quiet: 48 ms a step against jax-js's 86 (8 × 4 blocks, busy: 156 against 172).
 */
const CPU_BLOCKS: readonly (readonly [number, number])[] = [
  [16, 16],
  [8, 16],
  [8, 8],
  [4, 8],
  [4, 4],
];
const CPU_TARGET_THREADS = 64 * CPU_SIMD_LANES;
/** Narrow workgroups, so that a few hundred threads still make dozens to spread over the cores (4 to 32 wide timed within noise of each other, 16 × 16 blocks at N=512). */
const CPU_WIDTH = 16;

/** A GPU wants thousands of threads in flight; 8 × 4 blocks keep 32 accumulators, well inside a GPU's registers. */
const GPU_TARGET_THREADS = 4096;
const GPU_WIDTH = 256;

/** @internal Tests set this to build the kernels another device would get (a GPU's blocks on SwiftShader); null restores the real profile. */
export const tunerTesting: { profile: DeviceProfile | null } = { profile: null };

/** The profile every decision below reads: the test override where one is set. */
const profileOf = (actual: DeviceProfile): DeviceProfile => tunerTesting.profile ?? actual;

/**
 * Block shape for C[batch, M, N]: on a CPU adapter the largest of CPU_BLOCKS that still leaves
 * CPU_TARGET_THREADS blocks (else the smallest); on a GPU 8 rows × 4 columns while the output
 * still has GPU_TARGET_THREADS such blocks, else 4 × 4. matmul forward at N=512 on SwiftShader, two
 * same-page runs each: 8 × 4 1.53-1.67 GFLOP/s against 1.28-1.34 for 4 × 4.
 */
export function gemmTiling(actual: DeviceProfile, batch: number, M: number, N: number): GemmTiling {
  const device = profileOf(actual);
  const blocks = (tm: number, tn: number) => batch * Math.ceil(M / tm) * Math.ceil(N / tn);
  if (device.isSoftware) {
    const fits = CPU_BLOCKS.find(([tm, tn]) => tm <= M && tn <= N && blocks(tm, tn) >= CPU_TARGET_THREADS);
    const [TM, TN] = fits ?? CPU_BLOCKS.at(-1)!;
    return { TM, TN, targetThreads: CPU_TARGET_THREADS, width: CPU_WIDTH };
  }
  const TM = M >= 8 && blocks(8, 4) >= GPU_TARGET_THREADS ? 8 : 4;
  return { TM, TN: 4, targetThreads: GPU_TARGET_THREADS, width: GPU_WIDTH };
}

/** A walk on a GPU: threads enough to fill it, each with at least GPU_WALK_ELEMENTS elements of its rows. */
const GPU_WALKERS = 4096;
const GPU_WALK_ELEMENTS = 256;
/**
 * A walker's elements on a CPU adapter: as many as a hand-fused per-pixel kernel's thread reads
 * (CPU_WALK_ITEMS groups of 4 pixels of 8 weights). A walker sets up its loads and keeps a partial
 * sum per reduced output, which the finishing pass adds up, so fewer and longer walks win while
 * the workgroups still outnumber the cores. Plain-op palette step with Adam at S = 512 (rows of 8,
 * 25 partial sums a walker), same page, alternating, medians of 25: 1.15x the hand-fused step with
 * 4096 walkers of 64 rows, 1.13x with 1024 of 256, 1.10x with 256 of 1024 (4 workgroups, too few
 * for a CPU with more cores).
 */
const CPU_WALK_ELEMENTS = CPU_WALK_ITEMS * 4 * 8;

/**
 * Threads of a walk kernel (src/gpu/walks.ts) over `rows` rows, each reading or writing up to
 * `rowElements` elements of stored tensors: sized by the elements, not the rows, so that a walk over an image's 256 rows of 768 values
 * (total variation's sums) still has dozens of walkers; never more walkers than rows.
 */
export function walkers(actual: DeviceProfile, rows: number, rowElements: number): number {
  const device = profileOf(actual);
  const elements = rows * Math.max(1, rowElements);
  const wanted = device.isSoftware ? Math.ceil(elements / CPU_WALK_ELEMENTS) : Math.min(GPU_WALKERS, Math.ceil(elements / GPU_WALK_ELEMENTS));
  // The nearest power of two: the walk's row count is a kernel parameter (render.ts), so images
  // whose counts round alike share its kernels and its finishing passes' (which read P partials).
  return Math.max(1, Math.min(rows, 2 ** Math.round(Math.log2(wanted))));
}

/** How a summing or walking kernel's threads take their elements (wgsl.ts walkBounds). */
export interface WalkShape {
  /** Threads: the caller's count, rounded to whole SIMD groups where chunked. */
  readonly P: number;
  /**
   * Each SIMD group streams one contiguous chunk (a CPU adapter: its cores read memory in order),
   * rather than a grid stride (a GPU: neighbouring threads take neighbouring elements, so a warp's
   * loads coalesce).
   */
  readonly chunked: boolean;
}

/**
 * The walk of T threads over elements that lie `contiguous` in memory (a sum over the innermost
 * axis, or whole rows): chunked on a CPU adapter, a grid stride on a GPU or where the elements
 * are strided anyway.
 */
export function walkShape(actual: DeviceProfile, T: number, contiguous = true): WalkShape {
  const device = profileOf(actual);
  const chunked = device.isSoftware && contiguous;
  return { P: walkThreads(T, chunked), chunked };
}

/**
 * Threads for a large elementwise kernel that may walk like a summing pass, so that reads that
 * slide along a row are carried from one element to the next instead of loaded again (render.ts,
 * slidingElementwise): T threads on a CPU adapter, where loads cost more than the arithmetic;
 * none on a GPU, whose four-elements-a-thread kernel coalesces its loads.
 */
export function elementwiseWalkers(actual: DeviceProfile, T: number): number | undefined {
  const device = profileOf(actual);
  return device.isSoftware ? walkThreads(T, true) : undefined;
}

/**
 * The form of conv2d's kernels (src/ops/conv2d.ts): scalar blocks of pixels × channels on a CPU
 * adapter, where loads per multiply-add decide; vec4 loads and accumulators on a GPU.
 */
export function convForm(actual: DeviceProfile): 'blocked' | 'vector' {
  const device = profileOf(actual);
  return device.isSoftware ? 'blocked' : 'vector';
}
