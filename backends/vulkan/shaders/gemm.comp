// Portable tiled GEMM for linear: y[M,N] = x[M,K] . w[N,K]^T (+ bias[N]).
// Any of f32/f16/bf16 for x, w, bias and y (specialization constants);
// products and sums in f32; one rounding to y's dtype at the end.
// Workgroup tile BM x BN (compile-time -D), BK-deep k steps through shared
// memory (k-major, so each k step is a row of BM / BN floats) with a register
// prefetch of the next k step (STAGES=2: two shared stages, one barrier per
// k step; 1: one stage, two barriers). Each invocation accumulates a TM x TN block made
// of 4x4 pieces: rows g*(BM/RM) + ty*4 + 0..3 and columns g*(BN/RN) + tx*4 + 0..3,
// so the shared reads are 16-byte vectors (a warp reads 2 A and 16 B vectors:
// broadcast / conflict-free) and every invocation writes runs of 4 columns.
// Global loads take 4 consecutive k (16 bytes of f32, 8 of f16/bf16) when K
// and the offsets allow (ALIGNED4), else single elements.
// Ragged M, N, K are zero-padded in the loads and masked in the stores.
#version 450
#extension GL_EXT_control_flow_attributes : enable
#include "common.glsl"

#ifndef BM
#define BM 64
#define BN 64
#define BK 16
#define TM 4
#define TN 4
#endif
#define RM (TM / 4)   // 4-row pieces per invocation
#define RN (TN / 4)   // 4-column pieces per invocation
#define TX (BN / TN)  // invocations along N
#define TY (BM / TM)  // invocations along M
#define NT (TX * TY)
#define KV (BK / 4)             // 4-element k groups per tile row
#define EA (BM * KV / NT)       // k groups of x each invocation loads per k step
#define EB (BN * KV / NT)
#define SA (BM + 4)             // floats per shared k row (+4: conflict-light transposed stores)
#define SB (BN + 4)

layout(local_size_x = NT) in;
layout(constant_id = 1) const uint XT = 0;
layout(constant_id = 2) const uint WT = 0;
layout(constant_id = 3) const uint BT = 0;
layout(constant_id = 4) const uint YT = 0;
layout(constant_id = 5) const bool HAS_BIAS = false;
layout(constant_id = 6) const bool ALIGNED4 = false;  // K, x_off, w_off multiples of 4
layout(constant_id = 7) const uint ACT = 0;  // fused epilogue activation (tx_activate codes; 0 none)

layout(std430, binding = 0) readonly buffer X { uint x[]; };
layout(std430, binding = 0) readonly buffer X2 { uvec2 x2[]; };
layout(std430, binding = 0) readonly buffer X4 { uvec4 x4[]; };
layout(std430, binding = 1) readonly buffer W { uint w[]; };
layout(std430, binding = 1) readonly buffer W2 { uvec2 w2[]; };
layout(std430, binding = 1) readonly buffer W4 { uvec4 w4[]; };
layout(std430, binding = 2) readonly buffer Bias { uint bias[]; };
layout(std430, binding = 3) buffer Y { uint y[]; };

layout(push_constant) uniform PC {
  uint M, N, K;
  uint x_off, w_off, b_off, y_off;  // element offsets inside the bindings
  uint tile_x0, tile_y0;            // first tile of this dispatch (N, M)
} pc;

#ifndef STAGES
#define STAGES 1
#endif
#define A_ST (BK * SA / 4)  // vec4 per stage
#define B_ST (BK * SB / 4)
shared vec4 As[STAGES * A_ST];
shared vec4 Bs[STAGES * B_ST];

// Four 16-bit elements (two words) -> f32.
vec4 unpack16x4(uvec2 v, uint dt) {
  return vec4(to_f32(v.x, dt), to_f32(v.x >> 16, dt), to_f32(v.y, dt), to_f32(v.y >> 16, dt));
}

// x[r, k..k+3] as f32 (zeros outside the matrix).
vec4 load4_x(uint r, uint k) {
  if (r >= pc.M || k >= pc.K) return vec4(0.0);
  uint e = pc.x_off + r * pc.K + k;
  if (ALIGNED4) {
    if (XT == DT_F32) return uintBitsToFloat(x4[e >> 2]);
    return unpack16x4(x2[e >> 2], XT);
  }
  vec4 v;
  [[unroll]] for (uint t = 0; t < 4; ++t) v[t] = (k + t < pc.K) ? LOAD_ELEM(x, XT, e + t) : 0.0;
  return v;
}
vec4 load4_w(uint r, uint k) {
  if (r >= pc.N || k >= pc.K) return vec4(0.0);
  uint e = pc.w_off + r * pc.K + k;
  if (ALIGNED4) {
    if (WT == DT_F32) return uintBitsToFloat(w4[e >> 2]);
    return unpack16x4(w2[e >> 2], WT);
  }
  vec4 v;
  [[unroll]] for (uint t = 0; t < 4; ++t) v[t] = (k + t < pc.K) ? LOAD_ELEM(w, WT, e + t) : 0.0;
  return v;
}

void store_one(uint idx, float v) {
  if (YT == DT_F32) {
    y[idx] = floatBitsToUint(v);
  } else {
    // Two invocations may own the halves of one word: update ours atomically.
    uint shift = (idx & 1u) * 16u;
    atomicAnd(y[idx >> 1], ~(0xffffu << shift));
    atomicOr(y[idx >> 1], from_f32(v, YT) << shift);
  }
}

void main() {
  const uint tid = gl_LocalInvocationID.x;
  const uint tx = tid % TX, ty = tid / TX;
  const uint m0 = (pc.tile_y0 + gl_WorkGroupID.y) * BM;
  const uint n0 = (pc.tile_x0 + gl_WorkGroupID.x) * BN;
  const uint M = pc.M, N = pc.N, K = pc.K;

  vec4 acc[TM][RN];
  [[unroll]] for (int i = 0; i < TM; ++i)
    [[unroll]] for (int j = 0; j < RN; ++j) acc[i][j] = vec4(0.0);

  vec4 ra[EA], rb[EB];
#define LOAD_TILE(k0)                                             \
  [[unroll]] for (int s = 0; s < EA; ++s) {                       \
    uint l = tid + uint(s) * NT;                                  \
    ra[s] = load4_x(m0 + l / KV, (k0) + (l % KV) * 4);            \
  }                                                               \
  [[unroll]] for (int s = 0; s < EB; ++s) {                       \
    uint l = tid + uint(s) * NT;                                  \
    rb[s] = load4_w(n0 + l / KV, (k0) + (l % KV) * 4);            \
  }

  // Transposed stores: k group (l % KV) of row (l / KV) -> 4 k rows of stage st.
#define STORE_TILE(st)                                                                                     \
  [[unroll]] for (int s = 0; s < EA; ++s) {                                                                \
    uint l = tid + uint(s) * NT;                                                                           \
    uint r = l / KV, kq = (l % KV) * 4;                                                                    \
    [[unroll]] for (uint t = 0; t < 4; ++t) As[(st) * A_ST + (((kq + t) * SA + r) >> 2)][r & 3u] = ra[s][t]; \
  }                                                                                                        \
  [[unroll]] for (int s = 0; s < EB; ++s) {                                                                \
    uint l = tid + uint(s) * NT;                                                                           \
    uint r = l / KV, kq = (l % KV) * 4;                                                                    \
    [[unroll]] for (uint t = 0; t < 4; ++t) Bs[(st) * B_ST + (((kq + t) * SB + r) >> 2)][r & 3u] = rb[s][t]; \
  }
#define COMPUTE(st)                                                                                        \
  [[unroll]] for (uint kk = 0; kk < BK; ++kk) {                                                            \
    vec4 av[RM], bv[RN];                                                                                   \
    [[unroll]] for (uint g = 0; g < RM; ++g) av[g] = As[(st) * A_ST + ((kk * SA + g * (BM / RM) + ty * 4) >> 2)]; \
    [[unroll]] for (uint g = 0; g < RN; ++g) bv[g] = Bs[(st) * B_ST + ((kk * SB + g * (BN / RN) + tx * 4) >> 2)]; \
    [[unroll]] for (uint g = 0; g < RM; ++g)                                                               \
      [[unroll]] for (uint i = 0; i < 4; ++i)                                                              \
        [[unroll]] for (uint j = 0; j < RN; ++j) acc[g * 4 + i][j] = fma(vec4(av[g][i]), bv[j], acc[g * 4 + i][j]); \
  }

  LOAD_TILE(0u)
#if STAGES == 2
  // Two shared stages: one barrier per k step.
  STORE_TILE(0u)
  barrier();
  uint st = 0u;
  for (uint k0 = 0u; k0 < K; k0 += BK) {
    const bool more = k0 + BK < K;
    if (more) {
      LOAD_TILE(k0 + BK)
    }
    COMPUTE(st)
    if (more) {
      STORE_TILE(st ^ 1u)
    }
    barrier();
    st ^= 1u;
  }
#else
  for (uint k0 = 0u; k0 < K; k0 += BK) {
    barrier();
    STORE_TILE(0u)
    barrier();
    if (k0 + BK < K) {
      LOAD_TILE(k0 + BK)
    }
    COMPUTE(0u)
  }
#endif

  // Epilogue: each invocation owns runs of 4 columns; 16-bit outputs go as
  // whole words where a pair of columns shares one.
  [[unroll]] for (uint j = 0; j < RN; ++j) {
    const uint c0 = n0 + j * (BN / RN) + tx * 4;
    vec4 bj = vec4(0.0);
    if (HAS_BIAS)
      [[unroll]] for (uint t = 0; t < 4; ++t) bj[t] = c0 + t < N ? LOAD_ELEM(bias, BT, pc.b_off + c0 + t) : 0.0;
    [[unroll]] for (uint g = 0; g < RM; ++g)
      [[unroll]] for (uint i = 0; i < 4; ++i) {
        uint row = m0 + g * (BM / RM) + ty * 4 + i;
        if (row >= M) continue;
        vec4 v = acc[g * 4 + i][j] + bj;
        if (ACT != 0u) v = vec4(tx_activate(v.x, ACT), tx_activate(v.y, ACT), tx_activate(v.z, ACT), tx_activate(v.w, ACT));
        uint idx = pc.y_off + row * N + c0;
        if (YT == DT_F32) {
          [[unroll]] for (uint t = 0; t < 4; ++t)
            if (c0 + t < N) y[idx + t] = floatBitsToUint(v[t]);
        } else if ((idx & 1u) == 0u && c0 + 3 < N) {
          if (YT == DT_F16) {  // the hardware conversion (round to nearest even, as from_f32)
            y[idx >> 1] = packHalf2x16(v.xy);
            y[(idx >> 1) + 1] = packHalf2x16(v.zw);
          } else {
            y[idx >> 1] = from_f32(v[0], YT) | (from_f32(v[1], YT) << 16);
            y[(idx >> 1) + 1] = from_f32(v[2], YT) | (from_f32(v[3], YT) << 16);
          }
        } else {
          [[unroll]] for (uint t = 0; t < 4; ++t)
            if (c0 + t < N) store_one(idx + t, v[t]);
        }
      }
  }
}
