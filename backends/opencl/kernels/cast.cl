// cast between f32 / f16 / bf16 through f32: widening is exact, so the only
// rounding is the store (nearest even; f32 -> f16 overflow gives +-inf; NaN
// stays NaN). Same-dtype casts are buffer copies on the host side.

#define TS_DEFINE_CAST(S, D)                                                                          \
  __kernel void cast_##S##_##D(__global const TS_T_##S* x, ulong x_off, __global TS_T_##D* y,         \
                               ulong y_off, ulong base, ulong n) {                                    \
    TS_INDEX_OR_RETURN(base, n);                                                                      \
    const float v = TS_LOAD_##S(x, x_off + i);                                                        \
    TS_STORE_##D(y, y_off + i, v);                                                                    \
  }

TS_DEFINE_CAST(f32, f16)
TS_DEFINE_CAST(f32, bf16)
TS_DEFINE_CAST(f16, f32)
TS_DEFINE_CAST(f16, bf16)
TS_DEFINE_CAST(bf16, f32)
TS_DEFINE_CAST(bf16, f16)
