// Rasterization by tile binning (backends/opencl/raster.cpp drives it):
// raster_setup (per triangle: edge functions / det, depth plane, pixel box,
// tile count), raster_bin (per (triangle, tile) entry: count, then scatter
// into per-tile lists), raster_resolve (one work-group per 16 x 16 tile: each
// pixel keeps the smallest (depth, id) over a segment of its tile's list),
// raster_finish (barycentrics of the winner, zeros for background).
// Setup record: 16 floats per triangle: A[3][3] (edge functions / det), Z[3]
// (depth plane), (cx, cy), 2 pad; all relative to a per-triangle centre c:
// a_k = A[k].(px - cx, py - cy, 1) (a det-1 shear of the homogeneous
// coordinates, which keeps small triangles' edge functions accurate in f32).
// Pixel box int4 (x0, x1, y0, y1) apart, empty (x0 > x1) for triangles that
// never rasterize.

#define RT 16  // tile side in pixels (the resolve work-group is RT * RT)

// Conservative pixel range of NDC coordinates [c0, c1] on an axis of n pixels, widened by one.
inline int rs_lo(float c, int n) { return (int)clamp(floor((c + 1.0f) * 0.5f * (float)n - 0.5f) - 1.0f, 0.0f, (float)n); }
inline int rs_hi(float c, int n) { return (int)clamp(ceil((c + 1.0f) * 0.5f * (float)n - 0.5f) + 1.0f, -1.0f, (float)(n - 1)); }

inline float rs_plane(float4 q, int plane) { return plane == 0 ? q.w + q.z : q.w - q.z; }

__kernel void raster_setup(__global const float* pos, ulong pos_off, int uv_mode, __global const int* faces,
                           ulong faces_off, uint V, int H, int W, int tiles_x, __global float* setup, __global int4* boxes,
                           __global uint* tri_tiles, __global uint* err, ulong base, ulong n) {
  TS_INDEX_OR_RETURN(base, n);
  const ulong f = i;
  __global float* s = setup + f * 16;
  for (int q = 0; q < 16; ++q) s[q] = 0.0f;
  boxes[f] = (int4)(1, 0, 1, 0);
  tri_tiles[f] = 0;
  float4 v[3];
  for (int k = 0; k < 3; ++k) {
    const int vi = faces[faces_off + f * 3 + k];
    if (vi < 0 || (uint)vi >= V) {
      atomic_min(err, (uint)f);
      return;
    }
    if (uv_mode) {
      const float2 t = vload2(0, pos + pos_off + (ulong)vi * 2);
      v[k] = (float4)(2.0f * t.x - 1.0f, 2.0f * t.y - 1.0f, 0.0f, 1.0f);
    } else {
      v[k] = vload4(0, pos + pos_off + (ulong)vi * 4);
    }
    if (!all(isfinite(v[k]))) return;
  }
  float cx = 0.0f, cy = 0.0f;
  const float sw = v[0].w + v[1].w + v[2].w;
  if (sw > 0.0f) {
    cx = clamp((v[0].x + v[1].x + v[2].x) / sw, -1.5f, 1.5f);
    cy = clamp((v[0].y + v[1].y + v[2].y) / sw, -1.5f, 1.5f);
  }
  float3 P[3];
  for (int k = 0; k < 3; ++k) P[k] = (float3)(v[k].x - cx * v[k].w, v[k].y - cy * v[k].w, v[k].w);
  float3 E[3];
  for (int k = 0; k < 3; ++k) {
    const float3 a = P[(k + 1) % 3], b = P[(k + 2) % 3];
    E[k] = (float3)(a.y * b.z - a.z * b.y, a.z * b.x - a.x * b.z, a.x * b.y - a.y * b.x);
  }
  const float det = P[0].x * E[0].x + P[0].y * E[0].y + P[0].z * E[0].z;
  if (det == 0.0f || !isfinite(det)) return;
  float3 Z = (float3)(0.0f);
  for (int k = 0; k < 3; ++k) {
    const float3 A = E[k] / det;
    if (!all(isfinite(A))) return;
    s[3 * k] = A.x; s[3 * k + 1] = A.y; s[3 * k + 2] = A.z;
    Z += v[k].z * A;
  }
  if (!all(isfinite(Z))) return;
  s[9] = Z.x; s[10] = Z.y; s[11] = Z.z;
  s[12] = cx; s[13] = cy;
  // Clip the triangle by the near (w + z >= 0) and far (w - z >= 0) planes.
  float4 poly[2][8];
  int m = 3, cur = 0;
  for (int k = 0; k < 3; ++k) poly[0][k] = v[k];
  for (int plane = 0; plane < 2; ++plane) {
    int o = 0;
    for (int k = 0; k < m; ++k) {
      const float4 a = poly[cur][k], b = poly[cur][(k + 1) % m];
      const float da = rs_plane(a, plane), db = rs_plane(b, plane);
      if (da >= 0.0f) poly[1 - cur][o++] = a;
      if ((da >= 0.0f) != (db >= 0.0f)) poly[1 - cur][o++] = a + (da / (da - db)) * (b - a);
    }
    m = o;
    cur = 1 - cur;
  }
  if (m == 0) return;
  float xmin = INFINITY, xmax = -INFINITY, ymin = INFINITY, ymax = -INFINITY;
  bool full = false;
  for (int k = 0; k < m; ++k) {
    const float4 q = poly[cur][k];
    if (!(q.w > 1e-30f)) full = true;
    else {
      xmin = fmin(xmin, q.x / q.w); xmax = fmax(xmax, q.x / q.w);
      ymin = fmin(ymin, q.y / q.w); ymax = fmax(ymax, q.y / q.w);
    }
  }
  int x0, x1, y0, y1;
  if (full) {
    x0 = 0; x1 = W - 1; y0 = 0; y1 = H - 1;
  } else {
    if (!(xmin <= xmax) || !(ymin <= ymax)) return;
    x0 = rs_lo(xmin, W); x1 = rs_hi(xmax, W); y0 = rs_lo(ymin, H); y1 = rs_hi(ymax, H);
  }
  boxes[f] = (int4)(x0, x1, y0, y1);
  if (x0 <= x1 && y0 <= y1) tri_tiles[f] = (uint)((x1 / RT - x0 / RT + 1) * (y1 / RT - y0 / RT + 1));
}

// Entry k of the batch [f0, f0 + nb): the triangle b with off[b] <= k < off[b + 1]
// (binary search; off is the exclusive prefix of the batch's tile counts)
// and the tile it covers.
inline uint rs_entry_tile(__global const int4* boxes, __global const uint* off, uint nb, uint f0, uint k,
                          int tiles_x, uint* tri) {
  uint lo = 0, hi = nb;  // off[lo] <= k < off[hi]
  while (hi - lo > 1) {
    const uint mid = (lo + hi) / 2;
    if (off[mid] <= k) lo = mid;
    else hi = mid;
  }
  *tri = f0 + lo;
  const int4 box = boxes[f0 + lo];
  const int tx0 = box.s0 / RT, ty0 = box.s2 / RT, nx = box.s1 / RT - tx0 + 1;
  const uint r = k - off[lo];
  return (uint)((ty0 + (int)(r / (uint)nx)) * tiles_x + tx0 + (int)(r % (uint)nx));
}

__kernel void raster_count(__global const int4* setup, __global const uint* off, uint nb, uint f0, int tiles_x,
                           __global uint* tile_cnt, ulong base, ulong n) {
  TS_INDEX_OR_RETURN(base, n);
  uint tri;
  atomic_inc(&tile_cnt[rs_entry_tile(setup, off, nb, f0, (uint)i, tiles_x, &tri)]);
}

__kernel void raster_scatter(__global const int4* setup, __global const uint* off, uint nb, uint f0, int tiles_x,
                             __global const uint* tile_off, __global uint* tile_fill, __global uint* list, ulong base,
                             ulong n) {
  TS_INDEX_OR_RETURN(base, n);
  uint tri;
  const uint t = rs_entry_tile(setup, off, nb, f0, (uint)i, tiles_x, &tri);
  list[tile_off[t] + atomic_inc(&tile_fill[t])] = tri;
}

// Edge-function coverage of pixel (px, py) by setup record s; depth in *d.
inline bool rs_covers(const float* s, float px, float py, float* d, float* u, float* v) {
  px -= s[12];
  py -= s[13];
  const float a0 = s[0] * px + s[1] * py + s[2];
  const float a1 = s[3] * px + s[4] * py + s[5];
  const float a2 = s[6] * px + s[7] * py + s[8];
  const float sum = a0 + a1 + a2;
  *d = s[9] * px + s[10] * py + s[11];
  *u = a0 / sum;
  *v = a1 / sum;
  return a0 >= 0.0f && a1 >= 0.0f && a2 >= 0.0f && sum > 0.0f && *d >= -1.0f && *d <= 1.0f;
}

// One work-group per tile; entries [seg0, seg0 + seg_len) of each tile's list.
__kernel __attribute__((reqd_work_group_size(RT * RT, 1, 1))) void raster_resolve(
    __global const float* setup, __global const uint* list, __global const uint* tile_off,
    __global const uint* tile_cnt, __global int* best_id, ulong id_off, __global float* best_d, ulong d_off, int H,
    int W, int tiles_x, uint seg0, uint seg_len, ulong group_base) {
  __local float ls[RT * RT * 16];
  __local uint lid_tri[RT * RT];
  const uint t = (uint)TS_GROUP(group_base), lid = get_local_id(0);
  const int j = (int)(t % (uint)tiles_x) * RT + (int)(lid % RT), r = (int)(t / (uint)tiles_x) * RT + (int)(lid / RT);
  const bool live = j < W && r < H;
  const ulong p = (ulong)(live ? r : 0) * (ulong)W + (ulong)(live ? j : 0);
  const float px = (float)(2 * j + 1) / (float)W - 1.0f, py = (float)(2 * r + 1) / (float)H - 1.0f;
  int best = live ? best_id[id_off + p] : -1;
  float bd = live ? best_d[d_off + p] : 0.0f;
  const uint cnt = tile_cnt[t], start = tile_off[t];
  const uint end = min(cnt, seg0 + seg_len);
  for (uint c0 = seg0; c0 < end; c0 += RT * RT) {
    const uint nload = min((uint)(RT * RT), end - c0);
    barrier(CLK_LOCAL_MEM_FENCE);
    if (lid < nload) {
      const uint f = list[start + c0 + lid];
      lid_tri[lid] = f;
      for (int q = 0; q < 16; ++q) ls[lid * 16 + q] = setup[(ulong)f * 16 + q];
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    for (uint e = 0; e < nload; ++e) {
      float s[16];
      for (int q = 0; q < 16; ++q) s[q] = ls[e * 16 + q];
      float d, u, v;
      if (!rs_covers(s, px, py, &d, &u, &v)) continue;
      const int f = (int)lid_tri[e];
      if (best < 0 || d < bd || (d == bd && f < best)) {
        best = f;
        bd = d;
      }
    }
  }
  if (live) {
    best_id[id_off + p] = best;
    best_d[d_off + p] = bd;
  }
}

__kernel void raster_finish(__global const float* setup, __global const int* best_id, ulong id_off,
                            __global float* best_d, ulong d_off, __global float* bary, ulong b_off, int H, int W,
                            ulong base, ulong n) {
  TS_INDEX_OR_RETURN(base, n);
  const int f = best_id[id_off + i];
  float u = 0.0f, v = 0.0f;
  if (f >= 0) {
    float s[16];
    for (int q = 0; q < 16; ++q) s[q] = setup[(ulong)f * 16 + q];
    const int j = (int)(i % (ulong)W), r = (int)(i / (ulong)W);
    float d;
    rs_covers(s, (float)(2 * j + 1) / (float)W - 1.0f, (float)(2 * r + 1) / (float)H - 1.0f, &d, &u, &v);
  } else {
    best_d[d_off + i] = 0.0f;
  }
  bary[b_off + 2 * i] = u;
  bary[b_off + 2 * i + 1] = v;
}

// interpolate: one item per (pixel, channel).
__kernel void interpolate(__global const float* attr, ulong a_off, __global const int* faces, ulong f_off,
                          __global const int* id, ulong id_off, __global const float* bary, ulong b_off,
                          __global float* out, ulong o_off, uint C, uint F, ulong base, ulong n) {
  TS_INDEX_OR_RETURN(base, n);
  const ulong p = i / C, c = i % C;
  const int f = id[id_off + p];
  float r = 0.0f;
  if (f >= 0 && (uint)f < F) {
    const float u = bary[b_off + 2 * p], v = bary[b_off + 2 * p + 1];
    const ulong fb = f_off + (ulong)f * 3;
    r = u * attr[a_off + (ulong)faces[fb] * C + c] + v * attr[a_off + (ulong)faces[fb + 1] * C + c] +
        (1.0f - u - v) * attr[a_off + (ulong)faces[fb + 2] * C + c];
  }
  out[o_off + i] = r;
}

// Validates faces: err = smallest face with a vertex index outside [0, V).
__kernel void check_faces(__global const int* faces, ulong f_off, uint V, __global uint* err, ulong base, ulong n) {
  TS_INDEX_OR_RETURN(base, n);
  for (int k = 0; k < 3; ++k) {
    const int vi = faces[f_off + i * 3 + k];
    if (vi < 0 || (uint)vi >= V) atomic_min(err, (uint)i);
  }
}
