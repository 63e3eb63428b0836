// conv3d as an implicit GEMM: for batch n,
//   out[n, co, s] = sum_kk w[co, kk] * col[kk, s] (+ bias[co]),
// kk = (ci, dz, dy, dx) over Cin k^3, s = (z, y, x) over D H W, and
// col[kk, s] = x[n, ci, z + dz - k/2, y + dy - k/2, x + dx - k/2] (zero outside:
// stride 1, same padding). The column tile is gathered on the fly (no im2col
// buffer). Tiles as gemm.comp: BM (co) x BN (s) per workgroup, BK-deep k steps
// through shared memory with a register prefetch; TM x TN per invocation;
// f32 products and sums, one rounding to out's dtype. Workgroup (x, y) =
// (spatial tile, n * co tiles + co tile).
#version 450
#extension GL_EXT_control_flow_attributes : enable
#include "common.glsl"

#define BM 64
#define BN 64
#define BK 16
#define TM 4
#define TN 4
#define TX (BN / TN)
#define TY (BM / TM)
#define NT (TX * TY)
#define EA (BM * BK / NT)
#define EB (BN * BK / NT)
#define PAD 1

layout(local_size_x = NT) in;
layout(constant_id = 1) const uint DT = 0;  // x, w and out
layout(constant_id = 2) const bool HAS_BIAS = false;

layout(std430, binding = 0) readonly buffer X { uint x[]; };
layout(std430, binding = 1) readonly buffer Wt { uint w[]; };
layout(std430, binding = 2) readonly buffer Bias { float bias[]; };
layout(std430, binding = 3) buffer Y { uint y[]; };

layout(push_constant) uniform PC {
  uint Cout, Cin, D, H, W, k;
  uint co_tiles;
  uint x_off, w_off, b_off, y_off;
  uint tile_x0, tile_y0;
} pc;

shared float As[BK * (BM + PAD)];
shared float Bs[BK * (BN + PAD)];

void main() {
  const uint tid = gl_LocalInvocationID.x;
  const uint tx = tid % TX, ty = tid / TX;
  const uint ty_all = pc.tile_y0 + gl_WorkGroupID.y;
  const uint nb = ty_all / pc.co_tiles;
  const uint m0 = (ty_all % pc.co_tiles) * BM;
  const uint n0 = (pc.tile_x0 + gl_WorkGroupID.x) * BN;
  const uint HW = pc.H * pc.W, S = pc.D * HW;
  const uint k = pc.k, k2 = k * k, k3 = k2 * k, pad = k / 2u;
  const uint M = pc.Cout, K = pc.Cin * k3;
  const uint xbase = pc.x_off + nb * pc.Cin * S;

  float acc[TM][TN];
  [[unroll]] for (int i = 0; i < TM; ++i)
    [[unroll]] for (int j = 0; j < TN; ++j) acc[i][j] = 0.0;

  float ra[EA], rb[EB];
#define LOAD_TILE(k0)                                                                   \
  [[unroll]] for (int s = 0; s < EA; ++s) {                                             \
    uint l = tid + uint(s) * NT;                                                        \
    uint r = m0 + l / BK, kk = (k0) + l % BK;                                           \
    ra[s] = (r < M && kk < K) ? LOAD_ELEM(w, DT, pc.w_off + r * K + kk) : 0.0;          \
  }                                                                                     \
  [[unroll]] for (int s = 0; s < EB; ++s) {                                             \
    uint l = tid + uint(s) * NT;                                                        \
    uint c = n0 + l / BK, kk = (k0) + l % BK;                                           \
    float v = 0.0;                                                                      \
    if (c < S && kk < K) {                                                              \
      uint ci = kk / k3, kr = kk % k3;                                                  \
      int zz = int(c / HW) + int(kr / k2) - int(pad);                                   \
      int yy = int((c / pc.W) % pc.H) + int((kr / k) % k) - int(pad);                   \
      int xx = int(c % pc.W) + int(kr % k) - int(pad);                                  \
      if (zz >= 0 && zz < int(pc.D) && yy >= 0 && yy < int(pc.H) && xx >= 0 && xx < int(pc.W)) \
        v = LOAD_ELEM(x, DT, xbase + ci * S + (uint(zz) * pc.H + uint(yy)) * pc.W + uint(xx)); \
    }                                                                                   \
    rb[s] = v;                                                                          \
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

  [[unroll]] for (int i = 0; i < TM; ++i) {
    uint row = m0 + ty + i * TY;
    if (row >= M) continue;
    float bi = HAS_BIAS ? bias[pc.b_off + row] : 0.0;
    [[unroll]] for (int j = 0; j < TN; ++j) {
      uint col = n0 + tx + j * TX;
      if (col < S) {
        uint idx = pc.y_off + (nb * M + row) * S + col;
        STORE_ELEM_ATOMIC(y, DT, idx, acc[i][j] + bi)
      }
    }
  }
}
