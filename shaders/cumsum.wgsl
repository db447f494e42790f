// Inclusive prefix sums along one axis, in chunks of {{C}} elements so that a long axis still
// spreads over many threads: the first pass sums each chunk, the chunk totals are scanned the same
// way (recursively, src/ops/cumsum.ts), and the second pass rescans each chunk from its offset.
// Every running sum is compensated (Kahan), so a 4096-long axis stays as accurate as a float64
// sum rounded once. A tensor is read as (outer, axis, inner) with the axis {{L}} long and {{I}}
// elements inside it; a line is one (outer, inner) pair, {{NC}} chunks each. {{POS}} is the axis
// position of scan step p: p, or L-1-p for a reversed scan (the gradient).

//# totals
@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = linear_index(gid, nwg);
  if (t >= {{THREADS}}u) { return; }
  let c = t % {{NC}}u;
  let line = t / {{NC}}u;
  let first = (line / {{I}}u) * {{L}}u * {{I}}u + line % {{I}}u;
  var s: f32 = 0.0;
  var comp: f32 = 0.0;
  let end = min((c + 1u) * {{C}}u, {{L}}u);
  for (var p = c * {{C}}u; p < end; p = p + 1u) {
    let y = x[first + ({{POS}}) * {{I}}u] - comp;
    let u = s + y;
    comp = compensation(u, s, y);
    s = u;
  }
  totals[t] = s;
}

//# scan
@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = linear_index(gid, nwg);
  if (t >= {{THREADS}}u) { return; }
  let c = t % {{NC}}u;
  let line = t / {{NC}}u;
  let first = (line / {{I}}u) * {{L}}u * {{I}}u + line % {{I}}u;
  var s: f32 = {{OFFSET}};
  var comp: f32 = 0.0;
  let end = min((c + 1u) * {{C}}u, {{L}}u);
  for (var p = c * {{C}}u; p < end; p = p + 1u) {
    let at = first + ({{POS}}) * {{I}}u;
    let y = x[at] - comp;
    let u = s + y;
    comp = compensation(u, s, y);
    s = u;
    out[at] = s;
  }
}
