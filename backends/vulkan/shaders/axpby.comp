// axpby: out = alpha * a + beta * b, same shapes, computed in f32 and rounded
// to a's dtype (b may have another float dtype). 16-bit outputs: one whole
// word per invocation.
#version 450
#extension GL_EXT_shader_explicit_arithmetic_types_int64 : require
#include "common.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint A_DT = 0;  // dtype of a and out
layout(constant_id = 2) const uint B_DT = 0;

layout(std430, binding = 0) readonly buffer A { uint a[]; };
layout(std430, binding = 1) readonly buffer B { uint b[]; };
layout(std430, binding = 2) buffer O { uint o[]; };

layout(push_constant) uniform PC {
  uint64_t base;
  uint64_t count;  // invocations (elements for f32 out, words otherwise)
  uint64_t n;      // elements
  uint64_t a_off, b_off, o_off;
  float alpha, beta;
} pc;

float compute(uint64_t i) {
  float x = LOAD_ELEM(a, A_DT, uint(pc.a_off + i));
  float y = LOAD_ELEM(b, B_DT, uint(pc.b_off + i));
  return pc.alpha * x + pc.beta * y;
}

void main() {
  uint64_t w = GLOBAL_ID_1D(pc.base);
  if (w >= pc.count) return;
  if (A_DT == DT_F32) {
    o[uint(pc.o_off + w)] = floatBitsToUint(compute(w));
    return;
  }
  uint64_t word = (pc.o_off >> 1) + w;
  int64_t e0 = int64_t(word * 2) - int64_t(pc.o_off);  // element in the low half
  bool lo_in = e0 >= 0 && e0 < int64_t(pc.n);
  bool hi_in = e0 + 1 >= 0 && e0 + 1 < int64_t(pc.n);
  uint old = (lo_in && hi_in) ? 0u : o[uint(word)];
  uint lo = lo_in ? from_f32(compute(uint64_t(e0)), A_DT) : (old & 0xffffu);
  uint hi = hi_in ? from_f32(compute(uint64_t(e0 + 1)), A_DT) : (old >> 16);
  o[uint(word)] = lo | (hi << 16);
}
