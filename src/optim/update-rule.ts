/** An optimizer's fused in-place update: one WGSL kernel per parameter and its float64 reference. */
export interface UpdateRule {
  readonly name: string;
  /** Shader section with {{N}} (the number of vec4s: arrays are vec4<f32>); reads `grad`, updates `param_` (`param` is the uniform reader) and the state arrays in place. */
  readonly shader: string;
  /** Names of the state arrays, bound after `param`. */
  readonly state: readonly string[];
  /** Float64 reference of the same update, in place on param and state. */
  reference(param: Float64Array, grad: Float64Array, state: readonly Float64Array[], params: readonly number[]): void;
}
