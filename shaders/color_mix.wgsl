// colorMix: out[p, c] = Σ_k w[p, k]·pal[k, c], weights [P, K], palette [K, C].
//
// A thread owns a group of 4 pixels: their 4·K weights are exactly K vec4 loads and their 4·C
// outputs exactly C vec4 stores, whatever K and C are (vec4 loads are 2.5-3x faster than scalar
// ones on SwiftShader and halve the load instructions on real GPUs). K and C are baked in and the
// arithmetic is unrolled by src/ops/color-mix.ts: {{FULL_GROUP}} handles 4 pixels, {{TAIL_GROUP}}
// the last 1-3 pixels when P is not a multiple of 4, reading and writing only vec4s that hold
// real data.

//# forward
@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = linear_index(gid, nwg);
  if (t >= {{GROUPS}}u) { return; }
{{PALETTE}}
  if (t < {{FULL}}u) {
    let gi = t;
{{FULL_GROUP}}
  } else {
    let gi = t;
{{TAIL_GROUP}}
  }
}

//# backward
// dW[p, k] = Σ_c g[p, c]·pal[k, c] is written per group; dP[k, c] = Σ_p g[p, c]·w[p, k] is summed
// in K·C registers per thread over a grid-stride walk of groups (neighbouring threads read
// neighbouring groups; on a CPU adapter each SIMD group of threads walks its own contiguous chunk,
// walkBounds in src/gpu/wgsl.ts), with no barrier, and stored component-major (part[j·T + t]) so the
// stores coalesce and the second pass reduces contiguous rows. The tail group goes to one thread.
// On a GPU with subgroups (groupWalk's per-workgroup form) the walk has no early return and each
// workgroup adds its threads' sums (subgroupAdd, one barrier) into one partial per row,
// part[j·W + w]. colorMixLoss runs this walk too, its loss summed as one more row: its groups
// compute the residual against the target, the loss, and the gradients for an upstream 1
// (param(0) = 1/(P·C), param(1) = 2/(P·C)).
{{SCRATCH}}
@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>{{BUILTINS}}) {
  let t = linear_index(gid, nwg);
{{ENTRY}}
{{PALETTE}}
{{ACC_DECL}}
{{EXTRA_DECL}}
  for (var gi = {{WALK_START}}; gi < {{WALK_END}}; gi = gi + {{WALK_STEP}}) {
{{FULL_GROUP}}
  }
  if ({{HAS_TAIL}} && t == {{TAIL_THREAD}}u) {
    let gi = {{FULL}}u;
{{TAIL_GROUP}}
  }
{{STORE}}
}

//# finish
// colorMixLoss's second pass, one workgroup: {{R}} rows of partials ({{T4}} vec4s each, one per
// thread or per workgroup of the first pass:
// the palette gradient's K·C rows, then the loss's) are summed by {{L}} lanes each, in registers, then combined
// after one barrier (SwiftShader pays ~0.2 ms per barrier per workgroup: one, not a tree). The
// threads that know a vec4 of the palette gradient write it and may apply the optimizer step to
// the palette in the same breath, so the whole step is two dispatches.
var<workgroup> lanes: array<f32, WG>;
fn row_sum(r: u32) -> f32 {
  var s = 0.0;
  for (var l = 0u; l < {{L}}u; l++) { s += lanes[r * {{L}}u + l]; }
  return s;
}
fn grad_at(r: u32) -> f32 {
  if (r >= {{KC}}u) { return 0.0; }
  return row_sum(r);
}
@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) lid: u32) {
  let r = lid / {{L}}u;
  var acc = vec4<f32>(0.0);
  if (r < {{R}}u) {
    let base = r * {{T4}}u;
    for (var j = lid % {{L}}u; j < {{T4}}u; j += {{L}}u) { acc += part[base + j]; }
  }
  lanes[lid] = acc.x + acc.y + acc.z + acc.w;
  workgroupBarrier();
  if (lid == {{Q}}u) { loss[0] = row_sum({{KC}}u); }
{{PALETTE_GRAD}}
}

//# finish_serial
// The same pass for CPU adapters, without the barrier (on SwiftShader it costs more than the sums:
// 0.83 ms against 0.13-0.18 ms for the layer mix at S = 256): thread r sums row r by itself, so
// the four lanes SwiftShader runs together sum four rows in step, and the thread of a palette-
// gradient element stores it and steps that element.
fn row_sum(r: u32) -> f32 {
  let base = r * {{T4}}u;
  var a = vec4<f32>(0.0);
  var b = vec4<f32>(0.0);
  var j = 0u;
  for (; j + 2u <= {{T4}}u; j += 2u) {
    a += part[base + j];
    b += part[base + j + 1u];
  }
  if (j < {{T4}}u) { a += part[base + j]; }
  let s = a + b;
  return s.x + s.y + s.z + s.w;
}
@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) lid: u32) {
  if (lid > {{KC}}u) { return; }
  let s = row_sum(lid);
  if (lid == {{KC}}u) {
    loss[0] = s;
    return;
  }
{{PALETTE_ELEMENT}}
}

// ---- Palettes too large to unroll (K·C above UNROLLED_KC): plain loops, K and C still baked in. ----

//# forward_loop
// One thread per pixel.
@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let p = linear_index(gid, nwg);
  if (p >= {{P}}u) { return; }
  for (var c = 0u; c < {{C}}u; c++) {
    var acc = 0.0;
    for (var k = 0u; k < {{K}}u; k++) { acc += w_[p * {{K}}u + k] * pal[k * {{C}}u + c]; }
    out[p * {{C}}u + c] = acc;
  }
}

//# backward_loop_dw
// One thread per weight: dW[p, k] = Σ_c g[p, c]·pal[k, c].
@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = linear_index(gid, nwg);
  if (i >= {{PK}}u) { return; }
  let p = i / {{K}}u;
  let k = i % {{K}}u;
  var acc = 0.0;
  for (var c = 0u; c < {{C}}u; c++) { acc += g_[p * {{C}}u + c] * pal[k * {{C}}u + c]; }
  dw[i] = acc;
}

//# backward_loop_dp
// Thread j·S + s sums palette entry j = k·C + c over pixels s, s + S, ...; the partials are rows
// of S that the second pass reduces.
@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = linear_index(gid, nwg);
  if (t >= {{THREADS}}u) { return; }
  let j = t / {{S}}u;
  let k = j / {{C}}u;
  let c = j % {{C}}u;
  var acc = 0.0;
  for (var p = t % {{S}}u; p < {{P}}u; p += {{S}}u) { acc += g_[p * {{C}}u + c] * w_[p * {{K}}u + k]; }
  part[t] = acc;
}

