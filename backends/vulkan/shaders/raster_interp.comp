// interpolate (MODE 0), one invocation per (pixel, channel):
// u a[f0] + v a[f1] + (1-u-v) a[f2], 0 where id is not in [0, F).
// check_faces (MODE 1), one invocation per face: err = smallest face with a
// vertex index outside [0, V).
#version 450
#extension GL_EXT_shader_explicit_arithmetic_types_int64 : require
#include "common.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint MODE = 0;
layout(std430, binding = 0) readonly buffer Attr { float attr[]; };
layout(std430, binding = 1) readonly buffer Faces { int faces[]; };
layout(std430, binding = 2) readonly buffer Id { int id[]; };
layout(std430, binding = 3) readonly buffer Bary { float bary[]; };
layout(std430, binding = 4) buffer Out { uint o[]; };

layout(push_constant) uniform PC {
  uint64_t base;
  uint64_t count;
  uint C, F, V;
  uint a_off, f_off, id_off, b_off, o_off;
} pc;

void main() {
  uint64_t g = GLOBAL_ID_1D(pc.base);
  if (g >= pc.count) return;
  if (MODE == 1u) {
    const uint f = uint(g);
    for (uint k = 0u; k < 3u; ++k) {
      const int vi = faces[pc.f_off + f * 3u + k];
      if (vi < 0 || uint(vi) >= pc.V) atomicMin(o[0], f);
    }
    return;
  }
  const uint64_t p = g / pc.C, c = g % pc.C;
  const int f = id[pc.id_off + uint(p)];
  float r = 0.0;
  if (f >= 0 && uint(f) < pc.F) {
    const float u = bary[pc.b_off + 2u * uint(p)], v = bary[pc.b_off + 2u * uint(p) + 1u];
    const uint fb = pc.f_off + uint(f) * 3u;
    r = u * attr[pc.a_off + uint(faces[fb]) * pc.C + uint(c)] + v * attr[pc.a_off + uint(faces[fb + 1u]) * pc.C + uint(c)] +
        (1.0 - u - v) * attr[pc.a_off + uint(faces[fb + 2u]) * pc.C + uint(c)];
  }
  o[pc.o_off + uint(g)] = floatBitsToUint(r);
}
