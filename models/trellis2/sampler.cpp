#include "models/trellis2/sampler.hpp"

#include <cmath>

#include "core/error.hpp"
#include "ops/elementwise.hpp"
#include "ops/reduce.hpp"

namespace tessera::models::trellis2 {

SamplerParams SamplerParams::from(const SamplerConfig& c) {
  SamplerParams p;
  p.sigma_min = c.sigma_min;
  p.steps = c.steps;
  p.guidance_strength = c.guidance_strength;
  p.guidance_rescale = c.guidance_rescale;
  p.guidance_interval = c.guidance_interval;
  p.rescale_t = c.rescale_t;
  return p;
}

std::vector<double> flow_time_grid(int steps, double r) {
  TESSERA_CHECK(steps >= 1, "flow sampler: steps must be >= 1, found {}", steps);
  TESSERA_CHECK(r > 0, "flow sampler: rescale_t must be > 0, found {}", r);
  std::vector<double> t(size_t(steps) + 1);
  for (int i = 0; i <= steps; ++i) {
    // numpy.linspace(1, 0, steps + 1): start + i·step, the last value exact.
    const double s = i == steps ? 0.0 : 1.0 + double(i) * (-1.0 / double(steps));
    t[size_t(i)] = r * s / (1.0 + (r - 1.0) * s);
  }
  return t;
}

namespace {

double std_of(const Tensor& x, StdKind kind) {
  std::vector<float> m = ops::moments(x, kind == StdKind::unbiased ? 1 : 0).to_vector<float>();
  return double(m[1]);
}

}  // namespace

Tensor sample_flow_euler(const SamplerParams& p, const Tensor& noise, const VelocityFn& model, StdKind std_kind,
                         const StepFn& on_step) {
  TESSERA_CHECK(noise.dtype() == DType::f32, "flow sampler: noise must be f32, found {}", noise.desc());
  const std::vector<double> ts = flow_time_grid(p.steps, p.rescale_t);
  const double sm = p.sigma_min;
  Tensor x = noise;
  for (int i = 0; i < p.steps; ++i) {
    const double t = ts[size_t(i)], t_prev = ts[size_t(i) + 1];
    const bool in_interval = p.guidance_interval[0] <= t && t <= p.guidance_interval[1];
    const double s = in_interval ? p.guidance_strength : 1.0;
    Tensor v;
    int forwards = 1;
    if (s == 1.0) {
      v = model(x, 1000.0 * t, true);
    } else if (s == 0.0) {
      v = model(x, 1000.0 * t, false);
    } else {
      forwards = 2;
      Tensor vp = model(x, 1000.0 * t, true);
      Tensor vn = model(x, 1000.0 * t, false);
      v = ops::axpby(vp, vn, s, 1.0 - s);
      if (p.guidance_rescale > 0) {
        const double g = p.guidance_rescale, k = sm + (1.0 - sm) * t;
        Tensor x0_pos = ops::axpby(x, vp, 1.0 - sm, -k);
        Tensor x0_cfg = ops::axpby(x, v, 1.0 - sm, -k);
        const double sp = std_of(x0_pos, std_kind), sc = std_of(x0_cfg, std_kind);
        // A zero std (a constant prediction) makes the reference divide by 0;
        // report it rather than propagate inf/NaN.
        TESSERA_CHECK(sc > 0 && std::isfinite(sc) && std::isfinite(sp),
                      "flow sampler: CFG rescale at t = {} needs a finite, non-zero std of the guided x0 (std_pos {}, "
                      "std_cfg {})",
                      t, sp, sc);
        const double f = g * sp / sc + 1.0 - g;  // x0 = f·x0_cfg
        // v = ((1−σ)x − f·x0_cfg) / k
        v = ops::axpby(x, x0_cfg, (1.0 - sm) / k, -f / k);
      }
    }
    x = ops::axpby(x, v, 1.0, -(t - t_prev));
    if (on_step) on_step({i, p.steps, t, t_prev, forwards});
  }
  return x;
}

}  // namespace tessera::models::trellis2
