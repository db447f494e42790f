/**
 * The float64 reference implementation of the backend contract: every op runs its registry
 * reference. Tests run the same cases here and on WebGPU; it is also a fallback without WebGPU.
 */
import type { Backend, BackendStats, BackwardArgs, Storage } from '../backend.ts';
import { DeviceLostError, LimitError } from '../errors.ts';
import type { OpDef } from '../ops/op.ts';
import type { UpdateRule } from '../optim/update-rule.ts';
import { type Shape, sizeOf } from '../shape.ts';

export class CpuStorage implements Storage {
  refs = 1;
  constructor(readonly data: Float64Array) {}
  get length(): number {
    return this.data.length;
  }
}

/** The most elements one CPU tensor may have: 2^28 float64 values are 2 GiB of JavaScript memory. */
export const CPU_MAX_ELEMENTS = 2 ** 28;

export class CpuBackend implements Backend {
  /** The reference backend runs compiled functions eagerly. */
  readonly capture = null;
  readonly kind = 'cpu' as const;
  readonly adapterName = 'cpu float64 reference';
  readonly isSoftware = true;
  private created = 0;
  private bytes = 0;
  private destroyed = false;

  private make(data: Float64Array): CpuStorage {
    this.created++;
    this.bytes += data.byteLength;
    return new CpuStorage(data);
  }

  assertUsable(op: string): void {
    if (this.destroyed) throw new DeviceLostError('destroyed', `${op}: this pixelgrad backend was shut down; call pg.init() again`);
  }

  checkSize(op: string, shape: Shape): void {
    const n = sizeOf(shape);
    if (n > CPU_MAX_ELEMENTS) {
      throw new LimitError(`${op}: a tensor of shape [${shape.join(', ')}] has ${n} elements, above the CPU backend's limit of ${CPU_MAX_ELEMENTS}. Split it into smaller tensors.`);
    }
  }

  allocate(op: string, shape: Shape): CpuStorage {
    this.assertUsable(op);
    this.checkSize(op, shape);
    return this.make(new Float64Array(sizeOf(shape)));
  }

  upload(op: string, _shape: Shape, data: ArrayLike<number>): CpuStorage {
    this.assertUsable(op);
    // Stored as float32 values so both backends start from the same numbers.
    return this.make(Float64Array.from(Float32Array.from(data)));
  }

  fill(op: string, shape: Shape, value: number): CpuStorage {
    this.assertUsable(op);
    this.checkSize(op, shape);
    return this.make(new Float64Array(sizeOf(shape)).fill(Math.fround(value)));
  }

  async read(s: CpuStorage, length: number): Promise<Float32Array> {
    this.assertUsable('read');
    return Float32Array.from(s.data.subarray(0, length));
  }

  release(s: CpuStorage): void {
    if (--s.refs === 0) this.bytes -= s.data.byteLength;
  }

  forward<A>(op: OpDef<A>, inputs: readonly CpuStorage[], shapes: readonly Shape[], attrs: A, outShape: Shape): CpuStorage {
    this.assertUsable(op.name);
    if (op.alias) {
      inputs[0]!.refs++;
      return inputs[0]!;
    }
    this.checkSize(op.name, outShape);
    return this.make(op.reference(inputs.map((s) => s.data), { shapes, attrs, outShape }));
  }

  backward<A>(op: OpDef<A>, args: BackwardArgs<A, CpuStorage>): (CpuStorage | null)[] {
    this.assertUsable(`${op.name} backward`);
    const grads = op.referenceBackward({
      ...args,
      inputs: args.inputs.map((s) => s?.data ?? null),
      output: args.output?.data ?? null,
      grad: args.grad.data,
    });
    return grads.map((g) => (g ? this.make(g) : null));
  }

  accumulate(target: CpuStorage, addend: CpuStorage): void {
    const t = target.data;
    const a = addend.data;
    for (let i = 0; i < t.length; i++) t[i]! += a[i]!;
  }

  update(rule: UpdateRule, buffers: readonly CpuStorage[], params: readonly number[]): void {
    const [param, grad, ...state] = buffers;
    rule.reference(param!.data, grad!.data, state.map((s) => s.data), params);
  }

  flush(): void {}

  flushSoon(): Promise<void> {
    return Promise.resolve();
  }

  stats(): BackendStats {
    return {
      buffersCreated: this.created,
      bindGroupsCreated: 0,
      pipelinesCreated: 0,
      schedulesBuilt: 0,
      dispatches: 0,
      submits: 0,
      paramWrites: 0,
      bytesInUse: this.bytes,
      bytesPooled: 0,
      uncapturedErrors: 0,
    };
  }

  releasePooled(): void {}

  destroy(): void {
    this.destroyed = true;
  }
}
