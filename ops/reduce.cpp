#include "ops/reduce.hpp"

#include <cmath>

#include "core/error.hpp"
#include "core/op_registry.hpp"
#include "ops/reference/reference.hpp"
#include "ops/tolerance.hpp"

namespace tessera::ops {

Tensor moments(const Tensor& x, int64_t correction) {
  return OpRegistry::get().call("moments", {x}, Attrs().set("correction", correction))[0];
}

namespace {

std::vector<TensorDesc> infer_moments(const std::vector<TensorDesc>& in, const Attrs& a) {
  TESSERA_CHECK(in.size() == 1, "op 'moments' takes 1 input, got {}", in.size());
  TESSERA_CHECK(dtype_is_float(in[0].dtype), "op 'moments': dtype {} is not supported (f32, f16, bf16)",
                dtype_name(in[0].dtype));
  const int64_t n = shape_numel(in[0].shape), c = a.get_int("correction", 1);
  TESSERA_CHECK(n - c > 0, "op 'moments': x {} has {} elements, correction {}: n - correction must be positive",
                shape_str(in[0].shape), n, c);
  return {{{2}, DType::f32}};
}

std::vector<TestCase> moments_cases() {
  std::vector<TestCase> cs;
  auto c = [&](std::string l, Shape s, DType t, int64_t corr, double lo, double hi, bool scale = false) {
    TestCase k{l + "/" + dtype_name(t), {{s, t}}, Attrs().set("correction", corr), lo, hi};
    k.scale = scale;
    cs.push_back(k);
  };
  for (DType t : {DType::f32, DType::f16, DType::bf16}) {
    c("n2", {2}, t, 1, -1, 1);
    c("ragged", {3, 333337}, t, 1, -1, 1);
    c("population", {37, 129}, t, 0, 0, 4);
  }
  c("n1_population", {1}, DType::f32, 0, -1, 1);  // std 0
  // Large offset: mean 1e3, std 1e-2 (uniform, half-width 1e-2 sqrt 3), a few million elements.
  const double hw = 1e-2 * std::sqrt(3.0);
  c("offset_1e3", {4000037}, DType::f32, 1, 1e3 - hw, 1e3 + hw);
  c("offset_1e3", {2, 1000003}, DType::f16, 1, 990, 1010);  // f16 steps of 0.5 near 1e3
  c("offset_1e3", {1000003}, DType::bf16, 1, 960, 1040);    // bf16 steps of 4
  c("offset_1e3_large", {24000001}, DType::f32, 1, 1e3 - hw, 1e3 + hw, true);
  c("large", {33554467}, DType::f16, 0, -3, 5, true);
  return cs;
}

// mean and std differ in scale by up to 1e5 here (offset cases), so a joint
// NMSE could not see an error in std: each statistic is checked on its own
// scale, the mean relative to |mean| + std, the std relative to itself.
// Measured: <= 1.1e-7 on every backend (the f32 rounding of the result), up to
// 24M elements; an f32 Welford without the shift by x[0] is off by 7e-5 (4M
// elements around 1e3) to 1.2e-4 (24M) in std.
constexpr double kMomentsRelTol = 1e-5;

std::string check_moments(const std::vector<HostTensor>&, const std::vector<HostTensor>& got,
                          const std::vector<HostTensor>& ref, const Attrs&) {
  const double m = got[0].data[0], s = got[0].data[1], M = ref[0].data[0], S = ref[0].data[1];
  if (!std::isfinite(m) || !std::isfinite(s)) return fmt::format("non-finite result (mean {}, std {})", m, s);
  const double scale = std::abs(M) + S, em = scale > 0 ? (m - M) / scale : m - M;
  const double es = S > 0 ? (s - S) / S : (scale > 0 ? s / scale : s);
  if (std::abs(em) > kMomentsRelTol || std::abs(es) > kMomentsRelTol)
    return fmt::format("mean {} (ref {}, rel err {:.3g}), std {} (ref {}, rel err {:.3g}); tol {:.1g}", m, M, em, s,
                       S, es, kMomentsRelTol);
  return "";
}

OpRegistrar reg_moments({"moments", "(mean, std) over all elements as f32 [2], attr correction (1)", infer_moments,
                         ref::moments, moments_cases,
                         [](DType out, const std::vector<TensorDesc>&, const Attrs&) {
                           return tol::for_output(out, tol::kReduceF32);
                         },
                         check_moments});

}  // namespace
}  // namespace tessera::ops
