// Index-driven reads and writes. Index values are float32 holding integers (pixelgrad has no
// integer dtype yet): pick() rounds one to the nearest integer and clamps it into [0, n), so a bad
// index (out of range, NaN) reads or writes a valid element instead of memory out of bounds. The
// CPU backend throws for such an index instead (src/ops/gather.ts). Shapes are baked in as literals:
// a tensor is read as (outer, axis, inner), the axis of length {{N}} (the source's) or {{K}} (the
// index's), and {{I}} elements inside it.

//# pick
fn pick(v: f32, n: u32) -> u32 {
  // clamp() of a NaN may give NaN, and u32(NaN) any value: the final min() bounds it either way.
  return min(u32(clamp(round(v), 0.0, f32(n - 1u))), n - 1u);
}

//# gather
// out[o, k, i] = x[o, pick(index[o, k, i]), i]: one thread per output element.
@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = linear_index(gid, nwg);
  if (i >= {{SIZE}}u) { return; }
  let outer = i / ({{K}}u * {{I}}u);
  let j = pick(index[i], {{N}}u);
  out[i] = x[(outer * {{N}}u + j) * {{I}}u + i % {{I}}u];
}

//# scatter_add
// out[o, n, i] = {{INIT}} + Σ_k [pick(index[o, k, i]) == n] src[o, k, i], for a short index axis:
// each output element loops over the K index entries of its line, so the sum is deterministic
// (added in k order) and costs K reads of index per output element.
@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = linear_index(gid, nwg);
  if (i >= {{SIZE}}u) { return; }
  let inner = i % {{I}}u;
  let n = (i / {{I}}u) % {{N}}u;
  let first = (i / ({{N}}u * {{I}}u)) * {{K}}u * {{I}}u + inner;
  var acc: f32 = {{INIT}};
  for (var k = 0u; k < {{K}}u; k = k + 1u) {
    let at = first + k * {{I}}u;
    if (pick(index[at], {{N}}u) == n) { acc = acc + src[at]; }
  }
  out[i] = acc;
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
