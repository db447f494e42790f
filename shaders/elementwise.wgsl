// Functions the elementwise family's expressions (src/ops/elementwise-table.ts) call; the
// renderer (src/gpu/render.ts) includes them in every kernel that evaluates one.

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
