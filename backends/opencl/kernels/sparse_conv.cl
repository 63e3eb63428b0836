// sparse_conv3d as a masked implicit GEMM:
//   out[i, co] = bias[co] + sum_v sum_ci feats[nbr[i, v], ci] * W[co, v, ci].
// Work-group: 256 items computing a 64 (rows) x 64 (co) tile, 4 x 4 per item;
// the tile's rows are 64 consecutive entries of the row order (order[],
// sparse_conv_order: rows sorted by neighbour mask, so tiles share active
// offsets) and results go to the rows' original positions.
// For each kernel offset v the tile's 64 neighbour rows are staged in local
// memory; offsets where no row of the tile has a neighbour are skipped (a
// uniform branch). Then over Cin in steps of 16: the gathered feature tile and
// the weight tile are staged as f32 (f16/bf16 widened on load; both read with
// ci fastest, i.e. contiguously), products accumulate in f32 registers and the
// result is rounded once. Entries outside [0, N) count as missing neighbours.
// Dim 0 of the launch: row tiles (chunked, group_base); dim 1: co tiles.

#define SC_TM 64
#define SC_TN 64
#define SC_TK 16
#define SC_WG 256
#define SC_AS (SC_TM + 4)
#define SC_BS (SC_TN + 4)

#define TS_DEFINE_SPARSE_CONV(D)                                                                        \
  __kernel __attribute__((reqd_work_group_size(SC_WG, 1, 1))) void sparse_conv3d_##D(                   \
      __global const TS_T_##D* f, ulong f_off, __global const int* nbr, ulong n_off,                    \
      __global const TS_T_##D* w, ulong w_off, __global const float* bias, ulong b_off, int has_bias,    \
      __global TS_T_##D* y, ulong y_off, __global const int* order, ulong o_off, uint N, uint Ci, uint Co, \
      uint K, ulong group_base) {                                                                       \
    __local float4 As[SC_TK * SC_AS / 4];                                                               \
    __local float4 Bs[SC_TK * SC_BS / 4];                                                               \
    __local int rows[SC_TM];                                                                            \
    __local int orow[SC_TM];                                                                            \
    __local int any;                                                                                    \
    __local float* as = (__local float*)As;                                                             \
    __local float* bs = (__local float*)Bs;                                                             \
    const ulong r0 = TS_GROUP(group_base) * SC_TM;                                                      \
    const uint co0 = (uint)get_group_id(1) * SC_TN;                                                  \
    const uint lid = get_local_id(0), tx = lid % 16, ty = lid / 16;                                     \
    const ulong KC = (ulong)K * Ci;                                                                     \
    if (lid < SC_TM) {                                                                                  \
      int o = -1;                                                                                       \
      if (r0 + lid < N) o = order[o_off + r0 + lid];                                                    \
      orow[lid] = (o >= 0 && (uint)o < N) ? o : -1;                                                     \
    }                                                                                                   \
    float acc[4][4];                                                                                    \
    TS_UNROLL for (int i = 0; i < 4; ++i)                                                               \
      TS_UNROLL for (int j = 0; j < 4; ++j) acc[i][j] = 0.f;                                            \
    for (uint v = 0; v < K; ++v) {                                                                      \
      barrier(CLK_LOCAL_MEM_FENCE);                                                                     \
      if (lid == 0) any = 0;                                                                            \
      barrier(CLK_LOCAL_MEM_FENCE);                                                                     \
      if (lid < SC_TM) {                                                                                \
        int j = -1;                                                                                     \
        if (orow[lid] >= 0) j = nbr[n_off + (ulong)orow[lid] * K + v];                                  \
        if (j < 0 || (uint)j >= N) j = -1;                                                              \
        rows[lid] = j;                                                                                  \
        if (j >= 0) any = 1;                                                                            \
      }                                                                                                 \
      barrier(CLK_LOCAL_MEM_FENCE);                                                                     \
      const int active = any;                                                                           \
      for (uint c0 = 0; active && c0 < Ci; c0 += SC_TK) {                                               \
        barrier(CLK_LOCAL_MEM_FENCE);                                                                   \
        for (uint r = 0; r < SC_TK * SC_TM / SC_WG; ++r) {                                              \
          const uint e = lid + r * SC_WG, kk = e % SC_TK, m = e / SC_TK, c = c0 + kk;                   \
          const int j = rows[m];                                                                        \
          as[kk * SC_AS + m] = (j >= 0 && c < Ci) ? TS_LOAD_##D(f, f_off + (ulong)j * Ci + c) : 0.f;    \
        }                                                                                               \
        for (uint r = 0; r < SC_TK * SC_TN / SC_WG; ++r) {                                              \
          const uint e = lid + r * SC_WG, kk = e % SC_TK, n = e / SC_TK, c = c0 + kk, co = co0 + n;     \
          bs[kk * SC_BS + n] =                                                                          \
              (co < Co && c < Ci) ? TS_LOAD_##D(w, w_off + (ulong)co * KC + (ulong)v * Ci + c) : 0.f;   \
        }                                                                                               \
        barrier(CLK_LOCAL_MEM_FENCE);                                                                   \
        TS_UNROLL for (uint kk = 0; kk < SC_TK; ++kk) {                                                 \
          const float4 a = As[kk * (SC_AS / 4) + ty];                                                   \
          const float4 b = Bs[kk * (SC_BS / 4) + tx];                                                   \
          const float av[4] = {a.x, a.y, a.z, a.w}, bv[4] = {b.x, b.y, b.z, b.w};                       \
          TS_UNROLL for (int i = 0; i < 4; ++i)                                                         \
            TS_UNROLL for (int j = 0; j < 4; ++j) acc[i][j] = fma(av[i], bv[j], acc[i][j]);             \
        }                                                                                               \
      }                                                                                                 \
    }                                                                                                   \
    for (int i = 0; i < 4; ++i) {                                                                       \
      const int o = orow[ty * 4 + i];                                                                   \
      if (o < 0) continue;                                                                              \
      const ulong row = (ulong)o;                                                                       \
      for (int j = 0; j < 4; ++j) {                                                                     \
        const uint co = co0 + tx * 4 + j;                                                               \
        if (co < Co) TS_STORE_##D(y, y_off + row * Co + co, acc[i][j] + (has_bias ? bias[b_off + co] : 0.f)); \
      }                                                                                                 \
    }                                                                                                   \
  }

TS_DEFINE_SPARSE_CONV(f32)
TS_DEFINE_SPARSE_CONV(f16)
TS_DEFINE_SPARSE_CONV(bf16)

// sparse_conv_order, step 1: mask key (bit v % 32 when nbr[i, v] is in [0, N))
// and row index per row, sorted next by the bvh program's radix kernels.
__kernel void sparse_conv_mask(__global const int* nbr, ulong n_off, uint N, uint K, __global uint* keys,
                               __global uint* vals, ulong base, ulong n) {
  TS_INDEX_OR_RETURN(base, n);
  uint key = 0;
  for (uint v = 0; v < K; ++v) {
    const int j = nbr[n_off + i * K + v];
    if (j >= 0 && (uint)j < N) key |= 1u << (v & 31u);
  }
  keys[i] = key;
  vals[i] = (uint)i;
}
