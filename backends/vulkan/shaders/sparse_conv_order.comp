// sparse_conv_order, step 1: per row i the neighbour-mask key (bit v % 32 set
// when nbr[i, v] is in [0, N); ops/sparse_conv.hpp) and the row index, the
// (key, value) pairs of the stable 4-bit LSD radix sort that follows
// (bvh_hist / bvh_scan / bvh_scatter). One invocation per row, K reads.
#version 450
#extension GL_EXT_shader_explicit_arithmetic_types_int64 : require
#include "common.glsl"

layout(local_size_x = 256) in;
layout(std430, binding = 0) readonly buffer Nb { int nbr[]; };
layout(std430, binding = 1) writeonly buffer Keys { uint keys[]; };
layout(std430, binding = 2) writeonly buffer Vals { uint vals[]; };
layout(push_constant) uniform PC {
  uint64_t base;
  uint N, K, n_off;
} pc;

void main() {
  const uint64_t gid = GLOBAL_ID_1D(pc.base);
  if (gid >= uint64_t(pc.N)) return;
  const uint i = uint(gid);
  uint key = 0u;
  for (uint v = 0u; v < pc.K; ++v) {
    const int j = nbr[pc.n_off + i * pc.K + v];
    if (j >= 0 && uint(j) < pc.N) key |= 1u << (v & 31u);
  }
  keys[i] = key;
  vals[i] = i;
}
