// 2-D convolution on NHWC images with HWIO weights (src/ops/conv2d.ts generates the per-layout
// loads and multiply-adds). No kernel here uses workgroup memory or a barrier: a barrier costs
// ~0.2 ms per workgroup on SwiftShader, and every thread's reads of a 3x3 neighbourhood hit the
// same cache lines as its neighbours' anyway. Padding is never materialized: taps that fall
// outside the image are skipped.

//# forward
// One thread per output pixel and block of output channels (all 16 of a 16-channel layer as four
// vec4 accumulators): each input value read once feeds CO_PER multiply-adds.
@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = linear_index(gid, nwg);
  if (t >= {{THREADS}}u) { return; }
  let co = (t % {{CO_BLOCKS}}u) * {{CO_PER}}u;
  let p = t / {{CO_BLOCKS}}u;
  let ox = p % {{OW}}u;
  let oy = (p / {{OW}}u) % {{OH}}u;
  let n = p / {{OHW}}u;
  let ci0 = (co / {{COUT_G}}u) * {{CIN_G}}u;
  {{ACC}}
  for (var ky = 0u; ky < {{KH}}u; ky = ky + 1u) {
    let iy = i32(oy * {{SH}}u + ky * {{DH}}u) - {{PT}};
    if (iy < 0 || iy >= {{H}}) { continue; }
    for (var kx = 0u; kx < {{KW}}u; kx = kx + 1u) {
      let ix = i32(ox * {{SW}}u + kx * {{DW}}u) - {{PL}};
      if (ix < 0 || ix >= {{W}}) { continue; }
      let xi = (((n * {{H}}u + u32(iy)) * {{W}}u + u32(ix)) * {{CIN}}u + ci0) / {{XL}}u;
      let wi = ((ky * {{KW}}u + kx) * {{CIN_G}}u * {{COUT}}u + co) / {{WL}}u;
      for (var c = 0u; c < {{CIN_STEPS}}u; c = c + 1u) {
        let xv = x[xi + c];
        {{FMA}}
      }
    }
  }
  {{STORE}}
}

//# backward_input
// dx: the convolution of the gradient with the kernel flipped and transposed. One thread per input
// pixel and block of input channels; a tap reaches an output pixel only where the stride divides
// its offset, so strided layers skip the taps that land between output pixels.
@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = linear_index(gid, nwg);
  if (t >= {{THREADS}}u) { return; }
  let ci = (t % {{CI_BLOCKS}}u) * {{CI_PER}}u;
  let q = t / {{CI_BLOCKS}}u;
  let ix = i32(q % {{W}}u);
  let iy = i32((q / {{W}}u) % {{H}}u);
  let n = q / {{HW}}u;
  let grp = ci / {{CIN_G}}u;
  let cig = ci % {{CIN_G}}u;
  let co0 = grp * {{COUT_G}}u;
  {{ACC}}
  for (var ky = 0u; ky < {{KH}}u; ky = ky + 1u) {
    let ty = iy + {{PT}} - i32(ky * {{DH}}u);
    if (ty < 0 || ty % {{SH}} != 0 || ty / {{SH}} >= {{OH}}) { continue; }
    for (var kx = 0u; kx < {{KW}}u; kx = kx + 1u) {
      let tx = ix + {{PL}} - i32(kx * {{DW}}u);
      if (tx < 0 || tx % {{SW}} != 0 || tx / {{SW}} >= {{OW}}) { continue; }
      let gi = (((n * {{OH}}u + u32(ty / {{SH}})) * {{OW}}u + u32(tx / {{SW}})) * {{COUT}}u + co0) / {{GL}}u;
      let wi = (((ky * {{KW}}u + kx) * {{CIN_G}}u + cig) * {{COUT}}u + co0) / {{GL}}u;
      for (var c = 0u; c < {{COUT_STEPS}}u; c = c + 1u) {
        let gv = g[gi + c];
        {{FMA}}
      }
    }
  }
  let base = q * {{CIN}}u + ci;
  {{STORE}}
}

//# backward_weight
// dw: a sum over every output pixel. Thread t takes one block of weights (a tap, CI_PER input and
// CO_PER output channels) and one contiguous slice of pixels, sums it in registers and writes a
// partial; a reduction over the slices follows. Threads next to each other share a slice, so
// their reads of x and g hit the same lines.
@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = linear_index(gid, nwg);
  if (t >= {{THREADS}}u) { return; }
  let b = t % {{BLOCKS}}u;
  let s = t / {{BLOCKS}}u;
  let co = (b % {{CO_BLOCKS}}u) * {{CO_PER}}u;
  let rest = b / {{CO_BLOCKS}}u;
  let cig = (rest % {{CI_BLOCKS}}u) * {{CI_PER}}u;
  let tap = rest / {{CI_BLOCKS}}u;
  let ky = tap / {{KW}}u;
  let kx = tap % {{KW}}u;
  let ci = (co / {{COUT_G}}u) * {{CIN_G}}u + cig;
  {{ACC}}
  let p_end = min({{P}}u, (s + 1u) * {{CHUNK}}u);
  for (var p = s * {{CHUNK}}u; p < p_end; p = p + 1u) {
    let ox = p % {{OW}}u;
    let oy = (p / {{OW}}u) % {{OH}}u;
    let n = p / {{OHW}}u;
    let iy = i32(oy * {{SH}}u + ky * {{DH}}u) - {{PT}};
    let ix = i32(ox * {{SW}}u + kx * {{DW}}u) - {{PL}};
    if (iy < 0 || iy >= {{H}} || ix < 0 || ix >= {{W}}) { continue; }
    let xv = x[(((n * {{H}}u + u32(iy)) * {{W}}u + u32(ix)) * {{CIN}}u + ci) / {{XL}}u];
    let gi = (p * {{COUT}}u + co) / {{GL}}u;
    {{FMA}}
  }
  let wbase = s * {{NW}}u + (tap * {{CIN_G}}u + cig) * {{COUT}}u + co;
  {{STORE}}
}

//# forward_blocked
// The forward on a CPU adapter. SwiftShader runs 4 invocations as one SIMD group and keeps every
// scalar in a vector register, so what counts is loads per multiply-add: each thread computes NP
// neighbouring pixels of a row × CO_PER output channels in scalar accumulators and reads each
// image value and weight once per tap. 8 pixels × 16 channels ran the 3x3 16 → 16 layer at 128²
// 4.9x faster than the forward above (73 vs 363 ms; 4 x 4, as jax-js blocks it, 123 ms).
@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = linear_index(gid, nwg);
  if (t >= {{THREADS}}u) { return; }
  let co = (t % {{CO_BLOCKS}}u) * {{CO_PER}}u;
  let r = t / {{CO_BLOCKS}}u;
  let ox0 = (r % {{SEGS}}u) * {{NP}}u;
  let oy = (r / {{SEGS}}u) % {{OH}}u;
  let n = r / {{SEGS_OH}}u;
  let ci0 = (co / {{COUT_G}}u) * {{CIN_G}}u;
  {{ACC}}
  for (var ky = 0u; ky < {{KH}}u; ky = ky + 1u) {
    let iy = i32(oy * {{SH}}u + ky * {{DH}}u) - {{PT}};
    if (iy < 0 || iy >= {{H}}) { continue; }
    let row = (n * {{H}}u + u32(iy)) * {{W}}u;
    for (var kx = 0u; kx < {{KW}}u; kx = kx + 1u) {
      {{COLS}}
      let wb = (ky * {{KW}}u + kx) * {{CIN_G}}u * {{COUT}}u + co;
      for (var c = 0u; c < {{CIN_G}}u; c = c + 1u) {
        {{LOADS}}
        {{FMA}}
      }
    }
  }
  {{STORE}}
}

//# backward_input_blocked
// dx on a CPU adapter, blocked as forward_blocked: NP neighbouring input pixels × CI_PER input
// channels a thread, the gradient and weights read once per tap and output channel.
@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = linear_index(gid, nwg);
  if (t >= {{THREADS}}u) { return; }
  let ci = (t % {{CI_BLOCKS}}u) * {{CI_PER}}u;
  let r = t / {{CI_BLOCKS}}u;
  let ix0 = (r % {{SEGS}}u) * {{NP}}u;
  let iy = i32((r / {{SEGS}}u) % {{H}}u);
  let n = r / {{SEGS_H}}u;
  let cig = ci % {{CIN_G}}u;
  let co0 = (ci / {{CIN_G}}u) * {{COUT_G}}u;
  {{ACC}}
  for (var ky = 0u; ky < {{KH}}u; ky = ky + 1u) {
    let ty = iy + {{PT}} - i32(ky * {{DH}}u);
    if (ty < 0 || ty % {{SH}} != 0 || ty / {{SH}} >= {{OH}}) { continue; }
    let row = (n * {{OH}}u + u32(ty / {{SH}})) * {{OW}}u;
    for (var kx = 0u; kx < {{KW}}u; kx = kx + 1u) {
      {{COLS}}
      let wb = ((ky * {{KW}}u + kx) * {{CIN_G}}u + cig) * {{COUT}}u + co0;
      for (var c = 0u; c < {{COUT_G}}u; c = c + 1u) {
        {{LOADS}}
        {{FMA}}
      }
    }
  }
  {{STORE}}
}

//# backward_weight_blocked
// dw on a CPU adapter: backward_weight with CI_PER × CO_PER scalar accumulators (8 × 16 for a
// 16 → 16 layer) and scalar loads, so each pixel's reads feed CI_PER · CO_PER multiply-adds; the
// threads of one SIMD group share a pixel and channel block of g, read once for all of them.
// Unconditional, masked loads took its replay at 256² from 1.7x the forward's time to 1.2x.
@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = linear_index(gid, nwg);
  if (t >= {{THREADS}}u) { return; }
  let b = t % {{BLOCKS}}u;
  let s = t / {{BLOCKS}}u;
  let co = (b % {{CO_BLOCKS}}u) * {{CO_PER}}u;
  let rest = b / {{CO_BLOCKS}}u;
  let cig = (rest % {{CI_BLOCKS}}u) * {{CI_PER}}u;
  let tap = rest / {{CI_BLOCKS}}u;
  let ky = tap / {{KW}}u;
  let kx = tap % {{KW}}u;
  let ci = (co / {{COUT_G}}u) * {{CIN_G}}u + cig;
  {{ACC}}
  // The pixel's coordinates step along with p: a CPU runs integer division lane by lane.
  let p0 = s * {{CHUNK}}u;
  let p_end = min({{P}}u, p0 + {{CHUNK}}u);
  var ox = p0 % {{OW}}u;
  var oy = (p0 / {{OW}}u) % {{OH}}u;
  var n = p0 / {{OHW}}u;
  for (var p = p0; p < p_end; p = p + 1u) {
    let iy = i32(oy * {{SH}}u + ky * {{DH}}u) - {{PT}};
    let ix = i32(ox * {{SW}}u + kx * {{DW}}u) - {{PL}};
    // Every load unconditional, from a clamped address, and masked after: SwiftShader masks the
    // loads inside a branch lane by lane.
    let ok = (iy >= 0) & (iy < {{H}}) & (ix >= 0) & (ix < {{W}});
    let xb = ((n * {{H}}u + u32(clamp(iy, 0, {{H}} - 1))) * {{W}}u + u32(clamp(ix, 0, {{W}} - 1))) * {{CIN}}u + ci;
    let gb = p * {{COUT}}u + co;
    {{LOADS}}
    {{FMA}}
    ox = ox + 1u;
    if (ox == {{OW}}u) {
      ox = 0u;
      oy = oy + 1u;
      if (oy == {{OH}}u) {
        oy = 0u;
        n = n + 1u;
      }
    }
  }
  let wbase = s * {{NW}}u + (tap * {{CIN_G}}u + cig) * {{COUT}}u + co;
  {{STORE}}
}
