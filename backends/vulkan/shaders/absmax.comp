// Per-head largest magnitude of a bf16 [T, heads, D] tensor, as bf16 bits
// (|x| orders as the unsigned 15 low bits; Inf / NaN sort above every finite
// value): m[slot0 + h] = max over rows of max_d |x[r, h, d]|, by atomicMax on
// a zeroed buffer. The bf16 paths on f16 tensor cores scale each head (sdpa,
// attention_coopmat_nv.comp) or each row (linear: heads = rows, T = 1) by a
// power of two from it.
// One workgroup per (head, block of RB rows): its 256 invocations read the
// block's RB x D elements in row order (each row's D elements are contiguous,
// so loads coalesce; 8 per load when ALIGNED), then one shared max and one
// global atomicMax. The loop is bounded by ceil(RB x D / 256) elements.
#version 450
#extension GL_EXT_shader_explicit_arithmetic_types_int64 : require
#include "common.glsl"

layout(local_size_x = 256) in;
layout(constant_id = 0) const bool ALIGNED = false;  // D and x_off multiples of 8: uvec4 loads

layout(std430, binding = 0) readonly buffer X { uint x[]; };
layout(std430, binding = 0) readonly buffer X4 { uvec4 x4[]; };
layout(std430, binding = 1) buffer M { uint m[]; };

layout(push_constant) uniform PC {
  uint64_t base;
  uint64_t count;  // invocations: 256 x heads x row blocks
  uint64_t x_off;  // elements
  uint rows, heads, D, slot0, rb;
} pc;

shared uint red;

uint mag2(uint w) { return max(w & 0x7fffu, (w >> 16) & 0x7fffu); }

void main() {
  const uint tid = gl_LocalInvocationID.x;
  const uint64_t wg = GLOBAL_ID_1D(pc.base) / 256u;  // the same in the whole workgroup
  if (wg * 256u >= pc.count) return;
  const uint h = uint(wg % pc.heads), r0 = uint(wg / pc.heads) * pc.rb, r1 = min(r0 + pc.rb, pc.rows);
  if (tid == 0u) red = 0u;
  barrier();
  uint mx = 0u;
  if (ALIGNED) {
    const uint dv = pc.D / 8u, n = (r1 - r0) * dv;
    for (uint i = tid; i < n; i += 256u) {
      const uint r = r0 + i / dv;
      const uint64_t e = pc.x_off + (uint64_t(r) * pc.heads + h) * pc.D + (i % dv) * 8u;
      const uvec4 v = x4[uint(e >> 3)];
      mx = max(mx, max(max(mag2(v.x), mag2(v.y)), max(mag2(v.z), mag2(v.w))));
    }
  } else {
    const uint n = (r1 - r0) * pc.D;
    for (uint i = tid; i < n; i += 256u) {
      const uint r = r0 + i / pc.D;
      const uint64_t e = pc.x_off + (uint64_t(r) * pc.heads + h) * pc.D + i % pc.D;
      mx = max(mx, (x[uint(e >> 1)] >> (uint(e & 1u) * 16u)) & 0x7fffu);
    }
  }
  atomicMax(red, mx);
  barrier();
  if (tid == 0u && red != 0u) atomicMax(m[pc.slot0 + h], red);
}
