// moments: (mean, std) of all n elements of x, in two launches.
//   moments_partial: G work-groups; each work-item runs Welford's update over
//     the elements gid, gid + G * L, ... of x - x[0] (the shift keeps a large
//     common offset out of the f32 arithmetic), then the group merges its
//     work-items' states with Chan's formula into part[3 g .. 3 g + 2];
//   moments_final: one work-group merges the G partial states the same way and
//     writes mean = x[0] + mean(x - x[0]), std = sqrt(M2 / (n - correction)).
// A state is (count, mean, M2); counts are f32 (exact up to 2^24, beyond that
// a relative 6e-8 in the merge weights).

#define TS_MOMENTS_WG 256

// Chan et al.: merging (na, ma, qa) and (nb, mb, qb) gives
//   n = na + nb, mean = ma + d nb / n, M2 = qa + qb + d^2 na nb / n, d = mb - ma.
inline float3 ts_chan(float3 a, float3 b) {
  if (b.x == 0.f) return a;
  if (a.x == 0.f) return b;
  const float n = a.x + b.x, d = b.y - a.y, w = b.x / n;
  return (float3)(n, a.y + d * w, a.z + b.z + d * d * a.x * w);
}

// Merges the states of the work-group's items (local size: a power of two,
// at most TS_MOMENTS_WG); every item must call it; item 0 gets the result.
inline float3 ts_wg_chan(__local float* rn, __local float* rm, __local float* rq, float3 v) {
  const uint lid = get_local_id(0);
  rn[lid] = v.x;
  rm[lid] = v.y;
  rq[lid] = v.z;
  barrier(CLK_LOCAL_MEM_FENCE);
  for (uint s = get_local_size(0) / 2; s > 0; s >>= 1) {
    if (lid < s) {
      const float3 r = ts_chan((float3)(rn[lid], rm[lid], rq[lid]), (float3)(rn[lid + s], rm[lid + s], rq[lid + s]));
      rn[lid] = r.x;
      rm[lid] = r.y;
      rq[lid] = r.z;
    }
    barrier(CLK_LOCAL_MEM_FENCE);
  }
  return (float3)(rn[0], rm[0], rq[0]);
}

#define TS_DEFINE_MOMENTS(D)                                                                        \
  __kernel void moments_partial_##D(__global const TS_T_##D* x, ulong x_off, ulong n, ulong G,      \
                                    __global float* part, ulong group_base) {                       \
    __local float rn[TS_MOMENTS_WG], rm[TS_MOMENTS_WG], rq[TS_MOMENTS_WG];                          \
    const ulong g = TS_GROUP(group_base);                                                           \
    const uint lid = get_local_id(0), L = get_local_size(0);                                        \
    const float shift = TS_LOAD_##D(x, x_off);                                                      \
    float cnt = 0.f, mean = 0.f, m2 = 0.f;                                                          \
    for (ulong i = g * L + lid; i < n; i += G * L) {                                                \
      const float v = TS_LOAD_##D(x, x_off + i) - shift;                                            \
      cnt += 1.f;                                                                                   \
      const float d = v - mean;                                                                     \
      mean += d / cnt;                                                                              \
      m2 += d * (v - mean);                                                                         \
    }                                                                                               \
    const float3 r = ts_wg_chan(rn, rm, rq, (float3)(cnt, mean, m2));                               \
    if (lid == 0) {                                                                                 \
      part[3 * g] = r.x;                                                                            \
      part[3 * g + 1] = r.y;                                                                        \
      part[3 * g + 2] = r.z;                                                                        \
    }                                                                                               \
  }                                                                                                 \
                                                                                                    \
  __kernel void moments_final_##D(__global const TS_T_##D* x, ulong x_off,                          \
                                  __global const float* part, ulong G, float denom,                 \
                                  __global float* o, ulong o_off, ulong group_base) {               \
    __local float rn[TS_MOMENTS_WG], rm[TS_MOMENTS_WG], rq[TS_MOMENTS_WG];                          \
    const uint lid = get_local_id(0), L = get_local_size(0);                                        \
    float3 s = (float3)(0.f, 0.f, 0.f);                                                             \
    for (ulong g = lid; g < G; g += L)                                                              \
      s = ts_chan(s, (float3)(part[3 * g], part[3 * g + 1], part[3 * g + 2]));                      \
    s = ts_wg_chan(rn, rm, rq, s);                                                                  \
    if (lid == 0) {                                                                                 \
      o[o_off] = TS_LOAD_##D(x, x_off) + s.y;                                                       \
      o[o_off + 1] = sqrt(s.z / denom);                                                             \
    }                                                                                               \
  }

TS_DEFINE_MOMENTS(f32)
TS_DEFINE_MOMENTS(f16)
TS_DEFINE_MOMENTS(bf16)
