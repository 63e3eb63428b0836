// CPU layer_norm / rms_norm / group_norm: one TBB task range of rows, f32
// statistics in two passes (mean, then centred variance).
#include <cmath>
#include <vector>

#include <tbb/parallel_for.h>

#include "backends/cpu/cpu_device.hpp"
#include "core/op_registry.hpp"

namespace tessera::cpu {
namespace {

// Runs f(row, in_f32, out_f32) over rows of length C, converting to/from the dtype.
template <typename F>
void for_rows(const Tensor& x, Tensor& y, int64_t C, F f) {
  const int64_t rows = x.numel() / C;
  const DType t = x.dtype();
  const char* xp = data<char>(x);
  char* yp = data<char>(y);
  tbb::parallel_for(tbb::blocked_range<int64_t>(0, rows, std::max<int64_t>(1, 4096 / C)),
                    [&](const tbb::blocked_range<int64_t>& r) {
                      std::vector<float> in(static_cast<size_t>(C)), out(static_cast<size_t>(C));
                      for (int64_t row = r.begin(); row < r.end(); ++row) {
                        for (int64_t c = 0; c < C; ++c) in[c] = ld(xp, t, row * C + c);
                        f(row, in.data(), out.data());
                        for (int64_t c = 0; c < C; ++c) st(yp, t, row * C + c, out[c]);
                      }
                    });
}

void layer_norm(Device&, OpArgs& a) {
  const int64_t C = a.in[0].dim(-1);
  const float eps = float(a.attrs.get_float("eps", 1e-5));
  const float* w = a.in.size() > 1 ? data<float>(a.in[1]) : nullptr;
  const float* b = a.in.size() > 1 ? data<float>(a.in[2]) : nullptr;
  for_rows(a.in[0], a.out[0], C, [&](int64_t, const float* x, float* y) {
    double mean = 0;
    for (int64_t c = 0; c < C; ++c) mean += x[c];
    float m = float(mean / C);
    double var = 0;  // centred second pass, summed in double: exact enough for offset data
    for (int64_t c = 0; c < C; ++c) var += double(x[c] - m) * double(x[c] - m);
    float inv = 1.f / std::sqrt(float(var / C) + eps);
    for (int64_t c = 0; c < C; ++c) y[c] = w ? (x[c] - m) * inv * w[c] + b[c] : (x[c] - m) * inv;
  });
}

void rms_norm(Device&, OpArgs& a) {
  const int64_t C = a.in[0].dim(-1);
  const float eps = float(a.attrs.get_float("eps", 1e-6));
  const bool l2 = a.attrs.get_str("mode", "rms") == "l2";
  const float* w = a.in.size() > 1 ? data<float>(a.in[1]) : nullptr;
  const int64_t wrows = w ? a.in[1].numel() / C : 1;
  for_rows(a.in[0], a.out[0], C, [&](int64_t row, const float* x, float* y) {
    float ss = 0;
    for (int64_t c = 0; c < C; ++c) ss += x[c] * x[c];
    float f = l2 ? std::sqrt(float(C)) / std::max(std::sqrt(ss), eps) : 1.f / std::sqrt(ss / C + eps);
    const float* wr = w ? w + (row % wrows) * C : nullptr;
    for (int64_t c = 0; c < C; ++c) y[c] = wr ? x[c] * f * wr[c] : x[c] * f;
  });
}

void group_norm(Device&, OpArgs& a) {
  const Tensor& x = a.in[0];
  const int64_t G = a.attrs.get_int("groups", 1), N = x.dim(0), C = x.dim(1), S = x.numel() / (N * C), cg = C / G;
  const float eps = float(a.attrs.get_float("eps", 1e-5));
  const float* w = a.in.size() > 1 ? data<float>(a.in[1]) : nullptr;
  const float* b = a.in.size() > 1 ? data<float>(a.in[2]) : nullptr;
  const DType t = x.dtype();
  const char* xp = data<char>(x);
  char* yp = data<char>(a.out[0]);
  tbb::parallel_for(int64_t(0), N * G, [&](int64_t ng) {
    const int64_t n = ng / G, g = ng % G, base = (n * C + g * cg) * S, cnt = cg * S;
    double mean = 0;
    for (int64_t i = 0; i < cnt; ++i) mean += ld(xp, t, base + i);
    float m = float(mean / cnt);
    double var = 0;
    for (int64_t i = 0; i < cnt; ++i) {
      float d = ld(xp, t, base + i) - m;
      var += d * d;
    }
    float inv = 1.f / std::sqrt(float(var / cnt) + eps);
    for (int64_t i = 0; i < cnt; ++i) {
      int64_t c = g * cg + i / S;
      float v = (ld(xp, t, base + i) - m) * inv;
      st(yp, t, base + i, w ? v * w[c] + b[c] : v);
    }
  });
}

TESSERA_REGISTER_KERNEL("layer_norm", "cpu", layer_norm);
TESSERA_REGISTER_KERNEL("rms_norm", "cpu", rms_norm);
TESSERA_REGISTER_KERNEL("group_norm", "cpu", group_norm);

}  // namespace
}  // namespace tessera::cpu
