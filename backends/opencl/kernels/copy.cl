// Strided N-d copy (enqueue_strided_copy in cl_copy.cpp): every dtype, moved
// as opaque units of 1, 2, 4, 8 or 16 bytes. The host passes the collapsed
// plan right-aligned in long8 vectors (slot 7 = innermost dimension, unused
// slots dim 1 / stride 0), rank 1..8, and `small` = 1 when the element count
// and both relative offsets fit in 32 bits (cheaper division on GPUs).

#define TS_COPY_DIM(IT, c)                                                                          \
  if (rank > 7 - c) {                                                                               \
    const IT d = (IT)dims.s##c;                                                                     \
    const IT q = rem / d;                                                                           \
    const IT r = rem - q * d;                                                                       \
    ks_ += r * (IT)ss.s##c;                                                                         \
    kd_ += r * (IT)ds.s##c;                                                                         \
    rem = q;                                                                                        \
  }
#define TS_COPY_INDEX(IT, i_in, js_out, jd_out)                                                     \
  {                                                                                                 \
    IT rem = (IT)(i_in), ks_ = 0, kd_ = 0;                                                          \
    TS_COPY_DIM(IT, 7) TS_COPY_DIM(IT, 6) TS_COPY_DIM(IT, 5) TS_COPY_DIM(IT, 4)                     \
    TS_COPY_DIM(IT, 3) TS_COPY_DIM(IT, 2) TS_COPY_DIM(IT, 1) TS_COPY_DIM(IT, 0)                     \
    js_out = (ulong)ks_;                                                                            \
    jd_out = (ulong)kd_;                                                                            \
  }

#define TS_DEFINE_STRIDED_COPY(U, T)                                                                \
  __kernel void strided_copy_##U(__global const T* src, ulong s_off, __global T* dst, ulong d_off,  \
                                 int rank, int small, long8 dims, long8 ss, long8 ds, ulong base,   \
                                 ulong n) {                                                         \
    TS_INDEX_OR_RETURN(base, n);                                                                    \
    ulong js, jd;                                                                                   \
    if (rank == 1) {                                                                                \
      js = i * (ulong)ss.s7;                                                                        \
      jd = i * (ulong)ds.s7;                                                                        \
    } else if (small) {                                                                             \
      TS_COPY_INDEX(uint, i, js, jd)                                                                \
    } else {                                                                                        \
      TS_COPY_INDEX(ulong, i, js, jd)                                                               \
    }                                                                                               \
    dst[d_off + jd] = src[s_off + js];                                                              \
  }

TS_DEFINE_STRIDED_COPY(1, uchar)
TS_DEFINE_STRIDED_COPY(2, ushort)
TS_DEFINE_STRIDED_COPY(4, uint)
TS_DEFINE_STRIDED_COPY(8, uint2)
TS_DEFINE_STRIDED_COPY(16, uint4)

// Transposing copy through local memory: the destination's innermost dim q
// (dst stride 1) has a source stride sq, and another dim p has source stride
// 1. One work-group of 256 items moves a 32 (p) x 32 (q) tile: reads along
// p and writes along q are both contiguous. The other (batch) dims come
// right-aligned in long8 vectors (brank 0..6). The grid is exact:
// nbatch * tiles_p * tiles_q groups.
#define TS_TBATCH_DIM(c)                                                                            \
  if (brank > 7 - c) {                                                                              \
    const ulong d = (ulong)bdims.s##c;                                                              \
    const ulong q_ = rem / d;                                                                       \
    const ulong r = rem - q_ * d;                                                                   \
    sb += r * (ulong)bss.s##c;                                                                      \
    db += r * (ulong)bds.s##c;                                                                      \
    rem = q_;                                                                                       \
  }

#define TS_DEFINE_TRANSPOSE_COPY(U, T)                                                              \
  __kernel __attribute__((reqd_work_group_size(256, 1, 1))) void transpose_copy_##U(                \
      __global const T* src, ulong s_off, __global T* dst, ulong d_off, int brank, long8 bdims,     \
      long8 bss, long8 bds, ulong P, ulong Q, ulong sq, ulong dp, ulong tiles_p, ulong tiles_q,     \
      ulong group_base) {                                                                           \
    __local T tile[32][33];                                                                         \
    const ulong g = TS_GROUP(group_base);                                                           \
    const ulong per = tiles_p * tiles_q, bt = g / per, tg = g - bt * per;                           \
    const ulong p0 = (tg / tiles_q) * 32, q0 = (tg % tiles_q) * 32;                                 \
    ulong rem = bt, sb = 0, db = 0;                                                                 \
    TS_TBATCH_DIM(7) TS_TBATCH_DIM(6) TS_TBATCH_DIM(5) TS_TBATCH_DIM(4)                             \
    TS_TBATCH_DIM(3) TS_TBATCH_DIM(2) TS_TBATCH_DIM(1) TS_TBATCH_DIM(0)                             \
    const uint lid = get_local_id(0), tx = lid % 32, ty = lid / 32;                                 \
    for (uint r = 0; r < 4; ++r) {                                                                  \
      const ulong p = p0 + tx, q = q0 + ty + 8 * r;                                                 \
      if (p < P && q < Q) tile[ty + 8 * r][tx] = src[s_off + sb + p + q * sq];                      \
    }                                                                                               \
    barrier(CLK_LOCAL_MEM_FENCE);                                                                   \
    for (uint r = 0; r < 4; ++r) {                                                                  \
      const ulong q = q0 + tx, p = p0 + ty + 8 * r;                                                 \
      if (p < P && q < Q) dst[d_off + db + p * dp + q] = tile[tx][ty + 8 * r];                      \
    }                                                                                               \
  }

TS_DEFINE_TRANSPOSE_COPY(1, uchar)
TS_DEFINE_TRANSPOSE_COPY(2, ushort)
TS_DEFINE_TRANSPOSE_COPY(4, uint)
TS_DEFINE_TRANSPOSE_COPY(8, uint2)
TS_DEFINE_TRANSPOSE_COPY(16, uint4)
