// Index-driven reads and writes (take and scatter nodes, one-hot sums: src/gpu/render.ts). Index
// values are float32 holding integers (pixelgrad has no integer dtype yet): pick() rounds one to
// the nearest integer and clamps it into [0, n), so a bad index (out of range, NaN) reads or writes
// a valid element instead of memory out of bounds. The CPU backend throws for such an index
// instead (src/ops/gather.ts).

//# pick
fn pick(v: f32, n: u32) -> u32 {
  // clamp() of a NaN may give NaN, and u32(NaN) any value: the final min() bounds it either way.
  return min(u32(clamp(round(v), 0.0, f32(n - 1u))), n - 1u);
}
