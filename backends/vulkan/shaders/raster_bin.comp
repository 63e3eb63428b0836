// Rasterizer binning, one invocation per (triangle, tile) entry of a batch:
// MODE 0 counts entries per tile, MODE 1 scatters triangle ids into the
// per-tile lists (slot order is arbitrary; the resolve does not depend on it).
#version 450
#extension GL_EXT_shader_explicit_arithmetic_types_int64 : require
#include "common.glsl"

#define RT 16
layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint MODE = 0;
layout(std430, binding = 0) readonly buffer Boxes { ivec4 boxes[]; };
layout(std430, binding = 1) readonly buffer Off { uint off[]; };
layout(std430, binding = 2) buffer TileA { uint tile_a[]; };     // counts (MODE 0) / offsets (MODE 1)
layout(std430, binding = 3) buffer TileFill { uint tile_fill[]; };
layout(std430, binding = 4) buffer List { uint list[]; };

layout(push_constant) uniform PC {
  uint64_t base;
  uint64_t count;  // entries
  uint nb, f0;
  int tiles_x;
} pc;

void main() {
  uint64_t g = GLOBAL_ID_1D(pc.base);
  if (g >= pc.count) return;
  const uint k = uint(g);
  uint lo = 0u, hi = pc.nb;  // off[lo] <= k < off[hi]
  for (int it = 0; it < 40 && hi - lo > 1u; ++it) {
    const uint mid = (lo + hi) / 2u;
    if (off[mid] <= k) lo = mid;
    else hi = mid;
  }
  const ivec4 box = boxes[pc.f0 + lo];
  const int tx0 = box.x / RT, ty0 = box.z / RT, nx = box.y / RT - tx0 + 1;
  const uint r = k - off[lo];
  const uint t = uint((ty0 + int(r / uint(nx))) * pc.tiles_x + tx0 + int(r % uint(nx)));
  if (MODE == 0u) atomicAdd(tile_a[t], 1u);
  else list[tile_a[t] + atomicAdd(tile_fill[t], 1u)] = pc.f0 + lo;
}
