// Index-driven reads and writes. Index values are float32 holding integers (pixelgrad has no
// integer dtype yet): pick() rounds one to the nearest integer and clamps it into [0, n), so a bad
// index (out of range, NaN) reads or writes a valid element instead of memory out of bounds. The
// CPU backend throws for such an index instead (src/ops/gather.ts). Reads (a take node) and short
// scatters (a one-hot sum) are expressions the compiler renders; a long scatter is the kernel
// below, its shapes baked in as literals: a tensor is read as (outer, axis, inner), the axis of
// length {{N}} (the target's) or {{K}} (the index's), and {{I}} elements inside it.

//# pick
fn pick(v: f32, n: u32) -> u32 {
  // clamp() of a NaN may give NaN, and u32(NaN) any value: the final min() bounds it either way.
  return min(u32(clamp(round(v), 0.0, f32(n - 1u))), n - 1u);
}

//# scatter_add_atomic
// For a long index axis: one thread per src element adds it into out[o, pick(index[o, k, i]), i],
// which already holds the target. WGSL has no float atomics, so the add is a compare-exchange loop
// on the bits; threads that hit one element retry in turn, and the order of the sum varies by run.
@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = linear_index(gid, nwg);
  if (i >= {{SIZE}}u) { return; }
  let outer = i / ({{K}}u * {{I}}u);
  let at = (outer * {{N}}u + pick(index[i], {{N}}u)) * {{I}}u + i % {{I}}u;
  let v = src[i];
  var old = atomicLoad(&out[at]);
  loop {
    let r = atomicCompareExchangeWeak(&out[at], old, bitcast<u32>(bitcast<f32>(old) + v));
    if (r.exchanged) { break; }
    old = r.old_value;
  }
}
