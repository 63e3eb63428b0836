// BVH queries (docs/geometry-bvh.md; formulas of ops/bvh_math.hpp in f32,
// the OpenCL twin is backends/opencl/kernels/bvh.cl). K_QUERY: closest
// point; K_RAYCAST: closest hit; K_UNPACK_QUERY / K_UNPACK_RAY: spread the
// packed results into the op's outputs. The traversal kernels write 8 words
// per item into one packed buffer (the pipeline layout has at most 8
// bindings), after 4 error words: err[0] = smallest failing item, err[1] =
// max code (1 stack overflow, 2 malformed tree, 3 iteration cap).
#version 450
#extension GL_EXT_shader_explicit_arithmetic_types_int64 : require
#include "common.glsl"

layout(local_size_x = 64) in;
#define MAX_DEPTH 128

#if defined(K_QUERY) || defined(K_RAYCAST)
layout(std430, binding = 0) readonly buffer Vt { float v[]; };
layout(std430, binding = 1) readonly buffer Ft { int f[]; };
layout(std430, binding = 2) readonly buffer Boxes { float boxes[]; };
layout(std430, binding = 3) readonly buffer Nodes { int nodes[]; };
layout(std430, binding = 4) readonly buffer Pts { float pts[]; };
#if defined(K_RAYCAST)
layout(std430, binding = 5) readonly buffer Dirs { float dirs[]; };
layout(std430, binding = 6) buffer Packed { uint packed_[]; };
#else
layout(std430, binding = 5) buffer Packed { uint packed_[]; };
#endif
// base: first item of this dispatch chunk (GLOBAL_ID_1D); item0: first item of
// the host chunk (its packed slot 0); n: items in the host chunk.
layout(push_constant) uniform PC {
  uint64_t base;
  uint n, item0, F, V, depth, max_iter;
  float a0, a1;  // query: r2; raycast: tmin, tmax
} pc;

vec3 vert(int face, int k) {
  const int i = f[3 * face + k];
  return vec3(v[3 * i], v[3 * i + 1], v[3 * i + 2]);
}
vec3 box_lo(int n) { return vec3(boxes[6 * n], boxes[6 * n + 1], boxes[6 * n + 2]); }
vec3 box_hi(int n) { return vec3(boxes[6 * n + 3], boxes[6 * n + 4], boxes[6 * n + 5]); }
bool leaf_ok(int node, out int face) {
  face = nodes[4 * node + 3];
  if (face < 0 || uint(face) >= pc.F) return false;
  for (int k = 0; k < 3; ++k)
    if (f[3 * face + k] < 0 || uint(f[3 * face + k]) >= pc.V) return false;
  return true;
}
void report(uint item, int code) {
  atomicMin(packed_[0], pc.item0 + item);
  atomicMax(packed_[1], uint(code));
}
#endif

#if defined(K_QUERY)
float box_d2(vec3 p, int n) {
  precise vec3 q = max(max(box_lo(n) - p, p - box_hi(n)), vec3(0.0));
  precise float r = q.x * q.x + q.y * q.y + q.z * q.z;
  return r;
}
float seg(vec3 p, vec3 a, vec3 b, out float t) {
  const vec3 ab = b - a;
  const float l2 = dot(ab, ab);
  t = l2 > 0.0 ? min(1.0, max(0.0, dot(p - a, ab) / l2)) : 0.0;
  const vec3 d = p - (a + ab * t);
  return dot(d, d);
}
// Ericson's closest point, cross-product form (ops/bvh_math.hpp).
float closest(vec3 p, vec3 a, vec3 b, vec3 c, out vec3 q, out vec3 w) {
  const vec3 ab = b - a, ac = c - a, ap = p - a;
  const float d1 = dot(ab, ap), d2 = dot(ac, ap);
  if (d1 <= 0.0 && d2 <= 0.0) { w = vec3(1, 0, 0); q = a; }
  else {
    const vec3 bp = p - b, cp = p - c, n = cross(ab, ac);
    const float d3 = dot(ab, bp), d4 = dot(ac, bp), d5 = dot(ab, cp), d6 = dot(ac, cp);
    const float vc = dot(n, cross(ap, bp)), vb = dot(n, cross(cp, ap)), va = dot(n, cross(bp, cp));
    const float nn = dot(n, n);
    if (d3 >= 0.0 && d4 <= d3) { w = vec3(0, 1, 0); q = b; }
    else if (vc <= 0.0 && d1 >= 0.0 && d3 <= 0.0) {
      const float t = d1 / (d1 - d3);
      w = vec3(1.0 - t, t, 0); q = a + ab * t;
    } else if (d6 >= 0.0 && d5 <= d6) { w = vec3(0, 0, 1); q = c; }
    else if (vb <= 0.0 && d2 >= 0.0 && d6 <= 0.0) {
      const float t = d2 / (d2 - d6);
      w = vec3(1.0 - t, 0, t); q = a + ac * t;
    } else if (va <= 0.0 && d4 - d3 >= 0.0 && d5 - d6 >= 0.0) {
      const float t = (d4 - d3) / ((d4 - d3) + (d5 - d6));
      w = vec3(0, 1.0 - t, t); q = b + (c - b) * t;
    } else if (!(va + vb + vc > 0.0) || !(nn > 0.0)) {
      float t0, t1, t2;
      const float e0 = seg(p, a, b, t0), e1 = seg(p, b, c, t1), e2 = seg(p, c, a, t2);
      if (e0 <= e1 && e0 <= e2) { w = vec3(1.0 - t0, t0, 0); q = a + ab * t0; }
      else if (e1 <= e2) { w = vec3(0, 1.0 - t1, t1); q = b + (c - b) * t1; }
      else { w = vec3(t2, 0, 1.0 - t2); q = c + (a - c) * t2; }
    } else {
      const float inv = 1.0 / (va + vb + vc);
      w = vec3(va * inv, vb * inv, vc * inv);
      q = p + n * (-dot(n, ap) / nn);
    }
  }
  const vec3 dd = p - q;
  return dot(dd, dd);
}

void main() {
  const uint64_t gi = GLOBAL_ID_1D(pc.base);
  if (gi >= pc.n) return;
  const uint i = uint(gi), pi = pc.item0 + i;
  const int N = 2 * int(pc.F) - 1, F = int(pc.F);
  const vec3 p = vec3(pts[3 * pi], pts[3 * pi + 1], pts[3 * pi + 2]);
  int stn[MAX_DEPTH];
  float std2[MAX_DEPTH];
  float best = pc.a0;
  vec3 bq = vec3(0.0), bw = vec3(0.0);
  int bf = -1, sp = 0, node = 0;
  bool live = box_d2(p, 0) <= best;
  for (uint it = 0; live; ++it) {
    if (it >= pc.max_iter) { report(i, it >= uint(N) ? 2 : 3); break; }
    if (node >= F - 1) {
      int face;
      if (!leaf_ok(node, face)) { report(i, 2); break; }
      vec3 q, w;
      const float d2 = closest(p, vert(face, 0), vert(face, 1), vert(face, 2), q, w);
      if (bf < 0 ? d2 <= best : d2 < best) { best = d2; bf = face; bq = q; bw = w; }
    } else {
      int l = nodes[4 * node], r = nodes[4 * node + 1];
      if (l <= 0 || l >= N || r <= 0 || r >= N) { report(i, 2); break; }
      float dl = box_d2(p, l), dr = box_d2(p, r);
      if (dr < dl) { const int t = l; l = r; r = t; const float u = dl; dl = dr; dr = u; }
      if (bf < 0 ? dr <= best : dr < best) {
        if (sp >= int(pc.depth) || sp >= MAX_DEPTH) { report(i, 1); break; }
        stn[sp] = r; std2[sp] = dr; ++sp;
      }
      if (bf < 0 ? dl <= best : dl < best) { node = l; continue; }
    }
    live = false;
    while (sp > 0 && !live) {
      --sp;
      node = stn[sp];
      live = bf < 0 ? std2[sp] <= best : std2[sp] < best;
    }
  }
  const uint o = 4u + 8u * i;
  const bool hit = bf >= 0;
  packed_[o] = uint(bf);
  for (int k = 0; k < 3; ++k) {
    packed_[o + 1 + k] = floatBitsToUint(hit ? bq[k] : 0.0);
    packed_[o + 4 + k] = floatBitsToUint(hit ? bw[k] : 0.0);
  }
  packed_[o + 7] = floatBitsToUint(hit ? sqrt(best) : uintBitsToFloat(0x7f800000u));
}

#elif defined(K_RAYCAST)
// Slab test (ops/bvh_math.hpp ray_box): an axis whose slab distance is NaN
// (0 * inf: origin on the slab plane, direction parallel to it) is no constraint.
bool ray_box(vec3 o, vec3 inv, int n, float t0, float t1, out float tn) {
  const vec3 a = (box_lo(n) - o) * inv, b = (box_hi(n) - o) * inv;
  for (int k = 0; k < 3; ++k) {
    if (isnan(a[k]) || isnan(b[k])) continue;
    t0 = max(t0, min(a[k], b[k]));
    t1 = min(t1, max(a[k], b[k]) * 1.0000003);
  }
  tn = t0;
  return t0 <= t1;
}
void main() {
  const uint64_t gi = GLOBAL_ID_1D(pc.base);
  if (gi >= pc.n) return;
  const uint i = uint(gi), pi = pc.item0 + i;
  const int N = 2 * int(pc.F) - 1, F = int(pc.F);
  const vec3 o = vec3(pts[3 * pi], pts[3 * pi + 1], pts[3 * pi + 2]);
  const vec3 d = vec3(dirs[3 * pi], dirs[3 * pi + 1], dirs[3 * pi + 2]);
  const vec3 inv = vec3(1.0) / d;
  const vec3 ad = abs(d);
  const int kz = ad.x > ad.y ? (ad.x > ad.z ? 0 : 2) : (ad.y > ad.z ? 1 : 2);
  int kx = (kz + 1) % 3, ky = (kx + 1) % 3;
  if (d[kz] < 0.0) { const int t = kx; kx = ky; ky = t; }
  const float sx = d[kx] / d[kz], sy = d[ky] / d[kz], sz = 1.0 / d[kz];
  int stn[MAX_DEPTH];
  float stt[MAX_DEPTH];
  float best = pc.a1, tn;
  vec3 bw = vec3(0.0);
  int bf = -1, sp = 0, node = 0;
  bool live = ray_box(o, inv, 0, pc.a0, best, tn);
  for (uint it = 0; live; ++it) {
    if (it >= pc.max_iter) { report(i, it >= uint(N) ? 2 : 3); break; }
    if (node >= F - 1) {
      int face;
      if (!leaf_ok(node, face)) { report(i, 2); break; }
      // Watertight test (Woop et al. 2013), precise: no FMA contraction, so a
      // shared edge's function is computed identically by both triangles.
      precise const vec3 A = vert(face, 0) - o, B = vert(face, 1) - o, C = vert(face, 2) - o;
      precise const float Ax = A[kx] - sx * A[kz], Ay = A[ky] - sy * A[kz];
      precise const float Bx = B[kx] - sx * B[kz], By = B[ky] - sy * B[kz];
      precise const float Cx = C[kx] - sx * C[kz], Cy = C[ky] - sy * C[kz];
      precise const float U = Cx * By - Cy * Bx, Vv = Ax * Cy - Ay * Cx, W = Bx * Ay - By * Ax;
      const bool outside = (U < 0.0 || Vv < 0.0 || W < 0.0) && (U > 0.0 || Vv > 0.0 || W > 0.0);
      precise const float det = U + Vv + W;
      if (!outside && det != 0.0) {
        precise const float T = U * (sz * A[kz]) + Vv * (sz * B[kz]) + W * (sz * C[kz]);
        const float invd = 1.0 / det;
        const float t = T * invd;
        if (t >= pc.a0 && t <= best && (bf < 0 || t < best)) {
          best = t; bf = face; bw = vec3(U * invd, Vv * invd, W * invd);
        }
      }
    } else {
      int l = nodes[4 * node], r = nodes[4 * node + 1];
      if (l <= 0 || l >= N || r <= 0 || r >= N) { report(i, 2); break; }
      float tl, tr;
      bool hl = ray_box(o, inv, l, pc.a0, best, tl), hr = ray_box(o, inv, r, pc.a0, best, tr);
      if ((hl && hr && tr < tl) || (!hl && hr)) {
        const int t = l; l = r; r = t; const float u = tl; tl = tr; tr = u; const bool h = hl; hl = hr; hr = h;
      }
      if (hr) {
        if (sp >= int(pc.depth) || sp >= MAX_DEPTH) { report(i, 1); break; }
        stn[sp] = r; stt[sp] = tr; ++sp;
      }
      if (hl) { node = l; continue; }
    }
    live = false;
    while (sp > 0 && !live) {
      --sp;
      node = stn[sp];
      live = stt[sp] <= best;
    }
  }
  const uint ob = 4u + 8u * i;
  const bool hit = bf >= 0;
  packed_[ob] = floatBitsToUint(hit ? best : uintBitsToFloat(0x7f800000u));
  packed_[ob + 1] = uint(bf);
  for (int k = 0; k < 3; ++k) packed_[ob + 2 + k] = floatBitsToUint(hit ? bw[k] : 0.0);
}

#elif defined(K_UNPACK_QUERY)
layout(std430, binding = 0) readonly buffer Packed { uint packed_[]; };
layout(std430, binding = 1) writeonly buffer OFace { int oface[]; };
layout(std430, binding = 2) writeonly buffer OPt { float opt[]; };
layout(std430, binding = 3) writeonly buffer OBary { float obary[]; };
layout(std430, binding = 4) writeonly buffer ODist { float odist[]; };
layout(push_constant) uniform PC { uint64_t base; uint n, item0; } pc;
void main() {
  const uint64_t gi = GLOBAL_ID_1D(pc.base);
  if (gi >= pc.n) return;
  const uint i = uint(gi), pi = pc.item0 + i, o = 4u + 8u * i;
  oface[pi] = int(packed_[o]);
  for (uint k = 0; k < 3; ++k) {
    opt[3 * pi + k] = uintBitsToFloat(packed_[o + 1 + k]);
    obary[3 * pi + k] = uintBitsToFloat(packed_[o + 4 + k]);
  }
  odist[pi] = uintBitsToFloat(packed_[o + 7]);
}

#elif defined(K_UNPACK_RAY)
layout(std430, binding = 0) readonly buffer Packed { uint packed_[]; };
layout(std430, binding = 1) writeonly buffer OT { float ot[]; };
layout(std430, binding = 2) writeonly buffer OFace { int oface[]; };
layout(std430, binding = 3) writeonly buffer OBary { float obary[]; };
layout(push_constant) uniform PC { uint64_t base; uint n, item0; } pc;
void main() {
  const uint64_t gi = GLOBAL_ID_1D(pc.base);
  if (gi >= pc.n) return;
  const uint i = uint(gi), pi = pc.item0 + i, o = 4u + 8u * i;
  ot[pi] = uintBitsToFloat(packed_[o]);
  oface[pi] = int(packed_[o + 1]);
  for (uint k = 0; k < 3; ++k) obary[3 * pi + k] = uintBitsToFloat(packed_[o + 2 + k]);
}
#endif
