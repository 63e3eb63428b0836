// Triangle math shared by the BVH reference (T = double) and the CPU backend
// (T = float). The OpenCL (kernels/bvh.cl) and Vulkan (shaders/bvh_*.comp)
// kernels implement the same formulas in f32, operation for operation.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>

namespace tessera::bvh {

template <typename T>
struct V3 {
  T x, y, z;
  T operator[](int i) const { return i == 0 ? x : i == 1 ? y : z; }
};
template <typename T> inline V3<T> sub(V3<T> a, V3<T> b) { return {a.x - b.x, a.y - b.y, a.z - b.z}; }
template <typename T> inline T dot(V3<T> a, V3<T> b) { return a.x * b.x + a.y * b.y + a.z * b.z; }
template <typename T> inline V3<T> madd(V3<T> a, V3<T> d, T s) { return {a.x + d.x * s, a.y + d.y * s, a.z + d.z * s}; }

// Closest point on segment a-b to p; t = weight of b.
template <typename T>
inline T closest_on_segment(V3<T> p, V3<T> a, V3<T> b, T& t) {
  V3<T> ab = sub(b, a);
  T l2 = dot(ab, ab);
  t = l2 > T(0) ? std::min(T(1), std::max(T(0), dot(sub(p, a), ab) / l2)) : T(0);
  V3<T> q = madd(a, ab, t), d = sub(p, q);
  return dot(d, d);
}

template <typename T> inline V3<T> cross(V3<T> a, V3<T> b) {
  return {a.y * b.z - a.z * b.y, a.z * b.x - a.x * b.z, a.x * b.y - a.y * b.x};
}

// Closest point q on triangle (a, b, c) to p (Voronoi-region walk, Ericson,
// Real-Time Collision Detection 5.1.5, in its cross-product form: the signed
// areas va, vb, vc are dot(n, (b-p) x (c-p)) etc. rather than differences of
// products of dot products, which lose all precision on slivers such as
// 0.4 x 0.001 strip triangles). w = weights of (a, b, c). Returns |p - q|^2.
// Inside the triangle q is p projected onto the plane. A degenerate
// (zero-area) triangle falls back to the nearest of its three edges.
// Squared terms reach |coordinates|^4: coordinates must stay below ~1e9.
template <typename T>
inline T closest_on_triangle(V3<T> p, V3<T> a, V3<T> b, V3<T> c, V3<T>& q, T w[3]) {
  const V3<T> ab = sub(b, a), ac = sub(c, a), ap = sub(p, a);
  const T d1 = dot(ab, ap), d2 = dot(ac, ap);
  auto done = [&](T w0, T w1, T w2, V3<T> qq) {
    w[0] = w0, w[1] = w1, w[2] = w2, q = qq;
    V3<T> d = sub(p, q);
    return dot(d, d);
  };
  if (d1 <= T(0) && d2 <= T(0)) return done(1, 0, 0, a);
  const V3<T> bp = sub(p, b);
  const T d3 = dot(ab, bp), d4 = dot(ac, bp);
  if (d3 >= T(0) && d4 <= d3) return done(0, 1, 0, b);
  const V3<T> cp = sub(p, c), n = cross(ab, ac);
  const T vc = dot(n, cross(ap, bp)), vb = dot(n, cross(cp, ap)), va = dot(n, cross(bp, cp));
  if (vc <= T(0) && d1 >= T(0) && d3 <= T(0)) {
    const T v = d1 / (d1 - d3);
    return done(T(1) - v, v, 0, madd(a, ab, v));
  }
  const T d5 = dot(ab, cp), d6 = dot(ac, cp);
  if (d6 >= T(0) && d5 <= d6) return done(0, 0, 1, c);
  if (vb <= T(0) && d2 >= T(0) && d6 <= T(0)) {
    const T v = d2 / (d2 - d6);
    return done(T(1) - v, 0, v, madd(a, ac, v));
  }
  if (va <= T(0) && d4 - d3 >= T(0) && d5 - d6 >= T(0)) {
    const T v = (d4 - d3) / ((d4 - d3) + (d5 - d6));
    return done(0, T(1) - v, v, madd(b, sub(c, b), v));
  }
  const T den = va + vb + vc, nn = dot(n, n);
  if (!(den > T(0)) || !(nn > T(0))) {  // degenerate triangle: nearest edge
    T t0, t1, t2;
    const T e0 = closest_on_segment(p, a, b, t0), e1 = closest_on_segment(p, b, c, t1),
            e2 = closest_on_segment(p, c, a, t2);
    if (e0 <= e1 && e0 <= e2) return done(T(1) - t0, t0, 0, madd(a, ab, t0));
    if (e1 <= e2) return done(0, T(1) - t1, t1, madd(b, sub(c, b), t1));
    return done(t2, 0, T(1) - t2, madd(c, sub(a, c), t2));
  }
  const T inv = T(1) / den;
  return done(va * inv, vb * inv, vc * inv, madd(p, n, -dot(n, ap) / nn));
}

// Squared distance from p to the box [lo, hi] (0 inside).
template <typename T>
inline T box_dist2(V3<T> p, const T lo[3], const T hi[3]) {
  T s = 0;
  for (int i = 0; i < 3; ++i) {
    const T v = p[i] < lo[i] ? lo[i] - p[i] : p[i] > hi[i] ? p[i] - hi[i] : T(0);
    s += v * v;
  }
  return s;
}

// Watertight ray/triangle test (Woop, Benthin, Wald 2013), without the
// double-precision fallback: the ray is sheared so that it runs along +z;
// the 2-D edge functions U, V, W of the sheared vertices decide the hit
// (edges inclusive: a ray through a shared edge or vertex hits at least one
// of the triangles sharing it, as both compute the same products). Returns
// t (in units of |dir|) or NaN on a miss; w = (U, V, W) / det = weights of
// (a, b, c). Callers compute kz/kx/ky/S once per ray (ray_shear).
template <typename T>
struct Shear {
  int kx, ky, kz;
  T sx, sy, sz;
};
template <typename T>
inline Shear<T> ray_shear(V3<T> d) {
  const T ax = std::abs(d.x), ay = std::abs(d.y), az = std::abs(d.z);
  Shear<T> s;
  s.kz = ax > ay ? (ax > az ? 0 : 2) : (ay > az ? 1 : 2);
  s.kx = (s.kz + 1) % 3;
  s.ky = (s.kx + 1) % 3;
  if (d[s.kz] < T(0)) std::swap(s.kx, s.ky);
  s.sx = d[s.kx] / d[s.kz];
  s.sy = d[s.ky] / d[s.kz];
  s.sz = T(1) / d[s.kz];
  return s;
}
template <typename T>
inline T ray_triangle(V3<T> o, const Shear<T>& s, V3<T> a, V3<T> b, V3<T> c, T w[3]) {
  const V3<T> A = sub(a, o), B = sub(b, o), C = sub(c, o);
  const T Ax = A[s.kx] - s.sx * A[s.kz], Ay = A[s.ky] - s.sy * A[s.kz];
  const T Bx = B[s.kx] - s.sx * B[s.kz], By = B[s.ky] - s.sy * B[s.kz];
  const T Cx = C[s.kx] - s.sx * C[s.kz], Cy = C[s.ky] - s.sy * C[s.kz];
  const T U = Cx * By - Cy * Bx, V = Ax * Cy - Ay * Cx, W = Bx * Ay - By * Ax;
  if ((U < T(0) || V < T(0) || W < T(0)) && (U > T(0) || V > T(0) || W > T(0))) return NAN;
  const T det = U + V + W;
  if (det == T(0)) return NAN;
  const T tt = U * (s.sz * A[s.kz]) + V * (s.sz * B[s.kz]) + W * (s.sz * C[s.kz]);
  const T inv = T(1) / det;
  w[0] = U * inv, w[1] = V * inv, w[2] = W * inv;
  return tt * inv;
}

// Slab test: the ray's parameter interval inside [lo, hi] intersected with
// [t0, t1]; returns false when empty. inv = 1 / dir (inf for 0 components).
// An axis whose slab distance is NaN (0 * inf: the origin on a slab plane,
// the direction parallel to it) is no constraint. The far distance is
// enlarged by 3 ulp (rounding of the slab distances).
template <typename T>
inline bool ray_box(V3<T> o, V3<T> inv, const T lo[3], const T hi[3], T t0, T t1, T& tnear) {
  for (int i = 0; i < 3; ++i) {
    const T a = (lo[i] - o[i]) * inv[i], b = (hi[i] - o[i]) * inv[i];
    if (std::isnan(a) || std::isnan(b)) continue;
    t0 = std::max(t0, std::min(a, b));
    t1 = std::min(t1, std::max(a, b) * T(1.0000003));
  }
  tnear = t0;
  return t0 <= t1;
}

// 30-bit Morton code of a point quantised to 1024^3 cells of [lo, lo + ext].
inline uint32_t expand_bits10(uint32_t v) {
  v = (v * 0x00010001u) & 0xFF0000FFu;
  v = (v * 0x00000101u) & 0x0F00F00Fu;
  v = (v * 0x00000011u) & 0xC30C30C3u;
  v = (v * 0x00000005u) & 0x49249249u;
  return v;
}
inline uint32_t quantize10(float c, float lo, float scale) {
  float q = (c - lo) * scale;  // scale = 1024 / extent (0 for a flat axis)
  q = std::fmin(std::fmax(q, 0.0f), 1023.0f);
  return uint32_t(q);
}

}  // namespace tessera::bvh

namespace tessera::bvh {

// Karras 2012 ("Maximizing parallelism in the construction of BVHs, octrees
// and k-d trees"), one internal node i of n sorted keys: keys are (code,
// index) pairs, so equal codes are ordered by their sorted position and
// delta() falls back to 32 + clz(i ^ j). Children are node ids: internal
// node k = k, leaf k = n - 1 + k. Loops are bounded by 64 steps (keys have
// at most 64 bits).
inline int delta_key(const uint32_t* codes, int64_t n, int64_t i, int64_t j) {
  if (j < 0 || j >= n) return -1;
  const uint32_t a = codes[i], b = codes[j];
  if (a != b) return __builtin_clz(a ^ b);
  return 32 + __builtin_clz(uint32_t(i ^ j));
}
inline void karras_node(const uint32_t* codes, int64_t n, int64_t i, int32_t& left, int32_t& right) {
  const int d = delta_key(codes, n, i, i + 1) - delta_key(codes, n, i, i - 1) >= 0 ? 1 : -1;
  const int dmin = delta_key(codes, n, i, i - d);
  int64_t lmax = 2;
  for (int it = 0; it < 64 && delta_key(codes, n, i, i + lmax * d) > dmin; ++it) lmax *= 2;
  int64_t l = 0;
  for (int64_t t = lmax / 2; t >= 1; t /= 2)
    if (delta_key(codes, n, i, i + (l + t) * d) > dmin) l += t;
  const int64_t j = i + l * d;
  const int dnode = delta_key(codes, n, i, j);
  int64_t s = 0;
  for (int64_t div = 2, it = 0; it < 64; div *= 2, ++it) {
    const int64_t t = (l + div - 1) / div;
    if (delta_key(codes, n, i, i + (s + t) * d) > dnode) s += t;
    if (t <= 1) break;
  }
  const int64_t gamma = i + s * d + std::min(d, 0);
  left = int32_t(std::min(i, j) == gamma ? n - 1 + gamma : gamma);
  right = int32_t(std::max(i, j) == gamma + 1 ? n - 1 + gamma + 1 : gamma + 1);
}

}  // namespace tessera::bvh
