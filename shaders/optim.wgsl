// Optimizer steps, following torch.optim's update rules term by term. Each rule is a function
// `rule_update` that updates one vec4 of a parameter and its state in registers: the lazy queue
// assigns its f32 copy in place (updateTemplate, src/optim/update-rule.ts), and a
// fused loss may call it right where it computes the gradient (colorMixLoss), so the parameter is
// read once per step. Hyper-parameters and per-step scalars (bias corrections, the first-step flag)
// arrive through param(pb + i), so an lr schedule never recompiles. Keep every expression valid for
// both f32 and vec4<f32>.

//# sgd
// param(pb + 0) lr, (pb + 1) weight decay. As torch, no decay leaves the gradient as it is (0 · inf
// would make an infinite parameter's gradient NaN).
fn rule_update(p: ptr<function, vec4<f32>>, g0: vec4<f32>, pb: u32) {
  let g = select(g0 + param(pb + 1u) * (*p), g0, param(pb + 1u) == 0.0);
  *p = *p - param(pb) * g;
}

//# sgd_momentum
// param(pb + 0) lr, (1) weight decay, (2) momentum, (3) 1 - dampening, (4) nesterov 0/1,
// (5) 1 on the first step (the buffer starts as the gradient itself, undamped, as in PyTorch).
fn rule_update(p: ptr<function, vec4<f32>>, g0: vec4<f32>, momentum_buffer: ptr<function, vec4<f32>>, pb: u32) {
  let g = select(g0 + param(pb + 1u) * (*p), g0, param(pb + 1u) == 0.0);
  let mu = param(pb + 2u);
  let buf = select(mu * (*momentum_buffer) + param(pb + 3u) * g, g, param(pb + 5u) > 0.5);
  *momentum_buffer = buf;
  let d = select(buf, g + mu * buf, param(pb + 4u) > 0.5);
  *p = *p - param(pb) * d;
}

//# adam
// param(pb + 0) L2 weight decay (Adam), (1) decoupled decay factor 1 - lr * wd (AdamW, else 1),
// (2) 1 - beta1, (3) beta2, (4) 1 - beta2, (5) lr / (1 - beta1^t), (6) sqrt(1 - beta2^t), (7) eps.
// exp_avg moves toward g by lerp, as torch's exp_avg.lerp_(grad, 1 - beta1).
fn rule_update(p: ptr<function, vec4<f32>>, g0: vec4<f32>, exp_avg: ptr<function, vec4<f32>>, exp_avg_sq: ptr<function, vec4<f32>>, pb: u32) {
  let p0 = *p;
  let g = select(g0 + param(pb) * p0, g0, param(pb) == 0.0);
  let m0 = *exp_avg;
  let m = m0 + param(pb + 2u) * (g - m0);
  let v = param(pb + 3u) * (*exp_avg_sq) + param(pb + 4u) * g * g;
  *exp_avg = m;
  *exp_avg_sq = v;
  let denom = sqrt(v) / param(pb + 6u) + param(pb + 7u);
  *p = p0 * param(pb + 1u) - param(pb + 5u) * (m / denom);
}
