// rope: one work-item per (token t >= skip, pair p), looping over the H heads
// (one sin/cos per angle). Each pair is read before it is written, so y may alias x
// (rope_ in place). Full-precision sin/cos of the f32 angle (angles reach
// ~1e3 rad), f32 arithmetic, rounded once to the dtype.
//   x, y   [T, H, D]; ang [T - skip, D/2] f32
//   half_pairs = 0: pairs (2p, 2p + 1); 1: pairs (p, p + D/2)

#define TS_DEFINE_ROPE(D)                                                                            \
  __kernel void rope_##D(__global const TS_T_##D* x, ulong x_off, __global TS_T_##D* y, ulong y_off, \
                         __global const float* ang, ulong a_off, ulong H, ulong P, ulong skip,       \
                         int half_pairs, ulong base, ulong n) {                                      \
    TS_INDEX_OR_RETURN(base, n);                                                                     \
    /* i = (t - skip) * P + p; the angle is shared by the H heads of the token */                    \
    ulong p, tr;                                                                                     \
    if (n <= 0xffffffffUL) {                                                                         \
      p = (uint)i % (uint)P;                                                                         \
      tr = (uint)i / (uint)P;                                                                        \
    } else {                                                                                         \
      p = i % P;                                                                                     \
      tr = i / P;                                                                                    \
    }                                                                                                \
    const float a = ang[a_off + i];                                                                  \
    const float c = cos(a), s = sin(a);                                                              \
    const ulong pos0 = half_pairs ? p : 2 * p, step = half_pairs ? P : 1;                            \
    ulong row = x_off + (tr + skip) * H * (2 * P);                                                   \
    ulong orow = y_off + (tr + skip) * H * (2 * P);                                                  \
    for (ulong h = 0; h < H; ++h, row += 2 * P, orow += 2 * P) {                                     \
      const float u = TS_LOAD_##D(x, row + pos0), v = TS_LOAD_##D(x, row + pos0 + step);             \
      const float r0 = u * c - v * s, r1 = u * s + v * c;                                            \
      TS_STORE_##D(y, orow + pos0, r0);                                                              \
      TS_STORE_##D(y, orow + pos0 + step, r1);                                                       \
    }                                                                                                \
  }

TS_DEFINE_ROPE(f32)
TS_DEFINE_ROPE(f16)
TS_DEFINE_ROPE(bf16)
