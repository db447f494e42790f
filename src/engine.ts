/** Process-wide state: the active backend, grad mode and tidy scopes. Nothing here touches WebGPU at import. */
import type { Backend, Storage } from './backend.ts';
import type { Tensor } from './tensor.ts';
import { NotInitializedError } from './errors.ts';

export interface Scope {
  readonly tensors: Set<{ dispose(): void; readonly isDisposed: boolean }>;
}

/** An optimizer update seen by a trace: how to check and re-derive its parameters on each later call. */
export interface UpdateHook {
  /** Throws if the optimizer can no longer step (disposed). */
  check(): void;
  /** Advances the optimizer's step count and returns the update's parameters for it. */
  next(): readonly number[];
}

/** What a trace of a compiled function watches (src/compile.ts). */
export interface TraceWatch {
  /** Tensors with a smaller id were made before the trace. */
  readonly firstId: number;
  /** An op used `t`, made before the trace, whose storage is `s`. */
  readExternal(t: Tensor, s: Storage): void;
  /** `t`'s .grad is about to change: cleared (zeroGrad) or added into (backward). */
  gradChange(t: Tensor, clearing: boolean): void;
  /** An optimizer passed `args` to the update of the parameter stored in `param`. */
  update(param: Storage, args: readonly number[], hook: UpdateHook): void;
}

export const engine = {
  /** Set while a compiled function is traced. */
  trace: null as TraceWatch | null,
  backend: null as Backend | null,
  gradEnabled: true,
  scopes: [] as Scope[],
  liveTensors: 0,
  nextTensorId: 1,
};

/** fn's result, with no operation recorded for autograd while it runs (pg.noGrad, masks). */
export function withoutGrad<T>(fn: () => T): T {
  const prev = engine.gradEnabled;
  engine.gradEnabled = false;
  try {
    return fn();
  } finally {
    engine.gradEnabled = prev;
  }
}

export function activeBackend(op: string): Backend {
  const b = engine.backend;
  if (!b) throw new NotInitializedError(op);
  return b;
}
