// texture_sample_2d (DIMS 2) / _3d (DIMS 3), one invocation per (point,
// channel): bilinear / trilinear taps at x = c n - 0.5; mode 0 wrap,
// 1 clamp, 2 zero (weight 0 outside). Non-finite coordinates give 0.
#version 450
#extension GL_EXT_shader_explicit_arithmetic_types_int64 : require
#include "common.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint DIMS = 2;
layout(std430, binding = 0) readonly buffer Tex { float tex[]; };
layout(std430, binding = 1) readonly buffer Co { float co[]; };
layout(std430, binding = 2) writeonly buffer Out { float o[]; };

layout(push_constant) uniform PC {
  uint64_t base;
  uint64_t count;
  int D, H, W;
  uint C, mode, t_off, c_off, o_off;
} pc;

void tap(float c, int n, out int i0, out int i1, out float w0, out float w1) {
  const float x = c * float(n) - 0.5, x0 = floor(x), f = x - x0;
  const int64_t b = int64_t(clamp(x0, -1e15, 1e15));
  int64_t i[2] = int64_t[2](b, b + 1);
  float w[2] = float[2](1.0 - f, f);
  for (int k = 0; k < 2; ++k) {
    if (pc.mode == 0u) {
      // Floor modulo with unsigned operands only: GLSL leaves % of negative
      // values undefined (NVIDIA and lavapipe disagree).
      const uint64_t m = uint64_t(i[k] >= 0 ? i[k] : -i[k]) % uint64_t(n);
      i[k] = int64_t(i[k] >= 0 || m == 0ul ? m : uint64_t(n) - m);
    }
    else if (pc.mode == 1u) i[k] = clamp(i[k], int64_t(0), int64_t(n - 1));
    else if (i[k] < 0 || i[k] >= int64_t(n)) { w[k] = 0.0; i[k] = 0; }
  }
  i0 = int(i[0]); i1 = int(i[1]); w0 = w[0]; w1 = w[1];
}

bool bad(float x) { return isnan(x) || isinf(x); }

void main() {
  uint64_t g = GLOBAL_ID_1D(pc.base);
  if (g >= pc.count) return;
  const uint p = uint(g / pc.C), c = uint(g % pc.C);
  float r = 0.0;
  const uint cb = pc.c_off + p * DIMS;
  const float x = co[cb], y = co[cb + 1u], z = DIMS == 3u ? co[cb + 2u] : 0.0;
  if (!bad(x) && !bad(y) && !bad(z)) {
    int xi[2], yi[2], zi[2];
    float wx[2], wy[2], wz[2];
    tap(x, pc.W, xi[0], xi[1], wx[0], wx[1]);
    tap(y, pc.H, yi[0], yi[1], wy[0], wy[1]);
    if (DIMS == 3u) tap(z, pc.D, zi[0], zi[1], wz[0], wz[1]);
    else { zi[0] = 0; zi[1] = 0; wz[0] = 1.0; wz[1] = 0.0; }
    for (int e = 0; e < int(DIMS) - 1; ++e)
      for (int b = 0; b < 2; ++b)
        for (int k = 0; k < 2; ++k)
          r += (wz[e] * wy[b] * wx[k]) *
               tex[pc.t_off + ((uint(zi[e]) * uint(pc.H) + uint(yi[b])) * uint(pc.W) + uint(xi[k])) * pc.C + c];
  }
  o[pc.o_off + uint(g)] = r;
}
