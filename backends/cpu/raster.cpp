// CPU rasterize / rasterize_uv / interpolate. Per triangle (TBB): the
// homogeneous edge functions divided by the determinant (f32) and a
// conservative pixel box from the triangle clipped to the near and far
// planes. Then per band of 16 rows (TBB): the band's triangles are binned
// into 16 x 16 tiles and every pixel tests its tile's triangles, keeping the
// smallest (depth, id): the result does not depend on submission order.
#include <tbb/parallel_for.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <vector>

#include "backends/cpu/cpu_device.hpp"
#include "core/error.hpp"
#include "core/op_registry.hpp"

namespace tessera::cpu {
namespace {

constexpr int64_t kTile = 16;

struct Setup {
  // Coordinates are taken relative to a per-triangle centre c (a shear of
  // the homogeneous coordinates, det 1: edge functions unchanged), which keeps
  // the edge functions of small triangles accurate in f32.
  float A[3][3];  // a_k(p) = A[k] . (px - cx, py - cy, 1)
  float Z[3];     // depth(p) = Z . (px - cx, py - cy, 1)
  float cx = 0, cy = 0;
  int32_t x0 = 0, x1 = -1, y0 = 0, y1 = -1;  // inclusive pixel box (empty when x0 > x1)
};

// Conservative pixel box of the part of triangle v (clip x, y, z, w) with
// -w <= z <= w: clip the polygon by both planes, project, widen by a pixel.
void pixel_box(const float* v[3], int64_t H, int64_t W, Setup& s) {
  float poly[2][8][4];
  int n = 3;
  for (int k = 0; k < 3; ++k)
    for (int c = 0; c < 4; ++c) poly[0][k][c] = v[k][c];
  int cur = 0;
  for (int plane = 0; plane < 2 && n > 0; ++plane) {
    auto dist = [plane](const float* q) { return plane == 0 ? q[3] + q[2] : q[3] - q[2]; };
    int m = 0;
    for (int k = 0; k < n; ++k) {
      const float *a = poly[cur][k], *b = poly[cur][(k + 1) % n];
      const float da = dist(a), db = dist(b);
      if (da >= 0) std::copy(a, a + 4, poly[1 - cur][m++]);
      if ((da >= 0) != (db >= 0)) {
        const float t = da / (da - db);
        for (int c = 0; c < 4; ++c) poly[1 - cur][m][c] = a[c] + t * (b[c] - a[c]);
        m++;
      }
    }
    n = m;
    cur = 1 - cur;
  }
  if (n == 0) return;  // entirely beyond the near or far plane
  float xmin = INFINITY, xmax = -INFINITY, ymin = INFINITY, ymax = -INFINITY;
  bool full = false;
  for (int k = 0; k < n; ++k) {
    const float* q = poly[cur][k];
    if (!(q[3] > 1e-30f)) {
      full = true;
      break;
    }
    xmin = std::min(xmin, q[0] / q[3]);
    xmax = std::max(xmax, q[0] / q[3]);
    ymin = std::min(ymin, q[1] / q[3]);
    ymax = std::max(ymax, q[1] / q[3]);
  }
  auto lo = [](float c, int64_t m) {
    return int32_t(std::clamp(std::floor((double(c) + 1) * 0.5 * double(m) - 0.5) - 1, 0.0, double(m)));
  };
  auto hi = [](float c, int64_t m) {
    return int32_t(std::clamp(std::ceil((double(c) + 1) * 0.5 * double(m) - 0.5) + 1, -1.0, double(m - 1)));
  };
  if (full || !(xmin <= xmax) || !(ymin <= ymax)) {
    if (!full) return;  // NaN
    s.x0 = 0, s.x1 = int32_t(W - 1), s.y0 = 0, s.y1 = int32_t(H - 1);
    return;
  }
  s.x0 = lo(xmin, W), s.x1 = hi(xmax, W), s.y0 = lo(ymin, H), s.y1 = hi(ymax, H);
}

void setup_tri(const float* v[3], int64_t H, int64_t W, Setup& s) {
  float P[3][3];
  for (int k = 0; k < 3; ++k) {
    for (int c = 0; c < 4; ++c)
      if (!std::isfinite(v[k][c])) return;
  }
  const float sw = v[0][3] + v[1][3] + v[2][3];
  if (sw > 0) {
    s.cx = std::clamp((v[0][0] + v[1][0] + v[2][0]) / sw, -1.5f, 1.5f);
    s.cy = std::clamp((v[0][1] + v[1][1] + v[2][1]) / sw, -1.5f, 1.5f);
  }
  for (int k = 0; k < 3; ++k) P[k][0] = v[k][0] - s.cx * v[k][3], P[k][1] = v[k][1] - s.cy * v[k][3], P[k][2] = v[k][3];
  float E[3][3];
  for (int k = 0; k < 3; ++k) {
    const float *a = P[(k + 1) % 3], *b = P[(k + 2) % 3];
    E[k][0] = a[1] * b[2] - a[2] * b[1];
    E[k][1] = a[2] * b[0] - a[0] * b[2];
    E[k][2] = a[0] * b[1] - a[1] * b[0];
  }
  const float det = P[0][0] * E[0][0] + P[0][1] * E[0][1] + P[0][2] * E[0][2];
  if (det == 0 || !std::isfinite(det)) return;
  for (int c = 0; c < 3; ++c) s.Z[c] = 0;
  for (int k = 0; k < 3; ++k)
    for (int c = 0; c < 3; ++c) {
      s.A[k][c] = E[k][c] / det;
      s.Z[c] += v[k][2] * s.A[k][c];
    }
  for (int k = 0; k < 3; ++k)
    for (int c = 0; c < 3; ++c)
      if (!std::isfinite(s.A[k][c]) || !std::isfinite(s.Z[c])) return;
  pixel_box(v, H, W, s);
}

// Rasterizes clip-space vertices clip[V*4] with faces (already validated).
void raster(const float* clip, const int32_t* faces, int64_t F, int64_t H, int64_t W, int32_t* out_id, float* out_b,
            float* out_d) {
  std::vector<Setup> st(static_cast<size_t>(F));
  tbb::parallel_for(int64_t(0), F, [&](int64_t f) {
    const float* v[3] = {clip + 4 * int64_t(faces[3 * f]), clip + 4 * int64_t(faces[3 * f + 1]),
                         clip + 4 * int64_t(faces[3 * f + 2])};
    setup_tri(v, H, W, st[size_t(f)]);
  });
  const int64_t bands = (H + kTile - 1) / kTile, tiles_x = (W + kTile - 1) / kTile;
  tbb::parallel_for(int64_t(0), bands, [&](int64_t band) {
    const int64_t r0 = band * kTile, r1 = std::min(H, r0 + kTile) - 1;
    std::vector<std::vector<int32_t>> bins(static_cast<size_t>(tiles_x));
    for (int64_t f = 0; f < F; ++f) {
      const Setup& s = st[size_t(f)];
      if (s.x0 > s.x1 || s.y0 > s.y1 || s.y1 < r0 || s.y0 > r1) continue;
      for (int64_t t = s.x0 / kTile; t <= s.x1 / kTile; ++t) bins[size_t(t)].push_back(int32_t(f));
    }
    for (int64_t i = r0; i <= r1; ++i) {
      const float py = float(2 * i + 1) / float(H) - 1.0f;
      for (int64_t j = 0; j < W; ++j) {
        const float px = float(2 * j + 1) / float(W) - 1.0f;
        int32_t best = -1;
        float bd = 0, bu = 0, bv = 0;
        for (int32_t f : bins[size_t(j / kTile)]) {
          const Setup& s = st[size_t(f)];
          if (i < s.y0 || i > s.y1 || j < s.x0 || j > s.x1) continue;
          const float qx = px - s.cx, qy = py - s.cy;
          const float a0 = s.A[0][0] * qx + s.A[0][1] * qy + s.A[0][2];
          const float a1 = s.A[1][0] * qx + s.A[1][1] * qy + s.A[1][2];
          const float a2 = s.A[2][0] * qx + s.A[2][1] * qy + s.A[2][2];
          const float sum = a0 + a1 + a2;
          if (!(a0 >= 0 && a1 >= 0 && a2 >= 0 && sum > 0)) continue;
          const float d = s.Z[0] * qx + s.Z[1] * qy + s.Z[2];
          if (!(d >= -1 && d <= 1)) continue;
          if (best < 0 || d < bd || (d == bd && f < best)) {
            best = f, bd = d, bu = a0 / sum, bv = a1 / sum;
          }
        }
        const int64_t p = i * W + j;
        out_id[p] = best;
        out_b[2 * p] = best >= 0 ? bu : 0.f;
        out_b[2 * p + 1] = best >= 0 ? bv : 0.f;
        if (out_d) out_d[p] = best >= 0 ? bd : 0.f;
      }
    }
  });
}

void check_faces(const char* op, const int32_t* faces, int64_t F, int64_t V) {
  std::atomic<int64_t> bad{-1};
  tbb::parallel_for(int64_t(0), F, [&](int64_t f) {
    for (int k = 0; k < 3; ++k)
      if (faces[3 * f + k] < 0 || faces[3 * f + k] >= V) {
        int64_t e = -1;
        bad.compare_exchange_strong(e, f);
      }
  });
  const int64_t f = bad.load();
  TESSERA_CHECK(f < 0, "op '{}' (cpu): face {} = ({}, {}, {}) has a vertex index outside [0, {})", op, f,
                faces[3 * f], faces[3 * f + 1], faces[3 * f + 2], V);
}

void rasterize(Device&, OpArgs& a) {
  const int64_t V = a.in[0].dim(0), F = a.in[1].dim(0), H = a.out[0].dim(0), W = a.out[0].dim(1);
  check_faces("rasterize", data<int32_t>(a.in[1]), F, V);
  raster(data<float>(a.in[0]), data<int32_t>(a.in[1]), F, H, W, data<int32_t>(a.out[0]), data<float>(a.out[1]),
         data<float>(a.out[2]));
}

void rasterize_uv(Device&, OpArgs& a) {
  const int64_t V = a.in[0].dim(0), F = a.in[1].dim(0), H = a.out[0].dim(0), W = a.out[0].dim(1);
  check_faces("rasterize_uv", data<int32_t>(a.in[1]), F, V);
  const float* uv = data<float>(a.in[0]);
  std::vector<float> clip(static_cast<size_t>(V * 4));
  for (int64_t k = 0; k < V; ++k) {
    clip[size_t(4 * k)] = 2 * uv[2 * k] - 1;
    clip[size_t(4 * k + 1)] = 2 * uv[2 * k + 1] - 1;
    clip[size_t(4 * k + 2)] = 0;
    clip[size_t(4 * k + 3)] = 1;
  }
  raster(clip.data(), data<int32_t>(a.in[1]), F, H, W, data<int32_t>(a.out[0]), data<float>(a.out[1]), nullptr);
}

void interpolate(Device&, OpArgs& a) {
  const int64_t V = a.in[0].dim(0), C = a.in[0].dim(1), F = a.in[1].dim(0), P = a.in[2].numel();
  const float* at = data<float>(a.in[0]);
  const int32_t* faces = data<int32_t>(a.in[1]);
  check_faces("interpolate", faces, F, V);
  const int32_t* id = data<int32_t>(a.in[2]);
  const float* b = data<float>(a.in[3]);
  float* o = data<float>(a.out[0]);
  tbb::parallel_for(int64_t(0), P, [&](int64_t p) {
    const int64_t f = id[p];
    float* op = o + p * C;
    if (f < 0 || f >= F) {
      std::fill(op, op + C, 0.f);
      return;
    }
    const float u = b[2 * p], v = b[2 * p + 1], w = 1.f - u - v;
    const float *a0 = at + int64_t(faces[3 * f]) * C, *a1 = at + int64_t(faces[3 * f + 1]) * C,
                *a2 = at + int64_t(faces[3 * f + 2]) * C;
    for (int64_t c = 0; c < C; ++c) op[c] = u * a0[c] + v * a1[c] + w * a2[c];
  });
}

TESSERA_REGISTER_KERNEL("rasterize", "cpu", rasterize);
TESSERA_REGISTER_KERNEL("rasterize_uv", "cpu", rasterize_uv);
TESSERA_REGISTER_KERNEL("interpolate", "cpu", interpolate);

}  // namespace
}  // namespace tessera::cpu
