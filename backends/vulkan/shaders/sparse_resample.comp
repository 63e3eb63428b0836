// Sparse space<->channel resampling (ops/sparse_conv.hpp); one SPIR-V variant
// per MODE:
//   1 subdiv_count : one workgroup per block of 1024 parents: counts of
//                    logits > 0, scanned in shared memory; out[p + 1] =
//                    inclusive count within the block, bsum[block] = total.
//   2 subdiv_scan  : one workgroup: bsum -> exclusive prefix (bounded loop of
//                    nblocks / 256 chunks).
//   3 subdiv_add   : out[p + 1] += bsum[p / 1024], out[0] = 0.
//   4 c2s_fill     : per parent: child coordinates, src[c] = 8 p + k.
//   5 c2s_gather   : per output element: out[c, j] = feats[src[c] Cc + j / rep].
//   6 s2c_slots    : per child: slot = 8 parent + k, claimed with atomicAdd;
//                    flag bit 0 = parent outside [0, Np), bit 1 = slot taken twice.
//   7 s2c_scatter  : per input element: out[slot[c] C + j] = feats[c, j].
// 16-bit elements (ES = 2) are written with atomic half-word stores.
#version 450
#extension GL_EXT_shader_explicit_arithmetic_types_int64 : require
#include "common.glsl"

layout(local_size_x = 256) in;
layout(constant_id = 1) const uint DT = 0;  // logits dtype (modes 1, 4)
layout(constant_id = 2) const uint ES = 4;  // feature element size (modes 5, 7)

#define WG 256u
#define PER 4u
#define BLOCK (WG * PER)

layout(push_constant) uniform PC {
  uint64_t base;
  uint64_t n;      // items of this job
  uint a0, a1, a2, a3, a4, a5;  // per-mode parameters (see each mode)
} pc;

shared int sc[WG];

int scan_incl(int v) {  // inclusive scan over the workgroup (uniform control flow)
  const uint lid = gl_LocalInvocationID.x;
  barrier();
  sc[lid] = v;
  barrier();
  for (uint off = 1u; off < WG; off <<= 1) {
    int t = lid >= off ? sc[lid - off] : 0;
    barrier();
    sc[lid] += t;
    barrier();
  }
  return sc[lid];
}

#if MODE == 1
// a0 = l_off, a1 = o_off; n = Np
layout(std430, binding = 0) readonly buffer L { uint l[]; };
layout(std430, binding = 1) buffer O { int o[]; };
layout(std430, binding = 2) buffer S { int bsum[]; };
void main() {
  const uint64_t g = GLOBAL_ID_1D(pc.base);
  const uint64_t blk = g / WG;
  const uint64_t nb = (pc.n + BLOCK - 1u) / BLOCK;
  if (blk >= nb) return;  // uniform over the workgroup (extra groups of a chunked dispatch)
  const uint lid = gl_LocalInvocationID.x;
  const uint64_t p0 = blk * BLOCK + uint64_t(lid) * PER;
  int cnt[PER];
  int s = 0;
  for (uint q = 0u; q < PER; ++q) {
    int c = 0;
    if (p0 + q < pc.n)
      for (uint k = 0u; k < 8u; ++k) c += LOAD_ELEM(l, DT, pc.a0 + uint(p0 + q) * 8u + k) > 0.0 ? 1 : 0;
    cnt[q] = c;
    s += c;
  }
  int run = scan_incl(s) - s;
  for (uint q = 0u; q < PER; ++q) {
    run += cnt[q];
    if (p0 + q < pc.n) o[pc.a1 + uint(p0 + q) + 1u] = run;
  }
  if (lid == WG - 1u) bsum[uint(blk)] = run;
}
#elif MODE == 2
// n = number of blocks
layout(std430, binding = 0) buffer S { int bsum[]; };
void main() {
  const uint lid = gl_LocalInvocationID.x;
  if (pc.base != 0ul || gl_WorkGroupID.x != 0u || gl_WorkGroupID.y != 0u) return;  // only the first workgroup works
  int carry = 0;
  for (uint64_t b0 = 0u; b0 < pc.n; b0 += WG) {
    const uint b = uint(b0) + lid;
    const int v = b < pc.n ? bsum[b] : 0;
    const int incl = scan_incl(v);
    if (b < pc.n) bsum[b] = carry + incl - v;
    carry += sc[WG - 1u];
  }
}
#elif MODE == 3
// a1 = o_off; n = Np + 1
layout(std430, binding = 0) buffer O { int o[]; };
layout(std430, binding = 1) readonly buffer S { int bsum[]; };
void main() {
  const uint64_t g = GLOBAL_ID_1D(pc.base);
  if (g >= pc.n) return;
  const uint i = uint(g);
  if (i == 0u) o[pc.a1] = 0;
  else o[pc.a1 + i] += bsum[(i - 1u) / BLOCK];
}
#elif MODE == 4
// a0 = pc_off, a1 = l_off, a2 = offs_off, a3 = cc_off, a4 = Nc; n = Np
layout(std430, binding = 0) readonly buffer P { int pcrd[]; };
layout(std430, binding = 1) readonly buffer L { uint l[]; };
layout(std430, binding = 2) readonly buffer Of { int offs[]; };
layout(std430, binding = 3) buffer C { int cc[]; };
layout(std430, binding = 4) buffer Sr { int src[]; };
void main() {
  const uint64_t g = GLOBAL_ID_1D(pc.base);
  if (g >= pc.n) return;
  const uint p = uint(g);
  int c = offs[pc.a2 + p];
  const uint pb = pc.a0 + p * 4u;
  const ivec4 q = ivec4(pcrd[pb], pcrd[pb + 1u], pcrd[pb + 2u], pcrd[pb + 3u]);
  for (int k = 0; k < 8; ++k) {
    if (!(LOAD_ELEM(l, DT, pc.a1 + p * 8u + uint(k)) > 0.0)) continue;
    if (c < 0 || uint(c) >= pc.a4) return;  // inconsistent offsets: stay in bounds
    const uint cb = pc.a3 + uint(c) * 4u;
    cc[cb] = q.x;
    cc[cb + 1u] = 2 * q.y + (k & 1);
    cc[cb + 2u] = 2 * q.z + ((k >> 1) & 1);
    cc[cb + 3u] = 2 * q.w + ((k >> 2) & 1);
    src[uint(c)] = int(p) * 8 + k;
    ++c;
  }
}
#elif MODE == 5
// a0 = f_off, a1 = y_off, a2 = Cc, a3 = rep; n = Nc Cc rep
layout(std430, binding = 0) readonly buffer F { uint f[]; };
layout(std430, binding = 1) readonly buffer Sr { int src[]; };
layout(std430, binding = 2) buffer Y { uint y[]; };
void main() {
  const uint64_t g = GLOBAL_ID_1D(pc.base);
  if (g >= pc.n) return;
  const uint i = uint(g), Co = pc.a2 * pc.a3, c = i / Co, j = i - c * Co;
  const uint s = pc.a0 + uint(src[c]) * pc.a2 + j / pc.a3;
  if (ES == 4u) y[pc.a1 + i] = f[s];
  else STORE_HALF_ATOMIC(y, pc.a1 + i, LOAD_BITS(f, 2u, s))
}
#elif MODE == 6
// a0 = cc_off, a1 = par_off, a2 = Np; n = Nc
layout(std430, binding = 0) readonly buffer C { int cc[]; };
layout(std430, binding = 1) readonly buffer Pa { int par[]; };
layout(std430, binding = 2) buffer Oc { uint occ[]; };
layout(std430, binding = 3) buffer Sl { int slot[]; };
layout(std430, binding = 4) buffer Fl { uint flag[]; };
void main() {
  const uint64_t g = GLOBAL_ID_1D(pc.base);
  if (g >= pc.n) return;
  const uint i = uint(g);
  const int p = par[pc.a1 + i];
  if (p < 0 || uint(p) >= pc.a2) {
    slot[i] = -1;
    atomicOr(flag[0], 1u);
    return;
  }
  const uint cb = pc.a0 + i * 4u;
  const int s = p * 8 + (cc[cb + 1u] & 1) + 2 * (cc[cb + 2u] & 1) + 4 * (cc[cb + 3u] & 1);
  if (atomicAdd(occ[uint(s)], 1u) != 0u) atomicOr(flag[0], 2u);
  slot[i] = s;
}
#elif MODE == 7
// a0 = f_off, a1 = y_off, a2 = C; n = Nc C
layout(std430, binding = 0) readonly buffer F { uint f[]; };
layout(std430, binding = 1) readonly buffer Sl { int slot[]; };
layout(std430, binding = 2) buffer Y { uint y[]; };
void main() {
  const uint64_t g = GLOBAL_ID_1D(pc.base);
  if (g >= pc.n) return;
  const uint i = uint(g), c = i / pc.a2, j = i - c * pc.a2;
  const int s = slot[c];
  if (s < 0) return;
  const uint d = pc.a1 + uint(s) * pc.a2 + j;
  if (ES == 4u) y[d] = f[pc.a0 + i];
  else STORE_HALF_ATOMIC(y, d, LOAD_BITS(f, 2u, pc.a0 + i))
}
#endif
