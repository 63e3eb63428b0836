// conv3d as an implicit GEMM, per batch n:
//   out[co, pos] = bias[co] + sum_kk W[co, kk] * X[kk, pos],   kk = (ci, a, b, c) over Cin k^3,
//   X[kk, pos] = x[n, ci, z + a - k/2, y + b - k/2, x + c - k/2] (zero outside), pos = (z, y, x).
// Work-group: 256 items computing a 64 (co) x 64 (pos) tile, 4 x 4 per item,
// over K steps of 16: the W and X tiles are staged in local memory as f32
// (f16/bf16 widened on load, never materialising the im2col matrix), all
// products accumulate in f32 registers, the result is rounded once. The tap
// table (conv3d_taps) gives each kk its channel and packed offsets, so the
// X loads need no integer division.
// Dim 0 of the launch: position tiles (chunked, group_base; exact count); dim 1: n * co tiles.

#define CV_TM 64
#define CV_TN 64
#define CV_TK 16
#define CV_WG 256
#define CV_AS (CV_TM + 4) /* padded W-tile row: fewer bank conflicts on store, float4-aligned */

// taps[kk] = (ci, (dz + 128) << 16 | (dy + 128) << 8 | (dx + 128)) for kk = (ci, a, b, c)
// over Cin k^3, d* = a/b/c - k/2 (k <= 255).
__kernel void conv3d_taps(__global int2* taps, uint k, ulong base, ulong n) {
  TS_INDEX_OR_RETURN(base, n);
  const uint kk = (uint)i, k2 = k * k, k3 = k2 * k, ci = kk / k3, rem = kk - ci * k3;
  const int pad = (int)(k / 2);
  const int dz = (int)(rem / k2) - pad, dy = (int)((rem / k) % k) - pad, dx = (int)(rem % k) - pad;
  taps[i] = (int2)((int)ci, ((dz + 128) << 16) | ((dy + 128) << 8) | (dx + 128));
}

#define TS_DEFINE_CONV3D(D)                                                                             \
  __kernel __attribute__((reqd_work_group_size(CV_WG, 1, 1))) void conv3d_##D(                          \
      __global const TS_T_##D* x, ulong x_off, __global const TS_T_##D* w, ulong w_off,                 \
      __global const float* bias, ulong b_off, int has_bias, __global TS_T_##D* y, ulong y_off,         \
      __global const int2* taps, uint Ci, uint Co, uint Dd, uint Hh, uint Ww, uint K, uint co_tiles,    \
      ulong group_base) {                                                                               \
    __local float4 As[CV_TK * CV_AS / 4];                                                               \
    __local float4 Bs[CV_TK * CV_TN / 4];                                                               \
    __local float* as = (__local float*)As;                                                             \
    __local float* bs = (__local float*)Bs;                                                             \
    const ulong pt = TS_GROUP(group_base);                                                              \
    const uint g1 = get_global_id(1);                                                                   \
    const uint n = g1 / co_tiles, co0 = (g1 % co_tiles) * CV_TM;                                        \
    const uint lid = get_local_id(0), tx = lid % 16, ty = lid / 16;                                     \
    const ulong HW = (ulong)Hh * Ww, DHW = HW * Dd;                                                     \
    /* This item's column of the X tile: fixed position, rows lid / 64 + 4 r. */                        \
    const uint bn = lid % CV_TN;                                                                        \
    const ulong pos = pt * CV_TN + bn;                                                                  \
    const bool pos_ok = pos < DHW;                                                                      \
    const int pz = pos_ok ? (int)(pos / HW) : 0;                                                        \
    const int py = pos_ok ? (int)((pos / Ww) % Hh) : 0;                                                 \
    const int px = pos_ok ? (int)(pos % Ww) : 0;                                                        \
    const ulong xn = x_off + (ulong)n * Ci * DHW;                                                       \
    float acc[4][4];                                                                                    \
    TS_UNROLL for (int i = 0; i < 4; ++i)                                                               \
      TS_UNROLL for (int j = 0; j < 4; ++j) acc[i][j] = 0.f;                                            \
    for (uint k0 = 0; k0 < K; k0 += CV_TK) {                                                            \
      barrier(CLK_LOCAL_MEM_FENCE);                                                                     \
      for (uint r = 0; r < CV_TK * CV_TM / CV_WG; ++r) {                                                \
        /* kk fastest: each W row segment is read contiguously */                                       \
        const uint e = lid + r * CV_WG, kk = e % CV_TK, m = e / CV_TK;                                  \
        const uint co = co0 + m, kg = k0 + kk;                                                          \
        as[kk * CV_AS + m] = (co < Co && kg < K) ? TS_LOAD_##D(w, w_off + (ulong)co * K + kg) : 0.f;    \
      }                                                                                                 \
      for (uint r = 0; r < CV_TK * CV_TN / CV_WG; ++r) {                                                \
        const uint kk = lid / CV_TN + r * (CV_WG / CV_TN), kg = k0 + kk;                                \
        float v = 0.f;                                                                                  \
        if (pos_ok && kg < K) {                                                                         \
          const int2 tp = taps[kg];                                                                     \
          const int zz = pz + ((tp.y >> 16) & 255) - 128;                                               \
          const int yy = py + ((tp.y >> 8) & 255) - 128;                                                \
          const int xx = px + (tp.y & 255) - 128;                                                       \
          if (zz >= 0 && zz < (int)Dd && yy >= 0 && yy < (int)Hh && xx >= 0 && xx < (int)Ww)            \
            v = TS_LOAD_##D(x, xn + (ulong)tp.x * DHW + ((ulong)zz * Hh + (ulong)yy) * Ww + (ulong)xx); \
        }                                                                                               \
        bs[kk * CV_TN + bn] = v;                                                                        \
      }                                                                                                 \
      barrier(CLK_LOCAL_MEM_FENCE);                                                                     \
      TS_UNROLL for (uint kk = 0; kk < CV_TK; ++kk) {                                                   \
        const float4 a = As[kk * (CV_AS / 4) + ty];                                                     \
        const float4 b = Bs[kk * (CV_TN / 4) + tx];                                                     \
        const float av[4] = {a.x, a.y, a.z, a.w}, bv[4] = {b.x, b.y, b.z, b.w};                         \
        TS_UNROLL for (int i = 0; i < 4; ++i)                                                           \
          TS_UNROLL for (int j = 0; j < 4; ++j) acc[i][j] = fma(av[i], bv[j], acc[i][j]);               \
      }                                                                                                 \
    }                                                                                                   \
    for (int i = 0; i < 4; ++i) {                                                                       \
      const uint co = co0 + ty * 4 + i;                                                                 \
      if (co >= Co) continue;                                                                           \
      const float bb = has_bias ? bias[b_off + co] : 0.f;                                               \
      const ulong ob = y_off + ((ulong)n * Co + co) * DHW;                                              \
      for (int j = 0; j < 4; ++j) {                                                                     \
        const ulong p = pt * CV_TN + tx * 4 + j;                                                        \
        if (p < DHW) TS_STORE_##D(y, ob + p, acc[i][j] + bb);                                           \
      }                                                                                                 \
    }                                                                                                   \
  }

TS_DEFINE_CONV3D(f32)
TS_DEFINE_CONV3D(f16)
TS_DEFINE_CONV3D(bf16)
