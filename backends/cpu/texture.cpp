// CPU texture_sample_2d / _3d: one TBB task per range of points, f32 math.
#include <tbb/parallel_for.h>

#include <cmath>

#include "backends/cpu/cpu_device.hpp"
#include "core/op_registry.hpp"

namespace tessera::cpu {
namespace {

int mode_of(const Attrs& a) {
  const std::string b = a.get_str("boundary", "wrap");
  return b == "wrap" ? 0 : b == "clamp" ? 1 : 2;
}

// Two taps along an axis of size n: indices i[k], weights w[k] (0 when the
// tap is outside and the boundary is "zero").
struct Tap {
  int64_t i[2];
  float w[2];
};
Tap tap(float c, int64_t n, int mode) {
  Tap t;
  const float x = c * float(n) - 0.5f, x0 = std::floor(x), f = x - x0;
  // x0 is an integer-valued float; clamp before converting (|c| may be huge).
  const int64_t i0 = int64_t(std::fmax(std::fmin(x0, 1e15f), -1e15f));
  t.w[0] = 1.f - f;
  t.w[1] = f;
  for (int k = 0; k < 2; ++k) {
    int64_t i = i0 + k;
    if (mode == 0) i = ((i % n) + n) % n;
    else if (mode == 1) i = std::min(std::max<int64_t>(i, 0), n - 1);
    else if (i < 0 || i >= n) t.w[k] = 0, i = 0;
    t.i[k] = i;
  }
  return t;
}

void tex2d(Device&, OpArgs& a) {
  const Tensor& tex = a.in[0];
  const int64_t H = tex.dim(0), W = tex.dim(1), C = tex.dim(2), P = a.in[1].dim(0);
  const float *t = data<float>(tex), *uv = data<float>(a.in[1]);
  float* o = data<float>(a.out[0]);
  const int mode = mode_of(a.attrs);
  tbb::parallel_for(int64_t(0), P, [&](int64_t p) {
    float* op = o + p * C;
    for (int64_t c = 0; c < C; ++c) op[c] = 0;
    const float u = uv[2 * p], v = uv[2 * p + 1];
    if (!std::isfinite(u) || !std::isfinite(v)) return;
    const Tap tx = tap(u, W, mode), ty = tap(v, H, mode);
    for (int b = 0; b < 2; ++b)
      for (int k = 0; k < 2; ++k) {
        const float w = ty.w[b] * tx.w[k];
        const float* tp = t + (ty.i[b] * W + tx.i[k]) * C;
        for (int64_t c = 0; c < C; ++c) op[c] += w * tp[c];
      }
  });
}

void tex3d(Device&, OpArgs& a) {
  const Tensor& g = a.in[0];
  const int64_t D = g.dim(0), H = g.dim(1), W = g.dim(2), C = g.dim(3), P = a.in[1].dim(0);
  const float *t = data<float>(g), *pts = data<float>(a.in[1]);
  float* o = data<float>(a.out[0]);
  const int mode = mode_of(a.attrs);
  tbb::parallel_for(int64_t(0), P, [&](int64_t p) {
    float* op = o + p * C;
    for (int64_t c = 0; c < C; ++c) op[c] = 0;
    const float x = pts[3 * p], y = pts[3 * p + 1], z = pts[3 * p + 2];
    if (!std::isfinite(x) || !std::isfinite(y) || !std::isfinite(z)) return;
    const Tap tx = tap(x, W, mode), ty = tap(y, H, mode), tz = tap(z, D, mode);
    for (int e = 0; e < 2; ++e)
      for (int b = 0; b < 2; ++b)
        for (int k = 0; k < 2; ++k) {
          const float w = tz.w[e] * ty.w[b] * tx.w[k];
          const float* tp = t + ((tz.i[e] * H + ty.i[b]) * W + tx.i[k]) * C;
          for (int64_t c = 0; c < C; ++c) op[c] += w * tp[c];
        }
  });
}

TESSERA_REGISTER_KERNEL("texture_sample_2d", "cpu", tex2d);
TESSERA_REGISTER_KERNEL("texture_sample_3d", "cpu", tex3d);

}  // namespace
}  // namespace tessera::cpu
