#include <cmath>

#include "ops/reference/reference.hpp"

namespace tessera::ref {

void timestep_embedding(const Ins& in, Outs& out, const Attrs& a) {
  const int64_t dim = a.get_int("dim", 256), half = dim / 2, B = in[0].shape[0];
  const double mp = a.get_float("max_period", 10000.0);
  for (int64_t b = 0; b < B; ++b) {
    for (int64_t k = 0; k < half; ++k) {
      // The frequency is f32 in the official code (torch.arange(float32)); keep that rounding.
      double f = float(std::exp(-std::log(mp) * double(k) / double(half)));
      double arg = double(float(in[0].data[b] * f));
      out[0].data[b * dim + k] = std::cos(arg);
      out[0].data[b * dim + half + k] = std::sin(arg);
    }
    if (dim % 2) out[0].data[b * dim + dim - 1] = 0.0;
  }
}

void gather(const Ins& in, Outs& out, const Attrs&) {
  const int64_t V = in[0].shape[0], C = in[0].shape[1], N = in[1].shape[0];
  for (int64_t n = 0; n < N; ++n) {
    int64_t r = int64_t(in[1].data[n]);
    for (int64_t c = 0; c < C; ++c) out[0].data[n * C + c] = (r >= 0 && r < V) ? in[0].data[r * C + c] : 0.0;
  }
}

}  // namespace tessera::ref
