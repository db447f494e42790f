/**
 * pg.compile(fn): the first call with given argument shapes runs fn once (the trace) and keeps the
 * kernels it recorded; later calls record those kernels again, skipping the graph, fusion planning,
 * cache lookups and backward's walk, so a small training step costs about what a hand-written one
 * does in JavaScript. Each call binds its arguments where the trace bound its copies of them
 * (copying only an argument a kernel also writes) and gets its results in storage of its own
 * (written there by the kernels, or copied out), so callers never share memory with what the
 * captured kernels write on the next call.
 *
 * What a replay cannot see, it guards: tensors made before the trace that fn used must still be
 * alive, optimizers must still exist (their step count and learning rate are read on every call),
 * and a .grad that fn adds into must be in the state the trace left it.
 */
import type { DType } from './dtype.ts';
import type { Backend, CapturedWork, Storage } from './backend.ts';
import { activeBackend, engine, type TraceWatch, type UpdateHook } from './engine.ts';
import { CompileError, InvalidArgumentError } from './errors.ts';
import { KernelList } from './gpu/capture.ts';
import { binaryScalarOps } from './ops/elementwise.ts';
import { type NotPromise, noGrad, tidy } from './runtime.ts';
import { fmt } from './shape.ts';
import { apply, Tensor } from './tensor.ts';

/**
 * A compiled function: call it like fn; dispose() gives back the buffers its traces hold.
 * @example
 * const double = pg.compile((x: pg.Tensor) => x.mul(2));
 * double(pg.ones([4]));
 * double.traces; // 1 (0 on the CPU backend, which runs fn on every call)
 * double.dispose();
 */
export interface Compiled<A extends Tensor[], R> {
  /**
   * Runs the compiled function: the trace on the first call with these argument shapes, a replay after.
   * @example
   * const out = compiled(x);
   */
  (...args: A): R;
  /**
   * Argument shapes traced so far (one trace each). On the float64 CPU backend a compiled
   * function runs fn on every call, traces nothing, and this stays 0.
   * @example
   * compiled.traces; // 1 after calls with one set of shapes
   */
  readonly traces: number;
  /**
   * Gives back the buffers every trace holds; calling the function afterwards throws CompileError.
   * @example
   * compiled.dispose();
   */
  dispose(): void;
}

/** fn's result, checked to be something a compiled function can hand back. */
function called<A extends Tensor[], R>(fn: (...args: A) => R, args: A): R {
  const result = fn(...args);
  if (result && typeof (result as { then?: unknown }).then === 'function') {
    throw new CompileError('compile: fn returned a Promise; a compiled function must be synchronous (await its results after the call)');
  }
  return result;
}

/** Rebuilds fn's result (tensors in nested arrays and plain objects) around other tensors. */
type Rebuild = (tensors: readonly Tensor[]) => unknown;

function resultTemplate(x: unknown, found: Tensor[], path: string): Rebuild {
  if (x instanceof Tensor) {
    const i = found.push(x) - 1;
    return (ts) => ts[i];
  }
  if (Array.isArray(x)) {
    const parts = x.map((v, i) => resultTemplate(v, found, `${path}[${i}]`));
    return (ts) => parts.map((p) => p(ts));
  }
  if (x !== null && typeof x === 'object') {
    if (Object.getPrototypeOf(x) !== Object.prototype) {
      throw new CompileError(`compile: fn returned ${x.constructor?.name ?? 'an object'} at result${path}; return tensors, numbers, and arrays or plain objects of them`);
    }
    const parts = Object.entries(x).map(([k, v]) => [k, resultTemplate(v, found, `${path}.${k}`)] as const);
    return (ts) => Object.fromEntries(parts.map(([k, p]) => [k, p(ts)]));
  }
  if (typeof x === 'function') throw new CompileError(`compile: fn returned a function at result${path}; return tensors, numbers, and arrays or plain objects of them`);
  return () => x;
}

interface GradGuard {
  readonly tensor: Tensor;
  /** fn cleared the gradient before adding into it, so what it held before a call does not matter. */
  readonly clearedFirst: boolean;
  /** The .grad the trace left (null for none). */
  left: Tensor | null;
  /** Its storage, written by the captured kernels (the program holds a reference). */
  readonly leftStorage: Storage | null;
  /** The references the program holds on leftStorage: any more than these and the .grad's own is someone else's. */
  readonly baseRefs: number;
}

/** A .grad as fn first changed it in the trace. */
interface GradSeen {
  /** fn's first change was to clear it. */
  readonly clearedFirst: boolean;
  readonly before: Tensor | null;
  readonly beforeStorage: Storage | null;
}

interface Update {
  readonly hook: UpdateHook;
  readonly set: (values: readonly number[]) => void;
}

/** One trace: the captured kernels and what a replay needs around them. */
class Program {
  constructor(
    readonly backend: Backend,
    readonly work: CapturedWork,
    /** Buffers the arguments are copied into. */
    readonly inputs: readonly Storage[],
    /**
     * The results' storages (held here). `rebind`: a call has the kernels write it into a new
     * storage that becomes the result, instead of copying it out.
     */
    readonly outputs: readonly { storage: Storage; shape: readonly number[]; dtype: DType; rebind: boolean }[],
    readonly rebuild: Rebuild,
    /** Tensors made before the trace that fn used, with the storage it used. */
    readonly externals: readonly (readonly [Tensor, Storage])[],
    readonly grads: readonly GradGuard[],
    readonly updates: readonly Update[],
  ) {}

  release(): void {
    if (this.backend !== engine.backend) return;
    this.backend.capture!.releaseCaptured(this.work);
    for (const s of this.inputs) this.backend.release(s);
    for (const o of this.outputs) this.backend.release(o.storage);
    for (const g of this.grads) if (g.leftStorage) this.backend.release(g.leftStorage);
  }
}

/** Records what a trace must know about the world outside fn. */
class Watch implements TraceWatch {
  readonly firstId = engine.nextTensorId;
  readonly externals = new Map<Tensor, Storage>();
  readonly grads = new Map<Tensor, GradSeen>();
  readonly updates: { param: Storage; args: number[]; hook: UpdateHook }[] = [];

  readExternal(t: Tensor, s: Storage): void {
    if (!this.externals.has(t)) this.externals.set(t, s);
  }

  gradChange(t: Tensor, clearing: boolean): void {
    if (this.grads.has(t)) return;
    const before = t.grad && !t.grad.isDisposed ? t.grad : null;
    this.grads.set(t, { clearedFirst: clearing, before, beforeStorage: before?._storage ?? null });
  }

  update(param: Storage, args: readonly number[], hook: UpdateHook): void {
    this.updates.push({ param, args: [...args], hook });
  }
}

const MAX_TRACES = 16;

/**
 * Compiles fn for repeated calls: the first call with a set of argument shapes runs fn and keeps
 * its GPU kernels; later calls replay them. fn must be synchronous and take and return tensors
 * (in arrays or plain objects); results are new tensors outside the graph, like detach().
 *
 * As jax.jit: numbers fn computes in JavaScript and tensors it makes from JavaScript data are
 * fixed at the trace; pass what changes as arguments. Tensors fn closes over (weights) are read
 * as they are at each call; an optimizer's step() inside fn runs on each call with its current
 * learning rate.
 * @example
 * const grads = pg.compile(pg.grad((c1, c2) => c1.mul(0.6).add(c2.mul(0.4)).sub(0.5).pow(2)));
 * const [g1, g2] = grads(pg.tensor([0.2]), pg.tensor([0.7])); // one kernel a call
 * await Promise.all([g1.data(), g2.data()]);                   // [-0.12], [-0.08]
 */
export function compile<A extends Tensor[], R>(fn: (...args: A) => NotPromise<R>): Compiled<A, R> {
  if (typeof fn !== 'function') throw new InvalidArgumentError(`compile: expected a function, got ${fn === null ? 'null' : typeof fn}`);
  const programs = new Map<string, Program>();
  let disposed = false;

  const call = (...args: A): R => {
    if (disposed) throw new CompileError('compile: this compiled function was disposed; compile fn again');
    if (engine.trace) throw new CompileError('compile: a compiled function cannot call another compiled function while it is traced; call fn itself inside');
    const be = activeBackend('compiled function');
    const storages = args.map((a, i) => {
      if (!(a instanceof Tensor)) throw new InvalidArgumentError(`compiled function: argument ${i} is ${a === null ? 'null' : typeof a}, not a Tensor`);
      return a._live(`compiled function argument ${i}`);
    });
    if (!be.capture) return eager(fn, args);
    const key = `${engine.gradEnabled ? 'g' : 'n'}|${args.map((a) => a.shape.join('x')).join('|')}`;
    let program = programs.get(key);
    if (program && program.backend !== be) {
      programs.delete(key);
      program = undefined;
    }
    if (!program) {
      if (programs.size >= MAX_TRACES) {
        throw new CompileError(
          `compile: ${MAX_TRACES} argument shapes traced already (now ${args.map((a) => fmt(a.shape)).join(', ')}); each keeps its own buffers. Pad inputs to a few shapes, or compile a function per shape`,
        );
      }
      const [p, result] = trace(be, fn, args);
      programs.set(key, p);
      return result as R;
    }
    return replay(program, storages) as R;
  };

  Object.defineProperty(call, 'traces', { get: () => programs.size });
  (call as Compiled<A, R>).dispose = () => {
    if (disposed) return;
    disposed = true;
    for (const p of programs.values()) p.release();
    programs.clear();
  };
  return call as Compiled<A, R>;
}

/** A copy keeps its source's dtype (a bool times 1 would promote to int32). */
function retype(t: Tensor, dtype: DType): Tensor {
  t._dtype = dtype;
  return t;
}

/** Where kernels cannot be captured (the CPU reference): fn every call, results detached copies. */
function eager<A extends Tensor[], R>(fn: (...args: A) => R, args: A): R {
  return tidy<R>(() => {
    const found: Tensor[] = [];
    const rebuild = resultTemplate(called(fn, args), found, '');
    return rebuild(noGrad(() => found.map((t) => retype(apply(binaryScalarOps.mul!, [t], { scalar: 1 }), t.dtype)))) as NotPromise<R>;
  });
}

function trace<A extends Tensor[]>(be: Backend, fn: (...args: A) => unknown, args: A): [Program, unknown] {
  const cap = be.capture!;
  const inputs: Storage[] = [];
  const held: Storage[] = [];
  const watch = new Watch();
  let work: CapturedWork | null = null;
  const wrapped: Tensor[] = [];
  let found: Tensor[] = [];
  try {
    for (const a of args) {
      const s = be.allocate('compile input', a.shape);
      inputs.push(s);
      held.push(s);
      cap.copyStorage(a._storage!, s);
    }
    cap.startCapture(KernelList);
    let rebuild: Rebuild;
    engine.trace = watch;
    try {
      for (const [i, s] of inputs.entries()) {
        s.refs++;
        wrapped.push(new Tensor(be, s, args[i]!.shape, false, false, args[i]!.dtype));
      }
      // Inside the tidy: a result it cannot hand back disposes every tensor fn made.
      const kept = tidy(() => {
        const into: Tensor[] = [];
        return { rebuild: resultTemplate(called(fn, wrapped as A), into, ''), found: into };
      });
      rebuild = kept.rebuild;
      found = kept.found;
    } catch (e) {
      cap.abortCapture();
      throw e;
    } finally {
      engine.trace = null;
    }
    try {
      work = cap.endCapture();
      const outputs = found.map((t) => {
        const storage = t._live('compile result');
        // A tensor from outside returned as it is (a weight) is copied out on every call: it must stay alive.
        if (t.id < watch.firstId) watch.readExternal(t, storage);
        storage.refs++;
        held.push(storage);
        return { storage, shape: t.shape, dtype: t.dtype, rebind: false };
      });
      for (const [t] of watch.externals) {
        if (t.isDisposed) {
          throw new CompileError(
            `compile: fn used tensor ${t.id} (shape ${fmt(t.shape)}), made before the call, and then disposed it; a replay would use its memory again. ` +
              'Pass such a tensor as an argument, or make it inside fn (a gradient: run the loss and backward() inside fn too)',
          );
        }
      }
      // The program's references on a gradient's memory: its own (below), the kernels', and results that are that gradient.
      const grads = checkGrads(watch, (s) => 1 + (work!.holds(s) ? 1 : 0) + outputs.filter((o) => o.storage === s).length);
      for (const g of grads) {
        if (!g.leftStorage) continue;
        g.leftStorage.refs++;
        held.push(g.leftStorage);
      }
      const updates: Update[] = [];
      for (const { param, args: values, hook } of watch.updates) {
        const set = work.paramSetter(param, values);
        // An empty parameter records no kernel, so there is nothing to refresh.
        if (set) updates.push({ hook, set });
        else if (param.length > 0) throw new CompileError(`compile: an optimizer update (parameters ${values.join(', ')}) was not found among the captured kernels; please report this as a pixelgrad bug`);
      }
      // Results the kernels compute into memory of their own are written straight into each call's
      // result (a gradient left in .grad, or a result returned twice, is copied out instead).
      for (const o of outputs) {
        o.rebind = work.canRebindOutput(o.storage) && outputs.filter((x) => x.storage === o.storage).length === 1 && !grads.some((g) => g.leftStorage === o.storage);
      }
      const program = new Program(be, work, inputs, outputs, rebuild, [...watch.externals], grads, updates);
      return [program, copyOut(program, new Map())];
    } catch (e) {
      if (work) cap.releaseCaptured(work);
      throw e;
    }
  } catch (e) {
    for (const s of held) be.release(s);
    throw e;
  } finally {
    // The results fn made were copied into held storage (or the trace failed): either way they go,
    // except a .grad fn returned, which its tensor keeps.
    const grads = new Set([...watch.grads.keys()].map((t) => t.grad));
    for (const t of found) if (t.id >= watch.firstId && !grads.has(t)) t.dispose();
    for (const w of wrapped) w.dispose();
  }
}

/** The gradients fn changed, and whether a replay can repeat what it did to them. */
function checkGrads(watch: Watch, programRefs: (s: Storage) => number): GradGuard[] {
  const guards: GradGuard[] = [];
  for (const [t, g] of watch.grads) {
    const left = t.grad && !t.grad.isDisposed ? t.grad : null;
    if (!g.clearedFirst && (left !== g.before || (left && left._storage !== g.beforeStorage))) {
      throw new CompileError(
        `compile: backward() inside fn added into the .grad of tensor ${t.id} (shape ${fmt(t.shape)}) and left it set, so the next call would add into it, which a replay cannot repeat. ` +
          'Clear gradients inside fn: call optimizer.zeroGrad() (or tensor.zeroGrad()) before backward() or after step(), or use pg.grad / pg.valueAndGrad',
      );
    }
    const leftStorage = left?._storage ?? null;
    guards.push({ tensor: t, clearedFirst: g.clearedFirst, left, leftStorage, baseRefs: leftStorage ? programRefs(leftStorage) : 0 });
  }
  return guards;
}

function replay(p: Program, args: readonly Storage[]): unknown {
  const be = p.backend;
  const cap = be.capture!;
  // Queued ops that read a gradient hold it until recorded; recorded now, they no longer count as holders.
  cap.recordQueued();
  // Every check comes before the first recorded command, so a failed call changes nothing.
  for (const [t, s] of p.externals) {
    if (t._storage !== s) {
      throw new CompileError(
        `compiled function: tensor ${t.id} (shape ${fmt(t.shape)}), which fn used when it was traced, was disposed since; a replay would read freed memory. Keep it alive, or compile fn again`,
      );
    }
  }
  for (const g of p.grads) {
    const t = g.tensor;
    const now = t.grad && !t.grad.isDisposed ? t.grad : null;
    if (!g.clearedFirst && now !== g.left) {
      throw new CompileError(
        `compiled function: the .grad of tensor ${t.id} (shape ${fmt(t.shape)}) changed since fn was traced, and fn adds into it; a replay cannot repeat that. Clear gradients inside fn (optimizer.zeroGrad())`,
      );
    }
    if (!g.leftStorage) continue;
    const leftAlive = g.left !== null && !g.left.isDisposed;
    if ((leftAlive && now !== g.left) || g.leftStorage.refs > g.baseRefs + (leftAlive ? 1 : 0)) {
      throw new CompileError(
        `compiled function: the gradient of tensor ${t.id} (shape ${fmt(t.shape)}) from an earlier call is still held elsewhere (a detach() of it, or the old .grad kept after it was replaced), ` +
          'and this call writes its gradient into the same memory. Copy it first (grad.mul(1)) or dispose it',
      );
    }
  }
  for (const u of p.updates) u.hook.check();
  // Held through the call: clearing a gradient below may dispose an argument (step(w.grad)), whose
  // buffer must not come back from the pool as this call's result while the kernels read it.
  for (const a of args) a.refs++;
  const results: Storage[] = [];
  try {
    for (const u of p.updates) u.set(u.hook.next());
    // fn clears these gradients before it writes them, whatever they hold now.
    for (const g of p.grads) {
      const t = g.tensor;
      if (g.clearedFirst && t.grad !== g.left) {
        t.grad?.dispose();
        t.grad = null;
      }
    }
    // Arguments are bound where the trace bound its copies of them, unless a kernel writes one.
    const rebind = new Map<Storage, Storage>();
    p.inputs.forEach((s, i) => {
      const arg = args[i]!;
      if (p.work.canBindInput(s, arg)) rebind.set(s, arg);
      else cap.copyStorage(arg, s);
    });
    for (const o of p.outputs) {
      if (!o.rebind) continue;
      const s = be.allocate('compiled function result', o.shape);
      results.push(s);
      rebind.set(o.storage, s);
    }
    cap.runCaptured(p.work, rebind);
    // A cleared-first gradient the trace left set holds this call's values again; bring it back if the caller dropped it.
    for (const g of p.grads) {
      const t = g.tensor;
      if (!g.clearedFirst || !g.leftStorage || (t.grad === g.left && t.grad !== null)) continue;
      g.leftStorage.refs++;
      g.left = new Tensor(be, g.leftStorage, t.shape, false, false);
      t.grad = g.left;
    }
    // From here the results belong to the tensors copyOut makes.
    results.length = 0;
    return copyOut(p, rebind);
  } finally {
    // Results not handed to tensors (the call failed) go back.
    for (const s of results) be.release(s);
    for (const a of args) be.release(a);
  }
}

/** Tensors holding the results: the storages the kernels wrote for this call, or copies. */
function copyOut(p: Program, rebind: ReadonlyMap<Storage, Storage>): unknown {
  const be = p.backend;
  const tensors = p.outputs.map(({ storage, shape, dtype, rebind: own }) => {
    let s = own ? rebind.get(storage) : undefined;
    if (!s) {
      s = be.allocate('compiled function result', shape);
      be.capture!.copyStorage(rebind.get(storage) ?? storage, s);
    }
    return new Tensor(be, s, shape, false, true, dtype);
  });
  void be.flushSoon();
  return p.rebuild(tensors);
}
