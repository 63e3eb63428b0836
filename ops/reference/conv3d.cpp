#include "ops/reference/reference.hpp"

namespace tessera::ref {

void conv3d(const Ins& in, Outs& out, const Attrs&) {
  const auto &x = in[0], &w = in[1];
  const int64_t N = x.shape[0], Ci = x.shape[1], D = x.shape[2], H = x.shape[3], W = x.shape[4];
  const int64_t Co = w.shape[0], k = w.shape[2], p = k / 2;
  for (int64_t n = 0; n < N; ++n)
    for (int64_t co = 0; co < Co; ++co)
      for (int64_t z = 0; z < D; ++z)
        for (int64_t y = 0; y < H; ++y)
          for (int64_t xx = 0; xx < W; ++xx) {
            double acc = in.size() > 2 ? in[2].data[co] : 0.0;
            for (int64_t ci = 0; ci < Ci; ++ci)
              for (int64_t a = 0; a < k; ++a)
                for (int64_t b = 0; b < k; ++b)
                  for (int64_t c = 0; c < k; ++c) {
                    int64_t zz = z + a - p, yy = y + b - p, x3 = xx + c - p;
                    if (zz < 0 || zz >= D || yy < 0 || yy >= H || x3 < 0 || x3 >= W) continue;
                    acc += x.data[(((n * Ci + ci) * D + zz) * H + yy) * W + x3] *
                           w.data[(((co * Ci + ci) * k + a) * k + b) * k + c];
                  }
            out[0].data[(((n * Co + co) * D + z) * H + y) * W + xx] = acc;
          }
}

void pixel_shuffle_3d(const Ins& in, Outs& out, const Attrs& at) {
  const auto& x = in[0];
  const int64_t r = at.get_int("factor", 2), N = x.shape[0], C = x.shape[1] / (r * r * r), D = x.shape[2],
                H = x.shape[3], W = x.shape[4];
  for (int64_t n = 0; n < N; ++n)
    for (int64_t c = 0; c < C; ++c)
      for (int64_t s1 = 0; s1 < r; ++s1)
        for (int64_t s2 = 0; s2 < r; ++s2)
          for (int64_t s3 = 0; s3 < r; ++s3) {
            int64_t ci = c * r * r * r + (s1 * r + s2) * r + s3;
            for (int64_t d = 0; d < D; ++d)
              for (int64_t h = 0; h < H; ++h)
                for (int64_t w = 0; w < W; ++w)
                  out[0].data[(((n * C + c) * D * r + d * r + s1) * H * r + h * r + s2) * W * r + w * r + s3] =
                      x.data[(((n * x.shape[1] + ci) * D + d) * H + h) * W + w];
          }
}

void upsample_nearest_3d(const Ins& in, Outs& out, const Attrs& at) {
  const auto& x = in[0];
  const int64_t r = at.get_int("factor", 2), NC = x.shape[0] * x.shape[1], D = x.shape[2], H = x.shape[3],
                W = x.shape[4];
  for (int64_t nc = 0; nc < NC; ++nc)
    for (int64_t d = 0; d < D * r; ++d)
      for (int64_t h = 0; h < H * r; ++h)
        for (int64_t w = 0; w < W * r; ++w)
          out[0].data[((nc * D * r + d) * H * r + h) * W * r + w] = x.data[((nc * D + d / r) * H + h / r) * W + w / r];
}

}  // namespace tessera::ref
