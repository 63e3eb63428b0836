// sparse_conv3d on tensor cores (GL_NV_cooperative_matrix), f16 feats /
// weight / out, f32 accumulators: the masked implicit GEMM of
// sparse_conv.comp with f16 fragments. A workgroup of 4 subgroups (32 lanes)
// owns 64 rows x 64 output channels; subgroup s owns rows 16 s .. 16 s + 15
// and keeps 4 accumulator fragments (16 x 16 each, f32). Per kernel offset v:
// the tile's neighbour rows go to shared memory, v is skipped when none
// exists; then per 16 input channels the gathered feature tile A [64 x 16]
// (row-major) and the weight tile [64 co x 16 ci] (read as the column-major
// B [16 x 64]) are staged as f16 bits in shared memory, and each subgroup does
// 4 coopMatMulAdd (f16 x f16 products are exact in f32, sums in f32).
// Epilogue: fragments -> shared f32 -> + bias -> one rounding to f16; whole
// 32-bit words when the output row stride and offset are even, else atomic
// half-word stores. Missing neighbours and tails are zero-filled.
// EMULATE builds a functional model without the extension (fragments as 8
// floats per lane, products through shared memory, workgroup barriers), so the
// algorithm is tested on devices without tensor cores (TESSERA_VK_SPARSE_CONV=coopmat_emu).
#version 450
#extension GL_EXT_control_flow_attributes : enable
#ifndef EMULATE
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_memory_scope_semantics : enable
#extension GL_NV_cooperative_matrix : require
#endif
#include "common.glsl"

#define BM 64
#define BN 64
#define NSG 4
#define NT (32 * NSG)
#define RS 3u                  // uvec4 per staged row: 16 halves + 8 halves of padding
#define AS 0u                  // A tile [64 rows][RS]
#define BS (AS + 64u * RS)     // W tile [64 co][RS]
#define CS (BS + 64u * RS)     // per subgroup: 16 x 64 f32 (256 uvec4); emulation scratch
#define SH_V (CS + NSG * 256u)

layout(local_size_x = NT) in;
layout(constant_id = 2) const bool HAS_BIAS = false;
layout(constant_id = 3) const bool EVEN = false;  // y_off and Cout even: whole-word stores

layout(std430, binding = 0) readonly buffer F { uint f[]; };
layout(std430, binding = 1) readonly buffer Nb { int nbr[]; };
layout(std430, binding = 2) readonly buffer Wt { uint w[]; };
layout(std430, binding = 3) readonly buffer Bias { float bias[]; };
layout(std430, binding = 4) buffer Y { uint y[]; };

layout(push_constant) uniform PC {
  uint N, Cin, Cout, K;
  uint f_off, n_off, w_off, b_off, y_off;
  uint co_tiles;
  uint tile_x0, tile_y0;
} pc;

shared uvec4 sh[SH_V];
shared int rows[BM];
shared uint any_row;

#ifdef EMULATE
#define SG_ID (gl_LocalInvocationID.x / 32u)
#define LANE (gl_LocalInvocationID.x % 32u)
#define SG_SYNC() barrier()
// 16 x 16 fragment: lane L holds elements L * 8 + i (row (L * 8 + i) / 16, column % 16).
struct Frag {
  float v[8];
};
#define FRAG16 Frag
#define FRAG32 Frag
Frag frag_zero() {
  Frag r;
  [[unroll]] for (uint i = 0u; i < 8u; ++i) r.v[i] = 0.0;
  return r;
}
float sh_half(uint h) { return f16_bits_to_f32((sh[h >> 3][(h & 7u) >> 1] >> ((h & 1u) * 16u)) & 0xffffu); }
// base, stride in uvec4 units (8 halves / 4 floats), like coopMatLoadNV / coopMatStoreNV on sh.
void frag_load16(out Frag r, uint base, uint stride, bool col_major) {
  [[unroll]] for (uint i = 0u; i < 8u; ++i) {
    uint e = LANE * 8u + i, rr = e / 16u, c = e % 16u;
    r.v[i] = sh_half(base * 8u + (col_major ? c * stride * 8u + rr : rr * stride * 8u + c));
  }
}
void frag_store32(Frag r, uint base, uint stride) {
  [[unroll]] for (uint i = 0u; i < 8u; ++i) {
    uint e = LANE * 8u + i, idx = base * 4u + (e / 16u) * stride * 4u + e % 16u;
    sh[idx >> 2][idx & 3u] = floatBitsToUint(r.v[i]);
  }
}
// c + a b through this subgroup's scratch (its epilogue area, unused until the end).
Frag frag_muladd(Frag a, Frag b, Frag c) {
  const uint base = (CS + SG_ID * 256u) * 4u;
  [[unroll]] for (uint i = 0u; i < 8u; ++i) {
    uint e = LANE * 8u + i;
    sh[(base + e) >> 2][(base + e) & 3u] = floatBitsToUint(a.v[i]);
    sh[(base + 256u + e) >> 2][(base + 256u + e) & 3u] = floatBitsToUint(b.v[i]);
  }
  SG_SYNC();
  Frag d;
  [[unroll]] for (uint i = 0u; i < 8u; ++i) {
    uint e = LANE * 8u + i, r = e / 16u, cc = e % 16u;
    float t = c.v[i];
    [[unroll]] for (uint kk = 0u; kk < 16u; ++kk) {
      uint ia = base + r * 16u + kk, ib = base + 256u + kk * 16u + cc;
      t = fma(uintBitsToFloat(sh[ia >> 2][ia & 3u]), uintBitsToFloat(sh[ib >> 2][ib & 3u]), t);
    }
    d.v[i] = t;
  }
  SG_SYNC();
  return d;
}
#define FRAG32_ZERO frag_zero()
#else
#define SG_ID gl_SubgroupID
#define LANE gl_SubgroupInvocationID
#define SG_SYNC()                  \
  {                                \
    subgroupMemoryBarrierShared(); \
    subgroupBarrier();             \
  }
#define FRAG16 fcoopmatNV<16, gl_ScopeSubgroup, 16, 16>
#define FRAG32 fcoopmatNV<32, gl_ScopeSubgroup, 16, 16>
#define FRAG32_ZERO FRAG32(0.0)
#define frag_load16(r, base, stride, cm) coopMatLoadNV(r, sh, base, stride, cm)
#define frag_store32(r, base, stride) coopMatStoreNV(r, sh, base, stride, false)
#define frag_muladd(a, b, c) coopMatMulAddNV(a, b, c)
#endif

// f16 bits of element e of f / w (binding-relative), 0 when !ok.
#define HALF_F(e, ok) ((ok) ? ((f[(e) >> 1] >> (((e) & 1u) * 16u)) & 0xffffu) : 0u)
#define HALF_W(e, ok) ((ok) ? ((w[(e) >> 1] >> (((e) & 1u) * 16u)) & 0xffffu) : 0u)

void main() {
  const uint tid = gl_LocalInvocationID.x;
  const uint sg = SG_ID;
  const uint r0 = (pc.tile_x0 + gl_WorkGroupID.x) * BM;
  const uint co0 = (pc.tile_y0 + gl_WorkGroupID.y) * BN;
  const uint KC = pc.K * pc.Cin;

  FRAG32 acc[4];
  [[unroll]] for (int j = 0; j < 4; ++j) acc[j] = FRAG32_ZERO;

  for (uint v = 0u; v < pc.K; ++v) {
    barrier();
    if (tid == 0u) any_row = 0u;
    barrier();
    if (tid < BM) {
      int j = -1;
      if (r0 + tid < pc.N) j = nbr[pc.n_off + (r0 + tid) * pc.K + v];
      if (j < 0 || uint(j) >= pc.N) j = -1;
      rows[tid] = j;
      if (j >= 0) atomicOr(any_row, 1u);
    }
    barrier();
    if (any_row == 0u) continue;  // uniform
    for (uint c0 = 0u; c0 < pc.Cin; c0 += 16u) {
      barrier();
      // 64 rows x 8 words of A and of W: 4 + 4 words per invocation.
      [[unroll]] for (uint s = 0u; s < 4u; ++s) {
        const uint wd = tid + s * NT, m = wd / 8u, p = wd % 8u, c = c0 + 2u * p;
        const int j = rows[m];
        const uint ea = pc.f_off + uint(max(j, 0)) * pc.Cin + c;
        sh[AS + m * RS + p / 4u][p % 4u] =
            HALF_F(ea, j >= 0 && c < pc.Cin) | (HALF_F(ea + 1u, j >= 0 && c + 1u < pc.Cin) << 16);
        const uint co = co0 + m;
        const uint ew = pc.w_off + co * KC + v * pc.Cin + c;
        sh[BS + m * RS + p / 4u][p % 4u] =
            HALF_W(ew, co < pc.Cout && c < pc.Cin) | (HALF_W(ew + 1u, co < pc.Cout && c + 1u < pc.Cin) << 16);
      }
      barrier();
      FRAG16 a;
      frag_load16(a, AS + sg * 16u * RS, RS, false);
      [[unroll]] for (uint nb = 0u; nb < 4u; ++nb) {
        FRAG16 b;
        frag_load16(b, BS + nb * 16u * RS, RS, true);
        acc[nb] = frag_muladd(a, b, acc[nb]);
      }
    }
  }

  // Epilogue: this subgroup's 16 x 64 f32 block through shared memory.
  barrier();
  const uint cb = CS + sg * 256u;
  [[unroll]] for (uint nb = 0u; nb < 4u; ++nb) frag_store32(acc[nb], cb + nb * 4u, 16u);
  SG_SYNC();
  const uint lane = LANE;
  // 16 rows x 32 column pairs = 512 pairs, 16 per lane.
  for (uint q = lane; q < 512u; q += 32u) {
    const uint r = q / 32u, cp = q % 32u, row = r0 + sg * 16u + r, co = co0 + 2u * cp;
    if (row >= pc.N || co >= pc.Cout) continue;
    const uint fi = cb * 4u + r * 64u + 2u * cp;
    float v0 = uintBitsToFloat(sh[fi >> 2][fi & 3u]) + (HAS_BIAS ? bias[pc.b_off + co] : 0.0);
    const uint e = pc.y_off + row * pc.Cout + co;
    const bool two = co + 1u < pc.Cout;
    float v1 = 0.0;
    if (two) v1 = uintBitsToFloat(sh[(fi + 1u) >> 2][(fi + 1u) & 3u]) + (HAS_BIAS ? bias[pc.b_off + co + 1u] : 0.0);
    if (EVEN) {
      y[e >> 1] = f32_to_f16_bits(v0) | (f32_to_f16_bits(v1) << 16);  // Cout even: co + 1 < Cout
    } else {
      STORE_HALF_ATOMIC(y, e, f32_to_f16_bits(v0))
      if (two) STORE_HALF_ATOMIC(y, e + 1u, f32_to_f16_bits(v1))
    }
  }
}
