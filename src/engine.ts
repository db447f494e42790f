/** Process-wide state: the active backend, grad mode and tidy scopes. Nothing here touches WebGPU at import. */
import type { Backend } from './backend.ts';
import { NotInitializedError } from './errors.ts';

export interface Scope {
  readonly tensors: Set<{ dispose(): void; readonly isDisposed: boolean }>;
}

export const engine = {
  backend: null as Backend | null,
  gradEnabled: true,
  scopes: [] as Scope[],
  liveTensors: 0,
  nextTensorId: 1,
};

export function activeBackend(op: string): Backend {
  const b = engine.backend;
  if (!b) throw new NotInitializedError(op);
  return b;
}
