// CPU linear: OpenBLAS SGEMM (f32 accumulation). f16/bf16 operands are
// widened to f32 first (exact), so every dtype goes through the same GEMM.
#include <cblas.h>

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include <cmath>
#include <vector>

#include "backends/cpu/cpu_device.hpp"
#include "core/op_registry.hpp"
#include "ops/linear.hpp"

namespace tessera::cpu {
namespace {

// The fused epilogue, in f32 on the f32 result (before the one rounding).
void apply_activation(ops::LinearAct act, float* v, int64_t n) {
  if (act == ops::LinearAct::none) return;
  tbb::parallel_for(tbb::blocked_range<int64_t>(0, n, 1 << 14), [&](const tbb::blocked_range<int64_t>& r) {
    for (int64_t i = r.begin(); i < r.end(); ++i) {
      const float x = v[i];
      switch (act) {
        case ops::LinearAct::gelu: v[i] = 0.5f * x * (1.f + std::erf(x * float(M_SQRT1_2))); break;
        case ops::LinearAct::gelu_tanh:
          v[i] = 0.5f * x * (1.f + std::tanh(0.7978845608028654f * (x + 0.044715f * x * x * x)));
          break;
        case ops::LinearAct::silu: v[i] = x / (1.f + std::exp(-x)); break;
        default: break;
      }
    }
  });
}

void linear(Device&, OpArgs& a) {
  auto d = ops::linear_dims(a.in[0].shape(), a.in[1].shape());
  std::vector<float> xt, wt, bt, yt;
  const float* x = as_f32(a.in[0], xt);
  const float* w = as_f32(a.in[1], wt);
  Tensor& y = a.out[0];
  float* out = y.dtype() == DType::f32 ? data<float>(y) : (yt.resize(size_t(y.numel())), yt.data());
  float beta = 0.f;
  if (a.in.size() > 2) {  // broadcast bias into the output, then C = X·Wᵀ + C
    const float* b = as_f32(a.in[2], bt);
    for (int64_t m = 0; m < d.M; ++m) std::copy(b, b + d.N, out + m * d.N);
    beta = 1.f;
  }
  if (d.M && d.N) {
    if (d.K == 0) {
      if (beta == 0.f) std::fill(out, out + d.M * d.N, 0.f);
    } else {
      // Called outside any TBB region: OpenBLAS owns its threads here.
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, int(d.M), int(d.N), int(d.K), 1.f, x, int(d.K), w,
                  int(d.K), beta, out, int(d.N));
    }
  }
  apply_activation(ops::linear_activation(a.attrs), out, y.numel());
  if (y.dtype() != DType::f32) from_f32(out, data<char>(y), y.dtype(), y.numel());
}

std::string supports(const Device&, const OpArgs& a) {
  auto d = ops::linear_dims(a.in[0].shape(), a.in[1].shape());
  if (d.M > INT32_MAX || d.N > INT32_MAX || d.K > INT32_MAX) return "GEMM dimensions exceed OpenBLAS's 32-bit int";
  return "";
}

TESSERA_REGISTER_KERNEL("linear", "cpu", linear, supports);

}  // namespace
}  // namespace tessera::cpu
