/**
 * Which buffers hold no valid values after an allocation failed. WebGPU reports out-of-memory
 * asynchronously (an error scope around createBuffer), after kernels were already recorded and
 * often submitted against the failed buffer; a command buffer that binds an invalid buffer is
 * dropped whole, so every buffer a kernel wrote from the failed buffer's creation until the report
 * (a window of recorder batches) may hold garbage, and so may anything computed from those later.
 * Reads check here and reject with OutOfMemoryError instead of returning such values.
 */
import type { OutOfMemoryError } from '../errors.ts';
import type { PooledBuffer } from './buffer-pool.ts';

interface Window {
  readonly from: number;
  readonly to: number;
  readonly error: OutOfMemoryError;
}

export class AllocationFailures {
  private windows: Window[] = [];

  /** Records that `b`, created in batch `from`, was never allocated; reported while batch `to` records. */
  fail(b: PooledBuffer, from: number, to: number, error: OutOfMemoryError): void {
    b.poisoned = error;
    this.windows.push({ from, to, error });
  }

  /** The error a read of `b` must give, or null when its values are good. */
  errorOf(b: PooledBuffer): OutOfMemoryError | null {
    if (b.poisoned) return b.poisoned;
    if (!this.windows.length || !b.lastWrite) return null;
    for (const w of this.windows) if (b.lastWrite >= w.from && b.lastWrite <= w.to) return w.error;
    return null;
  }

  /** Whether the submit of `batch` may have been dropped (it bound a buffer that was never allocated). */
  dropped(batch: number): boolean {
    return this.windows.some((w) => batch >= w.from && batch <= w.to);
  }

  /**
   * After a kernel recorded in `batch`: marks its outputs when it reads a buffer without valid
   * values, and the whole batch when it binds a buffer that was never allocated.
   */
  propagate(inputs: readonly PooledBuffer[], outputs: readonly PooledBuffer[], batch: number): void {
    if (!this.windows.length) return;
    const invalid = [...inputs, ...outputs].find((b) => b.failed);
    if (invalid?.poisoned && !this.dropped(batch)) this.windows.push({ from: batch, to: batch, error: invalid.poisoned });
    for (const i of inputs) {
      const e = this.errorOf(i);
      if (e) {
        for (const o of outputs) o.poisoned = e;
        return;
      }
    }
  }

  get any(): boolean {
    return this.windows.length > 0;
  }
}
