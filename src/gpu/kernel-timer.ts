/**
 * Per-kernel GPU times for pg.profile(): while a timer is attached, the recorder gives each
 * dispatch a compute pass of its own whose beginning and end write timestamp queries; each
 * submit resolves its queries into a buffer that is read once the submit is done. Without the
 * `timestamp-query` feature the timer still lists the kernels, with no times.
 */
import type { KernelTime } from '../backend.ts';

/** Two queries per dispatch, and a submit holds at most 1024 dispatches (recorder.ts): 2048 fits the spec's 4096-query sets. */
export const QUERIES_PER_SUBMIT = 2048;

export class KernelTimer {
  private readonly names: string[] = [];
  private readonly times: (number | null)[] = [];
  private readonly reads: Promise<void>[] = [];
  private querySet: GPUQuerySet | null = null;
  /** Indices into names of the dispatches timed in the batch being recorded. */
  private inBatch: number[] = [];

  constructor(
    private readonly device: GPUDevice,
    /** The device has `timestamp-query`. */
    readonly timestamps: boolean,
  ) {}

  /** Notes a dispatch of kernel `name`; returns the timestamp writes for its pass (undefined without timestamp queries). */
  next(name: string): GPUComputePassTimestampWrites | undefined {
    this.names.push(name);
    this.times.push(null);
    if (!this.timestamps) return undefined;
    if (this.inBatch.length * 2 >= QUERIES_PER_SUBMIT) return undefined;
    this.querySet ??= this.device.createQuerySet({ type: 'timestamp', count: QUERIES_PER_SUBMIT, label: 'pixelgrad profile' });
    const q = this.inBatch.length * 2;
    this.inBatch.push(this.names.length - 1);
    return { querySet: this.querySet, beginningOfPassWriteIndex: q, endOfPassWriteIndex: q + 1 };
  }

  /**
   * Records, at the end of a batch's encoder, the copy of its timestamps into a readable buffer;
   * returns what to call right after the batch's submit (null if the batch timed nothing).
   */
  resolve(encoder: GPUCommandEncoder): (() => void) | null {
    const querySet = this.querySet;
    const slots = this.inBatch;
    if (!querySet || !slots.length) return null;
    this.querySet = null;
    this.inBatch = [];
    const count = slots.length * 2;
    const bytes = count * 8;
    const resolved = this.device.createBuffer({ size: bytes, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC, label: 'pixelgrad profile resolve' });
    const readable = this.device.createBuffer({ size: bytes, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST, label: 'pixelgrad profile read' });
    encoder.resolveQuerySet(querySet, 0, count, resolved, 0);
    encoder.copyBufferToBuffer(resolved, 0, readable, 0, bytes);
    return () => {
      const read = readable.mapAsync(GPUMapMode.READ).then(
        () => {
          const ns = new BigUint64Array(readable.getMappedRange().slice(0));
          readable.unmap();
          slots.forEach((at, k) => {
            // Some drivers' clocks step back between passes: a negative span is reported as 0.
            const span = Number(ns[2 * k + 1]! - ns[2 * k]!);
            this.times[at] = Math.max(0, span) / 1e6;
          });
        },
        // The device was lost or the engine shut down: these kernels keep no time.
        () => undefined,
      );
      this.reads.push(
        read.finally(() => {
          resolved.destroy();
          readable.destroy();
          querySet.destroy();
        }),
      );
    };
  }

  /** Every dispatch noted, in order, with its time once the reads of all submitted batches are done. */
  async results(): Promise<KernelTime[]> {
    await Promise.all(this.reads);
    return this.names.map((name, i) => ({ name, ms: this.times[i]! }));
  }
}
