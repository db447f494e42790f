// The fused elementwise kernel (src/gpu/fusion.ts): every queued elementwise op of one chain, per
// element, in registers. {{FUNCS}} holds one function per op output (its expression from the op
// table, parameters read from the op's slice of the uniform); {{BODY}} calls them in order.

//# main
// Four elements per thread: vec4 loads and stores run 2.5-3x faster than scalar ones on SwiftShader
// and coalesce better on GPUs. Buffers are allocated in 16-byte steps, so the last vec4 stays in
// bounds; lanes past N compute on padding that nothing reads.
@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let q = linear_index(gid, nwg);
  if (q >= {{QUADS}}u) { return; }
  {{VLOADS}}
  {{VDECLS}}
  for (var c = 0u; c < 4u; c = c + 1u) {
    {{BODY}}
  }
  {{VSTORES}}
}
