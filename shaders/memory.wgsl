// Kernels the engine itself needs: accumulating gradients in place.

//# accumulate
// target += addend, four elements per thread ({{N}} counts vec4s); gradients of a tensor used twice meet here.
@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = linear_index(gid, nwg);
  if (i >= {{N}}u) { return; }
  target_[i] = target_[i] + addend[i];
}
