// FlowEulerGuidanceIntervalSampler (trellis2/pipelines/samplers/flow_euler.py
// with ClassifierFreeGuidanceSamplerMixin and GuidanceIntervalSamplerMixin),
// on device tensors with registered ops only (axpby, moments, scale).
//
//   t_i = r·s / (1 + (r−1)·s), s = linspace(1, 0, steps+1), r = rescale_t (float64)
//   for i in 0..steps-1:  v = guided(x, t_i);  x ← x − (t_i − t_{i+1})·v
//   guided: s = guidance_strength if interval[0] ≤ t ≤ interval[1] else 1
//     s == 1: v = f(x, t, cond);  s == 0: v = f(x, t, neg_cond)
//     else   v = s·v_pos + (1−s)·v_neg, then with g = guidance_rescale > 0:
//            x0_pos = (1−σ)x − (σ+(1−σ)t)·v_pos,  x0_cfg = (1−σ)x − (σ+(1−σ)t)·v
//            x0 = x0_cfg · (g·std(x0_pos)/std(x0_cfg) + 1 − g)
//            v  = ((1−σ)x − x0) / (σ+(1−σ)t)
// std: torch.std (unbiased) for dense latents; SparseTensor.std is the
// population form sqrt(E[x²] − E[x]²) (modules/sparse/basic.py). The model is
// called with 1000·t.
#pragma once
#include <array>
#include <functional>
#include <vector>

#include "core/tensor.hpp"
#include "models/common/config.hpp"

namespace tessera::models::trellis2 {

struct SamplerParams {
  double sigma_min = 1e-5;
  int steps = 12;
  double guidance_strength = 7.5, guidance_rescale = 0.0;
  std::array<double, 2> guidance_interval{0.0, 1.0};
  double rescale_t = 1.0;
  static SamplerParams from(const SamplerConfig& c);
};

// The float64 time grid t_0 = 1 > ... > t_steps = 0.
std::vector<double> flow_time_grid(int steps, double rescale_t);

enum class StdKind { unbiased, population };

// f(x, 1000·t, positive) -> velocity, same shape as x, f32.
using VelocityFn = std::function<Tensor(const Tensor& x, double timestep, bool positive)>;
struct SamplerStep {
  int index = 0, steps = 0;  // index in [0, steps)
  double t = 0, t_prev = 0;
  int forwards = 0;          // model calls this step (1 or 2)
};
using StepFn = std::function<void(const SamplerStep&)>;  // called after each step

// Runs the sampler from `noise` (f32, any shape) and returns the sample (f32).
Tensor sample_flow_euler(const SamplerParams& p, const Tensor& noise, const VelocityFn& model, StdKind std_kind,
                         const StepFn& on_step = nullptr);

}  // namespace tessera::models::trellis2
