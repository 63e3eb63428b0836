// gelu (OP 0: erf form, OP 1: tanh form) and silu (OP 2), f32 arithmetic,
// rounded once to the dtype. Accurate exp/erfc from common.glsl (builtins are
// low precision on some GPUs). 16-bit dtypes: one whole word per invocation.
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

// OP 0/1/2 -> tx_activate's codes 1/2/3.
float act(float v) { return tx_activate(v, OP + 1u); }

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
