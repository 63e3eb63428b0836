// float64 references: rasterize / rasterize_uv loop over triangles and over the
// pixels of a conservative box (the whole image when a vertex has w <= 0),
// testing each pixel centre exactly; the nearest (then smallest id) wins.
#include "ops/reference/geometry_raster.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/error.hpp"

namespace tessera::ref {

static void cross3(const double* a, const double* b, double* c) {
  c[0] = a[1] * b[2] - a[2] * b[1];
  c[1] = a[2] * b[0] - a[0] * b[2];
  c[2] = a[0] * b[1] - a[1] * b[0];
}
static double norm3(const double* a) { return std::sqrt(a[0] * a[0] + a[1] * a[1] + a[2] * a[2]); }

RasterTri raster_tri(const double* v0, const double* v1, const double* v2) {
  RasterTri t;
  const double* v[3] = {v0, v1, v2};
  bool finite = true;
  for (int k = 0; k < 3; ++k) {
    t.P[k][0] = v[k][0];
    t.P[k][1] = v[k][1];
    t.P[k][2] = v[k][3];
    t.z[k] = v[k][2];
    for (int c = 0; c < 4; ++c) finite = finite && std::isfinite(v[k][c]);
  }
  for (int k = 0; k < 3; ++k) cross3(t.P[(k + 1) % 3], t.P[(k + 2) % 3], t.E[k]);
  t.det = t.P[0][0] * t.E[0][0] + t.P[0][1] * t.E[0][1] + t.P[0][2] * t.E[0][2];
  t.valid = finite && t.det != 0 && std::isfinite(t.det);
  return t;
}

RasterHit raster_eval(const RasterTri& t, double px, double py) {
  RasterHit h;
  if (!t.valid) return h;
  const double p[3] = {px, py, 1.0};
  const double pn = norm3(p);
  double e[3], s = 0, depth = 0, zerr = 0;
  h.edge_margin = std::numeric_limits<double>::infinity();
  for (int k = 0; k < 3; ++k) {
    e[k] = (t.E[k][0] * p[0] + t.E[k][1] * p[1] + t.E[k][2] * p[2]) / t.det;
    s += e[k];
    depth += e[k] * t.z[k];
    const double scale = norm3(t.P[(k + 1) % 3]) * norm3(t.P[(k + 2) % 3]) * pn;
    h.edge_margin = std::min(h.edge_margin, scale > 0 ? e[k] * std::abs(t.det) / scale : 0.0);
    zerr += std::abs(t.z[k]) * scale / std::abs(t.det);
  }
  h.depth_err = 1e-6 * zerr + 1e-6;
  h.depth = depth;
  h.covered = e[0] >= 0 && e[1] >= 0 && e[2] >= 0 && s > 0 && depth >= -1 && depth <= 1;
  if (s > 0) {
    h.u = e[0] / s;
    h.v = e[1] / s;
  }
  return h;
}

namespace {

// Shared by rasterize and rasterize_uv: clip-space vertices [V][4].
void raster_common(const char* op, const std::vector<double>& clip, const HostTensor& faces, int64_t H, int64_t W,
                   std::vector<HostTensor>& out, bool with_depth) {
  const int64_t V = int64_t(clip.size() / 4), F = faces.shape[0];
  std::vector<double> best_d(size_t(H * W), 0);
  std::vector<int64_t> best(size_t(H * W), -1);
  std::vector<double> bu(size_t(H * W), 0), bv(size_t(H * W), 0);
  for (int64_t f = 0; f < F; ++f) {
    int64_t vi[3];
    for (int k = 0; k < 3; ++k) {
      vi[k] = int64_t(faces.data[size_t(f * 3 + k)]);
      TESSERA_CHECK(vi[k] >= 0 && vi[k] < V, "op '{}' (reference): face {} has vertex index {} outside [0, {})", op,
                    f, vi[k], V);
    }
    const double* v[3] = {&clip[size_t(vi[0] * 4)], &clip[size_t(vi[1] * 4)], &clip[size_t(vi[2] * 4)]};
    RasterTri t = raster_tri(v[0], v[1], v[2]);
    if (!t.valid) continue;
    // Conservative pixel box: when every w > 0 the covered region lies in
    // the box of the projected vertices; otherwise test the whole image.
    int64_t j0 = 0, j1 = W - 1, i0 = 0, i1 = H - 1;
    if (v[0][3] > 0 && v[1][3] > 0 && v[2][3] > 0) {
      double xmin = 1e300, xmax = -1e300, ymin = 1e300, ymax = -1e300;
      for (auto* q : v) {
        xmin = std::min(xmin, q[0] / q[3]);
        xmax = std::max(xmax, q[0] / q[3]);
        ymin = std::min(ymin, q[1] / q[3]);
        ymax = std::max(ymax, q[1] / q[3]);
      }
      // Pixel index range of centres inside [c0, c1] (clamped before converting).
      auto lo = [](double c, int64_t n) { return int64_t(std::clamp(std::floor((c + 1) * 0.5 * double(n) - 0.5), -1.0, double(n))); };
      auto hi = [](double c, int64_t n) { return int64_t(std::clamp(std::ceil((c + 1) * 0.5 * double(n) - 0.5), -1.0, double(n))); };
      j0 = std::max<int64_t>(0, lo(xmin, W));
      j1 = std::min<int64_t>(W - 1, hi(xmax, W));
      i0 = std::max<int64_t>(0, lo(ymin, H));
      i1 = std::min<int64_t>(H - 1, hi(ymax, H));
    }
    for (int64_t i = i0; i <= i1; ++i)
      for (int64_t j = j0; j <= j1; ++j) {
        RasterHit h = raster_eval(t, (2.0 * double(j) + 1.0) / double(W) - 1.0, (2.0 * double(i) + 1.0) / double(H) - 1.0);
        if (!h.covered) continue;
        const size_t p = size_t(i * W + j);
        if (best[p] < 0 || h.depth < best_d[p]) {  // f ascending: an equal depth keeps the smaller id
          best[p] = f;
          best_d[p] = h.depth;
          bu[p] = h.u;
          bv[p] = h.v;
        }
      }
  }
  for (size_t p = 0; p < best.size(); ++p) {
    out[0].data[p] = double(best[p]);
    out[1].data[2 * p] = bu[p];
    out[1].data[2 * p + 1] = bv[p];
    if (with_depth) out[2].data[p] = best[p] >= 0 ? best_d[p] : 0.0;
  }
}

// Bilinear / trilinear tap: index and weight along one axis of size n.
struct Tap {
  int64_t i[2];
  double w[2];
  bool in[2];
};
Tap make_tap(double c, int64_t n, int mode) {  // mode 0 wrap, 1 clamp, 2 zero
  Tap t;
  const double x = c * double(n) - 0.5, x0 = std::floor(x), f = x - x0;
  t.w[0] = 1 - f;
  t.w[1] = f;
  for (int k = 0; k < 2; ++k) {
    int64_t idx = int64_t(x0) + k;
    t.in[k] = true;
    if (mode == 0) idx = ((idx % n) + n) % n;
    else if (mode == 1) idx = std::min(std::max<int64_t>(idx, 0), n - 1);
    else if (idx < 0 || idx >= n) t.in[k] = false, idx = 0;
    t.i[k] = idx;
  }
  return t;
}

int boundary_mode(const Attrs& a) {
  const std::string b = a.get_str("boundary", "wrap");
  return b == "wrap" ? 0 : b == "clamp" ? 1 : 2;
}

}  // namespace

void rasterize(const std::vector<HostTensor>& in, std::vector<HostTensor>& out, const Attrs& a) {
  raster_common("rasterize", in[0].data, in[1], a.get_int("height"), a.get_int("width"), out, true);
}

void rasterize_uv(const std::vector<HostTensor>& in, std::vector<HostTensor>& out, const Attrs& a) {
  const int64_t V = in[0].shape[0];
  std::vector<double> clip(size_t(V * 4));
  for (int64_t k = 0; k < V; ++k) {
    clip[size_t(4 * k)] = 2 * in[0].data[size_t(2 * k)] - 1;
    clip[size_t(4 * k + 1)] = 2 * in[0].data[size_t(2 * k + 1)] - 1;
    clip[size_t(4 * k + 2)] = 0;
    clip[size_t(4 * k + 3)] = 1;
  }
  raster_common("rasterize_uv", clip, in[1], a.get_int("height"), a.get_int("width"), out, false);
}

void interpolate(const std::vector<HostTensor>& in, std::vector<HostTensor>& out, const Attrs&) {
  const auto &attr = in[0], &faces = in[1], &id = in[2], &bary = in[3];
  const int64_t V = attr.shape[0], C = attr.shape[1], F = faces.shape[0], P = id.numel();
  for (int64_t p = 0; p < P; ++p) {
    const int64_t f = int64_t(id.data[size_t(p)]);
    for (int64_t c = 0; c < C; ++c) out[0].data[size_t(p * C + c)] = 0;
    if (f < 0 || f >= F) continue;
    const double u = bary.data[size_t(2 * p)], v = bary.data[size_t(2 * p + 1)], w[3] = {u, v, 1 - u - v};
    for (int k = 0; k < 3; ++k) {
      const int64_t vi = int64_t(faces.data[size_t(f * 3 + k)]);
      TESSERA_CHECK(vi >= 0 && vi < V, "op 'interpolate' (reference): face {} has vertex index {} outside [0, {})", f,
                    vi, V);
      for (int64_t c = 0; c < C; ++c) out[0].data[size_t(p * C + c)] += w[k] * attr.data[size_t(vi * C + c)];
    }
  }
}

void texture_sample_2d(const std::vector<HostTensor>& in, std::vector<HostTensor>& out, const Attrs& a) {
  const auto &tex = in[0], &uv = in[1];
  const int64_t H = tex.shape[0], W = tex.shape[1], C = tex.shape[2], P = uv.shape[0];
  const int mode = boundary_mode(a);
  for (int64_t p = 0; p < P; ++p) {
    double* o = &out[0].data[size_t(p * C)];
    std::fill(o, o + C, 0.0);
    const double u = uv.data[size_t(2 * p)], v = uv.data[size_t(2 * p + 1)];
    if (!std::isfinite(u) || !std::isfinite(v)) continue;
    Tap tx = make_tap(u, W, mode), ty = make_tap(v, H, mode);
    for (int b = 0; b < 2; ++b)
      for (int c2 = 0; c2 < 2; ++c2) {
        if (!ty.in[b] || !tx.in[c2]) continue;
        const double w = ty.w[b] * tx.w[c2];
        for (int64_t c = 0; c < C; ++c) o[c] += w * tex.data[size_t((ty.i[b] * W + tx.i[c2]) * C + c)];
      }
  }
}

void texture_sample_3d(const std::vector<HostTensor>& in, std::vector<HostTensor>& out, const Attrs& a) {
  const auto &g = in[0], &pts = in[1];
  const int64_t D = g.shape[0], H = g.shape[1], W = g.shape[2], C = g.shape[3], P = pts.shape[0];
  const int mode = boundary_mode(a);
  for (int64_t p = 0; p < P; ++p) {
    double* o = &out[0].data[size_t(p * C)];
    std::fill(o, o + C, 0.0);
    const double x = pts.data[size_t(3 * p)], y = pts.data[size_t(3 * p + 1)], z = pts.data[size_t(3 * p + 2)];
    if (!std::isfinite(x) || !std::isfinite(y) || !std::isfinite(z)) continue;
    Tap tx = make_tap(x, W, mode), ty = make_tap(y, H, mode), tz = make_tap(z, D, mode);
    for (int a2 = 0; a2 < 2; ++a2)
      for (int b = 0; b < 2; ++b)
        for (int c2 = 0; c2 < 2; ++c2) {
          if (!tz.in[a2] || !ty.in[b] || !tx.in[c2]) continue;
          const double w = tz.w[a2] * ty.w[b] * tx.w[c2];
          for (int64_t c = 0; c < C; ++c)
            o[c] += w * g.data[size_t(((tz.i[a2] * H + ty.i[b]) * W + tx.i[c2]) * C + c)];
        }
  }
}

}  // namespace tessera::ref
