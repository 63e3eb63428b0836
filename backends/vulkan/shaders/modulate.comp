// modulate (OP 0): x * (1 + scale) + shift, inputs (x, shift, scale);
// gated_residual (OP 1): h + gate * x, inputs (h, x, gate).
// Numpy broadcasting over the collapsed 3-input plan of core/broadcast.hpp;
// f32 arithmetic, one rounding to the dtype. 16-bit outputs: one whole word
// per invocation. Element indices are 32-bit: every tensor fits one binding
// (< 4 GiB), so its element count is below 2^32.
#version 450
#extension GL_EXT_shader_explicit_arithmetic_types_int64 : require
#extension GL_EXT_control_flow_attributes : enable
#include "common.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint DT = 0;
layout(constant_id = 2) const uint OP = 0;
layout(constant_id = 3) const uint RANK = 1;  // collapsed rank (1..8)

layout(std430, binding = 0) readonly buffer A { uint a[]; };
layout(std430, binding = 1) readonly buffer B { uint b[]; };
layout(std430, binding = 2) readonly buffer C { uint c[]; };
layout(std430, binding = 3) buffer O { uint o[]; };
// dims[RANK], then the strides of inputs 0, 1, 2 [RANK each], in elements
layout(std430, binding = 4) readonly buffer Meta { int64_t meta[]; };

layout(push_constant) uniform PC {
  uint64_t base;
  uint64_t count;  // invocations (elements for f32, output words otherwise)
  uint n;
  uint a_off, b_off, c_off, o_off;
} pc;

float compute(uint i) {
  uint r = i, ia = 0u, ib = 0u, ic = 0u;
  [[unroll]] for (int d = int(RANK) - 1; d >= 0; --d) {
    uint dim = uint(meta[d]);
    uint k = r % dim;
    r /= dim;
    ia += k * uint(meta[RANK + d]);
    ib += k * uint(meta[2 * RANK + d]);
    ic += k * uint(meta[3 * RANK + d]);
  }
  float va = LOAD_ELEM(a, DT, pc.a_off + ia);
  float vb = LOAD_ELEM(b, DT, pc.b_off + ib);
  float vc = LOAD_ELEM(c, DT, pc.c_off + ic);
  return OP == 0 ? va * (1.0 + vc) + vb : va + vc * vb;
}

void main() {
  uint64_t w = GLOBAL_ID_1D(pc.base);
  if (w >= pc.count) return;
  if (DT == DT_F32) {
    o[pc.o_off + uint(w)] = floatBitsToUint(compute(uint(w)));
    return;
  }
  uint word = (pc.o_off >> 1) + uint(w);
  int e0 = int(word * 2u - pc.o_off);
  bool lo_in = e0 >= 0 && uint(e0) < pc.n;
  bool hi_in = uint(e0 + 1) < pc.n;
  uint old = (lo_in && hi_in) ? 0u : o[word];
  uint lo = lo_in ? from_f32(compute(uint(e0)), DT) : (old & 0xffffu);
  uint hi = hi_in ? from_f32(compute(uint(e0 + 1)), DT) : (old >> 16);
  o[word] = lo | (hi << 16);
}
