// sparse_conv3d as a masked implicit GEMM (portable: f32 FMA in shared-memory
// tiles, no extension):
//   out[i, co] = bias[co] + sum_v sum_ci feats[nbr[i, v], ci] * w[co, v Cin + ci].
// Workgroup (x, y) = (row tile, co tile): BM consecutive rows of the row order
// (order[], sparse_conv_order: rows sorted by neighbour mask) x BN output
// channels, TM x TN per invocation (rows ty + i TY, channels tx + j TX); results
// go to the rows' original positions. For each kernel offset
// v the tile's neighbour rows go to shared memory, and v is skipped when none
// of them exists (uniform branch). Then over Cin in BK steps the gathered
// features and the weights are staged as f32, both read with ci fastest.
// Entries outside [0, N) are missing neighbours. One rounding to out's dtype.
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
layout(constant_id = 1) const uint DT = 0;  // feats, w and out
layout(constant_id = 2) const bool HAS_BIAS = false;

layout(std430, binding = 0) readonly buffer F { uint f[]; };
layout(std430, binding = 1) readonly buffer Nb { int nbr[]; };
layout(std430, binding = 2) readonly buffer Wt { uint w[]; };
layout(std430, binding = 3) readonly buffer Bias { float bias[]; };
layout(std430, binding = 4) buffer Y { uint y[]; };
layout(std430, binding = 5) readonly buffer Ord { int order[]; };

layout(push_constant) uniform PC {
  uint N, Cin, Cout, K;
  uint f_off, n_off, w_off, b_off, y_off, o_off;
  uint tile_x0, tile_y0;
} pc;

shared float As[BK * (BM + PAD)];
shared float Bs[BK * (BN + PAD)];
shared int rows[BM];
shared int orow[BM];  // original row of each tile row, -1 outside [0, N)
shared uint any_row;

void main() {
  const uint tid = gl_LocalInvocationID.x;
  const uint tx = tid % TX, ty = tid / TX;
  const uint r0 = (pc.tile_x0 + gl_WorkGroupID.x) * BM;
  const uint co0 = (pc.tile_y0 + gl_WorkGroupID.y) * BN;
  const uint KC = pc.K * pc.Cin;

  if (tid < BM) {
    int o = -1;
    if (r0 + tid < pc.N) o = order[pc.o_off + r0 + tid];
    orow[tid] = (o >= 0 && uint(o) < pc.N) ? o : -1;
  }

  float acc[TM][TN];
  [[unroll]] for (int i = 0; i < TM; ++i)
    [[unroll]] for (int j = 0; j < TN; ++j) acc[i][j] = 0.0;

  for (uint v = 0u; v < pc.K; ++v) {
    barrier();
    if (tid == 0u) any_row = 0u;
    barrier();
    if (tid < BM) {
      int j = -1;
      const int o = orow[tid];
      if (o >= 0) j = nbr[pc.n_off + uint(o) * pc.K + v];
      if (j < 0 || uint(j) >= pc.N) j = -1;
      rows[tid] = j;
      if (j >= 0) atomicOr(any_row, 1u);
    }
    barrier();
    if (any_row == 0u) continue;  // uniform: every invocation read the same value after the barrier
    for (uint c0 = 0u; c0 < pc.Cin; c0 += BK) {
      barrier();
      [[unroll]] for (int s = 0; s < EA; ++s) {
        uint l = tid + uint(s) * NT;
        uint kk = l % BK, m = l / BK, c = c0 + kk;
        int j = rows[m];
        As[kk * (BM + PAD) + m] = (j >= 0 && c < pc.Cin) ? LOAD_ELEM(f, DT, pc.f_off + uint(j) * pc.Cin + c) : 0.0;
      }
      [[unroll]] for (int s = 0; s < EB; ++s) {
        uint l = tid + uint(s) * NT;
        uint kk = l % BK, n = l / BK, c = c0 + kk, co = co0 + n;
        Bs[kk * (BN + PAD) + n] = (co < pc.Cout && c < pc.Cin) ? LOAD_ELEM(w, DT, pc.w_off + co * KC + v * pc.Cin + c) : 0.0;
      }
      barrier();
      [[unroll]] for (int kk = 0; kk < BK; ++kk) {
        float av[TM], bv[TN];
        [[unroll]] for (int i = 0; i < TM; ++i) av[i] = As[kk * (BM + PAD) + ty + i * TY];
        [[unroll]] for (int j = 0; j < TN; ++j) bv[j] = Bs[kk * (BN + PAD) + tx + j * TX];
        [[unroll]] for (int i = 0; i < TM; ++i)
          [[unroll]] for (int j = 0; j < TN; ++j) acc[i][j] = fma(av[i], bv[j], acc[i][j]);
      }
    }
  }

  [[unroll]] for (int i = 0; i < TM; ++i) {
    const int o = orow[ty + i * TY];
    if (o < 0) continue;
    const uint row = uint(o);
    [[unroll]] for (int j = 0; j < TN; ++j) {
      uint co = co0 + tx + j * TX;
      if (co < pc.Cout) {
        float bi = HAS_BIAS ? bias[pc.b_off + co] : 0.0;
        STORE_ELEM_ATOMIC(y, DT, pc.y_off + row * pc.Cout + co, acc[i][j] + bi)
      }
    }
  }
}
