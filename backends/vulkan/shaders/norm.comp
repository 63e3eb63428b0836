// layer_norm (OP 0), rms_norm mode rms (OP 1) / l2 (OP 2), group_norm (OP 3).
// One workgroup per segment of L contiguous elements (a row of C, or the
// C/G channels x spatial of one (n, group)). f32 statistics:
//   layer/group: pass 1 mean m1; pass 2 sums of d = x - m1 and d^2, so that
//     mean = m1 + sum(d)/L and var = sum(d^2)/L - (sum(d)/L)^2 (a corrected
//     two-pass algorithm: no cancellation with a large offset mean);
//   rms/l2: sum of squares.
// The result is rounded once to x's dtype; 16-bit segments write whole words
// inside and their shared first/last word atomically.
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
layout(constant_id = 2) const uint OP = 0;
layout(constant_id = 3) const bool HAS_W = false;  // weight (and, for OP 0/3, bias)

layout(std430, binding = 0) readonly buffer X { uint x[]; };
layout(std430, binding = 1) buffer O { uint o[]; };
layout(std430, binding = 2) readonly buffer W { float w[]; };
layout(std430, binding = 3) readonly buffer B { float b[]; };

layout(push_constant) uniform PC {
  uint64_t base;
  uint64_t count;  // segments * LS
  uint segs, L;    // segments, elements per segment
  uint x_off, o_off, w_off, b_off;
  uint wrows;      // rms: rows of the weight ([wrows, C])
  uint S, G, cg;   // group_norm: spatial size, groups, channels per group
  float eps;
} pc;

shared vec2 red[LS];

vec2 reduce_sum(vec2 v) {
  const uint t = gl_LocalInvocationID.x;
  red[t] = v;
  barrier();
  for (uint s = LS / 2u; s > 0u; s >>= 1) {
    if (t < s) red[t] += red[t + s];
    barrier();
  }
  vec2 r = red[0];
  barrier();
  return r;
}

uint seg, xseg;
float m1, corr, f;  // layer/group: (x - m1 - corr) * f; rms/l2: x * f

float value(uint e) {
  float v = LOAD_ELEM(x, DT, xseg + e);
  if (OP == 0 || OP == 3) {
    float y = ((v - m1) - corr) * f;
    if (HAS_W) {
      uint c = OP == 0 ? e : (seg % pc.G) * pc.cg + e / pc.S;
      y = y * w[pc.w_off + c] + b[pc.b_off + c];
    }
    return y;
  }
  float y = v * f;
  if (HAS_W) y *= w[pc.w_off + (seg % pc.wrows) * pc.L + e];
  return y;
}

void main() {
  seg = uint(GLOBAL_ID_1D(pc.base) / LS);  // uniform over the workgroup
  if (seg >= pc.segs) return;
  const uint t = gl_LocalInvocationID.x, L = pc.L;
  xseg = pc.x_off + seg * L;
  if (OP == 0 || OP == 3) {
    float s = 0.0;
    SEG_BEGIN(e, t, L, LS) s += LOAD_ELEM(x, DT, xseg + e); SEG_END
    m1 = reduce_sum(vec2(s, 0.0)).x / float(L);
    vec2 d = vec2(0.0);
    SEG_BEGIN(e, t, L, LS)
      float v = LOAD_ELEM(x, DT, xseg + e) - m1;
      d += vec2(v, v * v);
    SEG_END
    d = reduce_sum(d);
    corr = d.x / float(L);
    float var = max(d.y / float(L) - corr * corr, 0.0);
    f = 1.0 / sqrt(var + pc.eps);
  } else {
    float s = 0.0;
    SEG_BEGIN(e, t, L, LS)
      float v = LOAD_ELEM(x, DT, xseg + e);
      s += v * v;
    SEG_END
    float ss = reduce_sum(vec2(s, 0.0)).x;
    f = OP == 1 ? 1.0 / sqrt(ss / float(L) + pc.eps) : sqrt(float(L)) / max(sqrt(ss), pc.eps);
  }
  const uint first = pc.o_off + seg * L, last = first + L - 1u;
  if (DT == DT_F32) {
    SEG_BEGIN(e, t, L, LS) o[first + e] = floatBitsToUint(value(e)); SEG_END
  } else {
    const uint w0 = first >> 1, w1 = last >> 1;
    SEG_BEGIN(w, w0 + t, w1 + 1u, LS) STORE_SEGMENT_WORD16(o, DT, w, first, last, value) SEG_END
  }
}
