// Image I/O kernels with their own bindings (a texture, or a render target), outside the op
// registry's storage-buffer layout.

//# from_texture
// rgba8unorm texture -> float tensor [H, W, CHANNELS] in [0, 1]. A thread converts 4 pixels so
// that both layouts store whole vec4s: 4 RGBA pixels are 4 vec4s, 4 RGB pixels are 3. Stores that
// would start past the last pixel are skipped; lanes past it in the last vec4 stay inside the
// tensor's 16-byte-aligned buffer.
@group(0) @binding(0) var src: texture_2d<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<vec4<f32>>;
const CHANNELS: u32 = {{CHANNELS}}u;

fn texel(p: u32, n: u32, width: u32) -> vec4<f32> {
  if (p >= n) { return vec4<f32>(0.0); }
  return textureLoad(src, vec2<u32>(p % width, p / width), 0);
}

@compute @workgroup_size({{WG}})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = gid.x + gid.y * nwg.x * {{WG}}u;
  let size = textureDimensions(src);
  let n = size.x * size.y;
  let p = t * 4u;
  if (p >= n) { return; }
  let a = texel(p, n, size.x);
  let b = texel(p + 1u, n, size.x);
  let c = texel(p + 2u, n, size.x);
  let d = texel(p + 3u, n, size.x);
  if (CHANNELS == 4u) {
    out[p] = a;
    if (p + 1u < n) { out[p + 1u] = b; }
    if (p + 2u < n) { out[p + 2u] = c; }
    if (p + 3u < n) { out[p + 3u] = d; }
  } else {
    // Floats 12t..12t+11 of the RGB tensor; vec4 m starts at float 12t + 4m.
    let v = t * 3u;
    out[v] = vec4<f32>(a.rgb, b.r);
    if (4u * (v + 1u) < 3u * n) { out[v + 1u] = vec4<f32>(b.gb, c.rg); }
    if (4u * (v + 2u) < 3u * n) { out[v + 2u] = vec4<f32>(c.b, d.rgb); }
  }
}

//# to_canvas
// Draws a [H, W, 3|4] float tensor into a canvas texture: one triangle covers the viewport and each
// fragment reads its pixel from the tensor's storage buffer (no copy, no CPU round trip).
struct View { width: u32, height: u32, channels: u32, pad: u32 }
@group(0) @binding(0) var<uniform> view: View;
@group(0) @binding(1) var<storage, read> pixels: array<f32>;

@vertex
fn vs(@builtin(vertex_index) i: u32) -> @builtin(position) vec4<f32> {
  // (-1,-1), (3,-1), (-1,3): a triangle whose inside holds the whole clip square.
  let xy = vec2<f32>(f32((i << 1u) & 2u), f32(i & 2u));
  return vec4<f32>(xy * 2.0 - 1.0, 0.0, 1.0);
}

@fragment
fn fs(@builtin(position) pos: vec4<f32>) -> @location(0) vec4<f32> {
  let x = min(u32(pos.x), view.width - 1u);
  let y = min(u32(pos.y), view.height - 1u);
  let base = (y * view.width + x) * view.channels;
  let rgb = clamp(vec3<f32>(pixels[base], pixels[base + 1u], pixels[base + 2u]), vec3<f32>(0.0), vec3<f32>(1.0));
  var alpha = 1.0;
  if (view.channels == 4u) { alpha = clamp(pixels[base + 3u], 0.0, 1.0); }
  // The context is configured with alphaMode 'premultiplied'.
  return vec4<f32>(rgb * alpha, alpha);
}
