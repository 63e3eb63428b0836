#include <cmath>

#include "ops/reference/reference.hpp"

namespace tessera::ref {

// x [..., C]; optional weight/bias broadcast over the trailing dims they cover.
void layer_norm(const Ins& in, Outs& out, const Attrs& a) {
  const auto& x = in[0];
  double eps = a.get_float("eps", 1e-5);
  int64_t C = x.shape.back(), rows = x.numel() / C;
  for (int64_t r = 0; r < rows; ++r) {
    const double* p = &x.data[r * C];
    double mean = 0, var = 0;
    for (int64_t c = 0; c < C; ++c) mean += p[c];
    mean /= C;
    for (int64_t c = 0; c < C; ++c) var += (p[c] - mean) * (p[c] - mean);
    var /= C;
    double inv = 1.0 / std::sqrt(var + eps);
    for (int64_t c = 0; c < C; ++c) {
      double v = (p[c] - mean) * inv;
      if (in.size() > 1) v = v * in[1].data[c] + in[2].data[c];
      out[0].data[r * C + c] = v;
    }
  }
}

void rms_norm(const Ins& in, Outs& out, const Attrs& a) {
  const auto& x = in[0];
  double eps = a.get_float("eps", 1e-6);
  bool l2 = a.get_str("mode", "rms") == "l2";
  int64_t C = x.shape.back(), rows = x.numel() / C;
  int64_t wrows = in.size() > 1 ? in[1].numel() / C : 1;
  for (int64_t r = 0; r < rows; ++r) {
    const double* p = &x.data[r * C];
    double ss = 0;
    for (int64_t c = 0; c < C; ++c) ss += p[c] * p[c];
    double f = l2 ? std::sqrt(double(C)) / std::max(std::sqrt(ss), eps) : 1.0 / std::sqrt(ss / C + eps);
    for (int64_t c = 0; c < C; ++c) {
      double v = p[c] * f;
      if (in.size() > 1) v *= in[1].data[(r % wrows) * C + c];
      out[0].data[r * C + c] = v;
    }
  }
}

// x [N, C, *spatial]; statistics per (n, group) over C/G channels x spatial.
void group_norm(const Ins& in, Outs& out, const Attrs& a) {
  const auto& x = in[0];
  int64_t G = a.get_int("groups", 1);
  double eps = a.get_float("eps", 1e-5);
  int64_t N = x.shape[0], C = x.shape[1], S = x.numel() / (N * C), cg = C / G;
  for (int64_t n = 0; n < N; ++n)
    for (int64_t g = 0; g < G; ++g) {
      int64_t base = (n * C + g * cg) * S, cnt = cg * S;
      double mean = 0, var = 0;
      for (int64_t i = 0; i < cnt; ++i) mean += x.data[base + i];
      mean /= cnt;
      for (int64_t i = 0; i < cnt; ++i) var += (x.data[base + i] - mean) * (x.data[base + i] - mean);
      var /= cnt;
      double inv = 1.0 / std::sqrt(var + eps);
      for (int64_t i = 0; i < cnt; ++i) {
        int64_t c = g * cg + i / S;
        double v = (x.data[base + i] - mean) * inv;
        if (in.size() > 1) v = v * in[1].data[c] + in[2].data[c];
        out[0].data[base + i] = v;
      }
    }
}

}  // namespace tessera::ref
