// layer_norm / rms_norm: one work-group per row (local size a power of two
// <= 256), f32 statistics, result rounded once to the dtype.
// group_norm: partial sums per (group, chunk), a per-group finalize, then a
// 1-D apply, so that a few large groups still spread over the whole device.
//
// Two-pass statistics around a pivot p = the row's (group's) first element:
// pass 1 sums (x - p) -> d = mean - p; pass 2 sums ((x - p) - d)^2. For data
// with a large common offset (1000..1001), x - p is exact and the centred
// values never go through an f32 rounding of the mean itself.

#define TS_ROW_WG 256

#define TS_DEFINE_LAYER_NORM(D)                                                                      \
  __kernel void layer_norm_##D(__global const TS_T_##D* x, ulong x_off, __global TS_T_##D* y,        \
                               ulong y_off, __global const float* w, ulong w_off,                    \
                               __global const float* b, ulong b_off, int affine, ulong C, float eps, \
                               ulong rows, ulong group_base) {                                       \
    __local float red[TS_ROW_WG];                                                                    \
    const ulong row = TS_GROUP(group_base);                                                          \
    const uint lid = get_local_id(0), L = get_local_size(0);                                         \
    const ulong xb = x_off + row * C, yb = y_off + row * C;                                          \
    const float p = TS_LOAD_##D(x, xb);                                                              \
    float s = 0.f;                                                                                   \
    for (ulong c = lid; c < C; c += L) s += TS_LOAD_##D(x, xb + c) - p;                              \
    const float d = ts_wg_sum(red, s) / (float)C;                                                    \
    float s2 = 0.f;                                                                                  \
    for (ulong c = lid; c < C; c += L) {                                                             \
      const float t = (TS_LOAD_##D(x, xb + c) - p) - d;                                              \
      s2 += t * t;                                                                                   \
    }                                                                                                \
    const float var = ts_wg_sum(red, s2) / (float)C;                                                 \
    const float inv = 1.f / sqrt(var + eps);                                                         \
    for (ulong c = lid; c < C; c += L) {                                                             \
      float v = ((TS_LOAD_##D(x, xb + c) - p) - d) * inv;                                            \
      if (affine) v = v * w[w_off + c] + b[b_off + c];                                               \
      TS_STORE_##D(y, yb + c, v);                                                                    \
    }                                                                                                \
  }

// mode rms: x / sqrt(mean(x^2) + eps); mode l2: x / max(||x||, eps) * sqrt(C).
// weight [wrows, C] is repeated over the leading rows (row % wrows).
#define TS_DEFINE_RMS_NORM(D)                                                                           \
  __kernel void rms_norm_##D(__global const TS_T_##D* x, ulong x_off, __global TS_T_##D* y,             \
                             ulong y_off, __global const float* w, ulong w_off, int has_w, ulong wrows, \
                             int l2, ulong C, float eps, ulong rows, ulong group_base) {                \
    __local float red[TS_ROW_WG];                                                                       \
    const ulong row = TS_GROUP(group_base);                                                             \
    const uint lid = get_local_id(0), L = get_local_size(0);                                            \
    const ulong xb = x_off + row * C, yb = y_off + row * C;                                             \
    float s = 0.f;                                                                                      \
    for (ulong c = lid; c < C; c += L) {                                                                \
      const float v = TS_LOAD_##D(x, xb + c);                                                           \
      s += v * v;                                                                                       \
    }                                                                                                   \
    const float ss = ts_wg_sum(red, s);                                                                 \
    const float f = l2 ? sqrt((float)C) / fmax(sqrt(ss), eps) : 1.f / sqrt(ss / (float)C + eps);        \
    const ulong wb = w_off + (has_w ? (row % wrows) * C : 0);                                           \
    for (ulong c = lid; c < C; c += L) {                                                                \
      float v = TS_LOAD_##D(x, xb + c) * f;                                                             \
      if (has_w) v *= w[wb + c];                                                                        \
      TS_STORE_##D(y, yb + c, v);                                                                       \
    }                                                                                                   \
  }

// group_norm pass `pass` (0: sum of x - p, 1: sum of ((x - p) - d)^2) over
// chunk `pc` of group `ng` (elements [pc * chunk, min(cnt, (pc + 1) * chunk))).
// Group ng holds the cnt = C/G * spatial contiguous elements from ng * cnt.
#define TS_DEFINE_GN_PARTIAL(D)                                                                     \
  __kernel void gn_partial_##D(__global const TS_T_##D* x, ulong x_off, ulong cnt, ulong chunk,     \
                               uint P, int pass, __global const float* stats, __global float* part, \
                               ulong ngroups, ulong group_base) {                                   \
    __local float red[TS_ROW_WG];                                                                   \
    const ulong gi = TS_GROUP(group_base);                                                          \
    const ulong ng = gi / P, pc = gi % P;                                                           \
    const uint lid = get_local_id(0), L = get_local_size(0);                                        \
    const ulong xb = x_off + ng * cnt;                                                              \
    const float p = TS_LOAD_##D(x, xb);                                                             \
    const float d = pass ? stats[2 * ng] : 0.f;                                                     \
    const ulong lo = pc * chunk, hi = min(cnt, lo + chunk);                                         \
    float s = 0.f;                                                                                  \
    for (ulong i = lo + lid; i < hi; i += L) {                                                      \
      const float t = (TS_LOAD_##D(x, xb + i) - p) - d;                                             \
      s += pass ? t * t : t;                                                                        \
    }                                                                                               \
    s = ts_wg_sum(red, s);                                                                          \
    if (lid == 0) part[gi] = s;                                                                     \
  }

#define TS_DEFINE_GN_APPLY(D)                                                                            \
  __kernel void gn_apply_##D(__global const TS_T_##D* x, ulong x_off, __global TS_T_##D* y, ulong y_off, \
                             __global const float* w, ulong w_off, __global const float* b, ulong b_off, \
                             int affine, __global const float* stats, ulong cnt, ulong S, ulong C,       \
                             ulong base, ulong n) {                                                      \
    TS_INDEX_OR_RETURN(base, n);                                                                         \
    const ulong ng = i / cnt;                                                                            \
    const float p = TS_LOAD_##D(x, x_off + ng * cnt);                                                    \
    float v = ((TS_LOAD_##D(x, x_off + i) - p) - stats[2 * ng]) * stats[2 * ng + 1];                     \
    if (affine) {                                                                                        \
      const ulong c = (i / S) % C;                                                                       \
      v = v * w[w_off + c] + b[b_off + c];                                                               \
    }                                                                                                    \
    TS_STORE_##D(y, y_off + i, v);                                                                       \
  }

// Per group: sum the P partials of a pass; pass 0 stores d = mean - p,
// pass 1 stores 1 / sqrt(var + eps).
__kernel void gn_finalize(__global const float* part, uint P, ulong cnt, float eps, int pass,
                          __global float* stats, ulong base, ulong n) {
  TS_INDEX_OR_RETURN(base, n);
  float s = 0.f;
  for (uint k = 0; k < P; ++k) s += part[i * P + k];
  if (pass == 0)
    stats[2 * i] = s / (float)cnt;
  else
    stats[2 * i + 1] = 1.f / sqrt(s / (float)cnt + eps);
}

TS_DEFINE_LAYER_NORM(f32)
TS_DEFINE_LAYER_NORM(f16)
TS_DEFINE_LAYER_NORM(bf16)
TS_DEFINE_RMS_NORM(f32)
TS_DEFINE_RMS_NORM(f16)
TS_DEFINE_RMS_NORM(bf16)
TS_DEFINE_GN_PARTIAL(f32)
TS_DEFINE_GN_PARTIAL(f16)
TS_DEFINE_GN_PARTIAL(bf16)
TS_DEFINE_GN_APPLY(f32)
TS_DEFINE_GN_APPLY(f16)
TS_DEFINE_GN_APPLY(bf16)
