// Kahan summation's correction term, for the compiler's long sums and running sums
// (src/gpu/render.ts): s is the running sum, y the compensated addend, u = s + y the new sum.

//# helpers
// Dropped once the running sum is infinite: inf - inf would make it NaN, and the sum with it.
fn compensation(u: f32, s: f32, y: f32) -> f32 {
  return select(0.0, (u - s) - y, (bitcast<u32>(u) & 0x7fffffffu) < 0x7f800000u);
}
