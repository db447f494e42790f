/** An optimizer's fused in-place update: one WGSL function per rule, its kernel, and its float64 reference. */
import { type MapTemplate, mapTemplate } from '../ir/expr.ts';

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

/**
 * The rule as an elementwise template over (g, p, ...state) with one output per updated array
 * (p, then each state): the queue assigns them in place (src/gpu/lazy.ts). The rule's function is
 * written for vec4 lanes and f32 alike, so its f32 copy (renamed per rule) serves here. The rule
 * runs once per element, into a vec4 let that the outputs pick from (the renderer computes a
 * template's outputs together where they share lets): an output each would run it once per array.
 */
export function updateTemplate(rule: UpdateRule): MapTemplate {
  return mapTemplate(`update:${rule.name}`, () => {
    const fn = `rule_update_${rule.name}`;
    const scalar = rule.shader.replaceAll('vec4<f32>', 'f32').replaceAll('rule_update', fn);
    const state = rule.state.map((_, j) => `s${j}`);
    const outs = ['p', ...state];
    if (outs.length > 4) throw new Error(`internal: update rule ${rule.name} updates ${outs.length} arrays, above 4`);
    const helper =
      `fn ${fn}_all(g: f32, p0: f32, ${state.map((v) => `${v}0: f32, `).join('')}pb: u32) -> vec4<f32> {\n` +
      `  var p = p0;\n${state.map((v) => `  var ${v} = ${v}0;\n`).join('')}` +
      `  ${fn}(&p, g, ${state.map((v) => `&${v}, `).join('')}pb);\n  return vec4<f32>(${[...outs, '0.0', '0.0', '0.0'].slice(0, 4).join(', ')});\n}`;
    return {
      name: rule.name,
      loads: ['g', 'p', ...state],
      lets: [['r', `${fn}_all(g, p, ${state.map((v) => `${v}, `).join('')}pb)`]],
      stores: outs.map((_, k) => `r.${'xyzw'[k]}`),
      helpers: [scalar, helper].join('\n'),
    };
  });
}
