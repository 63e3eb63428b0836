#include "ops/reference/geometry_bvh.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "core/error.hpp"
#include "ops/bvh_math.hpp"

namespace tessera::ref {

using bvh::V3;
using V3d = V3<double>;
using V3f = V3<float>;

namespace {

V3d vd(const HostTensor& t, int64_t i) { return {t.data[3 * i], t.data[3 * i + 1], t.data[3 * i + 2]}; }

// Tight boxes bottom-up (reverse DFS order) and the depth of a tree whose
// left/right/leaf_face are set.
void refit(HostBvh& b, const std::vector<float>& v, const std::vector<int32_t>& f) {
  const int64_t F = int64_t(b.leaf_face.size()), N = 2 * F - 1;
  b.boxes.assign(size_t(6 * N), 0.f);
  std::vector<int32_t> order, depth(size_t(N), 0), st{0};
  b.nodes[2] = -1;
  while (!st.empty()) {
    int32_t n = st.back();
    st.pop_back();
    order.push_back(n);
    if (n >= F - 1) continue;
    for (int c = 0; c < 2; ++c) {
      int32_t ch = b.nodes[size_t(4 * n + c)];
      b.nodes[size_t(4 * ch + 2)] = n;
      depth[size_t(ch)] = depth[size_t(n)] + 1;
      st.push_back(ch);
    }
  }
  b.depth = *std::max_element(depth.begin(), depth.end());
  for (auto it = order.rbegin(); it != order.rend(); ++it) {
    const int32_t n = *it;
    float* bx = &b.boxes[size_t(6 * n)];
    if (n >= F - 1) {
      const int32_t face = b.leaf_face[size_t(n - (F - 1))];
      b.nodes[size_t(4 * n)] = b.nodes[size_t(4 * n + 1)] = -1;
      b.nodes[size_t(4 * n + 3)] = face;
      for (int k = 0; k < 3; ++k) {
        const float* p = &v[size_t(3 * f[size_t(3 * face + k)])];
        for (int d = 0; d < 3; ++d) {
          bx[d] = k ? std::min(bx[d], p[d]) : p[d];
          bx[3 + d] = k ? std::max(bx[3 + d], p[d]) : p[d];
        }
      }
    } else {
      b.nodes[size_t(4 * n + 3)] = -1;
      const float* l = &b.boxes[size_t(6 * b.nodes[size_t(4 * n)])];
      const float* r = &b.boxes[size_t(6 * b.nodes[size_t(4 * n + 1)])];
      for (int d = 0; d < 3; ++d) bx[d] = std::min(l[d], r[d]), bx[3 + d] = std::max(l[3 + d], r[3 + d]);
    }
  }
}

std::vector<float> to_f(const HostTensor& t) { return std::vector<float>(t.data.begin(), t.data.end()); }
std::vector<int32_t> to_i(const HostTensor& t) {
  std::vector<int32_t> r(t.data.size());
  for (size_t i = 0; i < r.size(); ++i) r[i] = int32_t(t.data[i]);
  return r;
}
void put(HostTensor& t, const std::vector<float>& v) { t.data.assign(v.begin(), v.end()); }
void put(HostTensor& t, const std::vector<int32_t>& v) { t.data.assign(v.begin(), v.end()); }

std::vector<int64_t> rows_of(const Attrs& a, int64_t n) {
  std::vector<int64_t> rows;
  try {
    rows = a.get_ints("__rows");
  } catch (...) {
  }
  if (rows.empty()) {
    rows.resize(size_t(n));
    std::iota(rows.begin(), rows.end(), 0);
  }
  return rows;
}

// Exact (f64) closest face of p: smallest face id among equal distances.
int64_t brute_closest(const HostTensor& V, const HostTensor& Fc, V3d p, double r2, V3d& q, double w[3], double& d2) {
  const int64_t F = Fc.shape[0];
  int64_t best = -1;
  d2 = r2;
  for (int64_t f = 0; f < F; ++f) {
    V3d qq;
    double ww[3] = {0, 0, 0};
    double e = bvh::closest_on_triangle(p, vd(V, int64_t(Fc.data[3 * f])), vd(V, int64_t(Fc.data[3 * f + 1])),
                                        vd(V, int64_t(Fc.data[3 * f + 2])), qq, ww);
    if (best < 0 ? e <= d2 : e < d2) best = f, d2 = e, q = qq, w[0] = ww[0], w[1] = ww[1], w[2] = ww[2];
  }
  return best;
}

// f64 Moller-Trumbore, edges inclusive: t or NaN; w = weights of (a, b, c).
double ray_tri64(V3d o, V3d d, V3d a, V3d b, V3d c, double w[3]) {
  V3d e1 = bvh::sub(b, a), e2 = bvh::sub(c, a);
  V3d pv{d.y * e2.z - d.z * e2.y, d.z * e2.x - d.x * e2.z, d.x * e2.y - d.y * e2.x};
  double det = bvh::dot(e1, pv);
  if (det == 0) return NAN;
  V3d tv = bvh::sub(o, a);
  double u = bvh::dot(tv, pv) / det;
  V3d qv{tv.y * e1.z - tv.z * e1.y, tv.z * e1.x - tv.x * e1.z, tv.x * e1.y - tv.y * e1.x};
  double v = bvh::dot(d, qv) / det;
  w[0] = 1 - u - v, w[1] = u, w[2] = v;
  return bvh::dot(e2, qv) / det;
}

double maxabs3(V3d a) { return std::max({std::abs(a.x), std::abs(a.y), std::abs(a.z)}); }

}  // namespace

HostBvh build_lbvh(const std::vector<float>& v, const std::vector<int32_t>& f) {
  const int64_t F = int64_t(f.size() / 3), N = 2 * F - 1;
  std::vector<float> c(size_t(3 * F));
  float lo[3] = {0, 0, 0}, hi[3] = {0, 0, 0};
  for (int64_t i = 0; i < F; ++i)
    for (int d = 0; d < 3; ++d) {
      float s = (v[size_t(3 * f[3 * i] + d)] + v[size_t(3 * f[3 * i + 1] + d)] + v[size_t(3 * f[3 * i + 2] + d)]) / 3.0f;
      c[size_t(3 * i + d)] = s;
      lo[d] = i ? std::min(lo[d], s) : s;
      hi[d] = i ? std::max(hi[d], s) : s;
    }
  float scale[3];
  for (int d = 0; d < 3; ++d) scale[d] = hi[d] > lo[d] ? 1024.0f / (hi[d] - lo[d]) : 0.0f;
  std::vector<uint32_t> code(static_cast<size_t>(F));
  for (int64_t i = 0; i < F; ++i)
    code[size_t(i)] = (bvh::expand_bits10(bvh::quantize10(c[size_t(3 * i)], lo[0], scale[0])) << 2) |
                      (bvh::expand_bits10(bvh::quantize10(c[size_t(3 * i + 1)], lo[1], scale[1])) << 1) |
                      bvh::expand_bits10(bvh::quantize10(c[size_t(3 * i + 2)], lo[2], scale[2]));
  HostBvh b;
  b.leaf_face.resize(size_t(F));
  std::iota(b.leaf_face.begin(), b.leaf_face.end(), 0);
  std::stable_sort(b.leaf_face.begin(), b.leaf_face.end(), [&](int32_t x, int32_t y) { return code[size_t(x)] < code[size_t(y)]; });
  std::vector<uint32_t> sorted(static_cast<size_t>(F));
  for (int64_t i = 0; i < F; ++i) sorted[size_t(i)] = code[size_t(b.leaf_face[size_t(i)])];
  b.nodes.assign(size_t(4 * N), -1);
  for (int64_t i = 0; i + 1 < F; ++i) bvh::karras_node(sorted.data(), F, i, b.nodes[size_t(4 * i)], b.nodes[size_t(4 * i + 1)]);
  refit(b, v, f);
  return b;
}

HostBvh build_caterpillar(const std::vector<float>& v, const std::vector<int32_t>& f) {
  const int64_t F = int64_t(f.size() / 3), N = 2 * F - 1;
  HostBvh b;
  b.leaf_face.resize(size_t(F));
  std::iota(b.leaf_face.begin(), b.leaf_face.end(), 0);
  b.nodes.assign(size_t(4 * N), -1);
  for (int64_t i = 0; i + 1 < F; ++i) {
    b.nodes[size_t(4 * i)] = int32_t(F - 1 + i);
    b.nodes[size_t(4 * i + 1)] = int32_t(i + 2 < F ? i + 1 : 2 * F - 2);
  }
  refit(b, v, f);
  return b;
}

void bvh_build(const Ins& in, Outs& out, const Attrs&) {
  HostBvh b = build_lbvh(to_f(in[0]), to_i(in[1]));
  put(out[0], b.boxes);
  put(out[1], b.nodes);
  put(out[2], b.leaf_face);
  out[3].data = {double(b.depth)};
}

void bvh_query(const Ins& in, Outs& out, const Attrs& a) {
  const HostTensor &V = in[0], &Fc = in[1], &P = in[5];
  const double r = a.get_float("max_radius", INFINITY);
  for (int64_t i : rows_of(a, P.shape[0])) {
    V3d q{0, 0, 0};
    double w[3] = {0, 0, 0}, d2;
    int64_t f = brute_closest(V, Fc, vd(P, i), r * r, q, w, d2);
    out[0].data[size_t(i)] = double(f);
    for (int k = 0; k < 3; ++k) {
      out[1].data[size_t(3 * i + k)] = f < 0 ? 0.0 : q[k];
      out[2].data[size_t(3 * i + k)] = f < 0 ? 0.0 : w[k];
    }
    out[3].data[size_t(i)] = f < 0 ? INFINITY : std::sqrt(d2);
  }
}

void bvh_raycast(const Ins& in, Outs& out, const Attrs& a) {
  const HostTensor &V = in[0], &Fc = in[1], &O = in[5], &D = in[6];
  const double tmin = a.get_float("tmin", 0.0), tmax = a.get_float("tmax", INFINITY);
  const int64_t F = Fc.shape[0];
  for (int64_t i : rows_of(a, O.shape[0])) {
    double best = INFINITY, bw[3] = {0, 0, 0};
    int64_t bf = -1;
    for (int64_t f = 0; f < F; ++f) {
      double w[3];
      double t = ray_tri64(vd(O, i), vd(D, i), vd(V, int64_t(Fc.data[3 * f])), vd(V, int64_t(Fc.data[3 * f + 1])),
                           vd(V, int64_t(Fc.data[3 * f + 2])), w);
      if (!(t >= tmin && t <= tmax && w[0] >= 0 && w[1] >= 0 && w[2] >= 0)) continue;
      if (t < best) best = t, bf = f, bw[0] = w[0], bw[1] = w[1], bw[2] = w[2];
    }
    out[0].data[size_t(i)] = best;
    out[1].data[size_t(i)] = double(bf);
    for (int k = 0; k < 3; ++k) out[2].data[size_t(3 * i + k)] = bw[k];
  }
}

std::string bvh_build_check(const Ins& in, const Outs& got, const Outs&, const Attrs&) {
  const HostTensor &V = in[0], &Fc = in[1];
  const int64_t F = Fc.shape[0], N = 2 * F - 1;
  const auto& bx = got[0].data;
  const auto& nd = got[1].data;
  const auto& lf = got[2].data;
  auto I = [&](int64_t n, int k) { return nd[size_t(4 * n + k)]; };
  for (int64_t n = 0; n < N; ++n) {
    for (int k = 0; k < 4; ++k)
      if (!(I(n, k) >= -1 && I(n, k) < N)) return fmt::format("node {} field {} = {} out of range", n, k, I(n, k));
    const bool leaf = n >= F - 1;
    if (leaf && (I(n, 0) != -1 || I(n, 1) != -1 || I(n, 3) < 0 || I(n, 3) >= F || lf[size_t(n - F + 1)] != I(n, 3)))
      return fmt::format("leaf node {}: children ({}, {}), face {}, leaf_face {}", n, I(n, 0), I(n, 1), I(n, 3),
                         lf[size_t(n - F + 1)]);
    if (!leaf && (I(n, 0) < 0 || I(n, 1) < 0 || I(n, 3) != -1))
      return fmt::format("internal node {}: children ({}, {}), face {}", n, I(n, 0), I(n, 1), I(n, 3));
  }
  if (I(0, 2) != -1) return fmt::format("root's parent is {}, not -1", I(0, 2));
  std::vector<char> seen(size_t(N), 0), face_seen(size_t(F), 0);
  std::vector<std::pair<int64_t, int64_t>> st{{0, 0}};
  int64_t depth = 0;
  while (!st.empty()) {
    auto [n, d] = st.back();
    st.pop_back();
    if (seen[size_t(n)]++) return fmt::format("node {} reached twice", n);
    depth = std::max(depth, d);
    const double* b = &bx[size_t(6 * n)];
    if (n >= F - 1) {
      const int64_t face = int64_t(I(n, 3));
      if (face_seen[size_t(face)]++) return fmt::format("face {} in two leaves", face);
      for (int dd = 0; dd < 3; ++dd) {
        double lo = INFINITY, hi = -INFINITY;
        for (int k = 0; k < 3; ++k) {
          double c = V.data[size_t(3 * int64_t(Fc.data[size_t(3 * face + k)]) + dd)];
          lo = std::min(lo, c), hi = std::max(hi, c);
        }
        if (!(b[dd] == lo && b[3 + dd] == hi))
          return fmt::format("leaf {} (face {}) box axis {} [{}, {}], face spans [{}, {}]", n, face, dd, b[dd], b[3 + dd], lo, hi);
      }
      continue;
    }
    for (int c = 0; c < 2; ++c) {
      const int64_t ch = int64_t(I(n, c));
      if (I(ch, 2) != double(n)) return fmt::format("node {}: child {} has parent {}", n, ch, I(ch, 2));
      st.push_back({ch, d + 1});
    }
    for (int dd = 0; dd < 3; ++dd) {
      const double* l = &bx[size_t(6 * I(n, 0))];
      const double* r = &bx[size_t(6 * I(n, 1))];
      if (!(b[dd] == std::min(l[dd], r[dd]) && b[3 + dd] == std::max(l[3 + dd], r[3 + dd])))
        return fmt::format("node {} box axis {} [{}, {}] is not the union of its children's", n, dd, b[dd], b[3 + dd]);
    }
  }
  for (int64_t n = 0; n < N; ++n)
    if (!seen[size_t(n)]) return fmt::format("node {} unreachable from the root", n);
  if (got[3].data[0] != double(depth)) return fmt::format("depth output {} but the tree's depth is {}", got[3].data[0], depth);
  return "";
}

std::string bvh_query_check(const Ins& in, const Outs& got, const Outs& ref, const Attrs& a) {
  const HostTensor &V = in[0], &Fc = in[1], &P = in[5];
  const int64_t F = Fc.shape[0], Pn = P.shape[0];
  const double r = a.get_float("max_radius", INFINITY);
  for (int64_t i = 0; i < Pn; ++i)  // poison anywhere
    if (!(got[0].data[size_t(i)] >= -1 && got[0].data[size_t(i)] < F) || std::isnan(got[3].data[size_t(i)]))
      return fmt::format("point {}: face {} distance {} (unwritten or out of range)", i, got[0].data[size_t(i)],
                         got[3].data[size_t(i)]);
  std::vector<char> used(size_t(V.shape[0]), 0);
  for (double x : Fc.data) used[size_t(x)] = 1;
  for (int64_t i : rows_of(a, Pn)) {
    const V3d p = vd(P, i);
    const int64_t fg = int64_t(got[0].data[size_t(i)]), fr = int64_t(ref[0].data[size_t(i)]);
    const double dg = got[3].data[size_t(i)], dr = ref[3].data[size_t(i)];
    const V3d q = vd(got[1], i), w = vd(got[2], i);
    double sc = maxabs3(p) + (std::isfinite(dr) ? dr : 0.0);
    for (int64_t f : {fg, fr})
      if (f >= 0)
        for (int k = 0; k < 3; ++k) sc = std::max(sc, maxabs3(vd(V, int64_t(Fc.data[size_t(3 * f + k)]))));
    const double tol = 1e-5 * sc + 1e-30;
    auto fail = [&](const std::string& what) {
      return fmt::format("point {} ({}, {}, {}): {}; got face {} dist {}, reference face {} dist {} (tol {:.3g})", i, p.x,
                         p.y, p.z, what, fg, dg, fr, dr, tol);
    };
    if (fg < 0) {
      if (!(dg == INFINITY && q.x == 0 && q.y == 0 && q.z == 0 && w.x == 0 && w.y == 0 && w.z == 0))
        return fail("a miss must report distance inf and zero point/barycentrics");
      if (fr >= 0 && !(dr >= r - tol)) return fail("missed a face within the radius");
      continue;
    }
    V3d qe;
    double we[3] = {0, 0, 0};
    const V3d A = vd(V, int64_t(Fc.data[size_t(3 * fg)])), B = vd(V, int64_t(Fc.data[size_t(3 * fg + 1)])),
              C = vd(V, int64_t(Fc.data[size_t(3 * fg + 2)]));
    const double de = std::sqrt(bvh::closest_on_triangle(p, A, B, C, qe, we));
    if (fr < 0 && !(de <= r + tol)) return fail("reported a face beyond the radius");
    if (fr >= 0 && !(std::abs(de - dr) <= tol)) return fail(fmt::format("face is not a nearest one (its distance {})", de));
    if (!(std::abs(dg - dr) <= tol || (fr < 0 && std::abs(dg - de) <= tol))) return fail("distance differs");
    if (!(w.x >= -1e-5 && w.y >= -1e-5 && w.z >= -1e-5 && std::abs(w.x + w.y + w.z - 1) <= 1e-5))
      return fail(fmt::format("barycentrics ({}, {}, {}) invalid", w.x, w.y, w.z));
    const V3d qb{w.x * A.x + w.y * B.x + w.z * C.x, w.x * A.y + w.y * B.y + w.z * C.y, w.x * A.z + w.y * B.z + w.z * C.z};
    if (!(maxabs3(bvh::sub(qb, q)) <= tol)) return fail("closest point does not match its barycentrics");
    if (!(std::abs(std::sqrt(bvh::dot(bvh::sub(p, q), bvh::sub(p, q))) - dg) <= tol))
      return fail("distance is not |point - closest point|");
    double dv = INFINITY;  // invariant: never farther than the nearest vertex
    for (int64_t k = 0; k < V.shape[0]; ++k)
      if (used[size_t(k)]) dv = std::min(dv, std::sqrt(bvh::dot(bvh::sub(p, vd(V, k)), bvh::sub(p, vd(V, k)))));
    if (!(dg <= dv + tol)) return fail(fmt::format("distance exceeds the nearest vertex's {}", dv));
  }
  return "";
}

std::string bvh_raycast_check(const Ins& in, const Outs& got, const Outs& ref, const Attrs& a) {
  const HostTensor &V = in[0], &Fc = in[1], &O = in[5], &D = in[6];
  const int64_t F = Fc.shape[0], R = O.shape[0];
  const double tmin = a.get_float("tmin", 0.0), tmax = a.get_float("tmax", INFINITY);
  for (int64_t i = 0; i < R; ++i)
    if (!(got[1].data[size_t(i)] >= -1 && got[1].data[size_t(i)] < F) || std::isnan(got[0].data[size_t(i)]))
      return fmt::format("ray {}: face {} t {} (unwritten or out of range)", i, got[1].data[size_t(i)], got[0].data[size_t(i)]);
  auto tri = [&](int64_t f, int k) { return vd(V, int64_t(Fc.data[size_t(3 * f + k)])); };
  for (int64_t i : rows_of(a, R)) {
    const V3d o = vd(O, i), d = vd(D, i), w = vd(got[2], i);
    const double tg = got[0].data[size_t(i)], tr = ref[0].data[size_t(i)];
    const int64_t fg = int64_t(got[1].data[size_t(i)]), fr = int64_t(ref[1].data[size_t(i)]);
    const double dl = std::sqrt(bvh::dot(d, d));
    double sc = maxabs3(o);
    for (int64_t f : {fg, fr})
      if (f >= 0)
        for (int k = 0; k < 3; ++k) sc = std::max(sc, maxabs3(tri(f, k)));
    double tol = 1e-5 * sc / dl + 1e-5 * (std::isfinite(tr) ? std::abs(tr) : 0.0);
    auto fail = [&](const std::string& what) {
      return fmt::format("ray {}: {}; got face {} t {}, reference face {} t {} (tol {:.3g})", i, what, fg, tg, fr, tr, tol);
    };
    // |cos| of the angle between the ray and face f's normal: hits at grazing
    // angles are ill-conditioned (t error ~ position error / |cos|).
    auto cosang = [&](int64_t f) {
      const V3d n = bvh::cross(bvh::sub(tri(f, 1), tri(f, 0)), bvh::sub(tri(f, 2), tri(f, 0)));
      const double nl = std::sqrt(bvh::dot(n, n));
      return nl > 0 ? std::abs(bvh::dot(n, d)) / (nl * dl) : 0.0;
    };
    // A hit within 1e-4 (barycentric) of an edge, within tol of tmin/tmax, or
    // at an angle under 1e-3 rad to the face may be taken or missed in f32.
    // Position tolerance of a hit on face f: f32 rounding of coordinates of
    // magnitude sc, amplified at grazing angles.
    auto tol_pos = [&](int64_t f) { return 1e-5 * sc / std::max(cosang(f), 1e-3); };
    auto edge_dist = [&](int64_t f, double t) {
      const V3d h = bvh::madd(o, d, t);
      double e = INFINITY, u;
      for (int k = 0; k < 3; ++k) e = std::min(e, std::sqrt(bvh::closest_on_segment(h, tri(f, k), tri(f, (k + 1) % 3), u)));
      return e;
    };
    auto grazing = [&](int64_t f, double t) {
      double ww[3] = {0, 0, 0};
      ray_tri64(o, d, tri(f, 0), tri(f, 1), tri(f, 2), ww);
      return std::min({ww[0], ww[1], ww[2]}) < 1e-4 || std::abs(t - tmin) <= tol || std::abs(t - tmax) <= tol ||
             cosang(f) < 1e-3 || edge_dist(f, t) <= tol_pos(f);
    };
    if (fg < 0) {
      if (!(tg == INFINITY && w.x == 0 && w.y == 0 && w.z == 0)) return fail("a miss must report t = inf, zero barycentrics");
      if (fr >= 0 && !grazing(fr, tr)) return fail("missed a hit");
      continue;
    }
    double we[3] = {0, 0, 0};
    const double te = ray_tri64(o, d, tri(fg, 0), tri(fg, 1), tri(fg, 2), we);
    tol /= std::max(cosang(fg), 1e-3);
    if (!(std::abs(te - tg) <= tol)) return fail(fmt::format("t differs from the face's plane hit {}", te));
    const double tp = tol_pos(fg);
    if (!(std::min({we[0], we[1], we[2]}) >= -1e-4 || edge_dist(fg, te) <= tp)) return fail("hit point is outside the face");
    if (!(tg >= tmin - tol && tg <= tmax + tol)) return fail("t outside [tmin, tmax]");
    if (fr < 0 ? !grazing(fg, tg) : !(tg <= tr + tol || grazing(fr, tr))) return fail("not the closest hit");
    if (fr >= 0 && tg < tr - tol && !grazing(fg, tg)) return fail("a hit before the reference's closest one");
    // Barycentrics: they must sum to 1 and name a point within tol_pos of the hit.
    const V3d A = tri(fg, 0), B = tri(fg, 1), C = tri(fg, 2), h = bvh::madd(o, d, te);
    const V3d hw{w.x * A.x + w.y * B.x + w.z * C.x, w.x * A.y + w.y * B.y + w.z * C.y, w.x * A.z + w.y * B.z + w.z * C.z};
    if (!(std::abs(w.x + w.y + w.z - 1) <= 1e-5 && maxabs3(bvh::sub(hw, h)) <= tp))
      return fail(fmt::format("barycentrics ({}, {}, {}) vs ({}, {}, {})", w.x, w.y, w.z, we[0], we[1], we[2]));
  }
  return "";
}

// ---- meshes ----

Mesh mesh_cube() {
  Mesh m;
  for (int i = 0; i < 8; ++i) m.v.insert(m.v.end(), {float(i & 1), float((i >> 1) & 1), float((i >> 2) & 1)});
  m.f = {0, 2, 1, 1, 2, 3, 4, 5, 6, 5, 7, 6, 0, 1, 4, 1, 5, 4, 2, 6, 3, 3, 6, 7, 0, 4, 2, 2, 4, 6, 1, 3, 5, 3, 7, 5};
  return m;
}

Mesh mesh_sphere(std::mt19937_64& rng, int nu, int nv) {
  std::uniform_real_distribution<double> jit(-0.2, 0.2);
  Mesh m;
  const double pi = 3.14159265358979323846;
  m.v.insert(m.v.end(), {0.f, 0.f, 1.f});
  for (int j = 1; j < nv; ++j)
    for (int i = 0; i < nu; ++i) {
      double th = pi * (j + jit(rng)) / nv, ph = 2 * pi * (i + jit(rng)) / nu, r = 1 + 0.01 * jit(rng);
      m.v.insert(m.v.end(), {float(r * std::sin(th) * std::cos(ph)), float(r * std::sin(th) * std::sin(ph)), float(r * std::cos(th))});
    }
  m.v.insert(m.v.end(), {0.f, 0.f, -1.f});
  const int32_t south = 1 + nu * (nv - 1);
  auto id = [&](int j, int i) { return int32_t(1 + (j - 1) * nu + (i % nu)); };
  for (int i = 0; i < nu; ++i) {
    m.f.insert(m.f.end(), {0, id(1, i), id(1, i + 1)});
    m.f.insert(m.f.end(), {south, id(nv - 1, i + 1), id(nv - 1, i)});
  }
  for (int j = 1; j + 1 < nv; ++j)
    for (int i = 0; i < nu; ++i) {
      m.f.insert(m.f.end(), {id(j, i), id(j + 1, i), id(j + 1, i + 1)});
      m.f.insert(m.f.end(), {id(j, i), id(j + 1, i + 1), id(j, i + 1)});
    }
  return m;
}

Mesh mesh_soup(std::mt19937_64& rng, int64_t n, double size) {
  std::uniform_real_distribution<double> u(-1, 1), s(-size / 2, size / 2);
  Mesh m;
  for (int64_t t = 0; t < n; ++t) {
    double c[3] = {u(rng), u(rng), u(rng)};
    const bool degenerate = t % 97 == 5;  // a few zero-area triangles (collinear or a point)
    for (int k = 0; k < 3; ++k)
      for (int d = 0; d < 3; ++d) m.v.push_back(float(c[d] + (degenerate ? (t % 2 ? 0.0 : 0.03 * k) : s(rng))));
    m.f.insert(m.f.end(), {int32_t(3 * t), int32_t(3 * t + 1), int32_t(3 * t + 2)});
  }
  return m;
}

Mesh mesh_strip(std::mt19937_64& rng, int64_t n) {
  std::uniform_real_distribution<double> u(-1e-4, 1e-4);
  Mesh m;
  const int64_t cols = n / 2 + 1;
  for (int64_t i = 0; i <= cols; ++i)
    for (int k = 0; k < 2; ++k)
      m.v.insert(m.v.end(), {float(1000.0 * i / cols), float(1e-3 * k), float(u(rng))});
  for (int64_t i = 0; int64_t(m.f.size()) < 3 * n; ++i) {
    const int32_t a = int32_t(2 * i), b = a + 1, c = a + 2, d = a + 3;
    m.f.insert(m.f.end(), {a, c, b});
    if (int64_t(m.f.size()) < 3 * n) m.f.insert(m.f.end(), {b, c, d});
  }
  return m;
}

Mesh mesh_coincident(std::mt19937_64& rng, int64_t n) {
  Mesh base = mesh_soup(rng, 3);
  Mesh m;
  m.v = base.v;
  for (int64_t t = 0; t < n; ++t)
    for (int k = 0; k < 3; ++k) m.f.push_back(base.f[size_t(3 * (t % 3) + k)]);
  return m;
}

Mesh mesh_exponential(std::mt19937_64& rng, int64_t n) {
  std::uniform_real_distribution<double> u(-1, 1);
  Mesh m;
  for (int64_t t = 0; t < n; ++t) {
    const double r = std::pow(1.1, double(t)), c[3] = {r * u(rng), r * u(rng), r * u(rng)};
    for (int k = 0; k < 3; ++k)
      for (int d = 0; d < 3; ++d) m.v.push_back(float(c[d] + 0.3 * r * u(rng)));
    m.f.insert(m.f.end(), {int32_t(3 * t), int32_t(3 * t + 1), int32_t(3 * t + 2)});
  }
  return m;
}

void set_bvh_inputs(std::vector<HostTensor>& in, const Mesh& m, bool caterpillar) {
  const int64_t V = int64_t(m.v.size() / 3), F = int64_t(m.f.size() / 3);
  HostBvh b = caterpillar ? build_caterpillar(m.v, m.f) : build_lbvh(m.v, m.f);
  in[0].shape = {V, 3};
  put(in[0], m.v);
  in[1].shape = {F, 3};
  put(in[1], m.f);
  in[2].shape = {2 * F - 1, 6};
  put(in[2], b.boxes);
  in[3].shape = {2 * F - 1, 4};
  put(in[3], b.nodes);
  in[4].shape = {1};
  in[4].data = {double(b.depth)};
}

}  // namespace tessera::ref
