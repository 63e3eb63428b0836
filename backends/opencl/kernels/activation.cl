// gelu (erf / tanh forms), silu, sigmoid, softplus: 1-D pointwise. softmax
// over the last dim: one work-group per row (max, sum of exp(x - max), write).
// f32 arithmetic with the full-precision builtins (erf, tanh, exp, log1p),
// rounded once to the dtype.

#define TS_DEFINE_POINTWISE(NAME, EXPR, D)                                                          \
  __kernel void NAME##_##D(__global const TS_T_##D* xp, ulong x_off, __global TS_T_##D* yp,         \
                           ulong y_off, ulong base, ulong n) {                                      \
    TS_INDEX_OR_RETURN(base, n);                                                                    \
    const float x = TS_LOAD_##D(xp, x_off + i);                                                     \
    const float r = EXPR;                                                                           \
    TS_STORE_##D(yp, y_off + i, r);                                                                 \
  }

// 1/sqrt(2) and sqrt(2/pi), rounded to f32.
#define TS_SQRT1_2 0.70710678118654752f
#define TS_SQRT_2_PI 0.79788456080286536f

#define TS_GELU_ERF(x) (0.5f * (x) * (1.f + erf((x) * TS_SQRT1_2)))
#define TS_GELU_TANH(x) (0.5f * (x) * (1.f + tanh(TS_SQRT_2_PI * ((x) + 0.044715f * (x) * (x) * (x)))))
#define TS_SILU(x) ((x) / (1.f + exp(-(x))))

// exp(-|x|) only: no overflow, relative accuracy for x << 0.
inline float ts_sigmoid(float x) {
  const float e = exp(-fabs(x));
  return x >= 0.f ? 1.f / (1.f + e) : e / (1.f + e);
}
// torch softplus (beta 1, threshold 20); log1p stays accurate where exp(x) << 1.
#define TS_SOFTPLUS(x) ((x) > 20.f ? (x) : log1p(exp(x)))

TS_DEFINE_POINTWISE(gelu_erf, TS_GELU_ERF(x), f32)
TS_DEFINE_POINTWISE(gelu_erf, TS_GELU_ERF(x), f16)
TS_DEFINE_POINTWISE(gelu_erf, TS_GELU_ERF(x), bf16)
TS_DEFINE_POINTWISE(gelu_tanh, TS_GELU_TANH(x), f32)
TS_DEFINE_POINTWISE(gelu_tanh, TS_GELU_TANH(x), f16)
TS_DEFINE_POINTWISE(gelu_tanh, TS_GELU_TANH(x), bf16)
TS_DEFINE_POINTWISE(silu, TS_SILU(x), f32)
TS_DEFINE_POINTWISE(silu, TS_SILU(x), f16)
TS_DEFINE_POINTWISE(silu, TS_SILU(x), bf16)
TS_DEFINE_POINTWISE(sigmoid, ts_sigmoid(x), f32)
TS_DEFINE_POINTWISE(sigmoid, ts_sigmoid(x), f16)
TS_DEFINE_POINTWISE(sigmoid, ts_sigmoid(x), bf16)
TS_DEFINE_POINTWISE(softplus, TS_SOFTPLUS(x), f32)
TS_DEFINE_POINTWISE(softplus, TS_SOFTPLUS(x), f16)
TS_DEFINE_POINTWISE(softplus, TS_SOFTPLUS(x), bf16)

#define TS_SOFTMAX_WG 256

#define TS_DEFINE_SOFTMAX(D)                                                                        \
  __kernel void softmax_##D(__global const TS_T_##D* x, ulong x_off, __global TS_T_##D* y,          \
                            ulong y_off, ulong C, ulong rows, ulong group_base) {                   \
    __local float red[TS_SOFTMAX_WG];                                                               \
    const ulong row = TS_GROUP(group_base);                                                         \
    const uint lid = get_local_id(0), L = get_local_size(0);                                        \
    const ulong xb = x_off + row * C, yb = y_off + row * C;                                         \
    float m = -INFINITY;                                                                            \
    for (ulong c = lid; c < C; c += L) m = fmax(m, TS_LOAD_##D(x, xb + c));                         \
    m = ts_wg_max(red, m);                                                                          \
    float s = 0.f;                                                                                  \
    for (ulong c = lid; c < C; c += L) s += exp(TS_LOAD_##D(x, xb + c) - m);                        \
    s = ts_wg_sum(red, s);                                                                          \
    for (ulong c = lid; c < C; c += L) {                                                            \
      const float e = exp(TS_LOAD_##D(x, xb + c) - m);                                              \
      TS_STORE_##D(y, yb + c, e / s);                                                               \
    }                                                                                               \
  }

TS_DEFINE_SOFTMAX(f32)
TS_DEFINE_SOFTMAX(f16)
TS_DEFINE_SOFTMAX(bf16)
