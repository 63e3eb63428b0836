// Rasterizer triangle setup (see backends/opencl/kernels/raster.cl, same
// math): per triangle the edge functions / det and depth plane relative to a
// per-triangle centre c, a conservative pixel box from the triangle clipped
// to the near and far planes, and its tile count. A face index outside
// [0, V) records the smallest such face in err.
#version 450
#extension GL_EXT_shader_explicit_arithmetic_types_int64 : require
#include "common.glsl"

#define RT 16
layout(local_size_x_id = 0) in;
layout(std430, binding = 0) readonly buffer Pos { float pos[]; };
layout(std430, binding = 1) readonly buffer Faces { int faces[]; };
layout(std430, binding = 2) writeonly buffer Setup { float setup[]; };
layout(std430, binding = 3) writeonly buffer Boxes { ivec4 boxes[]; };
layout(std430, binding = 4) writeonly buffer TriTiles { uint tri_tiles[]; };
layout(std430, binding = 5) buffer Err { uint err[]; };

layout(push_constant) uniform PC {
  uint64_t base;
  uint64_t count;  // F
  uint pos_off, faces_off, V;
  int H, W, tiles_x, uv_mode;
} pc;

int lo_px(float c, int n) { return int(clamp(floor((c + 1.0) * 0.5 * float(n) - 0.5) - 1.0, 0.0, float(n))); }
int hi_px(float c, int n) { return int(clamp(ceil((c + 1.0) * 0.5 * float(n) - 0.5) + 1.0, -1.0, float(n - 1))); }
float plane_d(vec4 q, int plane) { return plane == 0 ? q.w + q.z : q.w - q.z; }
bool finite4(vec4 a) { return !any(isnan(a)) && !any(isinf(a)); }
bool finite3(vec3 a) { return !any(isnan(a)) && !any(isinf(a)); }

void main() {
  uint64_t g = GLOBAL_ID_1D(pc.base);
  if (g >= pc.count) return;
  const uint f = uint(g);
  for (int q = 0; q < 16; ++q) setup[f * 16u + uint(q)] = 0.0;
  boxes[f] = ivec4(1, 0, 1, 0);
  tri_tiles[f] = 0u;
  vec4 v[3];
  for (int k = 0; k < 3; ++k) {
    const int vi = faces[pc.faces_off + f * 3u + uint(k)];
    if (vi < 0 || uint(vi) >= pc.V) {
      atomicMin(err[0], f);
      return;
    }
    if (pc.uv_mode != 0) {
      const uint b = pc.pos_off + uint(vi) * 2u;
      v[k] = vec4(2.0 * pos[b] - 1.0, 2.0 * pos[b + 1u] - 1.0, 0.0, 1.0);
    } else {
      const uint b = pc.pos_off + uint(vi) * 4u;
      v[k] = vec4(pos[b], pos[b + 1u], pos[b + 2u], pos[b + 3u]);
    }
    if (!finite4(v[k])) return;
  }
  float cx = 0.0, cy = 0.0;
  const float sw = v[0].w + v[1].w + v[2].w;
  if (sw > 0.0) {
    cx = clamp((v[0].x + v[1].x + v[2].x) / sw, -1.5, 1.5);
    cy = clamp((v[0].y + v[1].y + v[2].y) / sw, -1.5, 1.5);
  }
  vec3 P[3];
  for (int k = 0; k < 3; ++k) P[k] = vec3(v[k].x - cx * v[k].w, v[k].y - cy * v[k].w, v[k].w);
  vec3 E[3];
  for (int k = 0; k < 3; ++k) {
    const vec3 a = P[(k + 1) % 3], b = P[(k + 2) % 3];
    E[k] = vec3(a.y * b.z - a.z * b.y, a.z * b.x - a.x * b.z, a.x * b.y - a.y * b.x);
  }
  const float det = P[0].x * E[0].x + P[0].y * E[0].y + P[0].z * E[0].z;
  if (det == 0.0 || isnan(det) || isinf(det)) return;
  vec3 A[3];
  vec3 Z = vec3(0.0);
  for (int k = 0; k < 3; ++k) {
    A[k] = E[k] / det;
    if (!finite3(A[k])) return;
    Z += v[k].z * A[k];
  }
  if (!finite3(Z)) return;
  // Clip by the near (w + z >= 0) and far (w - z >= 0) planes.
  vec4 poly[2][8];
  int m = 3, cur = 0;
  for (int k = 0; k < 3; ++k) poly[0][k] = v[k];
  for (int plane = 0; plane < 2; ++plane) {
    int o = 0;
    for (int k = 0; k < m; ++k) {
      const vec4 a = poly[cur][k], b = poly[cur][(k + 1) % m];
      const float da = plane_d(a, plane), db = plane_d(b, plane);
      if (da >= 0.0) poly[1 - cur][o++] = a;
      if ((da >= 0.0) != (db >= 0.0)) poly[1 - cur][o++] = a + (da / (da - db)) * (b - a);
    }
    m = o;
    cur = 1 - cur;
  }
  if (m == 0) return;
  float xmin = TX_INF, xmax = -TX_INF, ymin = TX_INF, ymax = -TX_INF;
  bool full = false;
  for (int k = 0; k < m; ++k) {
    const vec4 q = poly[cur][k];
    if (!(q.w > 1e-30)) full = true;
    else {
      xmin = min(xmin, q.x / q.w); xmax = max(xmax, q.x / q.w);
      ymin = min(ymin, q.y / q.w); ymax = max(ymax, q.y / q.w);
    }
  }
  ivec4 box;
  if (full) box = ivec4(0, pc.W - 1, 0, pc.H - 1);
  else {
    if (!(xmin <= xmax) || !(ymin <= ymax)) return;
    box = ivec4(lo_px(xmin, pc.W), hi_px(xmax, pc.W), lo_px(ymin, pc.H), hi_px(ymax, pc.H));
  }
  for (int k = 0; k < 3; ++k) {
    setup[f * 16u + uint(3 * k)] = A[k].x;
    setup[f * 16u + uint(3 * k + 1)] = A[k].y;
    setup[f * 16u + uint(3 * k + 2)] = A[k].z;
  }
  setup[f * 16u + 9u] = Z.x;
  setup[f * 16u + 10u] = Z.y;
  setup[f * 16u + 11u] = Z.z;
  setup[f * 16u + 12u] = cx;
  setup[f * 16u + 13u] = cy;
  boxes[f] = box;
  if (box.x <= box.y && box.z <= box.w)
    tri_tiles[f] = uint((box.y / RT - box.x / RT + 1) * (box.w / RT - box.z / RT + 1));
}
