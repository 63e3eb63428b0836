// CPU moments: two passes (mean, then the centred sum of squares), each
// summed in double over fixed TBB ranges (deterministic partition).
#include <cmath>

#include <tbb/blocked_range.h>
#include <tbb/parallel_reduce.h>

#include "backends/cpu/cpu_device.hpp"
#include "core/op_registry.hpp"

namespace tessera::cpu {
namespace {

template <typename F>
double sum(int64_t n, F f) {
  return tbb::parallel_deterministic_reduce(
      tbb::blocked_range<int64_t>(0, n, 1 << 16), 0.0,
      [&](const tbb::blocked_range<int64_t>& r, double s) {
        for (int64_t i = r.begin(); i < r.end(); ++i) s += f(i);
        return s;
      },
      [](double a, double b) { return a + b; });
}

void moments(Device&, OpArgs& a) {
  const Tensor& x = a.in[0];
  const int64_t n = x.numel(), c = a.attrs.get_int("correction", 1);
  const DType t = x.dtype();
  const char* xp = data<char>(x);
  const double mean = sum(n, [&](int64_t i) { return double(ld(xp, t, i)); }) / double(n);
  const double q = sum(n, [&](int64_t i) {
    const double d = ld(xp, t, i) - mean;
    return d * d;
  });
  float* o = data<float>(a.out[0]);
  o[0] = float(mean);
  o[1] = float(std::sqrt(q / double(n - c)));
}

TESSERA_REGISTER_KERNEL("moments", "cpu", moments);

}  // namespace
}  // namespace tessera::cpu
