/** The user-facing tensor: a shape, a reference-counted device storage, and a link into the autograd graph. */
import { type Backend, retain, type Storage } from './backend.ts';
import { backward as runBackward } from './autograd/backward.ts';
import { graphGradients } from './autograd/graph-backward.ts';
import { Node } from './autograd/node.ts';
import { engine, withoutGrad } from './engine.ts';
import { describeTensor, type FormatOptions, format, summary, type TensorSummary } from './format.ts';
import { DeviceLostError, DisposedTensorError, GradientError, InvalidArgumentError, ShapeError } from './errors.ts';
import { binaryOps, binaryScalarOps, unaryOps } from './ops/elementwise.ts';
import { matmulOp } from './ops/matmul.ts';
import type { OpDef } from './ops/op.ts';
import { expandOp, permuteOp, reshapeOp, sliceOp } from './ops/shape-ops.ts';
import { logSoftmaxOp, softmaxOp } from './ops/softmax.ts';
import { maxOp, meanOp, sumOp } from './ops/reduce.ts';
import { type ArgmaxAttrs, argmaxOp, argminOp } from './ops/argmax.ts';
import { cumsumOp } from './ops/cumsum.ts';
import { scatterAddOp, takeAlongAxisOp } from './ops/gather.ts';
import { checkShape, fmt, normalizeAxes, normalizeAxis, type Shape, sameShape, sizeOf } from './shape.ts';
import { checkBool, checkOptions, repr } from './validate.ts';
import { type ArrayFor, checkDtype, type DType, resultDtype, typedFor } from './dtype.ts';

/**
 * The other operand of a binary op: a tensor (broadcast NumPy-style) or a number.
 * @example
 * x.mul(2);          // a number
 * x.mul(pg.ones([3])); // a tensor
 */
export type Operand = Tensor | number;
/**
 * A number or nested arrays of numbers (booleans for a bool tensor): what toArray() returns and
 * pg.tensor() accepts.
 * @example
 * const a: pg.NestedArray = await pg.tensor([[1, 2]]).toArray(); // [[1, 2]]
 */
export type NestedArray = number | boolean | NestedArray[];

/**
 * Options of backward().
 * @example
 * loss.backward({ retainGraph: true });
 */
export interface BackwardOptions {
  /**
   * Keep saved tensors so backward() can run through this graph again.
   * @example
   * loss.backward({ retainGraph: true });
   * loss.backward(); // a second pass through the same graph
   */
  readonly retainGraph?: boolean;
  /**
   * Record the gradient computation itself, so that .grad is a tensor in the graph and can be
   * differentiated again (a second derivative, a gradient penalty), as PyTorch's create_graph.
   * The graph is then kept (retainGraph is implied), and .grad is replaced by a new tensor rather
   * than added into in place (the previous .grad is disposed).
   * @example
   * const x = pg.tensor([2], { requiresGrad: true });
   * x.pow(3).sum().backward({ createGraph: true });
   * const dx = x.grad!;          // 3x² = 12, in the graph
   * x.grad = null;               // dx is kept (zeroGrad() would dispose it); the next backward starts a new .grad
   * dx.sum().backward();
   * await x.grad!.data();        // Float32Array [12] (6x)
   */
  readonly createGraph?: boolean;
}

/**
 * An n-dimensional array (float32 by default; see dtype) on the active backend (a WebGPU buffer, or float64 on the CPU
 * reference backend), with a link into the autograd graph. Make one with pg.tensor(), pg.zeros(),
 * pg.rand() and the like; every op returns a new tensor. Free it with dispose() or inside pg.tidy().
 * @example
 * const x = pg.tensor([[1, 2], [3, 4]], { requiresGrad: true });
 * const y = x.mul(x).sum();
 * y.backward();
 * await x.grad!.data(); // Float32Array [2, 4, 6, 8]
 */
export class Tensor {
  /**
   * A number unique to this tensor in this process, counting up from 1 (shown by toString()).
   * @example
   * pg.zeros([2]).id; // e.g. 7
   */
  readonly id: number;
  /**
   * The size of each axis (frozen); [] for a scalar.
   * @example
   * pg.zeros([2, 3]).shape; // [2, 3]
   */
  readonly shape: Shape;
  /**
   * Number of elements.
   * @example
   * pg.zeros([2, 3]).size; // 6
   */
  readonly size: number;
  /**
   * The gradient accumulated by backward() (a leaf's, or a retained non-leaf's), or null.
   * @example
   * x.square().sum().backward();
   * await x.grad?.data();
   */
  grad: Tensor | null = null;
  /** @internal */
  _storage: Storage | null;
  /** @internal */
  _node: Node | null = null;
  /** @internal */
  readonly _backend: Backend;
  private _requiresGrad: boolean;
  /** @internal */
  _dtype: DType;

  /** @internal Use pg.tensor(), pg.zeros() and the like. */
  constructor(backend: Backend, storage: Storage, shape: Shape, requiresGrad: boolean, inScope = true, dtype: DType = 'float32') {
    if (!inspectHooked) hookInspect();
    this.id = engine.nextTensorId++;
    this._backend = backend;
    this._storage = storage;
    this.shape = Object.freeze([...shape]);
    this.size = sizeOf(shape);
    this._requiresGrad = requiresGrad;
    this._dtype = dtype;
    engine.liveTensors++;
    if (inScope) engine.scopes.at(-1)?.tensors.add(this);
  }

  /**
   * The number of axes (0 for a scalar).
   * @example
   * pg.zeros([2, 3]).rank; // 2
   */
  get rank(): number {
    return this.shape.length;
  }

  /**
   * The element type: 'float32' (the default), 'int32' or 'bool' (see DType). Storage is float
   * either way; each op decides its result's dtype by PyTorch's promotion rules.
   * @example
   * pg.tensor([1, 2]).dtype;          // 'float32'
   * pg.tensor([1, 2]).gt(1).dtype;    // 'bool'
   * pg.tensor([1, 2]).argmax().dtype; // 'int32'
   */
  get dtype(): DType {
    return this._dtype;
  }

  /**
   * Whether ops on this tensor are recorded for backward(); set it on leaves to start or stop.
   * @example
   * const w = pg.zeros([3]);
   * w.requiresGrad = true;
   */
  get requiresGrad(): boolean {
    return this._requiresGrad;
  }

  /** Leaves only: start or stop recording operations on this tensor. */
  set requiresGrad(flag: boolean) {
    // Strict: the string 'false' is truthy and would turn recording on.
    if (typeof flag !== 'boolean') throw new InvalidArgumentError(`requiresGrad: must be set to true or false, got ${repr(flag)}`);
    if (flag) checkGradDtype('requiresGrad', this._dtype);
    if (this._node && !this._node.leaf) {
      throw new GradientError('requiresGrad can only be changed on leaf tensors; use detach() to get a leaf from a computed tensor');
    }
    if (!flag && this._node) {
      this._node.unref();
      this._node = null;
    }
    this._requiresGrad = flag;
  }

  /**
   * True once dispose() ran (or tidy disposed it); any use then throws DisposedTensorError.
   * @example
   * const t = pg.zeros([2]);
   * t.dispose();
   * t.isDisposed; // true
   */
  get isDisposed(): boolean {
    return this._storage === null;
  }

  /**
   * True for tensors made by the user rather than by an op.
   * @example
   * pg.zeros([2]).isLeaf;                                  // true
   * pg.zeros([2], { requiresGrad: true }).mul(2).isLeaf; // false
   */
  get isLeaf(): boolean {
    return !this._node || this._node.leaf !== null;
  }

  // ---------- printing (src/format.ts) ----------

  /**
   * Shape and flags, without reading the data; `await t.print()` shows the values.
   * @example
   * String(pg.zeros([2, 3])); // 'Tensor(id=1, shape=[2, 3])'
   */
  toString(): string {
    return describeTensor(this);
  }
  /**
   * Reads the values and prints them with console.log, as PyTorch prints a tensor (see pg.format).
   * @example
   * await pg.tensor([[1, 2], [3, 4]]).print(); // tensor([[1., 2.],\n        [3., 4.]], shape=[2, 2])
   */
  async print(options?: FormatOptions): Promise<void> {
    console.log(await format(this, options));
  }
  /**
   * What JSON.stringify shows: id, shape, size and flags, never the data or internals.
   * @example
   * JSON.stringify(pg.zeros([2])); // '{"type":"Tensor","id":1,"shape":[2],"size":2,"requiresGrad":false}'
   */
  toJSON(): TensorSummary {
    return summary(this);
  }
  /** @internal The storage, after checking the tensor is usable by `op`. */
  _live(op: string): Storage {
    const s = this._storage;
    if (!s) throw new DisposedTensorError(`${op}: tensor ${this.id} of shape ${fmt(this.shape)} was disposed; keep it (return it from tidy, or don't dispose it) or recreate it`);
    if (engine.backend !== this._backend) {
      throw new DeviceLostError('replaced', `${op}: tensor ${this.id} belongs to an earlier device or backend; recreate it after pg.init()`);
    }
    const trace = engine.trace;
    if (trace && this.id < trace.firstId) trace.readExternal(this, s);
    return s;
  }

  /** @internal The node gradients flow into: the op's node, or a leaf node made on first use. */
  _gradNode(): Node | null {
    if (!this._requiresGrad) return null;
    this._node ??= Node.leaf(this._backend, this);
    return this._node;
  }

  /** @internal Adds g (owned by the callee) into .grad, in place when .grad's storage is private. */
  accumulateGrad(g: Storage): void {
    const be = this._backend;
    const trace = engine.trace;
    if (trace && this.id < trace.firstId) trace.gradChange(this, false);
    if (this.grad && !this.grad.isDisposed) {
      be.accumulate(this.grad._storage!, g);
      be.release(g);
      return;
    }
    // .grad must own its storage so later accumulation never writes into someone else's tensor.
    let own = g;
    if (g.refs > 1) {
      own = be.forward(binaryScalarOps.mul!, [g], [this.shape], { scalar: 1 }, this.shape);
      be.release(g);
    }
    this.grad = new Tensor(be, own, this.shape, false, false);
  }

  /** @internal createGraph's accumulation: .grad becomes .grad + g, recorded; g is owned by the callee. */
  accumulateGradTensor(g: Tensor): Tensor {
    const trace = engine.trace;
    if (trace && this.id < trace.firstId) trace.gradChange(this, false);
    const old = this.grad && !this.grad.isDisposed ? this.grad : null;
    this.grad = old ? old.add(g) : g;
    if (old) {
      old.dispose();
      g.dispose();
    }
    return this.grad;
  }

  // ---------- reading ----------

  /**
   * The values, flat, row-major: a Float32Array, an Int32Array for an int32 tensor, a Uint8Array
   * of 0 and 1 for a bool tensor. The type parameter names the dtype you expect (as tfjs's), so
   * code that reads float32 keeps its Float32Array type.
   * @example
   * await pg.tensor([[1, 2], [3, 4]]).data();         // Float32Array [1, 2, 3, 4]
   * await pg.tensor([3, 1]).argmax().data<'int32'>(); // Int32Array [0]
   */
  async data<D extends DType = 'float32'>(): Promise<ArrayFor<D>> {
    const s = this._live('data');
    return typedFor(this._dtype, await this._backend.read(s, this.size)) as ArrayFor<D>;
  }

  /**
   * The WebGPU buffer holding this tensor's values, without a copy, to bind in your own passes
   * (a render loop drawing a tensor, say): float32, row-major, from byte 0; the buffer may be
   * larger than 4 × size bytes. The engine's work recorded so far, this tensor's values included,
   * is submitted first, so commands you submit afterwards see them.
   *
   * Lifetime: the buffer is valid until this tensor is disposed (by dispose(), tidy() or
   * pg.shutdown()); until then the engine never hands it to another tensor. Views of one tensor
   * (reshape and the like) may share a buffer. In-place work changes its contents: an optimizer's
   * step() writes a parameter's buffer, recorded, and submitted at the next read, backward(),
   * step() or pg.flush(); call pg.flush() before submitting work of your own that must see those
   * values. Treat it as read-only unless you own the values (pg.fromGPUBuffer's buffers are yours).
   * Only on the webgpu backend.
   * @example
   * const buf = image.gpuBuffer();
   * pass.setBindGroup(0, device.createBindGroup({ layout, entries: [{ binding: 0, resource: { buffer: buf } }] }));
   */
  gpuBuffer(): GPUBuffer {
    const s = this._live('gpuBuffer');
    const be = this._backend;
    if (!be.bufferOf) throw new InvalidArgumentError(`gpuBuffer: tensor ${this.id} is on the ${be.kind} backend, which has no GPU buffers; read it with data()`);
    return be.bufferOf('gpuBuffer', s);
  }

  /**
   * The values as nested arrays in this tensor's shape (a number for rank 0); true and false for a
   * bool tensor, as PyTorch's tolist().
   * @example
   * await pg.tensor([[1, 2], [3, 4]]).toArray(); // [[1, 2], [3, 4]]
   */
  async toArray(): Promise<NestedArray> {
    const flat = await this.data<DType>();
    const bool = this._dtype === 'bool';
    const build = (dim: number, offset: number): NestedArray => {
      if (dim === this.shape.length) return bool ? flat[offset] === 1 : flat[offset]!;
      const stride = sizeOf(this.shape.slice(dim + 1));
      return Array.from({ length: this.shape[dim]! }, (_, i) => build(dim + 1, offset + i * stride));
    };
    return build(0, 0);
  }

  /**
   * The single value of a one-element tensor: a number, or a boolean for a bool tensor (the type
   * parameter says which, as data()'s).
   * @example
   * await pg.tensor([1, 2, 3]).sum().item();        // 6
   * await pg.tensor([1, 2]).sum().gt(2).item<'bool'>(); // true
   */
  async item<D extends DType = 'float32'>(): Promise<D extends 'bool' ? boolean : number> {
    if (this.size !== 1) throw new InvalidArgumentError(`item: needs a one-element tensor, got shape ${fmt(this.shape)}; use data() or toArray()`);
    const v = (await this.data<DType>())[0]!;
    return (this._dtype === 'bool' ? v === 1 : v) as D extends 'bool' ? boolean : number;
  }

  /**
   * This tensor's values as another dtype (PyTorch's .to(dtype)), an elementwise map fused with
   * its neighbours: float32 to int32 truncates toward zero, NaN gives 0 and values beyond ±2^24
   * clamp to ±2^24 (where int32 values stop being exact); anything to bool is `!= 0` (NaN is true);
   * bool and int32 to float32 are exact (bool shares the storage). Only float32 results carry a
   * gradient (float32 to float32 is a recorded view).
   * @example
   * await pg.tensor([-1.5, 2.7, NaN]).to('int32').data<'int32'>(); // Int32Array [-1, 2, 0]
   * await pg.tensor([0, 2, NaN]).to('bool').toArray();             // [false, true, true]
   */
  to(dtype: DType): Tensor {
    const d = checkDtype('to', dtype);
    if (d === 'bool') return this._dtype === 'bool' ? this.reshape(this.shape) : this.ne(0);
    if (d === 'int32' && this._dtype === 'float32') return apply(unaryOps.toInt32!, [this], { params: [0] });
    // An int32 zero may be stored as -0 (neg, mul): + 0 makes it +0, as an integer converts.
    const t = this._dtype === 'int32' && d === 'float32' ? this.add(0) : this.reshape(this.shape);
    t._dtype = d;
    return t;
  }

  // ---------- lifetime ----------

  /**
   * Frees the device memory (and the gradient). Calling it twice is harmless.
   * @example
   * const t = pg.zeros([1024, 1024]);
   * t.dispose();
   */
  dispose(): void {
    const s = this._storage;
    if (!s) return;
    this._storage = null;
    if (this._backend === engine.backend) {
      // Counted per device: a tensor of an earlier device left the count when its device did.
      engine.liveTensors--;
      this._backend.release(s);
      this._node?.unref();
    }
    this._node = null;
    this.grad?.dispose();
    this.grad = null;
  }

  // ---------- autograd ----------

  /**
   * Computes gradients of this tensor with respect to every leaf that requires grad and adds them
   * into their .grad. A one-element tensor needs no gradient; any other needs one of its shape.
   * @example
   * const x = pg.tensor([1, 2], { requiresGrad: true });
   * x.square().sum().backward();
   * await x.grad!.data(); // Float32Array [2, 4]
   */
  backward(gradient?: Tensor | BackwardOptions, options?: BackwardOptions): void {
    if (gradient !== undefined && !(gradient instanceof Tensor)) {
      // As PyTorch, a gradient is a tensor: a number would be ambiguous (a scale? a fill?).
      if (gradient === null || typeof gradient !== 'object' || Array.isArray(gradient) || options !== undefined) {
        const hint = typeof gradient === 'number' ? `; for a scaled gradient pass pg.full(${fmt(this.shape)}, ${gradient}) or scale the loss first` : '';
        throw new InvalidArgumentError(`backward: gradient must be a Tensor of shape ${fmt(this.shape)} or an options object, got ${repr(gradient)}${hint}`);
      }
      options = gradient;
      gradient = undefined;
    }
    const o = checkOptions('backward', options);
    const retainGraph = checkBool('backward', 'retainGraph', o.retainGraph, false);
    if (checkBool('backward', 'createGraph', o.createGraph, false)) graphGradients('backward', this, gradient, null);
    else runBackward(this, gradient, retainGraph);
  }

  /**
   * Drops the accumulated gradient (as PyTorch's zero_grad(set_to_none=True)).
   * @example
   * x.zeroGrad();
   * x.grad; // null
   */
  zeroGrad(): void {
    const trace = engine.trace;
    if (trace && this.id < trace.firstId) trace.gradChange(this, true);
    this.grad?.dispose();
    this.grad = null;
  }

  /**
   * A tensor sharing this one's data, outside the graph (no gradient flows through it).
   * @example
   * const fixed = x.detach(); // no gradient flows into x through `fixed`
   */
  detach(): Tensor {
    const s = retain(this._live('detach'));
    return new Tensor(this._backend, s, this.shape, false);
  }

  // ---------- elementwise ----------

  /**
   * Elementwise a + b, broadcasting NumPy-style; `other` may be a number.
   * @example
   * await pg.tensor([1, 2]).add(pg.tensor([[10], [20]])).toArray(); // [[11, 12], [21, 22]]
   */
  add(other: Operand): Tensor {
    return binary('add', this, other);
  }
  /**
   * Elementwise a − b, broadcasting; `other` may be a number.
   * @example
   * await pg.tensor([3, 4]).sub(1).data(); // Float32Array [2, 3]
   */
  sub(other: Operand): Tensor {
    return binary('sub', this, other);
  }
  /**
   * Elementwise a × b, broadcasting; `other` may be a number.
   * @example
   * await pg.tensor([3, 4]).mul(2).data(); // Float32Array [6, 8]
   */
  mul(other: Operand): Tensor {
    return binary('mul', this, other);
  }
  /**
   * Elementwise a ÷ b, broadcasting; `other` may be a number.
   * @example
   * await pg.tensor([3, 4]).div(2).data(); // Float32Array [1.5, 2]
   */
  div(other: Operand): Tensor {
    return binary('div', this, other);
  }
  /**
   * Elementwise a to the power b, broadcasting. As in PyTorch, a negative base needs an integer
   * exponent, and `pow(2)` is `square()` (x·x, exactly rounded).
   * @example
   * await pg.tensor([2, 3]).pow(3).data(); // Float32Array [8, 27]
   */
  pow(exponent: Operand): Tensor {
    // As PyTorch does: x² as x·x, exactly rounded (WGSL's pow goes through exp2 and log2).
    if (exponent === 2) return this.square();
    return binary('pow', this, exponent);
  }
  /**
   * Elementwise maximum, broadcasting; ties share the gradient evenly.
   * @example
   * await pg.tensor([1, 5]).maximum(3).data(); // Float32Array [3, 5]
   */
  maximum(other: Operand): Tensor {
    return binary('maximum', this, other);
  }
  /**
   * Elementwise minimum, broadcasting; ties share the gradient evenly.
   * @example
   * await pg.tensor([1, 5]).minimum(3).data(); // Float32Array [1, 3]
   */
  minimum(other: Operand): Tensor {
    return binary('minimum', this, other);
  }
  /**
   * Elementwise −x.
   * @example
   * await pg.tensor([1, -2]).neg().data(); // Float32Array [-1, 2]
   */
  neg(): Tensor {
    return apply(unaryOps.neg!, [this], {});
  }
  /**
   * Elementwise eˣ.
   * @example
   * await pg.tensor([0, 1]).exp().data(); // Float32Array [1, 2.718…]
   */
  exp(): Tensor {
    return apply(unaryOps.exp!, [this], {});
  }
  /**
   * Elementwise natural logarithm (NaN below 0, −∞ at 0).
   * @example
   * await pg.tensor([1, Math.E]).log().data(); // Float32Array [0, 1]
   */
  log(): Tensor {
    return apply(unaryOps.log!, [this], {});
  }
  /**
   * Elementwise square root.
   * @example
   * await pg.tensor([4, 9]).sqrt().data(); // Float32Array [2, 3]
   */
  sqrt(): Tensor {
    return apply(unaryOps.sqrt!, [this], {});
  }
  /**
   * Elementwise |x|; the gradient at 0 is 0.
   * @example
   * await pg.tensor([-2, 3]).abs().data(); // Float32Array [2, 3]
   */
  abs(): Tensor {
    return apply(unaryOps.abs!, [this], {});
  }
  /**
   * Elementwise x², computed as x·x.
   * @example
   * await pg.tensor([-2, 3]).square().data(); // Float32Array [4, 9]
   */
  square(): Tensor {
    return apply(unaryOps.square!, [this], {});
  }
  /**
   * Elementwise max(x, 0); the gradient at 0 is 0.
   * @example
   * await pg.tensor([-2, 3]).relu().data(); // Float32Array [0, 3]
   */
  relu(): Tensor {
    return apply(unaryOps.relu!, [this], {});
  }
  /**
   * Elementwise 1 / (1 + e⁻ˣ).
   * @example
   * await pg.tensor([0]).sigmoid().data(); // Float32Array [0.5]
   */
  sigmoid(): Tensor {
    return apply(unaryOps.sigmoid!, [this], {});
  }
  /**
   * Elementwise hyperbolic tangent.
   * @example
   * await pg.tensor([0]).tanh().data(); // Float32Array [0]
   */
  tanh(): Tensor {
    return apply(unaryOps.tanh!, [this], {});
  }
  /**
   * Limits values to [min, max]; the gradient passes where min <= x <= max.
   * @example
   * await pg.tensor([-1, 0.5, 2]).clamp(0, 1).data(); // Float32Array [0, 0.5, 1]
   */
  clamp(min: number, max: number): Tensor {
    if (typeof min !== 'number' || typeof max !== 'number' || Number.isNaN(min) || Number.isNaN(max) || min > max) {
      throw new InvalidArgumentError(`clamp: needs numbers min <= max, got min=${repr(min)}, max=${repr(max)}`);
    }
    return apply(unaryOps.clamp!, [this], { params: [min, max] });
  }

  // ---------- comparisons and logic: bool masks, outside the graph ----------

  /**
   * Elementwise a == b as a bool mask, broadcasting; `other` may be a number. A mask carries no
   * gradient (as PyTorch's bool results): it has requiresGrad false. NaN is equal to nothing.
   * @example
   * await pg.tensor([1, 2, NaN]).eq(2).toArray(); // [false, true, false]
   */
  eq(other: Operand): Tensor {
    return mask('eq', this, other);
  }
  /**
   * Elementwise a != b as a bool mask, broadcasting; true wherever either side is NaN. No gradient.
   * @example
   * await pg.tensor([1, 2, NaN]).ne(2).data<'bool'>(); // Uint8Array [1, 0, 1]
   */
  ne(other: Operand): Tensor {
    return mask('ne', this, other);
  }
  /**
   * Elementwise a < b as a bool mask, broadcasting; false wherever either side is NaN. No gradient.
   * @example
   * await pg.tensor([1, 2, 3]).lt(2).data<'bool'>(); // Uint8Array [1, 0, 0]
   */
  lt(other: Operand): Tensor {
    return mask('lt', this, other);
  }
  /**
   * Elementwise a <= b as a bool mask, broadcasting; false wherever either side is NaN. No gradient.
   * @example
   * await pg.tensor([1, 2, 3]).le(2).data<'bool'>(); // Uint8Array [1, 1, 0]
   */
  le(other: Operand): Tensor {
    return mask('le', this, other);
  }
  /**
   * Elementwise a > b as a bool mask, broadcasting; false wherever either side is NaN. No gradient.
   * @example
   * await pg.tensor([1, 2, 3]).gt(2).data<'bool'>(); // Uint8Array [0, 0, 1]
   */
  gt(other: Operand): Tensor {
    return mask('gt', this, other);
  }
  /**
   * Elementwise a >= b as a bool mask, broadcasting; false wherever either side is NaN. No gradient.
   * @example
   * await pg.tensor([1, 2, 3]).ge(2).data<'bool'>(); // Uint8Array [0, 1, 1]
   */
  ge(other: Operand): Tensor {
    return mask('ge', this, other);
  }
  /**
   * True where both are nonzero (NaN counts as nonzero), as a bool mask, broadcasting. No gradient.
   * @example
   * await pg.tensor([0, 1, 1]).logicalAnd(pg.tensor([1, 0, 2])).data<'bool'>(); // Uint8Array [0, 0, 1]
   */
  logicalAnd(other: Operand): Tensor {
    return mask('logicalAnd', this, other);
  }
  /**
   * True where either is nonzero (NaN counts as nonzero), as a bool mask, broadcasting. No gradient.
   * @example
   * await pg.tensor([0, 1, 0]).logicalOr(pg.tensor([0, 0, 2])).data<'bool'>(); // Uint8Array [0, 1, 1]
   */
  logicalOr(other: Operand): Tensor {
    return mask('logicalOr', this, other);
  }
  /**
   * True where x is 0, as a bool mask (NaN counts as nonzero). No gradient.
   * @example
   * await pg.tensor([0, 3, NaN]).logicalNot().data<'bool'>(); // Uint8Array [1, 0, 0]
   */
  logicalNot(): Tensor {
    return withoutGrad(() => apply(unaryOps.logicalNot!, [this], {}));
  }

  // ---------- reductions ----------

  /**
   * Sum over `axes` (all when omitted); keepDims keeps them as size 1.
   * @example
   * const x = pg.tensor([[1, 2], [3, 4]]);
   * await x.sum().item();             // 10
   * await x.sum(0).data();            // Float32Array [4, 6]
   * x.sum(1, true).shape;             // [2, 1]
   */
  sum(axes?: number | readonly number[] | null, keepDims = false): Tensor {
    return apply(sumOp, [this], { axes: normalizeAxes('sum', axes, this.rank), keepDims: checkBool('sum', 'keepDims', keepDims, false) });
  }
  /**
   * Mean over `axes` (all when omitted); keepDims keeps them as size 1.
   * @example
   * await pg.tensor([[1, 2], [3, 4]]).mean(-1).data(); // Float32Array [1.5, 3.5]
   */
  mean(axes?: number | readonly number[] | null, keepDims = false): Tensor {
    return apply(meanOp, [this], { axes: normalizeAxes('mean', axes, this.rank), keepDims: checkBool('mean', 'keepDims', keepDims, false) });
  }
  /**
   * Maximum over `axes`; tied elements share the gradient evenly (as torch.amax).
   * @example
   * await pg.tensor([[1, 5], [3, 4]]).max(1).data(); // Float32Array [5, 4]
   */
  max(axes?: number | readonly number[] | null, keepDims = false): Tensor {
    return apply(maxOp, [this], { axes: normalizeAxes('max', axes, this.rank), keepDims: checkBool('max', 'keepDims', keepDims, false) });
  }
  /**
   * Index of the first largest element along `axis` (of the flattened tensor when omitted), NaN
   * counting as the largest, as torch.argmax. The indices are int32 (PyTorch: int64), exact
   * integers: int32 values are float32 underneath, so an axis above 2^24 is a LimitError, and int32
   * arithmetic whose results pass ±2^24 is not exact. No gradient: requiresGrad is false.
   * @example
   * await pg.tensor([[1, 5, 5], [7, 0, 2]]).argmax(1).data<'int32'>(); // Int32Array [1, 0]
   * await pg.tensor([[1, 5], [7, 0]]).argmax().item();         // 2 (flattened)
   */
  argmax(axis?: number | null, keepDims = false): Tensor {
    return argIndex(argmaxOp, this, axis, keepDims);
  }
  /**
   * Index of the first smallest element along `axis` (of the flattened tensor when omitted), NaN
   * counting as the smallest, as torch.argmin; int32 indices and no gradient, as argmax.
   * @example
   * await pg.tensor([3, 1, 1]).argmin().item(); // 1
   */
  argmin(axis?: number | null, keepDims = false): Tensor {
    return argIndex(argminOp, this, axis, keepDims);
  }

  // ---------- linear algebra and normalization ----------

  /**
   * Matrix product of [..., M, K] and [..., K, N]; batch dims broadcast.
   * @example
   * const a = pg.ones([2, 3]);
   * const b = pg.ones([3, 4]);
   * a.matmul(b).shape; // [2, 4]
   */
  matmul(other: Tensor): Tensor {
    return apply(matmulOp, [this, other], {});
  }
  /**
   * exp(x) / sum(exp(x)) along `axis` (the last by default), computed stably.
   * @example
   * await pg.tensor([0, Math.log(3)]).softmax().data(); // Float32Array [0.25, 0.75]
   */
  softmax(axis = -1): Tensor {
    const a = normalizeAxis('softmax', axis, this.rank);
    return this.rank === 0 ? this.asVector((v) => v.softmax(0)) : apply(softmaxOp, [this], { axis: a });
  }
  /**
   * log(softmax(x)) along `axis`, computed stably (x − logsumexp(x)).
   * @example
   * await pg.tensor([0, 0]).logSoftmax().data(); // Float32Array [-0.693…, -0.693…]
   */
  logSoftmax(axis = -1): Tensor {
    const a = normalizeAxis('logSoftmax', axis, this.rank);
    return this.rank === 0 ? this.asVector((v) => v.logSoftmax(0)) : apply(logSoftmaxOp, [this], { axis: a });
  }

  /**
   * Running sum along `axis`: element j is the sum of elements 0..j. Compensated on the GPU, so a
   * long axis keeps float32 accuracy; the gradient is the same sum taken from the end.
   * @example
   * await pg.tensor([[1, 2, 3], [4, 5, 6]]).cumsum(1).data(); // Float32Array [1, 3, 6, 4, 9, 15]
   */
  cumsum(axis: number): Tensor {
    const a = normalizeAxis('cumsum', axis, this.rank);
    return this.rank === 0 ? this.asVector((v) => v.cumsum(0)) : apply(cumsumOp, [this], { axis: a });
  }

  /**
   * Elements picked along `axis` by `index` (NumPy's take_along_axis, PyTorch's gather): out[..., k,
   * ...] = x[..., index[..., k, ...], ...]. `index` has x's rank and int32 (or float32 integer) values; its
   * other axes broadcast against x's. The gradient sums back into the picked positions. An index
   * out of [0, n) (or not an integer) throws on the CPU backend; the GPU clamps it into range
   * (rounding a fraction) rather than read out of bounds.
   * @example
   * const x = pg.tensor([[10, 20, 30], [40, 50, 60]]);
   * await x.takeAlongAxis(pg.tensor([[2, 0], [1, 1]]), 1).data(); // Float32Array [30, 10, 50, 50]
   */
  takeAlongAxis(index: Tensor, axis: number): Tensor {
    return takeAlong(this, indexArg('takeAlongAxis', index), axis);
  }
  /**
   * The slices of `axis` that a 1-D `index` names, in its order (torch.index_select); int32 (or
   * float32 integer) indices, range-checked as takeAlongAxis. Differentiable in this tensor.
   * @example
   * await pg.tensor([[1, 2], [3, 4], [5, 6]]).indexSelect(0, pg.tensor([2, 0])).data(); // Float32Array [5, 6, 1, 2]
   */
  indexSelect(axis: number, index: Tensor): Tensor {
    const a = normalizeAxis('indexSelect', axis, this.rank);
    if (indexArg('indexSelect', index).rank !== 1) throw new ShapeError(`indexSelect: index must be 1-D, got shape ${fmt(index.shape)}`);
    const line = this.shape.map((_, i) => (i === a ? index.size : 1));
    return temps([index.reshape(line)], ([l]) =>
      temps([l!.expand(this.shape.map((d, i) => (i === a ? index.size : d)))], ([e]) => apply(takeAlongAxisOp, [this, e!], { axis: a, caller: 'indexSelect' })),
    );
  }
  /**
   * This tensor plus `src` summed into the positions `index` names along `axis`
   * (torch.scatter_add): out[..., index[..., k, ...], ...] += src[..., k, ...]. `index` and `src`
   * have one shape, equal to this tensor's on every other axis. Differentiable in this tensor (the
   * identity) and in src (a takeAlongAxis). Int32 (or float32 integer) indices, range-checked as
   * takeAlongAxis. On the GPU, an index `axis` of up to 16 is looped over per output element
   * (deterministic sums); a longer one adds each src element with a compare-exchange loop (WGSL
   * has no float atomics), so the order of the sums, and their last bits, may vary by run.
   * @example
   * await pg.zeros([3]).scatterAdd(0, pg.tensor([0, 2, 0]), pg.tensor([1, 2, 3])).data(); // Float32Array [4, 0, 2]
   */
  scatterAdd(axis: number, index: Tensor, src: Tensor): Tensor {
    if (!(src instanceof Tensor)) throw new InvalidArgumentError(`scatterAdd: src must be a Tensor, got ${repr(src)}`);
    if (src.dtype !== this.dtype) throw new InvalidArgumentError(`scatterAdd: src is ${src.dtype} but the tensor is ${this.dtype}; they must match (as PyTorch): convert one with .to()`);
    return apply(scatterAddOp, [this, indexArg('scatterAdd', index), src], { axis: normalizeAxis('scatterAdd', axis, this.rank) });
  }

  /** A 0-d tensor's op along "its" axis 0, run on the same value as a [1] vector (as PyTorch treats a scalar's dim 0). */
  private asVector(fn: (v: Tensor) => Tensor): Tensor {
    const v = this.reshape([1]);
    const r = fn(v);
    try {
      return r.reshape([]);
    } finally {
      // The graph keeps what backward needs through the nodes; the views themselves are dead.
      v.dispose();
      r.dispose();
    }
  }

  // ---------- shape ----------

  /**
   * Same data, new shape; one dimension may be -1 (inferred). No copy.
   * @example
   * pg.zeros([2, 3]).reshape([3, -1]).shape; // [3, 2]
   */
  reshape(shape: readonly number[]): Tensor {
    return apply(reshapeOp, [this], { shape: inferShape('reshape', shape, this) });
  }
  /**
   * Adds a size-1 axis at `axis`.
   * @example
   * pg.zeros([2, 3]).unsqueeze(0).shape; // [1, 2, 3]
   */
  unsqueeze(axis: number): Tensor {
    const a = normalizeAxis('unsqueeze', axis, this.rank + 1);
    return this.reshape([...this.shape.slice(0, a), 1, ...this.shape.slice(a)]);
  }
  /**
   * Removes size-1 axes (all of them, or the ones given).
   * @example
   * pg.zeros([1, 2, 1]).squeeze().shape; // [2]
   */
  squeeze(axes?: number | readonly number[] | null): Tensor {
    const list = normalizeAxes('squeeze', axes, this.rank);
    for (const a of list) {
      if (axes !== undefined && axes !== null && this.shape[a] !== 1) throw new ShapeError(`squeeze: axis ${a} of shape ${fmt(this.shape)} has size ${this.shape[a]}, not 1`);
    }
    return this.reshape(this.shape.filter((d, i) => !(list.includes(i) && d === 1)));
  }
  /**
   * Swaps two axes (the last two by default).
   * @example
   * pg.zeros([2, 3]).transpose().shape; // [3, 2]
   */
  transpose(axis0 = -2, axis1 = -1): Tensor {
    const a = normalizeAxis('transpose', axis0, this.rank);
    const b = normalizeAxis('transpose', axis1, this.rank);
    if (this.rank === 0) return this.permute([]);
    const perm = [...this.shape.keys()];
    [perm[a], perm[b]] = [perm[b]!, perm[a]!];
    return this.permute(perm);
  }
  /**
   * Reorders axes: output axis i is input axis perm[i].
   * @example
   * pg.zeros([2, 3, 4]).permute([2, 0, 1]).shape; // [4, 2, 3]
   */
  permute(perm: readonly number[]): Tensor {
    return apply(permuteOp, [this], { perm: integers('permute', 'perm', perm) });
  }
  /**
   * Broadcasts size-1 axes to a larger shape (-1 keeps a dimension).
   * @example
   * pg.zeros([1, 3]).expand([4, -1]).shape; // [4, 3]
   */
  expand(shape: readonly number[]): Tensor {
    return apply(expandOp, [this], { shape: integers('expand', 'shape', shape) });
  }
  /**
   * Elements from `begin` (inclusive) to `end` (exclusive) on each axis; negative indices count
   * from the end; missing entries mean the whole axis.
   * @example
   * await pg.arange(6).reshape([2, 3]).slice([0, 1], [2, 3]).toArray(); // [[1, 2], [4, 5]]
   */
  slice(begin: readonly number[], end?: readonly number[]): Tensor {
    return apply(sliceOp, [this], { begin: integers('slice', 'begin', begin), end: end === undefined ? [] : integers('slice', 'end', end) });
  }
  /**
   * Flattens to 1-D.
   * @example
   * pg.zeros([2, 3]).flatten().shape; // [6]
   */
  flatten(): Tensor {
    return this.reshape([this.size]);
  }
}

/** Runs a registry op on tensors and records it in the graph when an input requires grad. */
export function apply<A>(op: OpDef<A>, inputs: readonly Tensor[], attrs: A): Tensor {
  for (const t of inputs) {
    if (!(t instanceof Tensor)) throw new InvalidArgumentError(`${op.name}: expected a Tensor, got ${t === null ? 'null' : typeof t}`);
  }
  const storages = inputs.map((t) => t._live(op.name));
  const be = inputs[0]?._backend ?? engine.backend!;
  const shapes = inputs.map((t) => t.shape);
  const outShape = op.shape(shapes, attrs);
  const dtype = resultDtype(op.name, inputs.map((t) => t._dtype), attrs);
  const needs = inputs.map((t) => engine.gradEnabled && t.requiresGrad);
  // Gradients flow through float32 only: an int32 or bool result is a constant to the graph.
  const track = dtype === 'float32' && needs.some(Boolean);
  const out = be.forward(op, storages, shapes, attrs, outShape);
  const t = new Tensor(be, out, outShape, track, true, dtype);
  // Sums of bools (bool + bool, a bool matmul) are logical or: back to 0 and 1. An int32 pow is
  // rounded: its float result may miss the whole number by an ulp.
  if (dtype === 'bool' && (op.name === 'add' || op.name === 'matmul')) return settle(t, dtype);
  if (dtype === 'int32' && op.name.startsWith('pow')) return settle(t, dtype);
  if (track) {
    const saves = op.saves(needs, attrs);
    const saved = storages.map((s, i) => (saves.inputs[i] ? retain(s) : null));
    const parents = inputs.map((x, i) => (needs[i] ? x._gradNode() : null));
    t._node = new Node(be, op as OpDef<unknown>, attrs, shapes, outShape, parents, saved, saves.output ? retain(out) : null);
  }
  return t;
}

/** Brings an op's float result back to its dtype's values (t is used up). */
function settle(t: Tensor, dtype: DType): Tensor {
  try {
    return dtype === 'bool' ? apply(binaryScalarOps.ne!, [t], { scalar: 0 }) : apply(unaryOps.toInt32!, [t], { params: [1] });
  } finally {
    t.dispose();
  }
}

/** requiresGrad on an int32 or bool tensor: a GradientError, as PyTorch's (only floats have gradients). */
export function checkGradDtype(op: string, dtype: DType): void {
  if (dtype !== 'float32') throw new GradientError(`${op}: only float32 tensors can require gradients, got a ${dtype} tensor; convert it with .to('float32') first`);
}

let inspectHooked = false;

/**
 * Node's util.inspect (console.log(t) in Node) shows the same line as toString(). The hook goes on
 * the prototype when the first tensor is made, not in the class body: a computed key there makes
 * bundlers keep the Tensor class, and with it every op, in a bundle that never uses a tensor.
 */
function hookInspect(): void {
  inspectHooked = true;
  Object.defineProperty(Tensor.prototype, Symbol.for('nodejs.util.inspect.custom'), {
    value(this: Tensor): string {
      return describeTensor(this);
    },
    writable: true,
    enumerable: false,
    configurable: true,
  });
}

function binary(name: string, a: Tensor, b: Operand): Tensor {
  if (typeof b === 'number') return apply(binaryScalarOps[name]!, [a], { scalar: b });
  return apply(binaryOps[name]!, [a, b], {});
}

/**
 * A comparison or logical op, not recorded: its gradient is zero almost everywhere, so a mask is a
 * constant to the graph (requiresGrad false), as PyTorch's bool results are.
 */
function mask(name: string, a: Tensor, b: Operand): Tensor {
  return withoutGrad(() => binary(name, a, b));
}

/** Runs fn on views made for one call and disposes them (the graph keeps what backward needs). */
function temps<T>(made: Tensor[], fn: (made: Tensor[]) => T): T {
  try {
    return fn(made);
  } finally {
    for (const t of made) t.dispose();
  }
}

function indexArg(op: string, index: unknown): Tensor {
  if (!(index instanceof Tensor)) throw new InvalidArgumentError(`${op}: index must be a Tensor of integer values, got ${repr(index)}`);
  // As PyTorch, a mask is not an index (int32 and integer-valued float32 are).
  if (index.dtype === 'bool') throw new InvalidArgumentError(`${op}: index must be int32 or float32 integer values, got a bool tensor; convert it with .to('int32')`);
  return index;
}

/** takeAlongAxis with NumPy's broadcasting of the other axes (the op itself wants them equal). */
function takeAlong(x: Tensor, index: Tensor, axis: number): Tensor {
  const a = normalizeAxis('takeAlongAxis', axis, x.rank);
  if (index.rank !== x.rank) throw new ShapeError(`takeAlongAxis: index of shape ${fmt(index.shape)} needs the rank of the tensor of shape ${fmt(x.shape)}`);
  const xs = x.shape.map((d, i) => {
    const e = index.shape[i]!;
    if (i === a || d === e || e === 1) return d;
    if (d === 1) return e;
    throw new ShapeError(`takeAlongAxis: index of shape ${fmt(index.shape)} and the tensor of shape ${fmt(x.shape)} do not broadcast on axis ${i} (${e} vs ${d})`);
  });
  const is = xs.map((d, i) => (i === a ? index.shape[a]! : d));
  const grown = [sameShape(xs, x.shape) ? null : x.expand(xs), sameShape(is, index.shape) ? null : index.expand(is)];
  return temps(
    grown.filter((t): t is Tensor => t !== null),
    () => apply(takeAlongAxisOp, [grown[0] ?? x, grown[1] ?? index], { axis: a }),
  );
}

/** argmax/argmin, not recorded (piecewise constant); with no axis, over the flattened tensor. */
function argIndex(op: OpDef<ArgmaxAttrs>, t: Tensor, axis: number | null | undefined, keepDims: boolean): Tensor {
  const keep = checkBool(op.name, 'keepDims', keepDims, false);
  const all = axis === undefined || axis === null;
  const a = all ? 0 : normalizeAxis(op.name, axis, t.rank);
  return withoutGrad(() => {
    if (!all && t.rank > 0) return apply(op, [t], { axis: a, keepDims: keep });
    const flat = t.reshape([t.size]);
    const r = apply(op, [flat], { axis: 0, keepDims: false });
    try {
      return r.reshape(keep ? t.shape.map(() => 1) : []);
    } finally {
      flat.dispose();
      r.dispose();
    }
  });
}

/** An array of integers (holes and non-numbers rejected here, so the op's own range checks see only numbers). */
function integers(op: string, what: string, v: readonly number[]): readonly number[] {
  if (!Array.isArray(v)) throw new InvalidArgumentError(`${op}: ${what} must be an array of integers, got ${repr(v)}`);
  for (let i = 0; i < v.length; i++) {
    if (typeof v[i] !== 'number' || !Number.isInteger(v[i])) throw new InvalidArgumentError(`${op}: ${what}[${i}] (axis ${i}) must be an integer, got ${repr(v[i])}`);
  }
  return v;
}

function inferShape(op: string, shape: readonly number[], t: Tensor): number[] {
  if (!Array.isArray(shape)) throw new InvalidArgumentError(`${op}: shape must be an array, got ${repr(shape)}`);
  const unknown = shape.filter((d) => d === -1).length;
  if (unknown > 1) throw new ShapeError(`${op}: only one dimension can be -1, got ${repr(shape)}`);
  const known = checkShape(op, Array.from(shape, (d) => (d === -1 ? 1 : d)));
  const rest = sizeOf(known);
  const out = [...shape];
  if (unknown) {
    if (rest === 0 || t.size % rest !== 0) throw new ShapeError(`${op}: cannot reshape ${fmt(t.shape)} (${t.size} elements) to ${fmt(shape)}`);
    out[shape.indexOf(-1)] = t.size / rest;
  }
  if (sizeOf(out) !== t.size) throw new ShapeError(`${op}: cannot reshape ${fmt(t.shape)} (${t.size} elements) to ${fmt(shape)} (${sizeOf(out)} elements)`);
  return out;
}
