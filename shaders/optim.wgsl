// Optimizer steps: one fused kernel per parameter reads `grad` and updates the parameter
// (`param_`: `param` names the header's uniform reader) and its state arrays in place, following
// torch.optim's update rules term by term. Hyper-parameters and per-step scalars (bias
// corrections, the first-step flag) arrive through param(i), so an lr schedule never recompiles.
// Arrays are vec4 (four elements per thread, {{N}} counts vec4s): keep every expression valid
// for both f32 and vec4<f32>.

//# sgd
// param(0) lr, param(1) weight decay.
@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = linear_index(gid, nwg);
  if (i >= {{N}}u) { return; }
  let p = param_[i];
  let g = grad[i] + param(1u) * p;
  param_[i] = p - param(0u) * g;
}

//# sgd_momentum
// param(0) lr, (1) weight decay, (2) momentum, (3) 1 - dampening, (4) nesterov 0/1,
// (5) 1 on the first step (the buffer starts as the gradient itself, undamped, as in PyTorch).
@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = linear_index(gid, nwg);
  if (i >= {{N}}u) { return; }
  let p = param_[i];
  let g = grad[i] + param(1u) * p;
  let mu = param(2u);
  let buf = select(mu * momentum_buffer[i] + param(3u) * g, g, param(5u) > 0.5);
  momentum_buffer[i] = buf;
  let d = select(buf, g + mu * buf, param(4u) > 0.5);
  param_[i] = p - param(0u) * d;
}

//# adam
// param(0) L2 weight decay (Adam), (1) decoupled decay factor 1 - lr * wd (AdamW, else 1),
// (2) 1 - beta1, (3) beta2, (4) 1 - beta2, (5) lr / (1 - beta1^t), (6) sqrt(1 - beta2^t), (7) eps.
// exp_avg moves toward g by lerp, as torch's exp_avg.lerp_(grad, 1 - beta1).
@compute @workgroup_size(WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = linear_index(gid, nwg);
  if (i >= {{N}}u) { return; }
  let p0 = param_[i];
  let g = grad[i] + param(0u) * p0;
  let p = p0 * param(1u);
  let m0 = exp_avg[i];
  let m = m0 + param(2u) * (g - m0);
  let v = param(3u) * exp_avg_sq[i] + param(4u) * g * g;
  exp_avg[i] = m;
  exp_avg_sq[i] = v;
  let denom = sqrt(v) / param(6u) + param(7u);
  param_[i] = p - param(5u) * (m / denom);
}
