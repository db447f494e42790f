// The elementwise family: one forward and one backward kernel shape for every unary and binary op.
// {{EXPR}} and {{GRAD_*}} come from src/ops/elementwise-table.ts; {{IDX_*}} map an output index to
// an input offset under NumPy broadcasting.

//# helpers
// WGSL's pow is undefined for a negative base; integer exponents of negative bases are common ((x - t)^2).
fn pow_real(a: f32, b: f32) -> f32 {
  if (a >= 0.0) {
    if (a == 0.0) { return select(select(0.0, 1.0, b == 0.0), 1.0 / a, b < 0.0); }
    return pow(a, b);
  }
  let r = pow(-a, b);
  if (b == round(b)) { return select(r, -r, (i32(b) & 1) == 1); }
  return sqrt(a); // a < 0 here: NaN at run time (a NaN literal is a compile error in WGSL)
}
fn sigmoid_f(x: f32) -> f32 {
  if (x >= 0.0) { return 1.0 / (1.0 + exp(-x)); }
  let e = exp(x);
  return e / (1.0 + e);
}
fn tie_share(x: f32, other: f32) -> f32 {
  return select(select(0.0, 0.5, x == other), 1.0, x > other);
}

//# binary_forward
@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = linear_index(gid, nwg);
  if (i >= {{N}}u) { return; }
  let a = a_[{{IDX_A}}];
  let b = {{LOAD_B}};
  out[i] = {{EXPR}};
}

//# binary_backward
// Both input gradients in one pass over the output (in the output's shape; unbroadcast sums them back).
@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = linear_index(gid, nwg);
  if (i >= {{N}}u) { return; }
  let g = g_[i];
  {{LOADS}}
  {{STORES}}
}
