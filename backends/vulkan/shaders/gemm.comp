// Portable tiled GEMM for linear: y[M,N] = x[M,K] . w[N,K]^T (+ bias[N]).
// Any of f32/f16/bf16 for x, w, bias and y (specialization constants);
// products and sums in f32; one rounding to y's dtype at the end.
// Workgroup tile BM x BN (compile-time -D), BK-deep k steps through shared
// memory with a register prefetch of the next k step; each invocation
// accumulates a TM x TN block (rows ty + i*BM/TM, columns tx + j*BN/TN, so
// shared reads are broadcast / conflict-free and stores coalesce).
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
#define TX (BN / TN)  // invocations along N
#define TY (BM / TM)  // invocations along M
#define NT (TX * TY)
#define EA (BM * BK / NT)  // x elements each invocation loads per k step
#define EB (BN * BK / NT)
#define PAD 1

layout(local_size_x = NT) in;
layout(constant_id = 1) const uint XT = 0;
layout(constant_id = 2) const uint WT = 0;
layout(constant_id = 3) const uint BT = 0;
layout(constant_id = 4) const uint YT = 0;
layout(constant_id = 5) const bool HAS_BIAS = false;

layout(std430, binding = 0) readonly buffer X { uint x[]; };
layout(std430, binding = 1) readonly buffer W { uint w[]; };
layout(std430, binding = 2) readonly buffer Bias { uint bias[]; };
layout(std430, binding = 3) buffer Y { uint y[]; };

layout(push_constant) uniform PC {
  uint M, N, K;
  uint x_off, w_off, b_off, y_off;  // element offsets inside the bindings
  uint tile_x0, tile_y0;            // first tile of this dispatch (N, M)
} pc;

shared float As[BK * (BM + PAD)];
shared float Bs[BK * (BN + PAD)];

void store_out(uint row, uint col, float v) {
  uint idx = pc.y_off + row * pc.N + col;
  if (YT == DT_F32) {
    y[idx] = floatBitsToUint(v);
  } else {
    // Two invocations may own the halves of one word: update ours atomically.
    uint bits = from_f32(v, YT);
    uint shift = (idx & 1u) * 16u;
    atomicAnd(y[idx >> 1], ~(0xffffu << shift));
    atomicOr(y[idx >> 1], bits << shift);
  }
}

void main() {
  const uint tid = gl_LocalInvocationID.x;
  const uint tx = tid % TX, ty = tid / TX;
  const uint m0 = (pc.tile_y0 + gl_WorkGroupID.y) * BM;
  const uint n0 = (pc.tile_x0 + gl_WorkGroupID.x) * BN;
  const uint M = pc.M, N = pc.N, K = pc.K;

  float acc[TM][TN];
  [[unroll]] for (int i = 0; i < TM; ++i)
    [[unroll]] for (int j = 0; j < TN; ++j) acc[i][j] = 0.0;

  float ra[EA], rb[EB];
  // Load the k step starting at k0 into registers (zeros outside the matrices).
#define LOAD_TILE(k0)                                                      \
  [[unroll]] for (int s = 0; s < EA; ++s) {                                \
    uint l = tid + uint(s) * NT;                                           \
    uint r = m0 + l / BK, k = (k0) + l % BK;                               \
    ra[s] = (r < M && k < K) ? LOAD_ELEM(x, XT, pc.x_off + r * K + k) : 0.0; \
  }                                                                        \
  [[unroll]] for (int s = 0; s < EB; ++s) {                                \
    uint l = tid + uint(s) * NT;                                           \
    uint c = n0 + l / BK, k = (k0) + l % BK;                               \
    rb[s] = (c < N && k < K) ? LOAD_ELEM(w, WT, pc.w_off + c * K + k) : 0.0; \
  }

  LOAD_TILE(0u)
  for (uint k0 = 0u; k0 < K; k0 += BK) {
    barrier();
    [[unroll]] for (int s = 0; s < EA; ++s) {
      uint l = tid + uint(s) * NT;
      As[(l % BK) * (BM + PAD) + l / BK] = ra[s];
    }
    [[unroll]] for (int s = 0; s < EB; ++s) {
      uint l = tid + uint(s) * NT;
      Bs[(l % BK) * (BN + PAD) + l / BK] = rb[s];
    }
    barrier();
    if (k0 + BK < K) {
      LOAD_TILE(k0 + BK)
    }
    [[unroll]] for (int kk = 0; kk < BK; ++kk) {
      float av[TM], bv[TN];
      [[unroll]] for (int i = 0; i < TM; ++i) av[i] = As[kk * (BM + PAD) + ty + i * TY];
      [[unroll]] for (int j = 0; j < TN; ++j) bv[j] = Bs[kk * (BN + PAD) + tx + j * TX];
      [[unroll]] for (int i = 0; i < TM; ++i)
        [[unroll]] for (int j = 0; j < TN; ++j) acc[i][j] = fma(av[i], bv[j], acc[i][j]);
    }
  }

  [[unroll]] for (int j = 0; j < TN; ++j) {
    uint col = n0 + tx + j * TX;
    if (col < N) {
      float bj = HAS_BIAS ? LOAD_ELEM(bias, BT, pc.b_off + col) : 0.0;
      [[unroll]] for (int i = 0; i < TM; ++i) {
        uint row = m0 + ty + i * TY;
        if (row < M) store_out(row, col, acc[i][j] + bj);
      }
    }
  }
}
