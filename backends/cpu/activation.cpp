// CPU gelu / silu / sigmoid / softplus / softmax.
#include <cmath>
#include <vector>

#include <tbb/parallel_for.h>

#include "backends/cpu/cpu_device.hpp"
#include "core/op_registry.hpp"

namespace tessera::cpu {
namespace {

template <typename F>
void pointwise(OpArgs& a, F f) {
  const DType t = a.in[0].dtype();
  const char* x = data<char>(a.in[0]);
  char* y = data<char>(a.out[0]);
  tbb::parallel_for(tbb::blocked_range<int64_t>(0, a.in[0].numel(), 1 << 14), [&](const tbb::blocked_range<int64_t>& r) {
    for (int64_t i = r.begin(); i < r.end(); ++i) st(y, t, i, f(ld(x, t, i)));
  });
}

void gelu(Device&, OpArgs& a) {
  if (a.attrs.get_str("approximate", "none") == "tanh") {
    const float k = std::sqrt(2.f / float(M_PI));
    pointwise(a, [k](float x) { return 0.5f * x * (1.f + std::tanh(k * (x + 0.044715f * x * x * x))); });
  } else {
    pointwise(a, [](float x) { return 0.5f * x * (1.f + std::erf(x * float(M_SQRT1_2))); });
  }
}

void silu(Device&, OpArgs& a) {
  pointwise(a, [](float x) { return x / (1.f + std::exp(-x)); });
}

// exp(-|x|) only: no overflow, relative accuracy for x << 0.
void sigmoid(Device&, OpArgs& a) {
  pointwise(a, [](float x) {
    const float e = std::exp(-std::abs(x));
    return x >= 0 ? 1.f / (1.f + e) : e / (1.f + e);
  });
}

void softplus(Device&, OpArgs& a) {
  pointwise(a, [](float x) { return x > 20.f ? x : std::log1p(std::exp(x)); });
}

void softmax(Device&, OpArgs& a) {
  const int64_t C = a.in[0].dim(-1), rows = a.in[0].numel() / C;
  const DType t = a.in[0].dtype();
  const char* x = data<char>(a.in[0]);
  char* y = data<char>(a.out[0]);
  tbb::parallel_for(tbb::blocked_range<int64_t>(0, rows, std::max<int64_t>(1, 4096 / C)),
                    [&](const tbb::blocked_range<int64_t>& r) {
                      std::vector<float> e(static_cast<size_t>(C));
                      for (int64_t row = r.begin(); row < r.end(); ++row) {
                        float m = -INFINITY, s = 0;
                        for (int64_t c = 0; c < C; ++c) m = std::max(m, ld(x, t, row * C + c));
                        for (int64_t c = 0; c < C; ++c) s += (e[c] = std::exp(ld(x, t, row * C + c) - m));
                        for (int64_t c = 0; c < C; ++c) st(y, t, row * C + c, e[c] / s);
                      }
                    });
}

TESSERA_REGISTER_KERNEL("gelu", "cpu", gelu);
TESSERA_REGISTER_KERNEL("silu", "cpu", silu);
TESSERA_REGISTER_KERNEL("sigmoid", "cpu", sigmoid);
TESSERA_REGISTER_KERNEL("softplus", "cpu", softplus);
TESSERA_REGISTER_KERNEL("softmax", "cpu", softmax);

}  // namespace
}  // namespace tessera::cpu
