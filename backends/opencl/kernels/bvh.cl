// BVH build and queries (docs/geometry-bvh.md); the same formulas as
// ops/bvh_math.hpp in f32. No contraction into FMAs: the watertight ray test
// relies on a*b - c*d being computed identically for a shared edge.
#pragma OPENCL FP_CONTRACT OFF

#define BVH_WG 256
#define BVH_MAX_DEPTH 128

// ---- helpers ----
inline uint bvh_ord(float f) {  // order-preserving float -> uint
  uint b = as_uint(f);
  return (b & 0x80000000u) ? ~b : (b | 0x80000000u);
}
inline float bvh_unord(uint k) { return as_float((k & 0x80000000u) ? (k & 0x7fffffffu) : ~k); }
inline uint bvh_expand10(uint v) {
  v = (v * 0x00010001u) & 0xFF0000FFu;
  v = (v * 0x00000101u) & 0x0F00F00Fu;
  v = (v * 0x00000011u) & 0xC30C30C3u;
  v = (v * 0x00000005u) & 0x49249249u;
  return v;
}
inline float3 bvh_vert(__global const float* v, __global const int* f, int face, int k) {
  const int i = f[3 * face + k];
  return (float3)(v[3 * i], v[3 * i + 1], v[3 * i + 2]);
}

// err[0]: smallest bad face (starts at F).
__kernel void bvh_validate(__global const int* f, int V, __global int* err, ulong base, ulong n) {
  TS_INDEX_OR_RETURN(base, n);
  for (int k = 0; k < 3; ++k)
    if (f[3 * i + k] < 0 || f[3 * i + k] >= V) atomic_min(err, (int)i);
}

// Centroid bounds: bounds[0..2] = ord(min), bounds[3..5] = ord(max) (start
// at 0xffffffff / 0). One group of BVH_WG items reduces in local memory.
__kernel void bvh_bounds(__global const float* v, __global const int* f, uint F, __global uint* bounds,
                         ulong group_base) {
  __local uint red[6][BVH_WG];
  const uint lid = get_local_id(0);
  const ulong i = TS_GROUP(group_base) * BVH_WG + lid;
  uint k[6] = {0xffffffffu, 0xffffffffu, 0xffffffffu, 0u, 0u, 0u};
  if (i < F) {
    const float3 c = (bvh_vert(v, f, (int)i, 0) + bvh_vert(v, f, (int)i, 1) + bvh_vert(v, f, (int)i, 2)) / 3.0f;
    k[0] = k[3] = bvh_ord(c.x);
    k[1] = k[4] = bvh_ord(c.y);
    k[2] = k[5] = bvh_ord(c.z);
  }
  for (int d = 0; d < 6; ++d) red[d][lid] = k[d];
  barrier(CLK_LOCAL_MEM_FENCE);
  for (uint s = BVH_WG / 2; s > 0; s >>= 1) {
    if (lid < s)
      for (int d = 0; d < 6; ++d)
        red[d][lid] = d < 3 ? min(red[d][lid], red[d][lid + s]) : max(red[d][lid], red[d][lid + s]);
    barrier(CLK_LOCAL_MEM_FENCE);
  }
  if (lid < 3) atomic_min(&bounds[lid], red[lid][0]);
  else if (lid < 6) atomic_max(&bounds[lid], red[lid][0]);
}

__kernel void bvh_morton(__global const float* v, __global const int* f, __global const uint* bounds,
                         __global uint* codes, __global uint* vals, ulong base, ulong n) {
  TS_INDEX_OR_RETURN(base, n);
  const float3 c = (bvh_vert(v, f, (int)i, 0) + bvh_vert(v, f, (int)i, 1) + bvh_vert(v, f, (int)i, 2)) / 3.0f;
  const float cc[3] = {c.x, c.y, c.z};
  uint code = 0;
  for (int d = 0; d < 3; ++d) {
    const float lo = bvh_unord(bounds[d]), hi = bvh_unord(bounds[3 + d]);
    const float scale = hi > lo ? 1024.0f / (hi - lo) : 0.0f;
    const float q = fmin(fmax((cc[d] - lo) * scale, 0.0f), 1023.0f);
    code |= bvh_expand10((uint)q) << (2 - d);
  }
  codes[i] = code;
  vals[i] = (uint)i;
}

// ---- LSD radix sort, 4-bit digits, stable: hist -> scan -> scatter ----
// hist[d * G + g] = items of group g with digit d.
__kernel void radix_hist(__global const uint* keys, uint n, uint shift, uint G, __global uint* hist, ulong group_base) {
  __local uint cnt[16];
  const uint lid = get_local_id(0);
  const ulong g = TS_GROUP(group_base), i = g * BVH_WG + lid;
  if (lid < 16) cnt[lid] = 0;
  barrier(CLK_LOCAL_MEM_FENCE);
  if (i < n) atomic_inc(&cnt[(keys[i] >> shift) & 15u]);
  barrier(CLK_LOCAL_MEM_FENCE);
  if (lid < 16) hist[(ulong)lid * G + g] = cnt[lid];
}

// Exclusive scan of m words in place by one group: each item scans a
// contiguous chunk.
__kernel void radix_scan(__global uint* a, uint m, ulong group_base) {
  __local uint s[BVH_WG];
  const uint lid = get_local_id(0);
  const uint chunk = (m + BVH_WG - 1) / BVH_WG, b = min(m, lid * chunk), e = min(m, b + chunk);
  uint sum = 0;
  for (uint j = b; j < e; ++j) sum += a[j];
  s[lid] = sum;
  barrier(CLK_LOCAL_MEM_FENCE);
  for (uint o = 1; o < BVH_WG; o <<= 1) {
    const uint t = lid >= o ? s[lid - o] : 0u;
    barrier(CLK_LOCAL_MEM_FENCE);
    s[lid] += t;
    barrier(CLK_LOCAL_MEM_FENCE);
  }
  uint run = s[lid] - sum;
  for (uint j = b; j < e; ++j) {
    const uint x = a[j];
    a[j] = run;
    run += x;
  }
}

// Stable scatter: rank within the group among equal digits from a local
// inclusive scan of one-hot counters packed 2 per uint (16 bits each; a
// group has 256 items, so no carry crosses fields).
__kernel void radix_scatter(__global const uint* keys, __global const uint* vals, __global uint* okeys,
                            __global uint* ovals, uint n, uint shift, uint G, __global const uint* offs,
                            ulong group_base) {
  __local uint8 s[BVH_WG];
  const uint lid = get_local_id(0);
  const ulong g = TS_GROUP(group_base), i = g * BVH_WG + lid;
  const uint key = i < n ? keys[i] : 0u, d = i < n ? (key >> shift) & 15u : 16u;
  uint w[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  if (d < 16) w[d >> 1] = 1u << (16 * (d & 1));
  uint8 mine = (uint8)(w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7]);
  s[lid] = mine;
  barrier(CLK_LOCAL_MEM_FENCE);
  for (uint o = 1; o < BVH_WG; o <<= 1) {
    const uint8 t = lid >= o ? s[lid - o] : (uint8)(0u);
    barrier(CLK_LOCAL_MEM_FENCE);
    s[lid] += t;
    barrier(CLK_LOCAL_MEM_FENCE);
  }
  if (d < 16) {
    const uint8 inc = s[lid] - mine;
    uint e[8] = {inc.s0, inc.s1, inc.s2, inc.s3, inc.s4, inc.s5, inc.s6, inc.s7};
    const uint rank = (e[d >> 1] >> (16 * (d & 1))) & 0xffffu;
    const uint dst = offs[(ulong)d * G + g] + rank;
    okeys[dst] = key;
    ovals[dst] = vals[i];
  }
}

// ---- hierarchy ----
inline int bvh_delta(__global const uint* c, int n, int i, int j) {
  if (j < 0 || j >= n) return -1;
  const uint a = c[i], b = c[j];
  return a != b ? (int)clz(a ^ b) : 32 + (int)clz((uint)(i ^ j));
}

// Leaves: nodes[F-1+k] = (-1, -1, parent set by the parent, face).
__kernel void bvh_leaves(__global const uint* vals, __global int* nodes, __global int* leaf_face, uint F, ulong base,
                         ulong n) {
  TS_INDEX_OR_RETURN(base, n);
  __global int* nd = nodes + 4 * ((ulong)F - 1 + i);
  nd[0] = nd[1] = -1;
  nd[3] = (int)vals[i];
  leaf_face[i] = (int)vals[i];
  if (F == 1) nd[2] = -1;
}

// Karras 2012 (see ops/bvh_math.hpp karras_node).
__kernel void bvh_karras(__global const uint* c, __global int* nodes, uint F, ulong base, ulong n) {
  TS_INDEX_OR_RETURN(base, n);
  const int N = (int)F, ii = (int)i;
  const int d = bvh_delta(c, N, ii, ii + 1) - bvh_delta(c, N, ii, ii - 1) >= 0 ? 1 : -1;
  const int dmin = bvh_delta(c, N, ii, ii - d);
  long lmax = 2;
  for (int it = 0; it < 64 && bvh_delta(c, N, ii, (int)clamp((long)ii + lmax * d, -1L, (long)N)) > dmin; ++it) lmax *= 2;
  long l = 0;
  for (long t = lmax / 2; t >= 1; t /= 2)
    if (bvh_delta(c, N, ii, (int)clamp((long)ii + (l + t) * d, -1L, (long)N)) > dmin) l += t;
  const int j = ii + (int)l * d;
  const int dnode = bvh_delta(c, N, ii, j);
  long s = 0;
  for (long div = 2, it = 0; it < 64; div *= 2, ++it) {
    const long t = (l + div - 1) / div;
    if (bvh_delta(c, N, ii, (int)clamp((long)ii + (s + t) * d, -1L, (long)N)) > dnode) s += t;
    if (t <= 1) break;
  }
  const int gamma = ii + (int)s * d + min(d, 0);
  const int left = min(ii, j) == gamma ? N - 1 + gamma : gamma;
  const int right = max(ii, j) == gamma + 1 ? N - 1 + gamma + 1 : gamma + 1;
  __global int* nd = nodes + 4 * (ulong)ii;
  nd[0] = left;
  nd[1] = right;
  nd[3] = -1;
  nodes[4 * (ulong)left + 2] = ii;
  nodes[4 * (ulong)right + 2] = ii;
  if (ii == 0) nd[2] = -1;
}

// Refit: each leaf writes its box and walks up; at each parent an arrival
// counter decides: the first child to arrive stops, the second computes the
// union (its sibling's box was published before the sibling's atomic). The
// walk continues without refitting to measure the depth (atomic_max).
__kernel void bvh_refit(__global const float* v, __global const int* f, __global const int* nodes,
                        __global volatile float* boxes, __global uint* counters, __global int* depth, uint F,
                        ulong base, ulong n) {
  TS_INDEX_OR_RETURN(base, n);
  long node = (long)F - 1 + (long)i;
  const int face = nodes[4 * node + 3];
  const float3 a = bvh_vert(v, f, face, 0), b = bvh_vert(v, f, face, 1), c = bvh_vert(v, f, face, 2);
  const float3 lo = fmin(fmin(a, b), c), hi = fmax(fmax(a, b), c);
  __global volatile float* bx = boxes + 6 * node;
  bx[0] = lo.x, bx[1] = lo.y, bx[2] = lo.z, bx[3] = hi.x, bx[4] = hi.y, bx[5] = hi.z;
  int len = 0, refit = 1;
  for (long p = nodes[4 * node + 2]; p >= 0 && len < 2 * (int)F; node = p, p = nodes[4 * p + 2], ++len) {
    if (refit) {
      mem_fence(CLK_GLOBAL_MEM_FENCE);
      if (atomic_inc(&counters[p]) == 0) refit = 0;
      mem_fence(CLK_GLOBAL_MEM_FENCE);
    }
    if (!refit) continue;
    __global volatile float* pb = boxes + 6 * p;
    __global volatile float* lb = boxes + 6 * (long)nodes[4 * p];
    __global volatile float* rb = boxes + 6 * (long)nodes[4 * p + 1];
    for (int k = 0; k < 3; ++k) pb[k] = fmin(lb[k], rb[k]);
    for (int k = 3; k < 6; ++k) pb[k] = fmax(lb[k], rb[k]);
  }
  atomic_max(depth, len);
}

// ---- queries ----
inline float bvh_box_d2(float3 p, __global const float* b) {
  const float3 lo = (float3)(b[0], b[1], b[2]), hi = (float3)(b[3], b[4], b[5]);
  const float3 q = select(select((float3)(0.0f), p - hi, isgreater(p, hi)), lo - p, isless(p, lo));
  return q.x * q.x + q.y * q.y + q.z * q.z;
}
inline float bvh_dot(float3 a, float3 b) { return a.x * b.x + a.y * b.y + a.z * b.z; }
inline float bvh_seg(float3 p, float3 a, float3 b, float* t) {
  const float3 ab = b - a;
  const float l2 = bvh_dot(ab, ab);
  *t = l2 > 0.0f ? fmin(1.0f, fmax(0.0f, bvh_dot(p - a, ab) / l2)) : 0.0f;
  const float3 d = p - (a + ab * *t);
  return bvh_dot(d, d);
}
inline float3 bvh_cross(float3 a, float3 b) {
  return (float3)(a.y * b.z - a.z * b.y, a.z * b.x - a.x * b.z, a.x * b.y - a.y * b.x);
}
// Ericson's closest point on a triangle, cross-product form
// (ops/bvh_math.hpp closest_on_triangle).
inline float bvh_closest(float3 p, float3 a, float3 b, float3 c, float3* q, float3* w) {
  const float3 ab = b - a, ac = c - a, ap = p - a;
  const float d1 = bvh_dot(ab, ap), d2 = bvh_dot(ac, ap);
  if (d1 <= 0.0f && d2 <= 0.0f) { *w = (float3)(1, 0, 0); *q = a; }
  else {
    const float3 bp = p - b, cp = p - c, n = bvh_cross(ab, ac);
    const float d3 = bvh_dot(ab, bp), d4 = bvh_dot(ac, bp);
    const float d5 = bvh_dot(ab, cp), d6 = bvh_dot(ac, cp);
    const float vc = bvh_dot(n, bvh_cross(ap, bp)), vb = bvh_dot(n, bvh_cross(cp, ap)), va = bvh_dot(n, bvh_cross(bp, cp));
    const float nn = bvh_dot(n, n);
    if (d3 >= 0.0f && d4 <= d3) { *w = (float3)(0, 1, 0); *q = b; }
    else if (vc <= 0.0f && d1 >= 0.0f && d3 <= 0.0f) {
      const float t = d1 / (d1 - d3);
      *w = (float3)(1.0f - t, t, 0); *q = a + ab * t;
    } else if (d6 >= 0.0f && d5 <= d6) { *w = (float3)(0, 0, 1); *q = c; }
    else if (vb <= 0.0f && d2 >= 0.0f && d6 <= 0.0f) {
      const float t = d2 / (d2 - d6);
      *w = (float3)(1.0f - t, 0, t); *q = a + ac * t;
    } else if (va <= 0.0f && d4 - d3 >= 0.0f && d5 - d6 >= 0.0f) {
      const float t = (d4 - d3) / ((d4 - d3) + (d5 - d6));
      *w = (float3)(0, 1.0f - t, t); *q = b + (c - b) * t;
    } else if (!(va + vb + vc > 0.0f) || !(nn > 0.0f)) {  // degenerate: nearest edge
      float t0, t1, t2;
      const float e0 = bvh_seg(p, a, b, &t0), e1 = bvh_seg(p, b, c, &t1), e2 = bvh_seg(p, c, a, &t2);
      if (e0 <= e1 && e0 <= e2) { *w = (float3)(1.0f - t0, t0, 0); *q = a + ab * t0; }
      else if (e1 <= e2) { *w = (float3)(0, 1.0f - t1, t1); *q = b + (c - b) * t1; }
      else { *w = (float3)(t2, 0, 1.0f - t2); *q = c + (a - c) * t2; }
    } else {
      const float inv = 1.0f / (va + vb + vc);
      *w = (float3)(va * inv, vb * inv, vc * inv);
      *q = p + n * (-bvh_dot(n, ap) / nn);
    }
  }
  const float3 dd = p - *q;
  return bvh_dot(dd, dd);
}

inline int bvh_leaf_ok(__global const int* nodes, __global const int* f, int node, int F, int V, int* face) {
  *face = nodes[4 * node + 3];
  if (*face < 0 || *face >= F) return 0;
  for (int k = 0; k < 3; ++k)
    if (f[3 * *face + k] < 0 || f[3 * *face + k] >= V) return 0;
  return 1;
}

// err[0]: smallest failing item (starts at INT_MAX), err[1]: max code (1 stack, 2 malformed).
#define BVH_ERR(code_)                     \
  {                                        \
    atomic_min(&err[0], (int)i);           \
    atomic_max(&err[1], (code_));          \
    break;                                 \
  }

__kernel void bvh_query(__global const float* v, __global const int* f, __global const float* boxes,
                        __global const int* nodes, int depth, __global const float* pts, float r2, int V, int F,
                        __global int* oface, __global float* opt, __global float* obary, __global float* odist,
                        __global int* err, ulong base, ulong n) {
  TS_INDEX_OR_RETURN(base, n);
  const int N = 2 * F - 1;
  const float3 p = (float3)(pts[3 * i], pts[3 * i + 1], pts[3 * i + 2]);
  int stn[BVH_MAX_DEPTH];
  float std2[BVH_MAX_DEPTH];
  float best = r2;
  float3 bq = (float3)(0.0f), bw = (float3)(0.0f);
  int bf = -1, sp = 0, node = 0;
  int live = bvh_box_d2(p, boxes) <= best;
  for (int it = 0; live; ++it) {
    if (it >= N) BVH_ERR(2);
    if (node >= F - 1) {
      int face;
      if (!bvh_leaf_ok(nodes, f, node, F, V, &face)) BVH_ERR(2);
      float3 q, w;
      const float d2 = bvh_closest(p, bvh_vert(v, f, face, 0), bvh_vert(v, f, face, 1), bvh_vert(v, f, face, 2), &q, &w);
      if (bf < 0 ? d2 <= best : d2 < best) { best = d2; bf = face; bq = q; bw = w; }
    } else {
      int l = nodes[4 * node], r = nodes[4 * node + 1];
      if (l <= 0 || l >= N || r <= 0 || r >= N) BVH_ERR(2);
      float dl = bvh_box_d2(p, boxes + 6 * l), dr = bvh_box_d2(p, boxes + 6 * r);
      if (dr < dl) { int t = l; l = r; r = t; float u = dl; dl = dr; dr = u; }
      if (bf < 0 ? dr <= best : dr < best) {
        if (sp >= depth || sp >= BVH_MAX_DEPTH) BVH_ERR(1);
        stn[sp] = r; std2[sp] = dr; ++sp;
      }
      if (bf < 0 ? dl <= best : dl < best) { node = l; continue; }
    }
    live = 0;
    while (sp > 0 && !live) {
      --sp;
      node = stn[sp];
      live = bf < 0 ? std2[sp] <= best : std2[sp] < best;
    }
  }
  oface[i] = bf;
  vstore3(bf < 0 ? (float3)(0.0f) : bq, i, opt);
  vstore3(bf < 0 ? (float3)(0.0f) : bw, i, obary);
  odist[i] = bf < 0 ? INFINITY : sqrt(best);
}

inline float bvh_c(float3 v, int k) { return k == 0 ? v.x : k == 1 ? v.y : v.z; }
// Slab test (ops/bvh_math.hpp ray_box): an axis whose slab distance is NaN
// (0 * inf: origin on the slab plane, direction parallel to it) is no constraint.
inline int bvh_ray_box(float3 o, float3 inv, __global const float* b, float t0, float t1, float* tn) {
  const float3 lo = ((float3)(b[0], b[1], b[2]) - o) * inv, hi = ((float3)(b[3], b[4], b[5]) - o) * inv;
  for (int k = 0; k < 3; ++k) {
    const float x = bvh_c(lo, k), y = bvh_c(hi, k);
    if (isnan(x) || isnan(y)) continue;
    t0 = fmax(t0, fmin(x, y));
    t1 = fmin(t1, fmax(x, y) * 1.0000003f);
  }
  *tn = t0;
  return t0 <= t1;
}


__kernel void bvh_raycast(__global const float* v, __global const int* f, __global const float* boxes,
                          __global const int* nodes, int depth, __global const float* po, __global const float* pd,
                          float tmin, float tmax, int V, int F, __global float* ot, __global int* oface,
                          __global float* obary, __global int* err, ulong base, ulong n) {
  TS_INDEX_OR_RETURN(base, n);
  const int N = 2 * F - 1;
  const float3 o = vload3(i, po), d = vload3(i, pd);
  const float3 inv = (float3)(1.0f) / d;
  // Shear of the watertight test (ops/bvh_math.hpp ray_shear).
  const float3 ad = fabs(d);
  const int kz = ad.x > ad.y ? (ad.x > ad.z ? 0 : 2) : (ad.y > ad.z ? 1 : 2);
  int kx = (kz + 1) % 3, ky = (kx + 1) % 3;
  if (bvh_c(d, kz) < 0.0f) { int t = kx; kx = ky; ky = t; }
  const float sx = bvh_c(d, kx) / bvh_c(d, kz), sy = bvh_c(d, ky) / bvh_c(d, kz), sz = 1.0f / bvh_c(d, kz);
  int stn[BVH_MAX_DEPTH];
  float stt[BVH_MAX_DEPTH];
  float best = tmax, tn;
  float3 bw = (float3)(0.0f);
  int bf = -1, sp = 0, node = 0;
  int live = bvh_ray_box(o, inv, boxes, tmin, best, &tn);
  for (int it = 0; live; ++it) {
    if (it >= N) BVH_ERR(2);
    if (node >= F - 1) {
      int face;
      if (!bvh_leaf_ok(nodes, f, node, F, V, &face)) BVH_ERR(2);
      const float3 A = bvh_vert(v, f, face, 0) - o, B = bvh_vert(v, f, face, 1) - o, C = bvh_vert(v, f, face, 2) - o;
      const float Az = bvh_c(A, kz), Bz = bvh_c(B, kz), Cz = bvh_c(C, kz);
      const float Ax = bvh_c(A, kx) - sx * Az, Ay = bvh_c(A, ky) - sy * Az;
      const float Bx = bvh_c(B, kx) - sx * Bz, By = bvh_c(B, ky) - sy * Bz;
      const float Cx = bvh_c(C, kx) - sx * Cz, Cy = bvh_c(C, ky) - sy * Cz;
      const float U = Cx * By - Cy * Bx, Vv = Ax * Cy - Ay * Cx, W = Bx * Ay - By * Ax;
      const int out = (U < 0.0f || Vv < 0.0f || W < 0.0f) && (U > 0.0f || Vv > 0.0f || W > 0.0f);
      const float det = U + Vv + W;
      if (!out && det != 0.0f) {
        const float T = U * (sz * Az) + Vv * (sz * Bz) + W * (sz * Cz);
        const float invd = 1.0f / det, t = T * invd;
        if (t >= tmin && t <= best && (bf < 0 || t < best)) {
          best = t; bf = face; bw = (float3)(U * invd, Vv * invd, W * invd);
        }
      }
    } else {
      int l = nodes[4 * node], r = nodes[4 * node + 1];
      if (l <= 0 || l >= N || r <= 0 || r >= N) BVH_ERR(2);
      float tl, tr;
      int hl = bvh_ray_box(o, inv, boxes + 6 * l, tmin, best, &tl), hr = bvh_ray_box(o, inv, boxes + 6 * r, tmin, best, &tr);
      if ((hl && hr && tr < tl) || (!hl && hr)) {
        int t = l; l = r; r = t; float u = tl; tl = tr; tr = u; int h = hl; hl = hr; hr = h;
      }
      if (hr) {
        if (sp >= depth || sp >= BVH_MAX_DEPTH) BVH_ERR(1);
        stn[sp] = r; stt[sp] = tr; ++sp;
      }
      if (hl) { node = l; continue; }
    }
    live = 0;
    while (sp > 0 && !live) {
      --sp;
      node = stn[sp];
      live = stt[sp] <= best;
    }
  }
  ot[i] = bf < 0 ? INFINITY : best;
  oface[i] = bf;
  vstore3(bf < 0 ? (float3)(0.0f) : bw, i, obary);
}
