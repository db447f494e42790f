/**
 * What every optimizer shares: checking the parameters, state buffers made once (zeros, outside any
 * tidy scope), a step() that records one fused update kernel per parameter with a gradient (submitted
 * with the rest of the task's work), zeroGrad() and dispose(). Subclasses supply the rule and its per-step scalars.
 */
import type { Backend, Storage } from '../backend.ts';
import { engine } from '../engine.ts';
import { DisposedTensorError, InvalidArgumentError, ShapeError } from '../errors.ts';
import { tensor } from '../creation.ts';
import { fmt, sizeOf } from '../shape.ts';
import { repr } from '../validate.ts';
import { Tensor } from '../tensor.ts';
import type { UpdateRule } from './update-rule.ts';

/**
 * A parameter's optimizer state: how many steps it has taken and its state tensors by name.
 * @example
 * const { step, buffers } = opt.stateOf(w);
 * await buffers.exp_avg!.data(); // Adam's first moment
 */
export interface ParamState {
  /**
   * Updates applied to this parameter so far.
   * @example
   * opt.stateOf(w).step; // 0 before the first step()
   */
  readonly step: number;
  /**
   * The rule's state tensors by PyTorch's names (`momentum_buffer`; `exp_avg`, `exp_avg_sq`).
   * @example
   * Object.keys(new pg.Adam([w]).stateOf(w).buffers); // ['exp_avg', 'exp_avg_sq']
   */
  readonly buffers: Readonly<Record<string, Tensor>>;
}

/** Copies the "gradient" into the parameter: how loadStateDict writes saved state in place, exactly, on every backend. */
const assignRule: UpdateRule = {
  name: 'assign',
  shader: 'fn rule_update(p: ptr<function, vec4<f32>>, g: vec4<f32>, pb: u32) {\n  *p = g;\n}',
  state: [],
  reference(param, grad) {
    param.set(grad.subarray(0, param.length));
  },
};

interface Slot {
  readonly param: Tensor;
  /** Tensors owned by the optimizer, in rule.state order. */
  readonly state: Tensor[];
  /** [param, grad, ...state] storages, reused by every step. */
  readonly buffers: Storage[];
  step: number;
}

/**
 * What SGD, Adam and AdamW share: a list of parameters, state made once, a fused step(),
 * zeroGrad(), a learning rate that can change between steps, and dispose().
 * @example
 * const opt: pg.Optimizer = new pg.Adam([w], { lr: 0.01 });
 * opt.step();
 * opt.zeroGrad();
 */
export abstract class Optimizer {
  /**
   * The tensors this optimizer updates, in the order given.
   * @example
   * new pg.SGD([w, b], { lr: 0.1 }).params; // [w, b]
   */
  readonly params: readonly Tensor[];
  /**
   * @internal The fused update this optimizer runs; `rule.reference` is its float64 twin.
   */
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

  /**
   * The learning rate; set it between steps for a schedule (no recompilation).
   * @example
   * opt.lr = opt.lr * 0.5; // halve it for the next steps
   */
  get lr(): number {
    return this._lr;
  }

  /** Sets the learning rate for the next steps (a finite number >= 0). */
  set lr(value: number) {
    this._lr = checkLr(this.name, value);
  }

  /**
   * Updates every parameter that has a gradient, in place, with one kernel each, submitted with the rest of the task's work.
   * @example
   * loss.backward();
   * opt.step();
   * opt.zeroGrad();
   */
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

  /**
   * Drops every parameter's gradient (disposing it), as PyTorch's zero_grad(set_to_none=True).
   * @example
   * opt.zeroGrad();
   * w.grad; // null
   */
  zeroGrad(): void {
    for (const p of this.params) p.zeroGrad();
  }

  /**
   * A parameter's step count and state tensors (owned by the optimizer: read them, don't dispose them).
   * @example
   * new pg.SGD([w], { lr: 0.1, momentum: 0.9 }).stateOf(w).buffers.momentum_buffer;
   */
  stateOf(param: Tensor): ParamState {
    const s = this.slots.find((x) => x.param === param);
    if (!s) throw new InvalidArgumentError(`${this.name}.stateOf: tensor ${param?.id} is not one of this optimizer's parameters`);
    const buffers: Record<string, Tensor> = {};
    this.rule.state.forEach((n, i) => {
      buffers[n] = s.state[i]!;
    });
    return { step: s.step, buffers };
  }

  /**
   * The optimizer's state as flat named tensors, ready for pg.saveSafetensors: for parameter i
   * (in `params` order) `state.{i}.step` (a scalar) and `state.{i}.{buffer}` for each state buffer
   * (PyTorch's names). The tensors are copies the caller owns. Hyper-parameters (lr, betas...) are
   * not included: they are the constructor's options.
   * @example
   * const bytes = await pg.saveSafetensors({ ...opt.stateDict(), w });
   */
  stateDict(): Record<string, Tensor> {
    const op = `${this.name}.stateDict`;
    this.checkLive(op);
    const out: Record<string, Tensor> = {};
    this.slots.forEach((s, i) => {
      out[`state.${i}.step`] = tensor(s.step);
      this.rule.state.forEach((n, j) => {
        const t = s.state[j]!;
        t._live(op);
        out[`state.${i}.${n}`] = t.mul(1);
      });
    });
    return out;
  }

  /**
   * Restores state saved by stateDict() (for example through pg.loadSafetensors): step counts and
   * state buffers, copied into this optimizer's own buffers in place, so compiled steps keep working.
   * Every key must be present with its parameter's shape, and no other key; nothing changes on an
   * error. Async: the step counts are read back from their tensors.
   * @example
   * const { w, ...state } = pg.loadSafetensors(bytes);
   * await opt.loadStateDict(state);
   */
  async loadStateDict(state: Readonly<Record<string, Tensor>>): Promise<void> {
    const op = `${this.name}.loadStateDict`;
    this.checkLive(op);
    if (!state || typeof state !== 'object' || Array.isArray(state)) throw new InvalidArgumentError(`${op}: state must be an object of named tensors from stateDict(), got ${state === null ? 'null' : typeof state}`);
    const expected = new Set<string>();
    const get = (key: string, shape: readonly number[]): Tensor => {
      expected.add(key);
      const t = state[key];
      if (t === undefined) throw new InvalidArgumentError(`${op}: state[${JSON.stringify(key)}] is missing; pass the whole stateDict() of an optimizer over the same parameters`);
      if (!(t instanceof Tensor)) throw new InvalidArgumentError(`${op}: state[${JSON.stringify(key)}] is not a Tensor`);
      t._live(`${op} state[${JSON.stringify(key)}]`);
      if (t._backend !== this.backend) throw new InvalidArgumentError(`${op}: state[${JSON.stringify(key)}] lives on a different backend than the parameters`);
      if (t.size !== sizeOf(shape)) throw new ShapeError(`${op}: state[${JSON.stringify(key)}] has shape ${fmt(t.shape)}, expected ${fmt(shape)}`);
      return t;
    };
    const plan = this.slots.map((s, i) => ({
      slot: s,
      step: get(`state.${i}.step`, []),
      buffers: this.rule.state.map((n) => get(`state.${i}.${n}`, s.param.shape)),
    }));
    for (const key of Object.keys(state)) {
      if (!expected.has(key)) throw new InvalidArgumentError(`${op}: unexpected key ${JSON.stringify(key)} (expected ${[...expected].join(', ')})`);
    }
    const steps = await Promise.all(plan.map((p) => p.step.item()));
    steps.forEach((n, i) => {
      if (!Number.isSafeInteger(n) || n < 0) throw new InvalidArgumentError(`${op}: state["state.${i}.step"] is ${n}, not a step count`);
    });
    this.checkLive(op);
    plan.forEach((p, i) => {
      p.slot.step = steps[i]!;
      p.buffers.forEach((src, j) => {
        this.backend.update(assignRule, [p.slot.state[j]!._live(op), src._live(op)], []);
      });
    });
    void this.backend.flushSoon();
  }

  /**
   * Frees the optimizer's state; the parameters and their gradients are left alone.
   * @example
   * opt.dispose();
   * opt.isDisposed; // true
   */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const s of this.slots) for (const t of s.state) t.dispose();
  }

  /**
   * True once dispose() ran; step() then throws DisposedTensorError.
   * @example
   * opt.isDisposed; // false
   */
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
