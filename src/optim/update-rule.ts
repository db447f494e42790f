/** An optimizer's fused in-place update: one WGSL function per rule, its kernel, and its float64 reference. */
import optimWgsl from '../../shaders/optim.wgsl?raw';
import { fill, section } from '../gpu/wgsl.ts';

/** An optimizer's update: its WGSL function, state names and float64 reference (not exported from the package). */
export interface UpdateRule {
  readonly name: string;
  /**
   * A shader section defining `fn rule_update(p, g, ...state, pb)`: `p` and each state are
   * ptr<function, vec4<f32>> updated in place, `g` the gradient, `pb` where its param(i) start.
   */
  readonly shader: string;
  /** Names of the state arrays, bound after `param`. */
  readonly state: readonly string[];
  /** Float64 reference of the same update, in place on param and state. */
  reference(param: Float64Array, grad: Float64Array, state: readonly Float64Array[], params: readonly number[]): void;
}

/** The statement that updates `p` (a var) from gradient `g`, with the state in vars `stateVars`, params from `pb`. */
export function ruleCall(p: string, g: string, stateVars: readonly string[], pb: number): string {
  return `rule_update(&${p}, ${g}, ${stateVars.map((s) => `&${s}, `).join('')}${pb}u);`;
}

/** The optimizer's own kernel body over `quads` vec4s (bindings: grad, param_, then the state arrays). */
export function updateKernelBody(rule: UpdateRule, quads: number): string {
  return `${rule.shader}\n${fill(section(optimWgsl, 'kernel'), {
    N: quads,
    LOAD_STATE: rule.state.map((s, j) => `  var s${j} = ${s}[i];`).join('\n'),
    STATE_ARGS: rule.state.map((_, j) => `&s${j}, `).join(''),
    STORE_STATE: rule.state.map((s, j) => `  ${s}[i] = s${j};`).join('\n'),
  })}`;
}
