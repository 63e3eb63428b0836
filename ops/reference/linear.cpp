#include <cmath>
#include <string>

#include "ops/reference/reference.hpp"

namespace tessera::ref {

// y[m, n] = act(sum_k x[m, k] * w[n, k] + b[n])
void linear(const Ins& in, Outs& out, const Attrs& a) {
  const std::string act = a.get_str("activation", "none");
  const auto& x = in[0];
  const auto& w = in[1];
  int64_t K = x.shape.back();
  int64_t M = 1;
  for (size_t i = 0; i + 1 < x.shape.size(); ++i) M *= x.shape[i];
  int64_t N = w.shape[0];
  for (int64_t m = 0; m < M; ++m)
    for (int64_t n = 0; n < N; ++n) {
      double acc = in.size() > 2 ? in[2].data[n] : 0.0;
      const double* xr = &x.data[m * K];
      const double* wr = &w.data[n * K];
      for (int64_t k = 0; k < K; ++k) acc += xr[k] * wr[k];
      if (act == "gelu") acc = 0.5 * acc * (1.0 + std::erf(acc / std::sqrt(2.0)));
      else if (act == "gelu_tanh")
        acc = 0.5 * acc * (1.0 + std::tanh(std::sqrt(2.0 / M_PI) * (acc + 0.044715 * acc * acc * acc)));
      else if (act == "silu") acc = acc / (1.0 + std::exp(-acc));
      out[0].data[m * N + n] = acc;
    }
}

}  // namespace tessera::ref
