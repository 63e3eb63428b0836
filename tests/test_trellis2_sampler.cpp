// FlowEulerGuidanceIntervalSampler on every tested device against a float64
// host restatement of the official sampler (flow_euler.py,
// classifier_free_guidance_mixin.py, guidance_interval_mixin.py), with an
// analytic "model": v = a(t)·x + b_pos|neg(t), different for the positive and
// negative condition, so CFG, its interval and the rescale all matter.
#include <gtest/gtest.h>

#include <cmath>

#include "core/error.hpp"
#include "core/random.hpp"
#include "models/trellis2/sampler.hpp"
#include "ops/elementwise.hpp"
#include "ops/reduce.hpp"
#include "test_env.hpp"

using namespace tessera;
using namespace tessera::models::trellis2;

namespace {

double a_of(double ts) { return -0.3 + 0.0004 * ts; }
double b_of(double ts, bool pos) { return pos ? 0.2 + 0.001 * ts : -0.1; }

// The official algorithm in float64 on the host.
std::vector<double> host_sample(const SamplerParams& p, std::vector<double> x, StdKind kind) {
  auto std_of = [&](const std::vector<double>& v) {
    double m = 0;
    for (double e : v) m += e;
    m /= double(v.size());
    double s = 0;
    for (double e : v) s += (e - m) * (e - m);
    return std::sqrt(s / double(v.size() - (kind == StdKind::unbiased ? 1 : 0)));
  };
  // numpy: linspace(1, 0, steps + 1) then r t / (1 + (r - 1) t)
  std::vector<double> ts;
  for (int i = 0; i <= p.steps; ++i) {
    double s = 1.0 - double(i) / p.steps;
    ts.push_back(p.rescale_t * s / (1 + (p.rescale_t - 1) * s));
  }
  const double sm = p.sigma_min;
  for (int i = 0; i < p.steps; ++i) {
    const double t = ts[size_t(i)], tp = ts[size_t(i) + 1];
    auto model = [&](bool pos) {
      std::vector<double> v(x.size());
      for (size_t j = 0; j < x.size(); ++j) v[j] = a_of(1000 * t) * x[j] + b_of(1000 * t, pos) * double(j % 7) / 7.0;
      return v;
    };
    const bool inside = p.guidance_interval[0] <= t && t <= p.guidance_interval[1];
    const double s = inside ? p.guidance_strength : 1.0;
    std::vector<double> v;
    if (s == 1) v = model(true);
    else if (s == 0) v = model(false);
    else {
      auto vp = model(true), vn = model(false);
      v.resize(x.size());
      for (size_t j = 0; j < x.size(); ++j) v[j] = s * vp[j] + (1 - s) * vn[j];
      if (p.guidance_rescale > 0) {
        const double k = sm + (1 - sm) * t;
        std::vector<double> x0p(x.size()), x0c(x.size());
        for (size_t j = 0; j < x.size(); ++j) {
          x0p[j] = (1 - sm) * x[j] - k * vp[j];
          x0c[j] = (1 - sm) * x[j] - k * v[j];
        }
        const double sp = std_of(x0p), sc = std_of(x0c);
        for (size_t j = 0; j < x.size(); ++j) {
          const double x0 = p.guidance_rescale * x0c[j] * (sp / sc) + (1 - p.guidance_rescale) * x0c[j];
          v[j] = ((1 - sm) * x[j] - x0) / k;
        }
      }
    }
    for (size_t j = 0; j < x.size(); ++j) x[j] -= (t - tp) * v[j];
  }
  return x;
}

void check_sampler(const SamplerParams& p, StdKind kind, Shape shape, uint64_t seed) {
  const int64_t n = shape_numel(shape);
  std::vector<float> x0 = randn(seed, 0, size_t(n));
  std::vector<double> want = host_sample(p, std::vector<double>(x0.begin(), x0.end()), kind);
  std::vector<float> ramp(static_cast<size_t>(n));
  for (size_t j = 0; j < ramp.size(); ++j) ramp[j] = float(double(j % 7) / 7.0);
  for (Device* dev : test::test_devices()) {
    SCOPED_TRACE(dev->id());
    Tensor r = Tensor::from_vector(ramp, shape, DType::f32, *dev);
    int calls = 0, steps_seen = 0;
    VelocityFn model = [&](const Tensor& x, double ts, bool pos) {
      ++calls;
      return ops::axpby(x, r, a_of(ts), b_of(ts, pos));
    };
    Tensor got = sample_flow_euler(p, Tensor::from_vector(x0, shape, DType::f32, *dev), model, kind,
                                   [&](const SamplerStep& s) {
                                     EXPECT_EQ(s.index, steps_seen);
                                     ++steps_seen;
                                   });
    EXPECT_EQ(steps_seen, p.steps);
    std::vector<double> g = got.to_double();
    double num = 0, den = 0;
    for (size_t j = 0; j < g.size(); ++j) {
      num += (g[j] - want[j]) * (g[j] - want[j]);
      den += want[j] * want[j];
    }
    EXPECT_LT(num / den, 1e-10) << "nmse " << num / den;
    // Forwards: 2 inside the guidance interval (strength not 0/1), else 1.
    int expect_calls = 0;
    std::vector<double> ts = flow_time_grid(p.steps, p.rescale_t);
    for (int i = 0; i < p.steps; ++i) {
      const bool inside = p.guidance_interval[0] <= ts[size_t(i)] && ts[size_t(i)] <= p.guidance_interval[1];
      const double s = inside ? p.guidance_strength : 1.0;
      expect_calls += (s == 1 || s == 0) ? 1 : 2;
    }
    EXPECT_EQ(calls, expect_calls);
  }
}

}  // namespace

TEST(Trellis2Sampler, TimeGridMatchesTheOfficialRescale) {
  std::vector<double> t = flow_time_grid(12, 3.0);
  ASSERT_EQ(t.size(), 13u);
  EXPECT_EQ(t.front(), 1.0);
  EXPECT_EQ(t.back(), 0.0);
  for (size_t i = 0; i + 1 < t.size(); ++i) EXPECT_GT(t[i], t[i + 1]);
  // s = 0.5 maps to r/(r+1): step 6 of 12.
  EXPECT_NEAR(t[6], 0.75, 1e-15);
  // How many of the 12 steps use CFG with the shape sampler's interval [0.6, 1.0]
  // (the spec: t >= 0.6 holds for steps 0..8, 9 CFG steps).
  int cfg = 0;
  for (int i = 0; i < 12; ++i) cfg += t[size_t(i)] >= 0.6 && t[size_t(i)] <= 1.0;
  EXPECT_EQ(cfg, 9);
  EXPECT_THROW(flow_time_grid(0, 1.0), Error);
  EXPECT_THROW(flow_time_grid(4, 0.0), Error);
}

TEST(RuntimeTrellis2Sampler, SparseStructureSettingsMatchFloat64) {
  SamplerParams p;  // the released sparse_structure_sampler
  p.sigma_min = 1e-5;
  p.steps = 12;
  p.guidance_strength = 7.5;
  p.guidance_rescale = 0.7;
  p.guidance_interval = {0.6, 1.0};
  p.rescale_t = 5.0;
  check_sampler(p, StdKind::unbiased, {1, 4, 6, 6, 6}, 11);
}

TEST(RuntimeTrellis2Sampler, ShapeAndTextureSettingsMatchFloat64) {
  SamplerParams p;  // shape_slat_sampler: population std (SparseTensor.std)
  p.steps = 12;
  p.guidance_strength = 7.5;
  p.guidance_rescale = 0.5;
  p.guidance_interval = {0.6, 1.0};
  p.rescale_t = 3.0;
  check_sampler(p, StdKind::population, {777, 8}, 12);
  SamplerParams q = p;  // tex_slat_sampler: strength 1 -> one forward per step
  q.guidance_strength = 1.0;
  q.guidance_rescale = 0.0;
  q.guidance_interval = {0.6, 0.9};
  check_sampler(q, StdKind::population, {777, 8}, 13);
  SamplerParams u = p;  // strength 0: the unconditional prediction only
  u.guidance_strength = 0.0;
  check_sampler(u, StdKind::population, {100, 3}, 14);
}

TEST(Trellis2Sampler, RandnIsDeterministicAndStandard) {
  std::vector<float> a = randn(5, 1, 200001), b = randn(5, 1, 200001), c = randn(5, 2, 1000);
  EXPECT_EQ(a, b);
  EXPECT_NE(std::vector<float>(a.begin(), a.begin() + 1000), c);
  // A prefix of a longer draw is the shorter draw (counter based).
  std::vector<float> p = randn(5, 1, 999);
  EXPECT_EQ(p, std::vector<float>(a.begin(), a.begin() + 999));
  double m = 0, s = 0;
  for (float x : a) m += x;
  m /= double(a.size());
  for (float x : a) s += (x - m) * (x - m);
  s = std::sqrt(s / double(a.size()));
  EXPECT_NEAR(m, 0.0, 0.01);
  EXPECT_NEAR(s, 1.0, 0.01);
}
