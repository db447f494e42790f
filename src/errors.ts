/**
 * Every error pixelgrad throws is a PixelgradError subclass with a message that names the op,
 * the shapes or the limit, and says what to do. The engine stays usable after any of them.
 * @example
 * try {
 *   pg.zeros([2]).add(pg.zeros([3]));
 * } catch (e) {
 *   if (e instanceof pg.PixelgradError) console.warn(e.name, e.message); // ShapeError add: ...
 * }
 */
export class PixelgradError extends Error {
  /** `'PixelgradError'`, in every build (a field, not `new.target.name`, which minifiers rename). */
  override name = 'PixelgradError';
}

/**
 * Shapes that do not fit an op: broadcasting, matmul inner dims, reshape sizes, data length.
 * @example
 * pg.zeros([2, 3]).matmul(pg.zeros([4, 5])); // throws ShapeError: matmul: ... [2, 3] ... [4, 5]
 */
export class ShapeError extends PixelgradError {
  /** `'ShapeError'`, in every build (a field, not `new.target.name`, which minifiers rename). */
  override name = 'ShapeError';
}

/**
 * An argument that is not valid for the op: an axis out of range, a ragged array, a NaN hyper-parameter.
 * @example
 * pg.zeros([2, 3]).sum(2); // throws InvalidArgumentError: sum: axis 2 ... rank 2
 */
export class InvalidArgumentError extends PixelgradError {
  /** `'InvalidArgumentError'`, in every build (a field, not `new.target.name`, which minifiers rename). */
  override name = 'InvalidArgumentError';
}

/**
 * A disposed tensor was used. Subclasses ReferenceError's meaning: the handle no longer points at data.
 * @example
 * const t = pg.zeros([2]);
 * t.dispose();
 * await t.data(); // throws DisposedTensorError
 */
export class DisposedTensorError extends PixelgradError {
  /** `'DisposedTensorError'`, in every build (a field, not `new.target.name`, which minifiers rename). */
  override name = 'DisposedTensorError';
}

/**
 * backward() was asked for something autograd cannot do: no grad required, non-scalar without a gradient, a freed graph.
 * @example
 * pg.zeros([2]).sum().backward(); // throws GradientError: nothing requires grad
 */
export class GradientError extends PixelgradError {
  /** `'GradientError'`, in every build (a field, not `new.target.name`, which minifiers rename). */
  override name = 'GradientError';
}

/**
 * A second backward() through a graph whose saved tensors were already released.
 * @example
 * loss.backward();
 * loss.backward(); // throws FreedGraphError unless the first passed { retainGraph: true }
 */
export class FreedGraphError extends GradientError {
  /** `'FreedGraphError'`, in every build (a field, not `new.target.name`, which minifiers rename). */
  override name = 'FreedGraphError';
}

/**
 * A compiled function (pg.compile) did something a replay could not repeat, or its captured state changed.
 * @example
 * const f = pg.compile((x: pg.Tensor) => { x.data(); return x; });
 * f(pg.zeros([2])); // throws CompileError: reading data inside a compiled function (WebGPU; the CPU backend does not trace)
 */
export class CompileError extends PixelgradError {
  /** `'CompileError'`, in every build (a field, not `new.target.name`, which minifiers rename). */
  override name = 'CompileError';
}

/**
 * A tensor or dispatch exceeds what the device allows; thrown before any GPU call.
 * @example
 * pg.zeros([1 << 30]); // throws LimitError on a device whose buffers cannot hold 4 GiB
 */
export class LimitError extends PixelgradError {
  /** `'LimitError'`, in every build (a field, not `new.target.name`, which minifiers rename). */
  override name = 'LimitError';
}

/**
 * The GPU could not allocate a tensor's memory. WebGPU reports this after the call that allocated,
 * so it rejects the first read of that tensor (and of anything computed from it, since the work
 * that touched it was dropped) rather than the call itself. Before that, the pooled memory is given back and the allocation retried once.
 * @example
 * try { await t.data(); } catch (e) { if (e instanceof pg.OutOfMemoryError) pg.releasePooled(); }
 */
export class OutOfMemoryError extends PixelgradError {
  /** `'OutOfMemoryError'`, in every build (a field, not `new.target.name`, which minifiers rename). */
  override name = 'OutOfMemoryError';
  /**
   * Made by the backend when an allocation fails; its message says what to do.
   * @example
   * new pg.OutOfMemoryError(1 << 30, 0, 0).message;
   */
  constructor(
    /** The allocation that failed, in bytes. */
    readonly bytesAsked: number,
    /** pixelgrad's tensor memory in use when it failed. */
    readonly bytesInUse: number,
    /** Memory pixelgrad held in its pool for reuse when it failed (since given back). */
    readonly bytesPooled: number,
  ) {
    super(
      `The GPU ran out of memory allocating ${bytesAsked} bytes for a tensor (pixelgrad had ${bytesInUse} bytes in use and ${bytesPooled} pooled), ` +
        'so this tensor and the results computed with it have no values. The pooled memory has been given back (pg.releasePooled()); ' +
        'dispose tensors you no longer need (or use pg.tidy), or use smaller tensors (a smaller batch or image), then compute it again.',
    );
  }
}

/**
 * WGSL failed to compile: carries the kernel name, the compiler's line:col messages and the source.
 * @example
 * catch (e) {
 *   if (e instanceof pg.ShaderCompileError) console.error(e.kernel, e.messages);
 * }
 */
export class ShaderCompileError extends PixelgradError {
  /** `'ShaderCompileError'`, in every build (a field, not `new.target.name`, which minifiers rename). */
  override name = 'ShaderCompileError';

  /** Made by the engine when a kernel fails to compile; the message shows the numbered source. */
  constructor(
    /**
     * The name of the kernel that failed.
     * @example
     * if (e instanceof pg.ShaderCompileError) console.error(e.kernel);
     */
    readonly kernel: string,
    /**
     * The compiler's messages, each with its line:col.
     * @example
     * if (e instanceof pg.ShaderCompileError) console.error(e.messages.join('\n'));
     */
    readonly messages: readonly string[],
    /**
     * The WGSL source that failed.
     * @example
     * if (e instanceof pg.ShaderCompileError) console.error(e.source);
     */
    readonly source: string,
  ) {
    const numbered = source
      .split('\n')
      .map((line, i) => `${String(i + 1).padStart(4)} | ${line}`)
      .join('\n');
    super(`WGSL kernel "${kernel}" failed to compile:\n${messages.join('\n')}\n--- source ---\n${numbered}`);
  }
}

/**
 * The GPU device was lost; every tensor on it is gone. Call pg.init() again and recreate tensors.
 * @example
 * catch (e) {
 *   if (e instanceof pg.DeviceLostError) await pg.init(); // a new device; recreate the tensors
 * }
 */
export class DeviceLostError extends PixelgradError {
  /** `'DeviceLostError'`, in every build (a field, not `new.target.name`, which minifiers rename). */
  override name = 'DeviceLostError';

  /** Made by the engine when the device is lost; `detail` is WebGPU's message. */
  constructor(
    /**
     * WebGPU's GPUDeviceLostReason ('destroyed', 'unknown'), or 'replaced' for a tensor from an earlier device.
     * @example
     * if (e instanceof pg.DeviceLostError && e.reason !== 'destroyed') await pg.init();
     */
    readonly reason: string,
    detail: string,
  ) {
    super(`The WebGPU device was lost (${reason}${detail ? `: ${detail}` : ''}). Call pg.init() again and recreate your tensors.`);
  }
}

/**
 * No WebGPU: no navigator.gpu, or no adapter.
 * @example
 * await pg.init().catch(async (e) => {
 *   if (e instanceof pg.WebGPUUnavailableError) await pg.init({ backend: 'cpu' });
 * });
 */
export class WebGPUUnavailableError extends PixelgradError {
  /** `'WebGPUUnavailableError'`, in every build (a field, not `new.target.name`, which minifiers rename). */
  override name = 'WebGPUUnavailableError';

  /** Made by pg.init(); the message says what is missing and how to get WebGPU. */
  constructor(
    /**
     * Which step failed: no navigator.gpu, no adapter, or no device.
     * @example
     * if (e instanceof pg.WebGPUUnavailableError && e.reason === 'no-navigator-gpu') showBrowserHelp();
     */
    readonly reason: 'no-navigator-gpu' | 'no-adapter' | 'no-device',
    detail = '',
  ) {
    const how =
      'Use a browser with WebGPU (Chrome or Edge 113+, Safari 26+, Firefox 141+ on Windows); in headless Chromium pass --enable-unsafe-webgpu; ' +
      "in Node pass a GPU object: pg.init({ gpu: create([]) }) from the 'webgpu' package; or use pg.init({ backend: 'cpu' }).";
    const what = {
      'no-navigator-gpu': 'This environment has no WebGPU (navigator.gpu is undefined).',
      'no-adapter': 'WebGPU is present but no adapter is available (requestAdapter() returned null).',
      'no-device': 'The WebGPU adapter refused to create a device.',
    }[reason];
    super(`${what}${detail ? ` ${detail}` : ''} ${how}`);
  }
}

/**
 * A pixelgrad call before pg.init() resolved.
 * @example
 * pg.zeros([2]); // before `await pg.init()`: throws NotInitializedError
 */
export class NotInitializedError extends PixelgradError {
  /** `'NotInitializedError'`, in every build (a field, not `new.target.name`, which minifiers rename). */
  override name = 'NotInitializedError';

  /** Made by a call (`op`) that came before pg.init() resolved. */
  constructor(op: string) {
    super(`${op}: pixelgrad is not initialized. Call \`await pg.init()\` first.`);
  }
}

/**
 * Bytes that are not a safetensors file pixelgrad can read: a truncated file, a header that is not
 * JSON, offsets that do not fit, or a dtype other than F32.
 * @example
 * pg.loadSafetensors(new Uint8Array(4)); // throws SafetensorsError: loadSafetensors: 4 bytes is too short ...
 */
export class SafetensorsError extends PixelgradError {
  /** `'SafetensorsError'`, in every build (a field, not `new.target.name`, which minifiers rename). */
  override name = 'SafetensorsError';
}

/**
 * WebGPU reported a validation or internal error that pixelgrad did not expect (a bug: please report it).
 * @example
 * pg.memory().uncapturedErrors; // the count of WebGPU errors nobody expected
 */
export class GpuError extends PixelgradError {
  /** `'GpuError'`, in every build (a field, not `new.target.name`, which minifiers rename). */
  override name = 'GpuError';
}
