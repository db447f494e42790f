// Reductions over any set of axes. Each thread accumulates an interleaved slice of one output's
// reduced elements in a register (on a CPU adapter, of its SIMD group's contiguous chunk of them:
// walkBounds in src/gpu/wgsl.ts), with no barrier (barriers cost ~0.2 ms per workgroup on
// SwiftShader and serialize real GPUs too); when there are few outputs, a second pass of the same
// kernel combines the per-thread partials, deterministically.

//# reduce
@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = linear_index(gid, nwg);
  if (t >= {{THREADS}}u) { return; }
  let o = {{O_OF_T}};
  let p = {{P_OF_T}};
  let base = {{OUTER_OFFSET}};
  {{WALK_SETUP}}
  var acc: f32 = {{INIT}};
  for (var r = {{WALK_START}}; r < {{WALK_END}}; r = r + {{WALK_STEP}}) {
    let v = x[base + {{INNER_OFFSET}}];
    acc = {{COMBINE}};
  }
  out[o * {{P}}u + p] = {{FINISH}};
}

//# broadcast_grad
// Gradient of sum and mean: every input element receives its output's gradient (times 1/n for mean).
@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = linear_index(gid, nwg);
  if (i >= {{N}}u) { return; }
  dx[i] = g_[{{IDX}}] * param(0u);
}

//# max_mask
// 1 where an input equals its output's maximum.
@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = linear_index(gid, nwg);
  if (i >= {{N}}u) { return; }
  mask[i] = select(0.0, 1.0, x_[i] == y_[{{IDX}}]);
}

//# max_grad
// Ties share the gradient evenly, as torch.amax does.
@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = linear_index(gid, nwg);
  if (i >= {{N}}u) { return; }
  let j = {{IDX}};
  dx[i] = select(0.0, g_[j] / count[j], x_[i] == y_[j]);
}
