// Rasterizer finish, one invocation per pixel: barycentrics (u, v) of the
// winning triangle (same f32 formulas as the resolve), zeros and depth 0
// for background.
#version 450
#extension GL_EXT_shader_explicit_arithmetic_types_int64 : require
#include "common.glsl"

layout(local_size_x_id = 0) in;
layout(std430, binding = 0) readonly buffer Setup { float setup[]; };
layout(std430, binding = 1) readonly buffer BestId { int best_id[]; };
layout(std430, binding = 2) buffer BestD { float best_d[]; };
layout(std430, binding = 3) writeonly buffer Bary { float bary[]; };

layout(push_constant) uniform PC {
  uint64_t base;
  uint64_t count;  // H * W
  int H, W;
  uint id_off, d_off, b_off;
} pc;

void main() {
  uint64_t g = GLOBAL_ID_1D(pc.base);
  if (g >= pc.count) return;
  const uint i = uint(g);
  const int f = best_id[pc.id_off + i];
  float u = 0.0, v = 0.0;
  if (f >= 0) {
    const uint b = uint(f) * 16u;
    const int j = int(i % uint(pc.W)), r = int(i / uint(pc.W));
    const float qx = float(2 * j + 1) / float(pc.W) - 1.0 - setup[b + 12u];
    const float qy = float(2 * r + 1) / float(pc.H) - 1.0 - setup[b + 13u];
    const float a0 = setup[b] * qx + setup[b + 1u] * qy + setup[b + 2u];
    const float a1 = setup[b + 3u] * qx + setup[b + 4u] * qy + setup[b + 5u];
    const float a2 = setup[b + 6u] * qx + setup[b + 7u] * qy + setup[b + 8u];
    const float s = a0 + a1 + a2;
    u = a0 / s;
    v = a1 / s;
  } else {
    best_d[pc.d_off + i] = 0.0;
  }
  bary[pc.b_off + 2u * i] = u;
  bary[pc.b_off + 2u * i + 1u] = v;
}
