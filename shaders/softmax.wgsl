// softmax and logSoftmax along any axis: one thread per row (the elements along the axis for fixed
// other coordinates, {{STRIDE}} apart), max-subtracted so exp never overflows. Rows are
// independent, so no thread waits on another and no barrier is needed.

//# softmax_forward
@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let r = linear_index(gid, nwg);
  if (r >= {{ROWS}}u) { return; }
  let base = {{BASE}};
  var mx: f32 = -3.4028234e38;
  for (var j = 0u; j < {{L}}u; j = j + 1u) { mx = max(mx, x[base + j * {{STRIDE}}u]); }
  var s: f32 = 0.0;
  // exp is computed once: stored, then scaled by 1/sum.
  for (var j = 0u; j < {{L}}u; j = j + 1u) {
    let e = exp(x[base + j * {{STRIDE}}u] - mx);
    y[base + j * {{STRIDE}}u] = e;
    s = s + e;
  }
  let inv = 1.0 / s;
  for (var j = 0u; j < {{L}}u; j = j + 1u) { y[base + j * {{STRIDE}}u] = y[base + j * {{STRIDE}}u] * inv; }
}

//# log_softmax_forward
@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let r = linear_index(gid, nwg);
  if (r >= {{ROWS}}u) { return; }
  let base = {{BASE}};
  var mx: f32 = -3.4028234e38;
  for (var j = 0u; j < {{L}}u; j = j + 1u) { mx = max(mx, x[base + j * {{STRIDE}}u]); }
  var s: f32 = 0.0;
  for (var j = 0u; j < {{L}}u; j = j + 1u) { s = s + exp(x[base + j * {{STRIDE}}u] - mx); }
  let shift = mx + log(s);
  for (var j = 0u; j < {{L}}u; j = j + 1u) { y[base + j * {{STRIDE}}u] = x[base + j * {{STRIDE}}u] - shift; }
}

//# softmax_backward
// dx = y * (g - sum(g * y)) over the row.
@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let r = linear_index(gid, nwg);
  if (r >= {{ROWS}}u) { return; }
  let base = {{BASE}};
  var s: f32 = 0.0;
  for (var j = 0u; j < {{L}}u; j = j + 1u) { let o = base + j * {{STRIDE}}u; s = s + g_[o] * y_[o]; }
  for (var j = 0u; j < {{L}}u; j = j + 1u) { let o = base + j * {{STRIDE}}u; dx[o] = y_[o] * (g_[o] - s); }
}

//# log_softmax_backward
// dx = g - softmax(x) * sum(g), with softmax(x) = exp(y).
@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let r = linear_index(gid, nwg);
  if (r >= {{ROWS}}u) { return; }
  let base = {{BASE}};
  var s: f32 = 0.0;
  for (var j = 0u; j < {{L}}u; j = j + 1u) { s = s + g_[base + j * {{STRIDE}}u]; }
  for (var j = 0u; j < {{L}}u; j = j + 1u) { let o = base + j * {{STRIDE}}u; dx[o] = g_[o] - exp(y_[o]) * s; }
}

//# softmax_forward_rows
// Short rows (the K colours of a pixel): the row lives in registers, so x is read once and y written once.
@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let r = linear_index(gid, nwg);
  if (r >= {{ROWS}}u) { return; }
  let base = {{BASE}};
  var v: array<f32, {{L}}>;
  var mx: f32 = -3.4028234e38;
  for (var j = 0u; j < {{L}}u; j = j + 1u) { v[j] = x[base + j * {{STRIDE}}u]; mx = max(mx, v[j]); }
  var s: f32 = 0.0;
  for (var j = 0u; j < {{L}}u; j = j + 1u) { v[j] = exp(v[j] - mx); s = s + v[j]; }
  let inv = 1.0 / s;
  for (var j = 0u; j < {{L}}u; j = j + 1u) { y[base + j * {{STRIDE}}u] = v[j] * inv; }
}

//# softmax_backward_rows
@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let r = linear_index(gid, nwg);
  if (r >= {{ROWS}}u) { return; }
  let base = {{BASE}};
  var gv: array<f32, {{L}}>;
  var yv: array<f32, {{L}}>;
  var s: f32 = 0.0;
  for (var j = 0u; j < {{L}}u; j = j + 1u) {
    let o = base + j * {{STRIDE}}u;
    gv[j] = g_[o];
    yv[j] = y_[o];
    s = s + gv[j] * yv[j];
  }
  for (var j = 0u; j < {{L}}u; j = j + 1u) { dx[base + j * {{STRIDE}}u] = yv[j] * (gv[j] - s); }
}

//# softmax_forward_vec4
// Contiguous rows whose length is a multiple of 4 (8 or 16 colours): vec4 loads and stores.
@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let r = linear_index(gid, nwg);
  if (r >= {{ROWS}}u) { return; }
  let base = r * {{Q}}u;
  var v: array<vec4<f32>, {{Q}}>;
  var m4 = vec4<f32>(-3.4028234e38);
  for (var j = 0u; j < {{Q}}u; j = j + 1u) { v[j] = x[base + j]; m4 = max(m4, v[j]); }
  let mx = max(max(m4.x, m4.y), max(m4.z, m4.w));
  var s4 = vec4<f32>(0.0);
  for (var j = 0u; j < {{Q}}u; j = j + 1u) { v[j] = exp(v[j] - mx); s4 = s4 + v[j]; }
  let inv = 1.0 / (s4.x + s4.y + s4.z + s4.w);
  for (var j = 0u; j < {{Q}}u; j = j + 1u) { y[base + j] = v[j] * inv; }
}

//# softmax_backward_vec4
@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let r = linear_index(gid, nwg);
  if (r >= {{ROWS}}u) { return; }
  let base = r * {{Q}}u;
  var gv: array<vec4<f32>, {{Q}}>;
  var yv: array<vec4<f32>, {{Q}}>;
  var s4 = vec4<f32>(0.0);
  for (var j = 0u; j < {{Q}}u; j = j + 1u) { gv[j] = g_[base + j]; yv[j] = y_[base + j]; s4 = s4 + gv[j] * yv[j]; }
  let s = s4.x + s4.y + s4.z + s4.w;
  for (var j = 0u; j < {{Q}}u; j = j + 1u) { dx[base + j] = yv[j] * (gv[j] - s); }
}
