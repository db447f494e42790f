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
  return select(r, nan_f(), is_nan_f(x) | (x < 0.0));
}
// sqrt: NaN below 0 (and for NaN), x itself at 0 and +inf.
fn sqrt_real(x: f32) -> f32 {
  return select(select(sqrt(x), x, (x == 0.0) | is_inf_f(x)), nan_f(), is_nan_f(x) | (x < 0.0));
}
// C's pow, as PyTorch: x^0 = 1 and 1^y = 1 (even for NaN); otherwise NaN in gives NaN; 0^y is 0
// (y > 0) or inf (y < 0); a negative base needs an integer exponent (odd keeps the sign) or gives
// NaN; infinite bases and exponents follow the limits. WGSL's pow is undefined for x <= 0.
fn pow_real(a: f32, b: f32) -> f32 { return pow_log(a, b, log2_abs(a)); }
// log2|a| (-inf at 0, +inf at inf), computed once per element where pow's forward and both of
// its gradients read it: one log for all three (pow_real's builtin pow hides a log and an exp).
fn log2_abs(a: f32) -> f32 {
  let m = abs(a);
  return select(select(log2(m), -inf_f(), m == 0.0), m, is_inf_f(m) | is_nan_f(m));
}
// pow_real(a, b) from l = log2_abs(a): selects around one exp2. Here and in every expression the
// compiler emits, & and | (never && and ||, never branches): on SwiftShader a short-circuit is a
// branch, and with branches this took 4× longer per element and up to minutes to compile.
fn pow_log(a: f32, b: f32, l: f32) -> f32 {
  let inf = inf_f();
  let m = abs(a);
  let whole = b == round(b);
  let odd = whole & (abs(b) < 16777216.0) & (fract(b * 0.5) != 0.0);
  // l - l is NaN for a NaN l (some exp2 give inf for NaN); a clamped b keeps inf·0 = NaN out at |a| = 1.
  let r0 = exp2(clamp(b, -1e30, 1e30) * l) * (1.0 + (l - l));
  let r1 = select(r0, select(0.0, inf, b < 0.0), m == 0.0);
  let r2 = select(r1, select(0.0, inf, b > 0.0), m == inf);
  let r3 = select(r2, -r2, (a < 0.0) & odd);
  let bad = ((a < 0.0) & (m != inf) & !whole) | is_nan_f(b);
  return select(select(r3, inf - inf, bad), 1.0, (b == 0.0) | (a == 1.0));
}
// a^(b-1) for pow's gradient, from y = a^b and l = log2|a|: one exp2 and four selects, where
// pow_log's own tests for an integer exponent made a tone curve's step 30% slower. A negative
// base's power takes its sign from y's (a^(b-1) has the other sign), where b is an integer that
// float32 can tell odd from even; anything else y was NaN for stays NaN.
fn pow_less1(a: f32, b: f32, y: f32, l: f32) -> f32 {
  let m = exp2(clamp(b - 1.0, -1e30, 1e30) * l);
  let flip = (a < 0.0) & ((bitcast<u32>(y) & 0x80000000u) == 0u) & (b == round(b)) & (abs(b) < 16777216.0);
  return select(select(select(m, -m, flip), nan_f(), is_nan_f(y)), 1.0, (b == 1.0) | (a == 1.0));
}
// pow_less1 for a base that is +0 or above, or NaN: no sign to flip. exp2 of (b - 1) l is already
// 0 or inf where a is 0 or inf; pow_nonneg(a, b - 1, l), which tests for those, made a tone
// curve's step 15-20% slower.
fn pow_less1_nonneg(a: f32, b: f32, y: f32, l: f32) -> f32 {
  let m = exp2(clamp(b - 1.0, -1e30, 1e30) * l);
  return select(select(m, nan_f(), is_nan_f(y)), 1.0, (b == 1.0) | (a == 1.0));
}
// pow_less1 where a is 0 or inf: what a gradient that cancels a^(b-1) against a (a^(b-1)·a = a^b)
// multiplies out there, so that it keeps the 0·inf = NaN of the general path.
fn pow_less1_edge(a: f32, b: f32) -> f32 { return select(select(0.0, inf_f(), (b > 1.0) != (a == 0.0)), 1.0, b == 1.0); }
// pow_log for a base that is +0 or above, or NaN (never -0).
fn pow_nonneg(a: f32, b: f32, l: f32) -> f32 {
  let inf = inf_f();
  let r0 = exp2(clamp(b, -1e30, 1e30) * l) * (1.0 + (l - l));
  let r1 = select(r0, select(0.0, inf, b < 0.0), a == 0.0);
  let r2 = select(r1, select(0.0, inf, b > 0.0), a == inf);
  return select(select(r2, inf - inf, is_nan_f(b)), 1.0, (b == 0.0) | (a == 1.0));
}
// log2_abs and pow_nonneg for a base within [+0, 1], or NaN: no tests for an infinite one.
fn log2_unit(a: f32) -> f32 { return select(select(log2(a), -inf_f(), a == 0.0), a, is_nan_f(a)); }
fn pow_unit(a: f32, b: f32, l: f32) -> f32 {
  let r0 = exp2(clamp(b, -1e30, 1e30) * l) * (1.0 + (l - l));
  let r1 = select(r0, select(0.0, inf_f(), b < 0.0), a == 0.0);
  return select(select(r1, nan_f(), is_nan_f(b)), 1.0, (b == 0.0) | (a == 1.0));
}
// ln a from l = log2_abs(a): NaN below 0, as log_real.
fn ln_log2(a: f32, l: f32) -> f32 { return select(l * 0.6931471805599453, nan_f(), a < 0.0); }
fn sigmoid_f(x: f32) -> f32 {
  // One exp of a non-positive number (no overflow), either side of 0, and one division.
  let e = exp(-abs(x));
  let r = 1.0 / (1.0 + e);
  return select(e * r, r, x >= 0.0);
}
// WGSL's max, min and clamp may drop a NaN; PyTorch's propagate it.
fn max_nan(a: f32, b: f32) -> f32 { return select(max(a, b), nan_f(), is_nan_f(a) | is_nan_f(b)); }
fn min_nan(a: f32, b: f32) -> f32 { return select(min(a, b), nan_f(), is_nan_f(a) | is_nan_f(b)); }
// maximum's share of the gradient for x against `other`: 1 above, 0.5 at a tie, 0 below; with a
// NaN (not below, not a tie) 1 to both, as PyTorch.
fn tie_share(x: f32, other: f32) -> f32 {
  return select(select(1.0, 0.5, x == other), 0.0, x < other);
}

// t.to('int32'): toward zero, or to the nearest (ties to even) when `nearest` is set; NaN gives 0,
// and the result stays within ±2^24, where float32 stops holding every whole number. A zero is
// +0 (trunc(-0.5) is -0, which int32 has no room for).
fn to_int32(x: f32, nearest: bool) -> f32 {
  let r = clamp(select(trunc(x), round(x), nearest), -16777216.0, 16777216.0);
  return select(r, 0.0, is_nan_f(x) | (r == 0.0));
}
