// mseLoss: mean((a - b)²) over all elements, read as vec4 (2.5-3x faster than scalar loads on
// SwiftShader, fewer load instructions everywhere).

//# forward_partial
// Each thread sums the squared differences of a grid-stride slice (neighbouring threads read
// neighbouring vec4s; on a CPU adapter a slice of its SIMD group's contiguous chunk, walkBounds in
// src/gpu/wgsl.ts) in a register, with no barrier, and writes one partial already scaled by
// 1/n; a small second pass adds the partials in a fixed order. The last, partial vec4 goes to
// thread 0 with its missing lanes masked out.
@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = linear_index(gid, nwg);
  if (t >= {{THREADS}}u) { return; }
  {{WALK_SETUP}}
  var acc = vec4<f32>(0.0);
  for (var v = {{WALK_START}}; v < {{WALK_END}}; v = v + {{WALK_STEP}}) {
    let d = a_[v] - b_[v];
    acc = acc + d * d;
  }
  if ({{REM}}u > 0u && t == 0u) {
    let keep = vec4<u32>(0u, 1u, 2u, 3u) < vec4<u32>({{REM}}u);
    let d = select(vec4<f32>(0.0), a_[{{FULL}}u] - b_[{{FULL}}u], keep);
    acc = acc + d * d;
  }
  part[t] = ((acc.x + acc.y) + (acc.z + acc.w)) * param(0u);
}

//# backward
// da = 2(a - b)/n · g and db = -da, both from one read of a and b. param(0) = 2/n.
@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let v = linear_index(gid, nwg);
  if (v >= {{VECS}}u) { return; }
  let d = (a_[v] - b_[v]) * (g_[0] * param(0u));
  {{STORES}}
}
