// Functions the elementwise family's expressions (src/ops/elementwise-table.ts) call; the
// renderer (src/gpu/render.ts) includes them in every kernel that evaluates one.

//# helpers
// WGSL leaves NaN, infinities and log/sqrt/pow of out-of-domain inputs to the implementation, and
// a NaN or infinite constant expression is a compile error. So these helpers test bit patterns and
// build NaN and inf at run time (from a `var`, which is not a constant expression): every rule in
// src/ops/elementwise-table.ts that needs an edge value defined writes it through them.
fn is_nan_f(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u; }
fn is_inf_f(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) == 0x7f800000u; }
fn nan_f() -> f32 { var bits = 0x7fc00000u; return bitcast<f32>(bits); }
fn inf_f() -> f32 { var bits = 0x7f800000u; return bitcast<f32>(bits); }
// log: -inf at 0, NaN below 0 and for NaN, +inf at +inf. Selects, not branches: a walk evaluates
// these for every element of every row, and straight-line code keeps SIMD lanes (and SwiftShader's
// emulated ones) together.
fn log_real(x: f32) -> f32 {
  let r = select(select(log(x), x, is_inf_f(x)), -inf_f(), x == 0.0);
  return select(r, nan_f(), is_nan_f(x) || x < 0.0);
}
// sqrt: NaN below 0 (and for NaN), x itself at 0 and +inf.
fn sqrt_real(x: f32) -> f32 {
  return select(select(sqrt(x), x, x == 0.0 || is_inf_f(x)), nan_f(), is_nan_f(x) || x < 0.0);
}
// C's pow, as PyTorch: x^0 = 1 and 1^y = 1 (even for NaN); otherwise NaN in gives NaN; 0^y is 0
// (y > 0) or inf (y < 0); a negative base needs an integer exponent (odd keeps the sign) or gives
// NaN; infinite bases and exponents follow the limits. WGSL's pow is undefined for x <= 0.
fn pow_real(a: f32, b: f32) -> f32 {
  if (b == 0.0 || a == 1.0) { return 1.0; }
  if (is_nan_f(a) || is_nan_f(b)) { return nan_f(); }
  let m = abs(a);
  let odd_int = !is_inf_f(b) && b == round(b) && abs(b) < 16777216.0 && (i32(b) & 1) == 1;
  if (a < 0.0 && !is_inf_f(a) && !is_inf_f(b) && b != round(b)) { return nan_f(); }
  var r: f32;
  if (is_inf_f(b)) {
    if (m == 1.0) { return 1.0; }
    r = select(0.0, inf_f(), (m > 1.0) == (b > 0.0));
  } else if (m == 0.0) {
    r = select(0.0, inf_f(), b < 0.0);
  } else if (is_inf_f(m)) {
    r = select(0.0, inf_f(), b > 0.0);
  } else {
    r = pow(m, b);
  }
  return select(r, -r, a < 0.0 && odd_int);
}
fn sigmoid_f(x: f32) -> f32 {
  // One exp of a non-positive number (no overflow), either side of 0.
  let e = exp(-abs(x));
  return select(e / (1.0 + e), 1.0 / (1.0 + e), x >= 0.0);
}
// WGSL's max, min and clamp may drop a NaN; PyTorch's propagate it.
fn max_nan(a: f32, b: f32) -> f32 { return select(max(a, b), nan_f(), is_nan_f(a) || is_nan_f(b)); }
fn min_nan(a: f32, b: f32) -> f32 { return select(min(a, b), nan_f(), is_nan_f(a) || is_nan_f(b)); }
// maximum's share of the gradient for x against `other`: 1 above, 0.5 at a tie, 0 below; with a
// NaN (not below, not a tie) 1 to both, as PyTorch.
fn tie_share(x: f32, other: f32) -> f32 {
  return select(select(1.0, 0.5, x == other), 0.0, x < other);
}
