/** The user-facing tensor: a shape, a reference-counted device storage, and a link into the autograd graph. */
import { type Backend, retain, type Storage } from './backend.ts';
import { backward as runBackward } from './autograd/backward.ts';
import { Node } from './autograd/node.ts';
import { engine } from './engine.ts';
import { describeTensor, type FormatOptions, format, summary, type TensorSummary } from './format.ts';
import { DeviceLostError, DisposedTensorError, GradientError, InvalidArgumentError, ShapeError } from './errors.ts';
import { binaryOps, binaryScalarOps, unaryOps } from './ops/elementwise.ts';
import { matmulOp } from './ops/matmul.ts';
import type { OpDef } from './ops/op.ts';
import { expandOp, permuteOp, reshapeOp, sliceOp } from './ops/shape-ops.ts';
import { logSoftmaxOp, softmaxOp } from './ops/softmax.ts';
import { maxOp, meanOp, sumOp } from './ops/reduce.ts';
import { checkShape, fmt, normalizeAxes, normalizeAxis, type Shape, sizeOf } from './shape.ts';

export type Operand = Tensor | number;
export type NestedArray = number | NestedArray[];

export interface BackwardOptions {
  /** Keep saved tensors so backward() can run through this graph again. */
  readonly retainGraph?: boolean;
}

export class Tensor {
  readonly id: number;
  readonly shape: Shape;
  /** Number of elements. */
  readonly size: number;
  /** The gradient accumulated by backward() (a leaf's, or a retained non-leaf's), or null. */
  grad: Tensor | null = null;
  /** @internal */
  _storage: Storage | null;
  /** @internal */
  _node: Node | null = null;
  /** @internal */
  readonly _backend: Backend;
  private _requiresGrad: boolean;

  /** @internal Use pg.tensor(), pg.zeros() and the like. */
  constructor(backend: Backend, storage: Storage, shape: Shape, requiresGrad: boolean, inScope = true) {
    this.id = engine.nextTensorId++;
    this._backend = backend;
    this._storage = storage;
    this.shape = Object.freeze([...shape]);
    this.size = sizeOf(shape);
    this._requiresGrad = requiresGrad;
    engine.liveTensors++;
    if (inScope) engine.scopes.at(-1)?.tensors.add(this);
  }

  get rank(): number {
    return this.shape.length;
  }

  get requiresGrad(): boolean {
    return this._requiresGrad;
  }

  /** Leaves only: start or stop recording operations on this tensor. */
  set requiresGrad(flag: boolean) {
    if (this._node && !this._node.leaf) {
      throw new GradientError('requiresGrad can only be changed on leaf tensors; use detach() to get a leaf from a computed tensor');
    }
    if (!flag && this._node) {
      this._node.unref();
      this._node = null;
    }
    this._requiresGrad = flag;
  }

  get isDisposed(): boolean {
    return this._storage === null;
  }

  /** True for tensors made by the user rather than by an op. */
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
  /** @internal Node's util.inspect (console.log(t) in Node): the same line as toString(). */
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return describeTensor(this);
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

  // ---------- reading ----------

  /** The values, flat, row-major. */
  async data(): Promise<Float32Array> {
    const s = this._live('data');
    return this._backend.read(s, this.size);
  }

  /** The values as nested arrays in this tensor's shape (a number for rank 0). */
  async toArray(): Promise<NestedArray> {
    const flat = await this.data();
    const build = (dim: number, offset: number): NestedArray => {
      if (dim === this.shape.length) return flat[offset]!;
      const stride = sizeOf(this.shape.slice(dim + 1));
      return Array.from({ length: this.shape[dim]! }, (_, i) => build(dim + 1, offset + i * stride));
    };
    return build(0, 0);
  }

  /** The single value of a one-element tensor. */
  async item(): Promise<number> {
    if (this.size !== 1) throw new InvalidArgumentError(`item: needs a one-element tensor, got shape ${fmt(this.shape)}; use data() or toArray()`);
    return (await this.data())[0]!;
  }

  // ---------- lifetime ----------

  /** Frees the device memory (and the gradient). Calling it twice is harmless. */
  dispose(): void {
    const s = this._storage;
    if (!s) return;
    this._storage = null;
    engine.liveTensors--;
    if (this._backend === engine.backend) {
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
   */
  backward(gradient?: Tensor | BackwardOptions, options: BackwardOptions = {}): void {
    if (gradient !== undefined && !(gradient instanceof Tensor)) {
      options = gradient;
      gradient = undefined;
    }
    runBackward(this, gradient, options.retainGraph ?? false);
  }

  /** Drops the accumulated gradient (as PyTorch's zero_grad(set_to_none=True)). */
  zeroGrad(): void {
    const trace = engine.trace;
    if (trace && this.id < trace.firstId) trace.gradChange(this, true);
    this.grad?.dispose();
    this.grad = null;
  }

  /** A tensor sharing this one's data, outside the graph (no gradient flows through it). */
  detach(): Tensor {
    const s = retain(this._live('detach'));
    return new Tensor(this._backend, s, this.shape, false);
  }

  // ---------- elementwise ----------

  add(other: Operand): Tensor {
    return binary('add', this, other);
  }
  sub(other: Operand): Tensor {
    return binary('sub', this, other);
  }
  mul(other: Operand): Tensor {
    return binary('mul', this, other);
  }
  div(other: Operand): Tensor {
    return binary('div', this, other);
  }
  pow(exponent: Operand): Tensor {
    // As PyTorch does: x² as x·x, exactly rounded (WGSL's pow goes through exp2 and log2).
    if (exponent === 2) return this.square();
    return binary('pow', this, exponent);
  }
  maximum(other: Operand): Tensor {
    return binary('maximum', this, other);
  }
  minimum(other: Operand): Tensor {
    return binary('minimum', this, other);
  }
  neg(): Tensor {
    return apply(unaryOps.neg!, [this], {});
  }
  exp(): Tensor {
    return apply(unaryOps.exp!, [this], {});
  }
  log(): Tensor {
    return apply(unaryOps.log!, [this], {});
  }
  sqrt(): Tensor {
    return apply(unaryOps.sqrt!, [this], {});
  }
  abs(): Tensor {
    return apply(unaryOps.abs!, [this], {});
  }
  square(): Tensor {
    return apply(unaryOps.square!, [this], {});
  }
  relu(): Tensor {
    return apply(unaryOps.relu!, [this], {});
  }
  sigmoid(): Tensor {
    return apply(unaryOps.sigmoid!, [this], {});
  }
  tanh(): Tensor {
    return apply(unaryOps.tanh!, [this], {});
  }
  /** Limits values to [min, max]; the gradient passes where min <= x <= max. */
  clamp(min: number, max: number): Tensor {
    return apply(unaryOps.clamp!, [this], { params: [min, max] });
  }

  // ---------- reductions ----------

  /** Sum over `axes` (all when omitted); keepDims keeps them as size 1. */
  sum(axes?: number | readonly number[], keepDims = false): Tensor {
    return apply(sumOp, [this], { axes: normalizeAxes('sum', axes, this.rank), keepDims });
  }
  mean(axes?: number | readonly number[], keepDims = false): Tensor {
    return apply(meanOp, [this], { axes: normalizeAxes('mean', axes, this.rank), keepDims });
  }
  /** Maximum over `axes`; tied elements share the gradient evenly (as torch.amax). */
  max(axes?: number | readonly number[], keepDims = false): Tensor {
    return apply(maxOp, [this], { axes: normalizeAxes('max', axes, this.rank), keepDims });
  }

  // ---------- linear algebra and normalization ----------

  /** Matrix product of [..., M, K] and [..., K, N]; batch dims broadcast. */
  matmul(other: Tensor): Tensor {
    return apply(matmulOp, [this, other], {});
  }
  softmax(axis = -1): Tensor {
    return apply(softmaxOp, [this], { axis: normalizeAxis('softmax', axis, this.rank) });
  }
  logSoftmax(axis = -1): Tensor {
    return apply(logSoftmaxOp, [this], { axis: normalizeAxis('logSoftmax', axis, this.rank) });
  }

  // ---------- shape ----------

  /** Same data, new shape; one dimension may be -1 (inferred). No copy. */
  reshape(shape: readonly number[]): Tensor {
    return apply(reshapeOp, [this], { shape: inferShape('reshape', shape, this) });
  }
  /** Adds a size-1 axis at `axis`. */
  unsqueeze(axis: number): Tensor {
    const a = normalizeAxis('unsqueeze', axis, this.rank + 1);
    return this.reshape([...this.shape.slice(0, a), 1, ...this.shape.slice(a)]);
  }
  /** Removes size-1 axes (all of them, or the ones given). */
  squeeze(axes?: number | readonly number[]): Tensor {
    const list = normalizeAxes('squeeze', axes, this.rank);
    for (const a of list) {
      if (axes !== undefined && this.shape[a] !== 1) throw new ShapeError(`squeeze: axis ${a} of shape ${fmt(this.shape)} has size ${this.shape[a]}, not 1`);
    }
    return this.reshape(this.shape.filter((d, i) => !(list.includes(i) && d === 1)));
  }
  /** Swaps two axes (the last two by default). */
  transpose(axis0 = -2, axis1 = -1): Tensor {
    const a = normalizeAxis('transpose', axis0, this.rank);
    const b = normalizeAxis('transpose', axis1, this.rank);
    const perm = [...this.shape.keys()];
    [perm[a], perm[b]] = [perm[b]!, perm[a]!];
    return this.permute(perm);
  }
  /** Reorders axes: output axis i is input axis perm[i]. */
  permute(perm: readonly number[]): Tensor {
    return apply(permuteOp, [this], { perm });
  }
  /** Broadcasts size-1 axes to a larger shape (-1 keeps a dimension). */
  expand(shape: readonly number[]): Tensor {
    return apply(expandOp, [this], { shape });
  }
  /**
   * Elements from `begin` (inclusive) to `end` (exclusive) on each axis; negative indices count
   * from the end; missing entries mean the whole axis.
   */
  slice(begin: readonly number[], end?: readonly number[]): Tensor {
    return apply(sliceOp, [this], { begin, end: end ?? [] });
  }
  /** Flattens to 1-D. */
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
  const needs = inputs.map((t) => engine.gradEnabled && t.requiresGrad);
  const track = needs.some(Boolean);
  let grads: (Storage | null)[] | null = null;
  let out: Storage;
  if (op.gradsInForward && track) [out, grads] = be.forwardWithGrads(op, storages, shapes, attrs, outShape, needs);
  else out = be.forward(op, storages, shapes, attrs, outShape);
  const t = new Tensor(be, out, outShape, track);
  if (track) {
    const saves = op.saves(needs, attrs);
    // A fused loss keeps the gradients its forward pass wrote, in place of inputs.
    const saved = grads ?? storages.map((s, i) => (saves.inputs[i] ? retain(s) : null));
    const parents = inputs.map((x, i) => (needs[i] ? x._gradNode() : null));
    t._node = new Node(be, op as OpDef<unknown>, attrs, shapes, outShape, parents, saved, saves.output ? retain(out) : null);
  }
  return t;
}

function binary(name: string, a: Tensor, b: Operand): Tensor {
  if (typeof b === 'number') return apply(binaryScalarOps[name]!, [a], { scalar: b });
  return apply(binaryOps[name]!, [a, b], {});
}

function inferShape(op: string, shape: readonly number[], t: Tensor): number[] {
  if (!Array.isArray(shape)) throw new InvalidArgumentError(`${op}: shape must be an array, got ${String(shape)}`);
  const unknown = shape.filter((d) => d === -1).length;
  if (unknown > 1) throw new ShapeError(`${op}: only one dimension can be -1, got ${fmt(shape)}`);
  const known = checkShape(op, shape.map((d) => (d === -1 ? 1 : d)));
  const rest = sizeOf(known);
  const out = [...shape];
  if (unknown) {
    if (rest === 0 || t.size % rest !== 0) throw new ShapeError(`${op}: cannot reshape ${fmt(t.shape)} (${t.size} elements) to ${fmt(shape)}`);
    out[shape.indexOf(-1)] = t.size / rest;
  }
  if (sizeOf(out) !== t.size) throw new ShapeError(`${op}: cannot reshape ${fmt(t.shape)} (${t.size} elements) to ${fmt(shape)} (${sizeOf(out)} elements)`);
  return out;
}
