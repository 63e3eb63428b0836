// bf16 linear on f16 GEMM kernels (linear.cpp, "scaled f16" path): every row
// of x and of w is scaled by a power of two into f16's range, the f16 GEMM
// (tensor cores where the device has them) accumulates in f32, and the scales
// come back out in the epilogue:
//   y[m, n] = act(2^(ex[m] + ew[n]) · Σ_k x'[m, k] w'[n, k] + bias[n]),
//   x'[m, k] = x[m, k] · 2^-ex[m],  w'[n, k] = w[n, k] · 2^-ew[n].
// e = floor(log2 M) - 14 for a row's largest magnitude M (absmax.comp), so the
// row's largest value lands in [2^14, 2^15). bf16's 8-bit significand fits
// f16's 11 bits: every element within 2^29 of its row's largest magnitude is
// carried exactly (smaller ones become f16 subnormals, below 2^-39 zero), for
// rows whose largest magnitude is at least 2^-112.
//   MODE 0: x (bf16) -> x' (f16), one output word (2 elements) per invocation, or
//           8 elements (16 bytes) when ALIGNED8 (cols and src_off multiples of 8);
//           with row_mod != 0 the scale of row r is slot r % row_mod (sdpa's k / v:
//           rows of D elements, one scale per head)
//   MODE 1: y32 (f32 GEMM result) -> y (any dtype), one output word per invocation
//           (used where the f16 GEMM cannot apply the scales in its own epilogue:
//           the portable GEMM; gemm_coopmat_nv.comp does, SCALED)
#version 450
#extension GL_EXT_shader_explicit_arithmetic_types_int64 : require
#include "common.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint YT = 0;        // MODE 1: y's dtype
layout(constant_id = 2) const uint BT = 0;        // MODE 1: bias dtype
layout(constant_id = 3) const bool HAS_BIAS = false;
layout(constant_id = 4) const uint ACT = 0;       // tx_activate code
layout(constant_id = 5) const bool ALIGNED8 = false;  // MODE 0: 16-byte loads and stores

layout(std430, binding = 0) readonly buffer S { uint src[]; };
layout(std430, binding = 0) readonly buffer S4 { uvec4 src4[]; };
layout(std430, binding = 1) readonly buffer AR { uint amax_row[]; };  // MODE 0: per row; MODE 1: per row of x
layout(std430, binding = 2) readonly buffer AC { uint amax_col[]; };  // MODE 1: per row of w (column of y)
layout(std430, binding = 3) readonly buffer Bias { uint bias[]; };
layout(std430, binding = 4) buffer D { uint dst[]; };
layout(std430, binding = 4) buffer D4 { uvec4 dst4[]; };

layout(push_constant) uniform PC {
  uint64_t base;
  uint64_t count;    // invocations (output words; f32 y: elements)
  uint64_t n;        // elements
  uint64_t src_off;  // elements
  uint64_t dst_off;  // elements (MODE 0: 0)
  uint cols;         // elements per row: K (MODE 0), N (MODE 1)
  uint ar_off, ac_off, b_off;
  uint row_mod;      // MODE 0: 0, or the number of per-head scales rows cycle through
} pc;

#if MODE == 0
float row_mul(uint64_t e) {
  const uint64_t r = e / pc.cols;
  return exp2(float(-bf16_scale_exp(amax_row[pc.ar_off + uint(pc.row_mod != 0u ? r % pc.row_mod : r)])));
}
#endif

float value(uint64_t e) {
  const uint64_t s = pc.src_off + e;
#if MODE == 0
  const float v = bf16_bits_to_f32((src[uint(s >> 1)] >> (uint(s & 1u) * 16u)) & 0xffffu);
  return v * row_mul(e);
#else
  const uint m = uint(e / pc.cols), c = uint(e % pc.cols);
  const int sc = bf16_scale_exp(amax_row[pc.ar_off + m]) + bf16_scale_exp(amax_col[pc.ac_off + c]);
  float v = times_pow2(uintBitsToFloat(src[uint(s)]), sc);
  if (HAS_BIAS) v += LOAD_ELEM(bias, BT, pc.b_off + c);
  return tx_activate(v, ACT);
#endif
}

void main() {
  const uint64_t w = GLOBAL_ID_1D(pc.base);
  if (w >= pc.count) return;
#if MODE == 0
  if (ALIGNED8) {  // elements 8w .. 8w + 7: one row (cols % 8 == 0), one scale
    dst4[uint(w)] = bf16x8_to_f16(src4[uint((pc.src_off >> 3) + w)], row_mul(8u * w));
    return;
  }
  // x' starts at element 0 of a fresh f16 tensor: word w holds elements 2w, 2w + 1.
  const uint64_t e0 = 2u * w;
  const float lo = value(e0), hi = e0 + 1u < pc.n ? value(e0 + 1u) : 0.0;
  dst[uint(w)] = packHalf2x16(vec2(lo, hi));
#else
  if (YT == DT_F32) {
    dst[uint(pc.dst_off + w)] = floatBitsToUint(value(w));
    return;
  }
  const uint64_t word = (pc.dst_off >> 1) + w;
  const int64_t e0 = int64_t(word * 2u) - int64_t(pc.dst_off);
  const bool lo_in = e0 >= 0 && e0 < int64_t(pc.n), hi_in = e0 + 1 >= 0 && e0 + 1 < int64_t(pc.n);
  const uint old = (lo_in && hi_in) ? 0u : dst[uint(word)];
  const uint lo = lo_in ? from_f32(value(uint64_t(e0)), YT) : (old & 0xffffu);
  const uint hi = hi_in ? from_f32(value(uint64_t(e0 + 1)), YT) : (old >> 16);
  dst[uint(word)] = lo | (hi << 16);
#endif
}
