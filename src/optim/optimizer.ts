/**
 * What every optimizer shares: checking the parameters, state buffers made once (zeros, outside any
 * tidy scope), a step() that records one fused update kernel per parameter with a gradient (submitted
 * with the rest of the task's work), zeroGrad() and dispose(). Subclasses supply the rule and its per-step scalars.
 */
import type { Backend, Storage } from '../backend.ts';
import { engine } from '../engine.ts';
import { DisposedTensorError, InvalidArgumentError, ShapeError } from '../errors.ts';
import { fmt } from '../shape.ts';
import { repr } from '../validate.ts';
import { Tensor } from '../tensor.ts';
import type { UpdateRule } from './update-rule.ts';

/** A parameter's optimizer state: how many steps it has taken and its state tensors by name. */
export interface ParamState {
  readonly step: number;
  readonly buffers: Readonly<Record<string, Tensor>>;
}

interface Slot {
  readonly param: Tensor;
  /** Tensors owned by the optimizer, in rule.state order. */
  readonly state: Tensor[];
  /** [param, grad, ...state] storages, reused by every step. */
  readonly buffers: Storage[];
  step: number;
}

export abstract class Optimizer {
  readonly params: readonly Tensor[];
  /** The fused update this optimizer runs; `rule.reference` is its float64 twin. */
  readonly rule: UpdateRule;
  private readonly name: string;
  private readonly backend: Backend;
  private readonly slots: Slot[];
  /** Kernel parameters, rewritten for each update (the recorder copies them at once). */
  private readonly args: number[] = [];
  private _lr: number;
  private disposed = false;

  protected constructor(name: string, params: readonly Tensor[], lr: number, rule: UpdateRule) {
    this.name = name;
    this.rule = rule;
    this.params = checkParams(name, params);
    this._lr = checkLr(name, lr);
    this.backend = this.params[0]!._backend;
    this.slots = this.params.map((p) => {
      const be = this.backend;
      // Not in any tidy scope: the optimizer owns its state until dispose().
      const state = rule.state.map(() => new Tensor(be, be.fill(`${name} state`, p.shape, 0), p.shape, false, false));
      return { param: p, state, buffers: [p._storage!, p._storage!, ...state.map((t) => t._storage!)], step: 0 };
    });
  }

  /** The learning rate; set it between steps for a schedule (no recompilation). */
  get lr(): number {
    return this._lr;
  }

  set lr(value: number) {
    this._lr = checkLr(this.name, value);
  }

  /** Updates every parameter that has a gradient, in place, with one kernel each, submitted with the rest of the task's work. */
  step(): void {
    const op = `${this.name}.step`;
    this.checkLive(op);
    // Check everything before the first update so an error never leaves a half-applied step.
    for (const s of this.slots) {
      s.buffers[0] = s.param._live(op);
      const g = s.param.grad;
      if (g && !g.isDisposed && g.size !== s.param.size) {
        throw new ShapeError(`${op}: gradient of shape ${fmt(g.shape)} does not match its parameter's shape ${fmt(s.param.shape)} (tensor ${s.param.id})`);
      }
    }
    const be = this.backend;
    for (const s of this.slots) {
      const g = s.param.grad;
      // A disposed gradient counts as none, as in backward()'s accumulation.
      if (!g || g.isDisposed) continue;
      s.buffers[1] = g._live(op);
      s.step++;
      this.args.length = 0;
      this.stepParams(this.args, s.step, this._lr);
      be.update(this.rule, s.buffers, this.args);
      engine.trace?.update(s.buffers[0]!, this.args, {
        check: () => this.checkLive(op),
        next: () => {
          s.step++;
          const args: number[] = [];
          this.stepParams(args, s.step, this._lr);
          return args;
        },
      });
    }
    void be.flushSoon();
  }

  private checkLive(op: string): void {
    if (this.disposed) throw new DisposedTensorError(`${op}: this optimizer was disposed; create a new one`);
  }

  /** Drops every parameter's gradient (disposing it), as PyTorch's zero_grad(set_to_none=True). */
  zeroGrad(): void {
    for (const p of this.params) p.zeroGrad();
  }

  /** A parameter's step count and state tensors (owned by the optimizer: read them, don't dispose them). */
  stateOf(param: Tensor): ParamState {
    const s = this.slots.find((x) => x.param === param);
    if (!s) throw new InvalidArgumentError(`${this.name}.stateOf: tensor ${param?.id} is not one of this optimizer's parameters`);
    const buffers: Record<string, Tensor> = {};
    this.rule.state.forEach((n, i) => {
      buffers[n] = s.state[i]!;
    });
    return { step: s.step, buffers };
  }

  /** Frees the optimizer's state; the parameters and their gradients are left alone. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const s of this.slots) for (const t of s.state) t.dispose();
  }

  get isDisposed(): boolean {
    return this.disposed;
  }

  /** Appends the rule's kernel parameters for one parameter's `step`-th update (step starts at 1). */
  protected abstract stepParams(out: number[], step: number, lr: number): void;
}

function checkParams(name: string, params: readonly Tensor[]): Tensor[] {
  if (!Array.isArray(params) || params.length === 0) {
    throw new InvalidArgumentError(`${name}: params must be a non-empty array of tensors with requiresGrad: true, got ${Array.isArray(params) ? 'an empty array' : repr(params)}`);
  }
  const seen = new Map<Tensor, number>();
  // Indexed, not forEach: a sparse array's holes are missing parameters.
  for (let i = 0; i < params.length; i++) {
    const p: unknown = params[i];
    if (!(p instanceof Tensor)) throw new InvalidArgumentError(`${name}: params[${i}] is ${p === null ? 'null' : typeof p}, not a Tensor`);
    if (!p.requiresGrad) throw new InvalidArgumentError(`${name}: params[${i}] (tensor ${p.id}, shape ${fmt(p.shape)}) does not have requiresGrad: true, so it never gets a gradient`);
    if (!p.isLeaf) throw new InvalidArgumentError(`${name}: params[${i}] (tensor ${p.id}) is computed by an op, not a leaf; optimize the tensors it was computed from, or detach() it`);
    p._live(name);
    if (p._backend !== params[0]!._backend) throw new InvalidArgumentError(`${name}: params[${i}] lives on a different backend than params[0]`);
    const j = seen.get(p);
    if (j !== undefined) throw new InvalidArgumentError(`${name}: params[${i}] is the same tensor as params[${j}]; it would be updated twice per step`);
    seen.set(p, i);
  }
  return [...params];
}

function checkLr(name: string, lr: number): number {
  return checkNumber(name, 'lr', lr, 0);
}

/** A finite number >= min (and < below, if given); otherwise an InvalidArgumentError that shows the value. */
export function checkNumber(name: string, what: string, v: unknown, min: number, below?: number): number {
  const range = below === undefined ? `>= ${min}` : `in [${min}, ${below})`;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || (below !== undefined && v >= below)) {
    throw new InvalidArgumentError(`${name}: ${what} must be a finite number ${range}, got ${typeof v === 'number' ? v : typeof v}`);
  }
  return v;
}
