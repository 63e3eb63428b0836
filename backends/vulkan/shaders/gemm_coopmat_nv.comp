// Tensor-core GEMM for linear with f16 x and w (GL_NV_cooperative_matrix):
// f16 A/B fragments, f32 accumulators, one rounding to y's dtype at the end.
// Compile-time configuration (-D): TILE_M x TILE_N tile of y per workgroup,
// WG_M x WG_N subgroups of 32, TILE_K-deep k steps, CM_M x CM_N x CM_K
// fragments (the host checks the device lists that shape), DOUBLE_BUF for two
// shared-memory stages (one barrier per k step). Global loads for the next k
// step go to registers while the current one is multiplied. Ragged M, N, K
// are zero-padded in the loads and masked in the epilogue, which goes through
// shared memory so that each lane writes whole 32-bit words.
#version 450
#extension GL_EXT_control_flow_attributes : enable
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_memory_scope_semantics : enable
#extension GL_NV_cooperative_matrix : require
#include "common.glsl"

#ifndef TILE_M
#define TILE_M 128
#define TILE_N 128
#define TILE_K 32
#define WG_M 2
#define WG_N 4
#define DOUBLE_BUF 1
#endif
#ifndef CM_M
#define CM_M 16
#define CM_N 16
#define CM_K 16
#endif
#ifndef DOUBLE_BUF
#define DOUBLE_BUF 0
#endif
#define STAGES (DOUBLE_BUF + 1)
#define NT (32 * WG_M * WG_N)
#define ROW_H (TILE_K + 8)  // halves per shared row (8 halves of padding against bank conflicts)
#define ROW_V (ROW_H / 8)   // uvec4 per shared row
#define VPR (TILE_K / 8)    // uvec4 per tile row in global memory
#define LA (TILE_M * VPR / NT)  // uvec4 of A each invocation loads per k step
#define LB (TILE_N * VPR / NT)
#define A_V (TILE_M * ROW_V)    // uvec4 of one A stage
#define B_V (TILE_N * ROW_V)
#define C_ROWS (TILE_M / WG_M / CM_M)
#define C_COLS (TILE_N / WG_N / CM_N)
#define SCRATCH_V (CM_M * CM_N / 4)  // uvec4 of one subgroup's epilogue scratch

layout(local_size_x = NT) in;
layout(constant_id = 3) const uint BT = 0;
layout(constant_id = 4) const uint YT = 0;
layout(constant_id = 5) const bool HAS_BIAS = false;
layout(constant_id = 6) const bool ALIGNED = false;  // K, x_off, w_off multiples of 8: 16-byte loads

layout(std430, binding = 0) readonly buffer X { uint x[]; };
layout(std430, binding = 0) readonly buffer X4 { uvec4 x4[]; };
layout(std430, binding = 1) readonly buffer W { uint w[]; };
layout(std430, binding = 1) readonly buffer W4 { uvec4 w4[]; };
layout(std430, binding = 2) readonly buffer Bias { uint bias[]; };
layout(std430, binding = 3) buffer Y { uint y[]; };

layout(push_constant) uniform PC {
  uint M, N, K;
  uint x_off, w_off, b_off, y_off;
  uint tile_x0, tile_y0;
} pc;

// All stages of A then B; the epilogue reuses the start as scratch.
#define SH_V (STAGES * (A_V + B_V))
#if SH_V < WG_M * WG_N * SCRATCH_V
#undef SH_V
#define SH_V (WG_M * WG_N * SCRATCH_V)
#endif
shared uvec4 sh[SH_V];

uint half_bits(uint word, uint i) { return (word >> ((i & 1u) * 16u)) & 0xffffu; }

// 8 consecutive f16 of row r of x / w starting at column k; zeros outside.
uvec4 load8_x(uint r, uint k) {
  if (r >= pc.M || k >= pc.K) return uvec4(0);
  uint e = pc.x_off + r * pc.K + k;
  if (ALIGNED) return x4[e >> 3];
  uint h[8];
  [[unroll]] for (uint t = 0; t < 8; ++t) h[t] = (k + t < pc.K) ? half_bits(x[(e + t) >> 1], e + t) : 0u;
  return uvec4(h[0] | (h[1] << 16), h[2] | (h[3] << 16), h[4] | (h[5] << 16), h[6] | (h[7] << 16));
}
uvec4 load8_w(uint r, uint k) {
  if (r >= pc.N || k >= pc.K) return uvec4(0);
  uint e = pc.w_off + r * pc.K + k;
  if (ALIGNED) return w4[e >> 3];
  uint h[8];
  [[unroll]] for (uint t = 0; t < 8; ++t) h[t] = (k + t < pc.K) ? half_bits(w[(e + t) >> 1], e + t) : 0u;
  return uvec4(h[0] | (h[1] << 16), h[2] | (h[3] << 16), h[4] | (h[5] << 16), h[6] | (h[7] << 16));
}

void store_one(uint row, uint col, float v) {
  uint idx = pc.y_off + row * pc.N + col;
  if (YT == DT_F32) {
    y[idx] = floatBitsToUint(v);
  } else {  // the other half of the word may belong to another lane
    uint shift = (idx & 1u) * 16u;
    atomicAnd(y[idx >> 1], ~(0xffffu << shift));
    atomicOr(y[idx >> 1], from_f32(v, YT) << shift);
  }
}

float scratch_at(uint i) { return uintBitsToFloat(sh[i >> 2][i & 3u]); }

void main() {
  const uint tid = gl_LocalInvocationID.x;
  const uint sg = gl_SubgroupID;
  const uint lane = gl_SubgroupInvocationID;
  const uint wm = sg / WG_N, wn = sg % WG_N;
  const uint m0 = (pc.tile_y0 + gl_WorkGroupID.y) * TILE_M;
  const uint n0 = (pc.tile_x0 + gl_WorkGroupID.x) * TILE_N;

  fcoopmatNV<32, gl_ScopeSubgroup, CM_M, CM_N> acc[C_ROWS][C_COLS];
  [[unroll]] for (uint i = 0; i < C_ROWS; ++i)
    [[unroll]] for (uint j = 0; j < C_COLS; ++j) acc[i][j] = fcoopmatNV<32, gl_ScopeSubgroup, CM_M, CM_N>(0.0);

  uvec4 ra[LA], rb[LB];
  [[unroll]] for (uint s = 0; s < LA; ++s) {
    uint l = tid + s * NT;
    ra[s] = load8_x(m0 + l / VPR, (l % VPR) * 8);
  }
  [[unroll]] for (uint s = 0; s < LB; ++s) {
    uint l = tid + s * NT;
    rb[s] = load8_w(n0 + l / VPR, (l % VPR) * 8);
  }

  uint stage = 0;
#if DOUBLE_BUF
  // Stage 0 filled before the loop; each iteration fills the other stage.
  [[unroll]] for (uint s = 0; s < LA; ++s) {
    uint l = tid + s * NT;
    sh[(l / VPR) * ROW_V + l % VPR] = ra[s];
  }
  [[unroll]] for (uint s = 0; s < LB; ++s) {
    uint l = tid + s * NT;
    sh[A_V + (l / VPR) * ROW_V + l % VPR] = rb[s];
  }
  barrier();
#endif
  for (uint k0 = 0; k0 < pc.K; k0 += TILE_K) {
    const bool more = k0 + TILE_K < pc.K;
#if !DOUBLE_BUF
    barrier();
    [[unroll]] for (uint s = 0; s < LA; ++s) {
      uint l = tid + s * NT;
      sh[(l / VPR) * ROW_V + l % VPR] = ra[s];
    }
    [[unroll]] for (uint s = 0; s < LB; ++s) {
      uint l = tid + s * NT;
      sh[A_V + (l / VPR) * ROW_V + l % VPR] = rb[s];
    }
    barrier();
#endif
    if (more) {
      [[unroll]] for (uint s = 0; s < LA; ++s) {
        uint l = tid + s * NT;
        ra[s] = load8_x(m0 + l / VPR, k0 + TILE_K + (l % VPR) * 8);
      }
      [[unroll]] for (uint s = 0; s < LB; ++s) {
        uint l = tid + s * NT;
        rb[s] = load8_w(n0 + l / VPR, k0 + TILE_K + (l % VPR) * 8);
      }
    }
    const uint abase = stage * (A_V + B_V), bbase = abase + A_V;
    [[unroll]] for (uint kk = 0; kk < TILE_K; kk += CM_K) {
      fcoopmatNV<16, gl_ScopeSubgroup, CM_M, CM_K> a[C_ROWS];
      [[unroll]] for (uint i = 0; i < C_ROWS; ++i) {
        uint r = wm * (TILE_M / WG_M) + i * CM_M;
        coopMatLoadNV(a[i], sh, abase + (r * ROW_H + kk) / 8, ROW_V, false);
      }
      [[unroll]] for (uint j = 0; j < C_COLS; ++j) {
        uint c = wn * (TILE_N / WG_N) + j * CM_N;
        fcoopmatNV<16, gl_ScopeSubgroup, CM_K, CM_N> b;
        coopMatLoadNV(b, sh, bbase + (c * ROW_H + kk) / 8, ROW_V, true);  // w rows are B's columns
        [[unroll]] for (uint i = 0; i < C_ROWS; ++i) acc[i][j] = coopMatMulAddNV(a[i], b, acc[i][j]);
      }
    }
#if DOUBLE_BUF
    if (more) {
      const uint nb = (stage ^ 1u) * (A_V + B_V);
      [[unroll]] for (uint s = 0; s < LA; ++s) {
        uint l = tid + s * NT;
        sh[nb + (l / VPR) * ROW_V + l % VPR] = ra[s];
      }
      [[unroll]] for (uint s = 0; s < LB; ++s) {
        uint l = tid + s * NT;
        sh[nb + A_V + (l / VPR) * ROW_V + l % VPR] = rb[s];
      }
    }
    barrier();
    stage ^= 1u;
#endif
  }

  // Epilogue: fragment -> shared scratch -> (bias, rounding) -> global words.
  barrier();  // the scratch aliases the A/B stages
  const uint sbase = sg * SCRATCH_V;  // in uvec4
  [[unroll]] for (uint i = 0; i < C_ROWS; ++i)
    [[unroll]] for (uint j = 0; j < C_COLS; ++j) {
      coopMatStoreNV(acc[i][j], sh, sbase, CM_N / 4, false);
      subgroupMemoryBarrierShared();
      subgroupBarrier();
      const uint r0 = m0 + wm * (TILE_M / WG_M) + i * CM_M;
      const uint c0 = n0 + wn * (TILE_N / WG_N) + j * CM_N;
      [[unroll]] for (uint p = lane; p < CM_M * CM_N / 2; p += 32) {
        uint r = p / (CM_N / 2), c = (p % (CM_N / 2)) * 2;
        uint row = r0 + r, col = c0 + c;
        if (row < pc.M && col < pc.N) {
          float v0 = scratch_at(sbase * 4 + r * CM_N + c);
          float v1 = scratch_at(sbase * 4 + r * CM_N + c + 1);
          if (HAS_BIAS) {
            v0 += LOAD_ELEM(bias, BT, pc.b_off + col);
            if (col + 1 < pc.N) v1 += LOAD_ELEM(bias, BT, pc.b_off + col + 1);
          }
          uint idx = pc.y_off + row * pc.N + col;
          if (YT == DT_F32) {
            y[idx] = floatBitsToUint(v0);
            if (col + 1 < pc.N) y[idx + 1] = floatBitsToUint(v1);
          } else if ((idx & 1u) == 0u && col + 1 < pc.N) {
            y[idx >> 1] = from_f32(v0, YT) | (from_f32(v1, YT) << 16);
          } else {
            store_one(row, col, v0);
            if (col + 1 < pc.N) store_one(row, col + 1, v1);
          }
        }
      }
      subgroupMemoryBarrierShared();
      subgroupBarrier();
    }
}
