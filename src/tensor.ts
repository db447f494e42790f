/** The user-facing tensor: a shape, a reference-counted device storage, and a link into the autograd graph. */
import { type Backend, retain, type Storage } from './backend.ts';
import { backward as runBackward } from './autograd/backward.ts';
import { Node } from './autograd/node.ts';
import { engine } from './engine.ts';
import { DeviceLostError, DisposedTensorError, GradientError, InvalidArgumentError, ShapeError } from './errors.ts';
import { binaryOps, binaryScalarOps, unaryOps } from './ops/elementwise.ts';
import { matmulOp } from './ops/matmul.ts';
import type { OpDef } from './ops/op.ts';
import { expandOp, permuteOp, reshapeOp, sliceOp } from './ops/shape-ops.ts';
import { logSoftmaxOp, softmaxOp } from './ops/softmax.ts';
import { maxOp, meanOp, sumOp } from './ops/reduce.ts';
import { checkShape, fmt, normalizeAxes, normalizeAxis, type Shape, sizeOf } from './shape.ts';
import { checkBool, checkOptions, repr } from './validate.ts';

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
    // Strict: the string 'false' is truthy and would turn recording on.
    if (typeof flag !== 'boolean') throw new InvalidArgumentError(`requiresGrad: must be set to true or false, got ${repr(flag)}`);
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

  toString(): string {
    return `Tensor(id=${this.id}, shape=${fmt(this.shape)}${this._requiresGrad ? ', requiresGrad' : ''}${this.isDisposed ? ', disposed' : ''})`;
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
    runBackward(this, gradient, checkBool('backward', 'retainGraph', o.retainGraph, false));
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
    if (typeof min !== 'number' || typeof max !== 'number' || Number.isNaN(min) || Number.isNaN(max) || min > max) {
      throw new InvalidArgumentError(`clamp: needs numbers min <= max, got min=${repr(min)}, max=${repr(max)}`);
    }
    return apply(unaryOps.clamp!, [this], { params: [min, max] });
  }

  // ---------- reductions ----------

  /** Sum over `axes` (all when omitted); keepDims keeps them as size 1. */
  /** Sum over `axes` (all when omitted or null); keepDims keeps them as size 1. A 0-d tensor takes axis 0 or -1. */
  sum(axes?: number | readonly number[] | null, keepDims = false): Tensor {
    return apply(sumOp, [this], { axes: normalizeAxes('sum', axes, this.rank), keepDims: checkBool('sum', 'keepDims', keepDims, false) });
  }
  mean(axes?: number | readonly number[] | null, keepDims = false): Tensor {
    return apply(meanOp, [this], { axes: normalizeAxes('mean', axes, this.rank), keepDims: checkBool('mean', 'keepDims', keepDims, false) });
  }
  /** Maximum over `axes`; tied elements share the gradient evenly (as torch.amax). */
  max(axes?: number | readonly number[] | null, keepDims = false): Tensor {
    return apply(maxOp, [this], { axes: normalizeAxes('max', axes, this.rank), keepDims: checkBool('max', 'keepDims', keepDims, false) });
  }

  // ---------- linear algebra and normalization ----------

  /** Matrix product of [..., M, K] and [..., K, N]; batch dims broadcast. */
  matmul(other: Tensor): Tensor {
    return apply(matmulOp, [this, other], {});
  }
  softmax(axis = -1): Tensor {
    const a = normalizeAxis('softmax', axis, this.rank);
    return this.rank === 0 ? this.asVector((v) => v.softmax(0)) : apply(softmaxOp, [this], { axis: a });
  }
  logSoftmax(axis = -1): Tensor {
    const a = normalizeAxis('logSoftmax', axis, this.rank);
    return this.rank === 0 ? this.asVector((v) => v.logSoftmax(0)) : apply(logSoftmaxOp, [this], { axis: a });
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
  squeeze(axes?: number | readonly number[] | null): Tensor {
    const list = normalizeAxes('squeeze', axes, this.rank);
    for (const a of list) {
      if (axes !== undefined && axes !== null && this.shape[a] !== 1) throw new ShapeError(`squeeze: axis ${a} of shape ${fmt(this.shape)} has size ${this.shape[a]}, not 1`);
    }
    return this.reshape(this.shape.filter((d, i) => !(list.includes(i) && d === 1)));
  }
  /** Swaps two axes (the last two by default). */
  transpose(axis0 = -2, axis1 = -1): Tensor {
    const a = normalizeAxis('transpose', axis0, this.rank);
    const b = normalizeAxis('transpose', axis1, this.rank);
    if (this.rank === 0) return this.permute([]);
    const perm = [...this.shape.keys()];
    [perm[a], perm[b]] = [perm[b]!, perm[a]!];
    return this.permute(perm);
  }
  /** Reorders axes: output axis i is input axis perm[i]. */
  permute(perm: readonly number[]): Tensor {
    return apply(permuteOp, [this], { perm: integers('permute', 'perm', perm) });
  }
  /** Broadcasts size-1 axes to a larger shape (-1 keeps a dimension). */
  expand(shape: readonly number[]): Tensor {
    return apply(expandOp, [this], { shape: integers('expand', 'shape', shape) });
  }
  /**
   * Elements from `begin` (inclusive) to `end` (exclusive) on each axis; negative indices count
   * from the end; missing entries mean the whole axis.
   */
  slice(begin: readonly number[], end?: readonly number[]): Tensor {
    return apply(sliceOp, [this], { begin: integers('slice', 'begin', begin), end: end === undefined ? [] : integers('slice', 'end', end) });
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
