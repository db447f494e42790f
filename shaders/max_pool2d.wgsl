// maxPool2d on NHWC images. Padding never wins a window (it reads as -infinity, as in PyTorch and
// tfjs); ties go to the first maximum in row-major window order, which the forward and the
// backward find with the same function, so the gradient lands where the value came from.

//# argmax
// The first maximum of output pixel (n, oy, ox)'s window in channel c, as an index into x.
fn window_argmax(n: u32, oy: u32, ox: u32, c: u32) -> u32 {
  var best = 0.0;
  var at = 0u;
  var found = false;
  for (var ky = 0u; ky < {{KH}}u; ky = ky + 1u) {
    let iy = i32(oy * {{SH}}u + ky) - {{PT}};
    if (iy < 0 || iy >= {{H}}) { continue; }
    for (var kx = 0u; kx < {{KW}}u; kx = kx + 1u) {
      let ix = i32(ox * {{SW}}u + kx) - {{PL}};
      if (ix < 0 || ix >= {{W}}) { continue; }
      let i = ((n * {{H}}u + u32(iy)) * {{W}}u + u32(ix)) * {{C}}u + c;
      let v = x[i];
      if (!found || v > best) {
        best = v;
        at = i;
        found = true;
      }
    }
  }
  return at;
}

//# forward
@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = linear_index(gid, nwg);
  if (t >= {{THREADS}}u) { return; }
  let c = t % {{C}}u;
  let p = t / {{C}}u;
  out[t] = x[window_argmax(p / {{OHW}}u, (p / {{OW}}u) % {{OH}}u, p % {{OW}}u, c)];
}

//# backward
// One thread per input element: it visits the windows that contain it and takes the gradient of
// each whose first maximum it is (no atomics, no scatter).
@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = linear_index(gid, nwg);
  if (t >= {{THREADS}}u) { return; }
  let c = t % {{C}}u;
  let q = t / {{C}}u;
  let ix = i32(q % {{W}}u);
  let iy = i32((q / {{W}}u) % {{H}}u);
  let n = q / {{HW}}u;
  var acc = 0.0;
  for (var ky = 0u; ky < {{KH}}u; ky = ky + 1u) {
    let ty = iy + {{PT}} - i32(ky);
    if (ty < 0 || ty % {{SH}} != 0 || ty / {{SH}} >= {{OH}}) { continue; }
    for (var kx = 0u; kx < {{KW}}u; kx = kx + 1u) {
      let tx = ix + {{PL}} - i32(kx);
      if (tx < 0 || tx % {{SW}} != 0 || tx / {{SW}} >= {{OW}}) { continue; }
      let oy = u32(ty / {{SH}});
      let ox = u32(tx / {{SW}});
      if (window_argmax(n, oy, ox, c) == t) {
        acc = acc + g[((n * {{OH}}u + oy) * {{OW}}u + ox) * {{C}}u + c];
      }
    }
  }
  dx[t] = acc;
}
