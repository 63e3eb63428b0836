// Rasterizer resolve: one workgroup per 16 x 16 tile, one invocation per
// pixel; entries [seg0, seg0 + seg_len) of the tile's list are staged through
// shared memory 256 at a time; each pixel keeps the smallest (depth, id)
// (ties to the smaller id), so the result does not depend on list order.
#version 450
#include "common.glsl"

#define RT 16
layout(local_size_x = RT * RT) in;
layout(std430, binding = 0) readonly buffer Setup { float setup[]; };
layout(std430, binding = 1) readonly buffer List { uint list[]; };
layout(std430, binding = 2) readonly buffer TileOff { uint tile_off[]; };
layout(std430, binding = 3) readonly buffer TileCnt { uint tile_cnt[]; };
layout(std430, binding = 4) buffer BestId { int best_id[]; };
layout(std430, binding = 5) buffer BestD { float best_d[]; };

layout(push_constant) uniform PC {
  int H, W, tiles_x;
  uint seg0, seg_len, id_off, d_off;
  uint tile_x0, tile_y0;
} pc;

shared float ls[RT * RT * 16];
shared uint ltri[RT * RT];

void main() {
  const uint t = pc.tile_x0 + gl_WorkGroupID.x, lid = gl_LocalInvocationID.x;
  const int j = int(t % uint(pc.tiles_x)) * RT + int(lid % RT), r = int(t / uint(pc.tiles_x)) * RT + int(lid / RT);
  const bool live = j < pc.W && r < pc.H;
  const uint p = live ? uint(r) * uint(pc.W) + uint(j) : 0u;
  const float px = float(2 * j + 1) / float(pc.W) - 1.0, py = float(2 * r + 1) / float(pc.H) - 1.0;
  int best = live ? best_id[pc.id_off + p] : -1;
  float bd = live ? best_d[pc.d_off + p] : 0.0;
  const uint cnt = tile_cnt[t], start = tile_off[t];
  const uint end = min(cnt, pc.seg0 + pc.seg_len);
  for (uint c0 = pc.seg0; c0 < end; c0 += RT * RT) {
    const uint nload = min(uint(RT * RT), end - c0);
    barrier();
    if (lid < nload) {
      const uint f = list[start + c0 + lid];
      ltri[lid] = f;
      for (uint q = 0u; q < 16u; ++q) ls[lid * 16u + q] = setup[f * 16u + q];
    }
    barrier();
    for (uint e = 0u; e < nload; ++e) {
      const uint b = e * 16u;
      const float qx = px - ls[b + 12u], qy = py - ls[b + 13u];
      const float a0 = ls[b] * qx + ls[b + 1u] * qy + ls[b + 2u];
      const float a1 = ls[b + 3u] * qx + ls[b + 4u] * qy + ls[b + 5u];
      const float a2 = ls[b + 6u] * qx + ls[b + 7u] * qy + ls[b + 8u];
      const float d = ls[b + 9u] * qx + ls[b + 10u] * qy + ls[b + 11u];
      const bool cov = a0 >= 0.0 && a1 >= 0.0 && a2 >= 0.0 && (a0 + a1 + a2) > 0.0 && d >= -1.0 && d <= 1.0;
      const int f = int(ltri[e]);
      if (cov && (best < 0 || d < bd || (d == bd && f < best))) {
        best = f;
        bd = d;
      }
    }
  }
  if (live) {
    best_id[pc.id_off + p] = best;
    best_d[pc.d_off + p] = bd;
  }
}
