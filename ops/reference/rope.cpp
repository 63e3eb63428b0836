#include <cmath>

#include "ops/reference/reference.hpp"

namespace tessera::ref {

void rope(const Ins& in, Outs& out, const Attrs& a) {
  const auto& x = in[0];
  const auto& ang = in[1].data;
  const int64_t T = x.shape[0], H = x.shape[1], D = x.shape[2], P = D / 2, skip = a.get_int("skip", 0);
  const bool half = a.get_str("style", "interleaved") == "half";
  out[0].data = x.data;
  for (int64_t t = skip; t < T; ++t)
    for (int64_t h = 0; h < H; ++h)
      for (int64_t p = 0; p < P; ++p) {
        // The angle is stored in f32 (as the kernels read it): already rounded.
        double th = ang[(t - skip) * P + p], c = std::cos(th), s = std::sin(th);
        int64_t i0 = (t * H + h) * D + (half ? p : 2 * p), i1 = i0 + (half ? P : 1);
        double u = x.data[i0], v = x.data[i1];
        out[0].data[i0] = u * c - v * s;
        out[0].data[i1] = u * s + v * c;
      }
}

}  // namespace tessera::ref
