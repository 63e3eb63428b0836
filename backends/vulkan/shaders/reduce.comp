// moments: (mean, std) of all n elements of x, in two dispatches.
//   OP 0 (partial): G workgroups; each invocation runs Welford's update over
//     the elements gid, gid + G * LS, ... of x - x[0] (the shift keeps a large
//     common offset out of the f32 arithmetic), then the workgroup merges its
//     invocations' states with Chan's formula into part[3 g .. 3 g + 2];
//   OP 1 (final): one workgroup merges the G partial states the same way and
//     writes mean = x[0] + mean(x - x[0]), std = sqrt(M2 / (n - correction)).
// A state is (count, mean, M2); counts are f32 (exact up to 2^24, beyond that
// a relative 6e-8 in the merge weights).
#version 450
#extension GL_EXT_shader_explicit_arithmetic_types_int64 : require
#include "common.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint LS = 256;  // power of two
layout(constant_id = 1) const uint DT = 0;
layout(constant_id = 2) const uint OP = 0;

layout(std430, binding = 0) readonly buffer X { uint x[]; };
layout(std430, binding = 1) buffer P { float part[]; };
layout(std430, binding = 2) buffer O { float o[]; };

layout(push_constant) uniform PC {
  uint64_t base;
  uint64_t count;  // invocations: G * LS (partial), LS (final)
  uint n, G;       // elements, partial states
  uint x_off, p_off, o_off;
  float denom;     // n - correction
} pc;

shared vec3 red[LS];

// Chan et al.: merging (na, ma, qa) and (nb, mb, qb) gives
//   n = na + nb, mean = ma + d nb / n, M2 = qa + qb + d^2 na nb / n, d = mb - ma.
vec3 chan(vec3 a, vec3 b) {
  if (b.x == 0.0) return a;
  if (a.x == 0.0) return b;
  float n = a.x + b.x, d = b.y - a.y, w = b.x / n;
  return vec3(n, a.y + d * w, a.z + b.z + d * d * a.x * w);
}

// Merges the workgroup's states; every invocation must call it.
vec3 reduce_chan(vec3 v) {
  const uint t = gl_LocalInvocationID.x;
  red[t] = v;
  barrier();
  for (uint s = LS / 2u; s > 0u; s >>= 1) {
    if (t < s) red[t] = chan(red[t], red[t + s]);
    barrier();
  }
  return red[0];
}

void main() {
  const uint t = gl_LocalInvocationID.x;
  const float shift = LOAD_ELEM(x, DT, pc.x_off);
  if (OP == 0u) {
    const uint g = uint(GLOBAL_ID_1D(pc.base) / LS);  // uniform over the workgroup
    float cnt = 0.0, mean = 0.0, m2 = 0.0;
    for (uint i = g * LS + t; i < pc.n; i += pc.G * LS) {
      float v = LOAD_ELEM(x, DT, pc.x_off + i) - shift;
      cnt += 1.0;
      float d = v - mean;
      mean += d / cnt;
      m2 += d * (v - mean);
    }
    vec3 r = reduce_chan(vec3(cnt, mean, m2));
    if (t == 0u) {
      part[pc.p_off + 3u * g] = r.x;
      part[pc.p_off + 3u * g + 1u] = r.y;
      part[pc.p_off + 3u * g + 2u] = r.z;
    }
  } else {
    vec3 s = vec3(0.0);
    for (uint g = t; g < pc.G; g += LS)
      s = chan(s, vec3(part[pc.p_off + 3u * g], part[pc.p_off + 3u * g + 1u], part[pc.p_off + 3u * g + 2u]));
    s = reduce_chan(s);
    if (t == 0u) {
      o[pc.o_off] = shift + s.y;
      o[pc.o_off + 1u] = sqrt(s.z / pc.denom);
    }
  }
}
