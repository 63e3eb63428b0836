// Voxel hash map and coordinate utilities (ops/sparse_hash.hpp,
// docs/sparse-hash.md); one SPIR-V variant per SH_* define, all 1-D jobs
// (launch_1d). Keys: b*W*H*D + x*H*D + y*D + z (int64, -1 = outside the grid).
// A slot is claimed by a 32-bit atomicCompSwap of its value word (-1 -> row);
// an occupied slot's key is the packed key of the row it holds, so only
// 32-bit atomics are used. Probe loops run at most `cap` steps. Failures set
// bits of status[0]; with COUNT_DONE (CPU Vulkan implementations, which end a
// shader invocation silently after 65,535 loop iterations) every invocation
// that finished its loop adds 1 to status[1], which the host checks.
//
// Push constants (all variants): base, count, p[8] (int64), u[8] (uint).
#version 450
#extension GL_EXT_shader_explicit_arithmetic_types_int64 : require
#include "common.glsl"

layout(local_size_x = 256) in;
layout(constant_id = 0) const bool COUNT_DONE = false;
layout(constant_id = 1) const uint DT = 0;  // occupancy grid dtype

layout(push_constant) uniform PC {
  uint64_t base;
  uint64_t count;
  int64_t p[8];
  uint u[8];
} pc;

#define SH_FULL 1
#define SH_BAD 2
#define SH_LOOP 4  // a loop ended before its bound without finishing (CPU implementation's loop limit)

int64_t sh_pack(int64_t B, int64_t W, int64_t H, int64_t D, int64_t b, int64_t x, int64_t y, int64_t z) {
  // One unsigned compare per axis (a negative value wraps above any extent). The
  // signed form (b < 0 || b >= B || ...) came out wrong on lavapipe (LLVM 15):
  // y = -1 passed the range check.
  if (uint64_t(b) >= uint64_t(B) || uint64_t(x) >= uint64_t(W) || uint64_t(y) >= uint64_t(H) ||
      uint64_t(z) >= uint64_t(D))
    return int64_t(-1);
  return ((b * W + x) * H + y) * D + z;
}
uint sh_fmix32(uint k) {
  k ^= k >> 16;
  k *= 0x85ebca6bu;
  k ^= k >> 13;
  k *= 0xc2b2ae35u;
  k ^= k >> 16;
  return k;
}
uint64_t sh_fmix64(uint64_t k) {
  k ^= k >> 33;
  k *= 0xff51afd7ed558ccdUL;
  k ^= k >> 33;
  k *= 0xc4ceb9fe1a85ec53UL;
  k ^= k >> 33;
  return k;
}
int64_t sh_home(int64_t key, bool small, int64_t cap) {
  // cap < 2^31: the 32-bit hash needs only a 32-bit modulo.
  return small ? int64_t(sh_fmix32(uint(key)) % uint(cap)) : int64_t(sh_fmix64(uint64_t(key)) % uint64_t(cap));
}

#if defined(SH_INSERT) || defined(SH_FILL_KEYS) || defined(SH_PROBE) || defined(SH_NEIGHBOUR) || \
    defined(SH_SORT_INIT) || defined(SH_SUBIDX) || defined(SH_BATCH_HIST)
layout(std430, binding = 0) readonly buffer Coords { int c[]; };
// p[0..3] = B, W, H, D; u[0] = coords element offset
int64_t key_row(uint64_t row) {
  const uint64_t o = uint64_t(pc.u[0]) + 4ul * row;
  return sh_pack(pc.p[0], pc.p[1], pc.p[2], pc.p[3], int64_t(c[uint(o)]), int64_t(c[uint(o + 1ul)]),
                 int64_t(c[uint(o + 2ul)]), int64_t(c[uint(o + 3ul)]));
}
#endif

#if defined(SH_PROBE) || defined(SH_NEIGHBOUR)
layout(std430, binding = 1) readonly buffer Keys { int64_t keys[]; };
layout(std430, binding = 2) readonly buffer Vals { int vals[]; };
layout(std430, binding = 3) writeonly buffer Out { int o[]; };
layout(std430, binding = 4) buffer Status { int status[]; };
// p[4] = cap; u[1] = keys offset, u[2] = vals offset, u[3] = out offset, u[4] = small
int probe(int64_t key) {
  if (key < 0) return -1;
  const int64_t cap = pc.p[4];
  int64_t s = sh_home(key, pc.u[4] != 0u, cap);
  int r = -1;
  bool fin = false;
  int64_t t = 0;
  for (; t < cap && !fin; ++t) {
    const int64_t k = keys[uint(uint64_t(pc.u[1]) + uint64_t(s))];
    if (k == -1) {
      fin = true;
    } else if (k == key) {
      r = vals[uint(uint64_t(pc.u[2]) + uint64_t(s))];
      fin = true;
    }
    s = s + 1 == cap ? 0 : s + 1;
  }
  if (!fin && t < cap) atomicOr(status[0], SH_LOOP);
  return r;
}
#endif

#if defined(SH_INSERT)
layout(std430, binding = 1) buffer Vals { int vals[]; };
layout(std430, binding = 2) buffer Status { int status[]; };
// p[4] = cap; u[1] = vals offset, u[4] = small
void main() {
  const uint64_t i = GLOBAL_ID_1D(pc.base);
  if (i >= pc.count) return;
  const int64_t key = key_row(i);
  if (key < 0) {
    atomicOr(status[0], SH_BAD);
    if (COUNT_DONE) atomicAdd(status[1], 1);
    return;
  }
  const int64_t cap = pc.p[4];
  int64_t s = sh_home(key, pc.u[4] != 0u, cap);
  bool done = false;
  int64_t t = 0;
  for (; t < cap && !done; ++t) {
    const uint slot = uint(uint64_t(pc.u[1]) + uint64_t(s));
    // atomicCompSwap is strong: it returns -1 only when it stored the row.
    const int prev = atomicCompSwap(vals[slot], -1, int(i));
    if (prev == -1) {
      done = true;
    } else if (key_row(uint64_t(prev)) == key) {
      atomicMin(vals[slot], int(i));  // duplicate key: smallest row wins
      done = true;
    }
    s = s + 1 == cap ? 0 : s + 1;
  }
  if (!done) atomicOr(status[0], t < cap ? SH_LOOP : SH_FULL);
  if (COUNT_DONE) atomicAdd(status[1], 1);
}
#endif

#if defined(SH_FILL_KEYS)
layout(std430, binding = 1) readonly buffer Vals { int vals[]; };
layout(std430, binding = 2) writeonly buffer Keys { int64_t keys[]; };
// u[1] = vals offset, u[2] = keys offset
void main() {
  const uint64_t i = GLOBAL_ID_1D(pc.base);
  if (i >= pc.count) return;
  const int r = vals[uint(uint64_t(pc.u[1]) + i)];
  keys[uint(uint64_t(pc.u[2]) + i)] = r < 0 ? int64_t(-1) : key_row(uint64_t(r));
}
#endif

#if defined(SH_PROBE)
// u[5] = queries offset (queries bound at 0 as Coords, u[0] = its offset too)
void main() {
  const uint64_t i = GLOBAL_ID_1D(pc.base);
  if (i >= pc.count) return;
  o[uint(uint64_t(pc.u[3]) + i)] = probe(key_row(i));
  if (COUNT_DONE) atomicAdd(status[1], 1);
}
#endif

#if defined(SH_NEIGHBOUR)
// u[5] = k, u[6] = dilation
void main() {
  const uint64_t i = GLOBAL_ID_1D(pc.base);
  if (i >= pc.count) return;
  const int64_t k = int64_t(pc.u[5]), dil = int64_t(pc.u[6]), V = k * k * k, h = k / 2;
  const int64_t row = int64_t(i) / V, v = int64_t(i) % V;
  int r = int(row);
  if (v != V / 2) {
    const uint o4 = uint(uint64_t(pc.u[0]) + 4ul * uint64_t(row));
    const int64_t da = (v / (k * k) - h) * dil, db = (v / k % k - h) * dil, dc = (v % k - h) * dil;
    r = probe(sh_pack(pc.p[0], pc.p[1], pc.p[2], pc.p[3], int64_t(c[o4]), int64_t(c[o4 + 1u]) + da,
                      int64_t(c[o4 + 2u]) + db, int64_t(c[o4 + 3u]) + dc));
  }
  o[uint(uint64_t(pc.u[3]) + i)] = r;
  if (COUNT_DONE) atomicAdd(status[1], 1);
}
#endif

#if defined(SH_SORT_INIT)
layout(std430, binding = 1) writeonly buffer SKey { uint64_t skey[]; };
layout(std430, binding = 2) writeonly buffer SIdx { int sidx[]; };
layout(std430, binding = 3) buffer Status { int status[]; };
// p[4] = rows, p[5..7] = parent W, H, D; u[1] = factor
void main() {
  const uint64_t i = GLOBAL_ID_1D(pc.base);
  if (i >= pc.count) return;
  if (int64_t(i) >= pc.p[4]) {
    skey[uint(i)] = 0xffffffffffffffffUL;
    sidx[uint(i)] = 0x7fffffff;
    return;
  }
  int64_t key = key_row(i);
  if (key < 0) {
    atomicOr(status[0], SH_BAD);
    key = 0;
  } else {
    const uint o4 = uint(uint64_t(pc.u[0]) + 4ul * i);
    const int f = int(pc.u[1]);
    key = sh_pack(pc.p[0], pc.p[5], pc.p[6], pc.p[7], int64_t(c[o4]), int64_t(c[o4 + 1u] / f),
                  int64_t(c[o4 + 2u] / f), int64_t(c[o4 + 3u] / f));
  }
  skey[uint(i)] = uint64_t(key);
  sidx[uint(i)] = int(i);
}
#endif

#if defined(SH_BITONIC)
layout(std430, binding = 0) buffer SKey { uint64_t skey[]; };
layout(std430, binding = 1) buffer SIdx { int sidx[]; };
// p[0] = j, p[1] = block size
void main() {
  const uint64_t i = GLOBAL_ID_1D(pc.base);
  if (i >= pc.count) return;
  const uint64_t l = i ^ uint64_t(pc.p[0]);
  if (l <= i) return;
  const uint64_t a = skey[uint(i)], b = skey[uint(l)];
  const int ia = sidx[uint(i)], ib = sidx[uint(l)];
  const bool greater = a > b || (a == b && ia > ib);
  const bool up = (i & uint64_t(pc.p[1])) == 0ul;
  if (greater == up) {
    skey[uint(i)] = b;
    skey[uint(l)] = a;
    sidx[uint(i)] = ib;
    sidx[uint(l)] = ia;
  }
}
#endif

#if defined(SH_FLAGS)
layout(std430, binding = 0) readonly buffer SKey { uint64_t skey[]; };
layout(std430, binding = 1) writeonly buffer Flags { int flags[]; };
void main() {
  const uint64_t i = GLOBAL_ID_1D(pc.base);
  if (i >= pc.count) return;
  flags[uint(i)] = (i == 0ul || skey[uint(i)] != skey[uint(i - 1ul)]) ? 1 : 0;
}
#endif

#if defined(SH_SCAN)
layout(std430, binding = 0) readonly buffer In { int a[]; };
layout(std430, binding = 1) writeonly buffer Out { int b[]; };
// p[0] = distance s (Hillis-Steele inclusive scan step)
void main() {
  const uint64_t i = GLOBAL_ID_1D(pc.base);
  if (i >= pc.count) return;
  const uint64_t s = uint64_t(pc.p[0]);
  b[uint(i)] = a[uint(i)] + (i >= s ? a[uint(i - s)] : 0);
}
#endif

#if defined(SH_UNIQUE_SCATTER)
layout(std430, binding = 0) readonly buffer SKey { uint64_t skey[]; };
layout(std430, binding = 1) readonly buffer SIdx { int sidx[]; };
layout(std430, binding = 2) readonly buffer Scan { int scan[]; };
layout(std430, binding = 3) writeonly buffer UC { int uc[]; };
layout(std430, binding = 4) writeonly buffer Inv { int inv[]; };
layout(std430, binding = 5) writeonly buffer Cnt { int cnt[]; };
// p[0..2] = parent W, H, D; u[0..2] = uc, inv, count offsets
void main() {
  const uint64_t i = GLOBAL_ID_1D(pc.base);
  if (i >= pc.count) return;
  const int r = scan[uint(i)] - 1;
  inv[pc.u[1] + uint(sidx[uint(i)])] = r;
  if (i == 0ul || skey[uint(i)] != skey[uint(i - 1ul)]) {
    uint64_t k = skey[uint(i)];
    const uint o4 = pc.u[0] + 4u * uint(r);
    const uint64_t W = uint64_t(pc.p[0]), H = uint64_t(pc.p[1]), D = uint64_t(pc.p[2]);
    uc[o4 + 3u] = int(k % D);
    k /= D;
    uc[o4 + 2u] = int(k % H);
    k /= H;
    uc[o4 + 1u] = int(k % W);
    uc[o4] = int(k / W);
  }
  if (i == pc.count - 1ul) cnt[pc.u[2]] = scan[uint(i)];
}
#endif

#if defined(SH_SUBIDX)
layout(std430, binding = 1) writeonly buffer Sub { int sub[]; };
// u[1] = factor, u[2] = sub offset
void main() {
  const uint64_t i = GLOBAL_ID_1D(pc.base);
  if (i >= pc.count) return;
  const uint o4 = uint(uint64_t(pc.u[0]) + 4ul * i);
  const int f = int(pc.u[1]);
  sub[uint(uint64_t(pc.u[2]) + i)] = c[o4 + 1u] % f + (c[o4 + 2u] % f) * f + (c[o4 + 3u] % f) * f * f;
}
#endif

#if defined(SH_OCC_FLAGS)
layout(std430, binding = 0) readonly buffer X { uint x[]; };
layout(std430, binding = 1) writeonly buffer Flags { int flags[]; };
// u[0] = x element offset, u[1] = threshold bits (f32)
void main() {
  const uint64_t i = GLOBAL_ID_1D(pc.base);
  if (i >= pc.count) return;
  const uint e = pc.u[0] + uint(i);
  flags[uint(i)] = LOAD_ELEM(x, DT, e) > uintBitsToFloat(pc.u[1]) ? 1 : 0;
}
#endif

#if defined(SH_OCC_SCATTER)
layout(std430, binding = 0) readonly buffer Scan { int scan[]; };
layout(std430, binding = 1) writeonly buffer Out { int o[]; };
layout(std430, binding = 2) writeonly buffer Cnt { int cnt[]; };
// p[0..2] = X, Y, Z; u[0] = out offset, u[1] = count offset
void main() {
  const uint64_t i = GLOBAL_ID_1D(pc.base);
  if (i >= pc.count) return;
  const int prev = i == 0ul ? 0 : scan[uint(i - 1ul)];
  if (scan[uint(i)] != prev) {
    const uint64_t X = uint64_t(pc.p[0]), Y = uint64_t(pc.p[1]), Z = uint64_t(pc.p[2]);
    const uint o4 = pc.u[0] + 4u * uint(prev);
    o[o4] = int(i / (X * Y * Z));
    o[o4 + 1u] = int(i / (Y * Z) % X);
    o[o4 + 2u] = int(i / Z % Y);
    o[o4 + 3u] = int(i % Z);
  }
  if (i == pc.count - 1ul) cnt[pc.u[1]] = scan[uint(i)];
}
#endif

#if defined(SH_BATCH_HIST)
layout(std430, binding = 1) buffer Cnt { int cnt[]; };
layout(std430, binding = 2) buffer Status { int status[]; };
// p[0] = B
void main() {
  const uint64_t i = GLOBAL_ID_1D(pc.base);
  if (i >= pc.count) return;
  const int b = c[uint(uint64_t(pc.u[0]) + 4ul * i)];
  if (b < 0 || int64_t(b) >= pc.p[0]) {
    atomicOr(status[0], SH_BAD);
    return;
  }
  atomicAdd(cnt[b + 1], 1);
}
#endif
