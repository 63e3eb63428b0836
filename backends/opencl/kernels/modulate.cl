// modulate (x * (1 + scale) + shift) and gated_residual (h + gate * x) with
// numpy broadcasting over three inputs. The host passes the collapsed plan
// (core/broadcast.hpp) right-aligned in long8 vectors (slot 7 = innermost,
// unused slots dim 1 / stride 0). f32 arithmetic, rounded once to the dtype.

#define TS_BCAST3_DIM(IT, c)                                                                        \
  if (rank > 7 - c) {                                                                               \
    const IT d = (IT)dims.s##c;                                                                     \
    const IT q = rem / d;                                                                           \
    const IT r = rem - q * d;                                                                       \
    j0 += r * (IT)s0.s##c;                                                                          \
    j1 += r * (IT)s1.s##c;                                                                          \
    j2 += r * (IT)s2.s##c;                                                                          \
    rem = q;                                                                                        \
  }
#define TS_BCAST3_INDEX(IT, i_in)                                                                   \
  {                                                                                                 \
    IT rem = (IT)(i_in), j0 = 0, j1 = 0, j2 = 0;                                                    \
    TS_BCAST3_DIM(IT, 7) TS_BCAST3_DIM(IT, 6) TS_BCAST3_DIM(IT, 5) TS_BCAST3_DIM(IT, 4)             \
    TS_BCAST3_DIM(IT, 3) TS_BCAST3_DIM(IT, 2) TS_BCAST3_DIM(IT, 1) TS_BCAST3_DIM(IT, 0)             \
    i0 = (ulong)j0;                                                                                 \
    i1 = (ulong)j1;                                                                                 \
    i2 = (ulong)j2;                                                                                 \
  }

#define TS_DEFINE_TERNARY(NAME, EXPR, D)                                                            \
  __kernel void NAME##_##D(__global const TS_T_##D* a, ulong a_off, __global const TS_T_##D* b,     \
                           ulong b_off, __global const TS_T_##D* c, ulong c_off,                    \
                           __global TS_T_##D* o, ulong o_off, int rank, long8 dims, long8 s0,       \
                           long8 s1, long8 s2, ulong base, ulong n) {                               \
    TS_INDEX_OR_RETURN(base, n);                                                                    \
    ulong i0, i1, i2;                                                                               \
    if (n <= 0xffffffffUL) {                                                                        \
      TS_BCAST3_INDEX(uint, i)                                                                      \
    } else {                                                                                        \
      TS_BCAST3_INDEX(ulong, i)                                                                     \
    }                                                                                               \
    const float u = TS_LOAD_##D(a, a_off + i0);                                                     \
    const float v = TS_LOAD_##D(b, b_off + i1);                                                     \
    const float w = TS_LOAD_##D(c, c_off + i2);                                                     \
    const float r = EXPR;                                                                           \
    TS_STORE_##D(o, o_off + i, r);                                                                  \
  }

// modulate(x = u, shift = v, scale = w); gated_residual(h = u, x = v, gate = w).
TS_DEFINE_TERNARY(modulate, u * (1.f + w) + v, f32)
TS_DEFINE_TERNARY(modulate, u * (1.f + w) + v, f16)
TS_DEFINE_TERNARY(modulate, u * (1.f + w) + v, bf16)
TS_DEFINE_TERNARY(gated_residual, u + w * v, f32)
TS_DEFINE_TERNARY(gated_residual, u + w * v, f16)
TS_DEFINE_TERNARY(gated_residual, u + w * v, bf16)
