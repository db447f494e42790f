// Writes for the shape ops (reads through views are index arithmetic in the kernels that read
// them, src/gpu/render.ts): one scatter kernel writes a block of a larger tensor; {{IDX}} is
// straight-line code from stridedOffset() with the shape baked in.

//# scatter
// cat: each input copies itself into its own block of the output, so the dispatches never overlap.
@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = linear_index(gid, nwg);
  if (i >= {{N}}u) { return; }
  out[{{IDX}}] = x[i];
}

//# slice_backward
// One pass over the input's shape: the gradient inside the window, 0 outside, so dx needs no
// separate clearing dispatch.
@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = linear_index(gid, nwg);
  if (i >= {{N}}u) { return; }
  {{COORDS}}
  if ({{INSIDE}}) {
    dx[i] = g_[{{G_OFFSET}}];
  } else {
    dx[i] = 0.0;
  }
}

//# zeros
// The gradient of an empty slice: there is no g to bind.
@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = linear_index(gid, nwg);
  if (i >= {{N}}u) { return; }
  dx[i] = 0.0;
}
