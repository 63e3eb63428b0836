// timestep_embedding: t [B] f32 -> out [B, dim] f32 = [cos(t f_k), sin(t f_k)]
// (k < dim/2), a zero last column when dim is odd. The frequencies f_k come
// from the host (float64 exp rounded to f32, as the reference); the phase
// t * f_k is one f32 product; sin/cos use the accurate range reduction of
// tx_sincos (phases reach ~1e3 rad). One invocation per output element.
#version 450
#extension GL_EXT_shader_explicit_arithmetic_types_int64 : require
#include "common.glsl"

layout(local_size_x_id = 0) in;

layout(std430, binding = 0) readonly buffer T { float t[]; };
layout(std430, binding = 1) readonly buffer F { float freq[]; };
layout(std430, binding = 2) buffer O { float o[]; };

layout(push_constant) uniform PC {
  uint64_t base;
  uint64_t count;  // B * dim
  uint dim, half_dim;
  uint t_off, o_off;
} pc;

void main() {
  uint64_t g = GLOBAL_ID_1D(pc.base);
  if (g >= pc.count) return;
  const uint e = uint(g), b = e / pc.dim, k = e % pc.dim;
  float v = 0.0;
  if (k < 2u * pc.half_dim) {
    const uint kk = k < pc.half_dim ? k : k - pc.half_dim;
    precise float arg = t[pc.t_off + b] * freq[kk];
    float s, c;
    tx_sincos(arg, s, c);
    v = k < pc.half_dim ? c : s;
  }
  o[pc.o_off + e] = v;
}
