// Per-head largest magnitude of a bf16 [T, heads, D] tensor, as bf16 bits
// (|x| orders as the unsigned 15 low bits; Inf / NaN sort above every finite
// value): m[slot0 + h] = max over rows of max_d |x[r, h, d]|, by atomicMax on
// a zeroed buffer. The bf16 sdpa on tensor cores scales each head by a power
// of two from it (attention_coopmat_nv.comp, IN_BF16).
// One invocation per (head, block of RB rows): a bounded loop of RB x D.
#version 450
#extension GL_EXT_shader_explicit_arithmetic_types_int64 : require
#include "common.glsl"

#define RB 32u

layout(local_size_x_id = 0) in;
layout(std430, binding = 0) readonly buffer X { uint x[]; };
layout(std430, binding = 1) buffer M { uint m[]; };

layout(push_constant) uniform PC {
  uint64_t base;
  uint64_t count;  // heads x row blocks
  uint64_t x_off;  // elements
  uint rows, heads, D, slot0;
} pc;

void main() {
  const uint64_t w = GLOBAL_ID_1D(pc.base);
  if (w >= pc.count) return;
  const uint h = uint(w % pc.heads), r0 = uint(w / pc.heads) * RB, r1 = min(r0 + RB, pc.rows);
  uint mx = 0u;
  for (uint r = r0; r < r1; ++r) {
    const uint64_t e0 = pc.x_off + (uint64_t(r) * pc.heads + h) * pc.D;
    for (uint d = 0u; d < pc.D; ++d) {
      const uint64_t e = e0 + d;
      mx = max(mx, (x[uint(e >> 1)] >> (uint(e & 1u) * 16u)) & 0x7fffu);
    }
  }
  if (mx != 0u) atomicMax(m[pc.slot0 + h], mx);
}
