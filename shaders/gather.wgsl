// Writes for the shape ops (reads through views are index arithmetic in the kernels that read
// them, src/gpu/render.ts): one scatter kernel writes a block of a larger tensor (a slice's gradient is a pad node, not a kernel); {{IDX}} is
// straight-line code from stridedOffset() with the shape baked in.

//# scatter
// cat: each input copies itself into its own block of the output, so the dispatches never overlap.
@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = linear_index(gid, nwg);
  if (i >= {{N}}u) { return; }
  out[{{IDX}}] = x[i];
}
