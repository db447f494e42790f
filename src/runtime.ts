/** Starting the engine, scopes (tidy, noGrad) and memory counters. */
import type { Backend, BackendStats } from './backend.ts';
import { CpuBackend } from './cpu/cpu-backend.ts';
import { engine, type Scope, withoutGrad } from './engine.ts';
import { DeviceLostError, InvalidArgumentError } from './errors.ts';
import { adoptGpuDevice, requestGpuDevice } from './gpu/device.ts';
import { WebGpuBackend } from './gpu/webgpu-backend.ts';
import { Tensor } from './tensor.ts';
import { checkFunction, checkOptions, repr } from './validate.ts';

/**
 * Options of pg.init().
 * @example
 * await pg.init({ backend: 'cpu' });
 * await pg.init({ powerPreference: 'high-performance' });
 */
export interface InitOptions {
  /**
   * 'webgpu' (default) or 'cpu', the float64 reference backend.
   * @example
   * await pg.init({ backend: 'cpu' }); // no GPU needed
   */
  readonly backend?: 'webgpu' | 'cpu';
  /**
   * A GPU object to use instead of navigator.gpu (e.g. `create([])` from the 'webgpu' package in Node).
   * @example
   * import { create, globals } from 'webgpu';
   * Object.assign(globalThis, globals);
   * await pg.init({ gpu: create([]) });
   */
  readonly gpu?: GPU;
  /**
   * Which adapter to ask for where there are several (requestAdapter's powerPreference).
   * @example
   * await pg.init({ powerPreference: 'low-power' });
   */
  readonly powerPreference?: GPUPowerPreference;
  /**
   * A GPUDevice the app already has (its renderer's, say), to share with pixelgrad instead of
   * requesting one: tensors, pg.fromGPUBuffer() and t.gpuBuffer() then live on it. The device is
   * used with the limits and features it was created with (request 'timestamp-query' for
   * pg.profile's times; pixelgrad's own device raises maxBufferSize and
   * maxStorageBufferBindingSize to the adapter's, so big images may need those raised here too).
   *
   * Lifetime: the app owns the device. pg.shutdown() (or init() with another device or backend)
   * destroys the buffers pixelgrad created on it and stops listening to it, but never destroys
   * the device; destroying the device yourself makes pixelgrad's next call throw DeviceLostError.
   * WebGPU errors on the device count as pixelgrad's (it cannot tell whose they are): a failed
   * call of your own makes pixelgrad's next read reject with GpuError.
   * @example
   * const adapter = await navigator.gpu.requestAdapter();
   * const device = await adapter!.requestDevice();
   * await pg.init({ device });
   * pg.shutdown(); // device still usable
   */
  readonly device?: GPUDevice;
}

let starting: Promise<Backend> | null = null;

/**
 * Finds an adapter and a device and makes them the engine's backend. Idempotent: a second call
 * returns the same backend, unless the device was lost, in which case it starts a new one.
 * Tensors from a lost device cannot be used again.
 * @example
 * const backend = await pg.init();
 * backend.adapterName; // e.g. 'nvidia / ampere'
 */
export async function init(options?: InitOptions): Promise<Backend> {
  const o = checkOptions('init', options);
  const kind = o.backend ?? 'webgpu';
  if (kind !== 'webgpu' && kind !== 'cpu') throw new InvalidArgumentError(`init: backend must be 'webgpu' or 'cpu', got ${repr(kind)}`);
  if (o.gpu !== undefined && (o.gpu === null || typeof (o.gpu as { requestAdapter?: unknown }).requestAdapter !== 'function')) {
    throw new InvalidArgumentError(`init: gpu must be a GPU object (with requestAdapter(), e.g. navigator.gpu or create([]) from the 'webgpu' package), got ${repr(o.gpu)}`);
  }
  if (o.powerPreference !== undefined && o.powerPreference !== 'low-power' && o.powerPreference !== 'high-performance') {
    throw new InvalidArgumentError(`init: powerPreference must be 'low-power' or 'high-performance', got ${repr(o.powerPreference)}`);
  }
  const device = o.device;
  if (device !== undefined) await checkDevice(kind, o);
  // A device passed in must be the one in use; without one, any usable backend of the kind will do.
  const fits = (b: Backend | null): b is Backend => !!b && b.kind === kind && usable(b) && (device === undefined || b.device === device);
  const current = engine.backend;
  if (fits(current)) return current;
  if (starting) {
    const b = await starting.catch(() => null);
    if (fits(b)) return b;
  }
  starting = (async () => {
    const b: Backend = kind === 'cpu' ? new CpuBackend() : new WebGpuBackend(device ? adoptGpuDevice(device) : await requestGpuDevice(o.gpu, o.powerPreference));
    if (engine.backend && engine.backend !== b && usable(engine.backend)) engine.backend.destroy();
    engine.backend = b;
    // memory() counts the tensors of the device in use; those of the old one are gone with it.
    engine.liveTensors = 0;
    return b;
  })();
  try {
    return await starting;
  } finally {
    starting = null;
  }
}

/** pg.init({ device }): a live GPUDevice, with nothing that would ask for another. */
async function checkDevice(kind: string, o: Partial<InitOptions>): Promise<void> {
  const d = o.device as unknown as Partial<GPUDevice> | null;
  if (d === null || typeof d !== 'object' || typeof d.createBuffer !== 'function' || typeof d.createComputePipeline !== 'function' || !d.queue || !d.features || !d.limits) {
    throw new InvalidArgumentError(`init: device must be a GPUDevice (from adapter.requestDevice()), got ${repr(o.device)}`);
  }
  if (kind === 'cpu') throw new InvalidArgumentError("init: device is for the 'webgpu' backend; leave it out with backend: 'cpu'");
  if (o.gpu !== undefined || o.powerPreference !== undefined) {
    throw new InvalidArgumentError(`init: device excludes ${o.gpu !== undefined ? 'gpu' : 'powerPreference'} (they choose the adapter of a device pixelgrad requests itself)`);
  }
  // An already lost (or destroyed) device: its lost promise has settled, and wins the race.
  const lost = await Promise.race([d.lost, undefined]);
  if (lost) throw new DeviceLostError(lost.reason, `init: the device passed in was already lost${lost.message ? ` (${lost.message})` : ''}`);
}

function usable(b: Backend): boolean {
  try {
    b.assertUsable('init');
    return true;
  } catch {
    return false;
  }
}

/**
 * The active backend, or null before init().
 * @example
 * pg.backend()?.kind; // 'webgpu' on WebGPU, 'cpu' on the CPU backend, undefined before init()
 */
export const backend = (): Backend | null => engine.backend;

/**
 * Shuts the backend down (tensors become unusable). A device pixelgrad requested is destroyed; one
 * passed to pg.init({ device }) is not (only the buffers pixelgrad made on it are).
 * @example
 * pg.shutdown(); // lets a Node process exit
 */
export function shutdown(): void {
  engine.backend?.destroy();
  engine.backend = null;
  engine.liveTensors = 0;
}

/**
 * Submits all recorded GPU work now (reads and backward() do this themselves).
 * @example
 * loss.backward();
 * pg.flush(); // start the GPU now rather than at the end of the task
 */
export function flush(): void {
  engine.backend?.flush();
}

/**
 * Gives the GPU back the pooled buffers no tensor uses. The pool keeps them so that a training
 * loop allocates nothing after its first step; call this after the loop, not inside it.
 * @example
 * pg.releasePooled();
 * pg.memory().bytesPooled; // 0
 */
export function releasePooled(): void {
  engine.backend?.releasePooled();
}

/**
 * What pg.memory() returns: live tensors and bytes, and counters of device objects and work.
 * @example
 * const { liveTensors, bytesInUse, dispatches } = pg.memory();
 */
export interface MemoryInfo extends BackendStats {
  /**
   * Tensors created and not yet disposed (including gradients and optimizer state).
   * @example
   * pg.memory().liveTensors;
   */
  liveTensors: number;
}

/**
 * Memory and work counters: live tensors, bytes in use and pooled, buffers, bind groups and
 * pipelines created, dispatches and submits. Steady training steps inside tidy() create nothing.
 * @example
 * const before = pg.memory().buffersCreated;
 * step();
 * pg.memory().buffersCreated - before; // 0 after the first step (WebGPU: buffers are pooled; the CPU backend counts each array)
 */
export function memory(): MemoryInfo {
  const stats = engine.backend?.stats() ?? {
    buffersCreated: 0,
    bindGroupsCreated: 0,
    pipelinesCreated: 0,
    schedulesBuilt: 0,
    dispatches: 0,
    submits: 0,
    paramWrites: 0,
    bytesInUse: 0,
    bytesPooled: 0,
    uncapturedErrors: 0,
  };
  return { liveTensors: engine.liveTensors, ...stats };
}

function collect(x: unknown, into: Set<Tensor>, seen = new Set<unknown>()): void {
  if (x instanceof Tensor) into.add(x);
  else if (x && typeof x === 'object' && !seen.has(x)) {
    seen.add(x);
    for (const v of Object.values(x)) collect(v, into, seen);
  }
}

/**
 * T itself, or `never` when T is a Promise: a parameter typed `() => NotPromise<T>` rejects async
 * functions at compile time (tidy and compile need synchronous ones).
 * @example
 * const ok: pg.NotPromise<number> = 1; // number
 * type Rejected = pg.NotPromise<Promise<number>>; // never
 */
export type NotPromise<T> = T extends PromiseLike<unknown> ? never : T;

/**
 * Runs fn and disposes every tensor it created, except those it returns (in any nested array or
 * object). fn must be synchronous: awaiting inside would let other code's tensors into the scope.
 * @example
 * const loss = pg.tidy(() => {
 *   const err = pred.sub(target); // disposed when tidy returns
 *   return err.square().mean();   // kept: returned
 * });
 */
export function tidy<T>(fn: () => NotPromise<T>): T {
  checkFunction('tidy', 'fn', fn);
  const scope: Scope = { tensors: new Set() };
  engine.scopes.push(scope);
  let result: T;
  try {
    result = fn() as T;
  } catch (e) {
    engine.scopes.pop();
    for (const t of scope.tensors) t.dispose();
    throw e;
  }
  engine.scopes.pop();
  if (result && typeof (result as { then?: unknown }).then === 'function') {
    for (const t of scope.tensors) t.dispose();
    throw new InvalidArgumentError('tidy: fn returned a Promise; tidy needs a synchronous function (await outside it, or dispose tensors by hand)');
  }
  const keep = new Set<Tensor>();
  collect(result, keep);
  const parent = engine.scopes.at(-1);
  for (const t of scope.tensors) {
    if (keep.has(t as Tensor)) parent?.tensors.add(t);
    else t.dispose();
  }
  return result;
}

/**
 * Runs fn without recording operations for autograd.
 * @example
 * const preview = pg.noGrad(() => weights.mul(2)); // not recorded for backward()
 */
export function noGrad<T>(fn: () => T): T {
  checkFunction('noGrad', 'fn', fn);
  return withoutGrad(fn);
}

/**
 * Disposes every tensor in a (nested) array or object.
 * @example
 * pg.dispose([a, { b, c: [d] }]);
 */
export function dispose(x: unknown): void {
  const all = new Set<Tensor>();
  collect(x, all);
  for (const t of all) t.dispose();
}
