/**
 * Every error pixelgrad throws is a PixelgradError subclass with a message that names the op,
 * the shapes or the limit, and says what to do. The engine stays usable after any of them.
 */
export class PixelgradError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** Shapes that do not fit an op: broadcasting, matmul inner dims, reshape sizes, data length. */
export class ShapeError extends PixelgradError {}

/** An argument that is not valid for the op: an axis out of range, a ragged array, a NaN hyper-parameter. */
export class InvalidArgumentError extends PixelgradError {}

/** A disposed tensor was used. Subclasses ReferenceError's meaning: the handle no longer points at data. */
export class DisposedTensorError extends PixelgradError {}

/** backward() was asked for something autograd cannot do: no grad required, non-scalar without a gradient, a freed graph. */
export class GradientError extends PixelgradError {}

/** A second backward() through a graph whose saved tensors were already released. */
export class FreedGraphError extends GradientError {}

/** A compiled function (pg.compile) did something a replay could not repeat, or its captured state changed. */
export class CompileError extends PixelgradError {}

/** A tensor or dispatch exceeds what the device allows; thrown before any GPU call. */
export class LimitError extends PixelgradError {}

/**
 * The GPU could not allocate a tensor's memory. WebGPU reports this after the call that allocated,
 * so it rejects the first read of that tensor (and of anything computed from it, since the work
 * that touched it was dropped) rather than the call itself. Pooled memory is given back first.
 */
export class OutOfMemoryError extends PixelgradError {
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

/** WGSL failed to compile: carries the kernel name, the compiler's line:col messages and the source. */
export class ShaderCompileError extends PixelgradError {
  constructor(
    readonly kernel: string,
    readonly messages: readonly string[],
    readonly source: string,
  ) {
    const numbered = source
      .split('\n')
      .map((line, i) => `${String(i + 1).padStart(4)} | ${line}`)
      .join('\n');
    super(`WGSL kernel "${kernel}" failed to compile:\n${messages.join('\n')}\n--- source ---\n${numbered}`);
  }
}

/** The GPU device was lost; every tensor on it is gone. Call pg.init() again and recreate tensors. */
export class DeviceLostError extends PixelgradError {
  constructor(
    readonly reason: string,
    detail: string,
  ) {
    super(`The WebGPU device was lost (${reason}${detail ? `: ${detail}` : ''}). Call pg.init() again and recreate your tensors.`);
  }
}

/** No WebGPU: no navigator.gpu, or no adapter. */
export class WebGPUUnavailableError extends PixelgradError {
  constructor(
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

/** A pixelgrad call before pg.init() resolved. */
export class NotInitializedError extends PixelgradError {
  constructor(op: string) {
    super(`${op}: pixelgrad is not initialized. Call \`await pg.init()\` first.`);
  }
}

/** WebGPU reported a validation or internal error that pixelgrad did not expect (a bug: please report it). */
export class GpuError extends PixelgradError {}
