// gelu (OP 0: erf form, OP 1: tanh form), silu (OP 2), sigmoid (OP 3) and
// softplus (OP 4), f32 arithmetic, rounded once to the dtype. Accurate
// exp/erfc from common.glsl and log1p below (builtins are low precision on
// some GPUs). 16-bit dtypes: one whole word per invocation.
#version 450
#extension GL_EXT_shader_explicit_arithmetic_types_int64 : require
#include "common.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint DT = 0;
layout(constant_id = 2) const uint OP = 0;

layout(std430, binding = 0) readonly buffer X { uint x[]; };
layout(std430, binding = 1) buffer O { uint o[]; };

layout(push_constant) uniform PC {
  uint64_t base;
  uint64_t count;  // invocations (elements for f32, output words otherwise)
  uint n;          // elements
  uint x_off, o_off;
} pc;

// log(1 + t) for t >= 0 (Cephes logf on u = 1 + t, about 1 ulp, plus the
// rounding error of u: log1p(t) = log(u) + (t - (u - 1)) / u).
float tx_log1p(float t) {
  precise float u = 1.0 + t;
  if (u == 1.0 || isinf(t) || isnan(t)) return t;
  precise float c = (t - (u - 1.0)) / u;
  // u = m * 2^e with m in [sqrt(1/2), sqrt(2))
  int e = int((floatBitsToUint(u) >> 23) & 0xffu) - 126;
  float m = uintBitsToFloat((floatBitsToUint(u) & 0x807fffffu) | 0x3f000000u);  // [0.5, 1)
  if (m < 0.707106781186547524) {
    e -= 1;
    m = m + m;
  }
  precise float f = m - 1.0;
  float z = f * f;
  float y = ((((((((7.0376836292e-2 * f - 1.1514610310e-1) * f + 1.1676998740e-1) * f - 1.2420140846e-1) * f +
                 1.4249322787e-1) * f - 1.6668057665e-1) * f + 2.0000714765e-1) * f - 2.4999993993e-1) * f +
             3.3333331174e-1) * f * z;
  float fe = float(e);
  y += -2.12194440e-4 * fe;
  y += -0.5 * z;
  precise float r = f + y;
  r += 0.693359375 * fe;
  return r + c;
}

float act(float v) {
  if (OP == 3u) {  // sigmoid: exp(-|x|) only, no overflow, relative accuracy for x << 0
    float e = tx_exp(-abs(v));
    return v >= 0.0 ? 1.0 / (1.0 + e) : e / (1.0 + e);
  }
  if (OP == 4u) return v > 20.0 ? v : tx_log1p(tx_exp(v));  // torch softplus, beta 1, threshold 20
  return tx_activate(v, OP + 1u);  // OP 0/1/2 -> tx_activate's codes 1/2/3
}

float compute(uint i) { return act(LOAD_ELEM(x, DT, pc.x_off + i)); }

void main() {
  uint64_t w = GLOBAL_ID_1D(pc.base);
  if (w >= pc.count) return;
  if (DT == DT_F32) {
    o[pc.o_off + uint(w)] = floatBitsToUint(compute(uint(w)));
    return;
  }
  uint word = (pc.o_off >> 1) + uint(w);
  int e0 = int(word * 2u - pc.o_off);  // element in the low half (-1 when the tensor starts mid-word)
  bool lo_in = e0 >= 0 && uint(e0) < pc.n;
  bool hi_in = uint(e0 + 1) < pc.n;
  uint old = (lo_in && hi_in) ? 0u : o[word];
  uint lo = lo_in ? from_f32(compute(uint(e0)), DT) : (old & 0xffffu);
  uint hi = hi_in ? from_f32(compute(uint(e0 + 1)), DT) : (old >> 16);
  o[word] = lo | (hi << 16);
}
