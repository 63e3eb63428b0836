// softmax over the last dim: one workgroup per row of C elements; passes:
// max, sum of exp(x - max), write exp(x - max) / sum. f32 arithmetic (accurate
// exp from common.glsl), rounded once to the dtype. 16-bit rows: whole words
// inside the row, the row's first/last word atomically when it is shared with
// a neighbouring row.
#version 450
#extension GL_EXT_shader_explicit_arithmetic_types_int64 : require
#extension GL_EXT_control_flow_attributes : enable
#include "common.glsl"

// Element loops step 4 * LS with an unrolled body of 4 (llvmpipe ends a shader
// after 65,535 loop iterations in all: segments up to ~20M elements).
#define SEG_BEGIN(v, start, end, step)                        \
  for (uint v##0_ = (start); v##0_ < (end); v##0_ += 4u * (step)) \
    [[unroll]] for (uint v##u_ = 0u; v##u_ < 4u; ++v##u_) {       \
      const uint v = v##0_ + v##u_ * (step);                       \
      if (v < (end)) {
#define SEG_END \
  }             \
  }

layout(local_size_x_id = 0) in;
layout(constant_id = 0) const uint LS = 256;  // power of two
layout(constant_id = 1) const uint DT = 0;

layout(std430, binding = 0) readonly buffer X { uint x[]; };
layout(std430, binding = 1) buffer O { uint o[]; };

layout(push_constant) uniform PC {
  uint64_t base;
  uint64_t count;  // rows * LS
  uint rows, C;
  uint x_off, o_off;
} pc;

shared float red[LS];

float reduce_max(float v) {
  const uint t = gl_LocalInvocationID.x;
  red[t] = v;
  barrier();
  for (uint s = LS / 2u; s > 0u; s >>= 1) {
    if (t < s) red[t] = max(red[t], red[t + s]);
    barrier();
  }
  float r = red[0];
  barrier();
  return r;
}

float reduce_sum(float v) {
  const uint t = gl_LocalInvocationID.x;
  red[t] = v;
  barrier();
  for (uint s = LS / 2u; s > 0u; s >>= 1) {
    if (t < s) red[t] += red[t + s];
    barrier();
  }
  float r = red[0];
  barrier();
  return r;
}

uint xrow;
float row_max, row_sum;

float value(uint c) { return tx_exp(LOAD_ELEM(x, DT, xrow + c) - row_max) / row_sum; }

void main() {
  const uint row = uint(GLOBAL_ID_1D(pc.base) / LS);  // uniform over the workgroup
  if (row >= pc.rows) return;
  const uint t = gl_LocalInvocationID.x, C = pc.C;
  xrow = pc.x_off + row * C;
  float m = -TX_INF;
  SEG_BEGIN(c, t, C, LS) m = max(m, LOAD_ELEM(x, DT, xrow + c)); SEG_END
  row_max = reduce_max(m);
  float s = 0.0;
  SEG_BEGIN(c, t, C, LS) s += tx_exp(LOAD_ELEM(x, DT, xrow + c) - row_max); SEG_END
  row_sum = reduce_sum(s);
  const uint first = pc.o_off + row * C, last = first + C - 1u;
  if (DT == DT_F32) {
    SEG_BEGIN(c, t, C, LS) o[first + c] = floatBitsToUint(value(c)); SEG_END
  } else {
    const uint w0 = first >> 1, w1 = last >> 1;
    SEG_BEGIN(w, w0 + t, w1 + 1u, LS) STORE_SEGMENT_WORD16(o, DT, w, first, last, value) SEG_END
  }
}
