// BVH build kernels (docs/geometry-bvh.md; the OpenCL twin is
// backends/opencl/kernels/bvh.cl). One variant per kernel, selected by a
// define: K_VALIDATE, K_BOUNDS, K_MORTON, K_HIST, K_SCAN, K_SCATTER,
// K_LEAVES, K_KARRAS, K_REFIT. Groups of 256; 1-D kernels index with
// GLOBAL_ID_1D(pc.base), group kernels with pc.g0 + gl_WorkGroupID.x.
#version 450
#extension GL_EXT_shader_explicit_arithmetic_types_int64 : require
#include "common.glsl"

#define WG 256
layout(local_size_x = WG) in;

uint ord_key(float f) {  // order-preserving float -> uint
  uint b = floatBitsToUint(f);
  return (b & 0x80000000u) != 0u ? ~b : (b | 0x80000000u);
}
float unord_key(uint k) { return uintBitsToFloat((k & 0x80000000u) != 0u ? (k & 0x7fffffffu) : ~k); }
uint expand10(uint v) {
  v = (v * 0x00010001u) & 0xFF0000FFu;
  v = (v * 0x00000101u) & 0x0F00F00Fu;
  v = (v * 0x00000011u) & 0xC30C30C3u;
  v = (v * 0x00000005u) & 0x49249249u;
  return v;
}

#if defined(K_BOUNDS) || defined(K_MORTON) || defined(K_REFIT)
layout(std430, binding = 0) readonly buffer Vt { float v[]; };
layout(std430, binding = 1) readonly buffer Ft { int f[]; };
vec3 vert(int face, int k) {
  const int i = f[3 * face + k];
  return vec3(v[3 * i], v[3 * i + 1], v[3 * i + 2]);
}
vec3 centroid_of(int face) { return (vert(face, 0) + vert(face, 1) + vert(face, 2)) / 3.0; }
#endif

#if defined(K_VALIDATE)
layout(std430, binding = 0) readonly buffer Ft { int f[]; };
layout(std430, binding = 1) buffer Err { int err[]; };
layout(push_constant) uniform PC { uint64_t base; uint F, V; } pc;
void main() {
  const uint64_t i = GLOBAL_ID_1D(pc.base);
  if (i >= pc.F) return;
  for (int k = 0; k < 3; ++k) {
    const int x = f[3 * uint(i) + k];
    if (x < 0 || uint(x) >= pc.V) atomicMin(err[0], int(i));
  }
}

#elif defined(K_BOUNDS)
layout(std430, binding = 2) buffer Bounds { uint bounds[]; };
layout(push_constant) uniform PC { uint F, g0; } pc;
shared uint red[6][WG];
void main() {
  const uint lid = gl_LocalInvocationID.x, i = (pc.g0 + gl_WorkGroupID.x) * WG + lid;
  uint k[6] = uint[6](0xffffffffu, 0xffffffffu, 0xffffffffu, 0u, 0u, 0u);
  if (i < pc.F) {
    const vec3 c = centroid_of(int(i));
    k[0] = k[3] = ord_key(c.x);
    k[1] = k[4] = ord_key(c.y);
    k[2] = k[5] = ord_key(c.z);
  }
  for (int d = 0; d < 6; ++d) red[d][lid] = k[d];
  barrier();
  for (uint s = WG / 2; s > 0; s >>= 1) {
    if (lid < s)
      for (int d = 0; d < 6; ++d)
        red[d][lid] = d < 3 ? min(red[d][lid], red[d][lid + s]) : max(red[d][lid], red[d][lid + s]);
    barrier();
  }
  if (lid < 3) atomicMin(bounds[lid], red[lid][0]);
  else if (lid < 6) atomicMax(bounds[lid], red[lid][0]);
}

#elif defined(K_MORTON)
layout(std430, binding = 2) readonly buffer Bounds { uint bounds[]; };
layout(std430, binding = 3) writeonly buffer Codes { uint codes[]; };
layout(std430, binding = 4) writeonly buffer Vals { uint vals[]; };
layout(push_constant) uniform PC { uint64_t base; uint F; } pc;
void main() {
  const uint64_t i = GLOBAL_ID_1D(pc.base);
  if (i >= pc.F) return;
  const vec3 c = centroid_of(int(i));
  uint code = 0u;
  for (int d = 0; d < 3; ++d) {
    const float lo = unord_key(bounds[d]), hi = unord_key(bounds[3 + d]);
    const float scale = hi > lo ? 1024.0 / (hi - lo) : 0.0;
    const float q = min(max((c[d] - lo) * scale, 0.0), 1023.0);
    code |= expand10(uint(q)) << (2 - d);
  }
  codes[uint(i)] = code;
  vals[uint(i)] = uint(i);
}

#elif defined(K_HIST)
layout(std430, binding = 0) readonly buffer Keys { uint keys[]; };
layout(std430, binding = 1) writeonly buffer Hist { uint hist[]; };
layout(push_constant) uniform PC { uint n, shift, G, g0; } pc;
shared uint cnt[16];
void main() {
  const uint lid = gl_LocalInvocationID.x, g = pc.g0 + gl_WorkGroupID.x, i = g * WG + lid;
  if (lid < 16) cnt[lid] = 0u;
  barrier();
  if (i < pc.n) atomicAdd(cnt[(keys[i] >> pc.shift) & 15u], 1u);
  barrier();
  if (lid < 16) hist[lid * pc.G + g] = cnt[lid];
}

#elif defined(K_SCAN)
// Exclusive scan of m words in place by one group (contiguous chunks per item).
layout(std430, binding = 0) buffer A { uint a[]; };
layout(push_constant) uniform PC { uint m, g0; } pc;
shared uint s[WG];
void main() {
  const uint lid = gl_LocalInvocationID.x;
  const uint chunk = (pc.m + WG - 1) / WG, b = min(pc.m, lid * chunk), e = min(pc.m, b + chunk);
  uint sum = 0u;
  for (uint j = b; j < e; ++j) sum += a[j];
  s[lid] = sum;
  barrier();
  for (uint o = 1; o < WG; o <<= 1) {
    const uint t = lid >= o ? s[lid - o] : 0u;
    barrier();
    s[lid] += t;
    barrier();
  }
  uint run = s[lid] - sum;
  for (uint j = b; j < e; ++j) {
    const uint x = a[j];
    a[j] = run;
    run += x;
  }
}

#elif defined(K_SCATTER)
// Stable scatter ranked by a local inclusive scan of one-hot digit counters
// packed two per uint (16-bit fields; 256 items never carry across fields).
layout(std430, binding = 0) readonly buffer Keys { uint keys[]; };
layout(std430, binding = 1) readonly buffer Vals { uint vals[]; };
layout(std430, binding = 2) writeonly buffer OKeys { uint okeys[]; };
layout(std430, binding = 3) writeonly buffer OVals { uint ovals[]; };
layout(std430, binding = 4) readonly buffer Offs { uint offs[]; };
layout(push_constant) uniform PC { uint n, shift, G, g0; } pc;
shared uvec4 s0[WG], s1[WG];
void main() {
  const uint lid = gl_LocalInvocationID.x, g = pc.g0 + gl_WorkGroupID.x, i = g * WG + lid;
  const uint key = i < pc.n ? keys[i] : 0u, d = i < pc.n ? (key >> pc.shift) & 15u : 16u;
  uint w[8] = uint[8](0u, 0u, 0u, 0u, 0u, 0u, 0u, 0u);
  if (d < 16u) w[d >> 1] = 1u << (16u * (d & 1u));
  const uvec4 m0 = uvec4(w[0], w[1], w[2], w[3]), m1 = uvec4(w[4], w[5], w[6], w[7]);
  s0[lid] = m0;
  s1[lid] = m1;
  barrier();
  for (uint o = 1; o < WG; o <<= 1) {
    const uvec4 t0 = lid >= o ? s0[lid - o] : uvec4(0u), t1 = lid >= o ? s1[lid - o] : uvec4(0u);
    barrier();
    s0[lid] += t0;
    s1[lid] += t1;
    barrier();
  }
  if (d < 16u) {
    const uvec4 e0 = s0[lid] - m0, e1 = s1[lid] - m1;
    const uint word = (d >> 1) < 4u ? e0[d >> 1] : e1[(d >> 1) - 4u];
    const uint dst = offs[d * pc.G + g] + ((word >> (16u * (d & 1u))) & 0xffffu);
    okeys[dst] = key;
    ovals[dst] = vals[i];
  }
}

#elif defined(K_LEAVES)
layout(std430, binding = 0) readonly buffer Vals { uint vals[]; };
layout(std430, binding = 1) buffer Nodes { int nodes[]; };
layout(std430, binding = 2) writeonly buffer LeafFace { int leaf_face[]; };
layout(push_constant) uniform PC { uint64_t base; uint F; } pc;
void main() {
  const uint64_t i = GLOBAL_ID_1D(pc.base);
  if (i >= pc.F) return;
  const uint nd = 4u * (pc.F - 1u + uint(i));
  nodes[nd] = -1;
  nodes[nd + 1] = -1;
  nodes[nd + 3] = int(vals[uint(i)]);
  leaf_face[uint(i)] = int(vals[uint(i)]);
  if (pc.F == 1u) nodes[nd + 2] = -1;
}

#elif defined(K_KARRAS)
layout(std430, binding = 0) readonly buffer Codes { uint c[]; };
layout(std430, binding = 1) buffer Nodes { int nodes[]; };
layout(push_constant) uniform PC { uint64_t base; uint F; } pc;
int clz32(uint x) { return 31 - findMSB(x); }
int delta(int n, int i, int j) {
  if (j < 0 || j >= n) return -1;
  const uint a = c[i], b = c[j];
  return a != b ? clz32(a ^ b) : 32 + clz32(uint(i ^ j));
}
int at(int n, int i, int64_t off) { return int(clamp(int64_t(i) + off, int64_t(-1), int64_t(n))); }
void main() {
  const uint64_t gi = GLOBAL_ID_1D(pc.base);
  if (gi + 1u >= uint64_t(pc.F)) return;
  const int N = int(pc.F), i = int(gi);
  const int d = delta(N, i, i + 1) - delta(N, i, i - 1) >= 0 ? 1 : -1;
  const int dmin = delta(N, i, i - d);
  int64_t lmax = 2;
  for (int it = 0; it < 64 && delta(N, i, at(N, i, lmax * d)) > dmin; ++it) lmax *= 2;
  int64_t l = 0;
  for (int64_t t = lmax / 2; t >= 1; t /= 2)
    if (delta(N, i, at(N, i, (l + t) * d)) > dmin) l += t;
  const int j = i + int(l) * d;
  const int dnode = delta(N, i, j);
  int64_t s = 0, div = 2;
  for (int it = 0; it < 64; ++it, div *= 2) {
    const int64_t t = (l + div - 1) / div;
    if (delta(N, i, at(N, i, (s + t) * d)) > dnode) s += t;
    if (t <= 1) break;
  }
  const int gamma = i + int(s) * d + min(d, 0);
  const int left = min(i, j) == gamma ? N - 1 + gamma : gamma;
  const int right = max(i, j) == gamma + 1 ? N - 1 + gamma + 1 : gamma + 1;
  nodes[4 * i] = left;
  nodes[4 * i + 1] = right;
  nodes[4 * i + 3] = -1;
  nodes[4 * left + 2] = i;
  nodes[4 * right + 2] = i;
  if (i == 0) nodes[2] = -1;
}

#elif defined(K_REFIT)
// Bottom-up refit with arrival counters: the second child to arrive at a
// node computes its box (the first published its own before its atomic);
// the walk goes on without refitting to measure the depth.
layout(std430, binding = 2) readonly buffer Nodes { int nodes[]; };
layout(std430, binding = 3) coherent buffer Boxes { float boxes[]; };
layout(std430, binding = 4) coherent buffer Counters { uint counters[]; };
layout(std430, binding = 5) buffer Depth { int depth[]; };
layout(push_constant) uniform PC { uint64_t base; uint F; } pc;
// Fences around the arrival atomic (publish the first child's box before it,
// see the sibling's after it). Off on lavapipe (spec constant), where a
// memoryBarrierBuffer() in divergent control flow ends the invocation, and
// where plain stores are ordered before atomics anyway (x86 TSO).
layout(constant_id = 1) const bool FENCE = true;
void main() {
  const uint64_t gi = GLOBAL_ID_1D(pc.base);
  if (gi >= pc.F) return;
  int node = int(pc.F) - 1 + int(gi);
  const int face = nodes[4 * node + 3];
  const vec3 a = vert(face, 0), b = vert(face, 1), c = vert(face, 2);
  const vec3 lo = min(min(a, b), c), hi = max(max(a, b), c);
  for (int k = 0; k < 3; ++k) {
    boxes[6 * node + k] = lo[k];
    boxes[6 * node + 3 + k] = hi[k];
  }
  int len = 0;
  bool refit = true;
  int p = nodes[4 * node + 2];
  for (int it = 0; it < 2 * int(pc.F) && p >= 0; ++it) {
    if (refit) {
      if (FENCE) memoryBarrierBuffer();
      refit = atomicAdd(counters[p], 1u) != 0u;
      if (FENCE) memoryBarrierBuffer();
    }
    if (refit) {
      const int l = nodes[4 * p], r = nodes[4 * p + 1];
      for (int k = 0; k < 3; ++k) {
        boxes[6 * p + k] = min(boxes[6 * l + k], boxes[6 * r + k]);
        boxes[6 * p + 3 + k] = max(boxes[6 * l + 3 + k], boxes[6 * r + 3 + k]);
      }
    }
    node = p;
    p = nodes[4 * p + 2];
    ++len;
  }
  atomicMax(depth[0], len);
}
#endif
