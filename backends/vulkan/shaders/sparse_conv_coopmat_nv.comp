// sparse_conv3d on tensor cores (GL_NV_cooperative_matrix), f16 feats /
// weight / out, f32 accumulators: a masked implicit GEMM over planned row tiles
// (docs/sparse-conv.md).
//
//   out[o, co] = bias[co] + sum_v sum_ci W[co, v Cin + ci] feats[nbr[o, v], ci]
//
// A workgroup owns TILE_M consecutive rows of the row order (order[r0 ..],
// from sparse_conv_order: rows sorted by neighbour mask, so a tile's rows
// mostly share their active offsets) x TILE_N output channels.
// Prologue: the tile's original row ids go to shared memory, then the tile's
// active kernel offsets (some row has a neighbour there) are listed in shared
// memory (lane l of each subgroup checks offset 32 w + l of its rows: coalesced
// map reads, no atomics). The k loop runs over (active offset, TILE_K input
// channels) steps: the gathered feature rows (A, row-major) and the weight
// slice W[n0.., v Cin + c0 ..] (B, column-major) go global -> registers ->
// shared (one stage, the next step's loads in flight during the products, as
// the dense gemm_coopmat_nv.comp default), WG_M x WG_N subgroups each multiply
// a (TILE_M/WG_M) x (TILE_N/WG_N) block with 16x16x16 fragments.
// Missing neighbours, channel tails and out-of-range rows load zeros.
// Epilogue: a row of fragments per subgroup -> shared scratch -> + bias -> one
// rounding to f16 -> whole 32-bit words (atomic half-word stores when Cout or
// the output offset is odd) at the row's original position.
// Bounded loops: K <= 1024 (the host declines larger kernels), steps = active
// offsets x ceil(Cin / TILE_K).
// EMULATE builds a functional model without the extension (fragments as 8
// floats per lane, products through shared memory, workgroup barriers), so
// the same algorithm runs on devices without tensor cores
// (TESSERA_VK_SPARSE_CONV=coopmat_emu; compiled with a small tile).
#version 450
#extension GL_EXT_control_flow_attributes : enable
#ifndef EMULATE
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_memory_scope_semantics : enable
#extension GL_NV_cooperative_matrix : require
#endif
#include "common.glsl"

#ifndef TILE_M
#define TILE_M 128
#define TILE_N 128
#define TILE_K 64
#define WG_M 4
#define WG_N 4
#endif
#define PAD 8
#define KMAX 1024u

#define NSG (WG_M * WG_N)
#define NT (32 * NSG)
#define WM (TILE_M / WG_M)
#define WN (TILE_N / WG_N)
#define C_ROWS (WM / 16)
#define C_COLS (WN / 16)
#define ROW_H (TILE_K + PAD)
#define ROW_V (ROW_H / 8)           // uvec4 per shared row
#define VPR (TILE_K / 8)            // uvec4 per tile row in global memory
#define LA ((TILE_M * VPR + NT - 1) / NT)  // uvec4 loads per invocation and step
#define LB ((TILE_N * VPR + NT - 1) / NT)
#define A_V (TILE_M * ROW_V)
#define STAGE_V (A_V + TILE_N * ROW_V)
#define SCR_S (WN / 4 + 1)
#define SCR_V (16 * SCR_S)
#if STAGE_V > NSG * SCR_V
#define MAIN_V STAGE_V
#else
#define MAIN_V (NSG * SCR_V)
#endif
#ifdef EMULATE
#define EMU_V (NSG * 128)           // per subgroup 2 x 256 floats of product scratch
#else
#define EMU_V 0
#endif

layout(local_size_x = NT) in;
layout(constant_id = 2) const bool HAS_BIAS = false;
layout(constant_id = 3) const bool EVEN = false;     // y_off and Cout even: whole-word stores
layout(constant_id = 4) const bool ALIGNED = false;  // Cin, f_off, w_off multiples of 8: 16-byte loads

layout(std430, binding = 0) readonly buffer F { uint f[]; };
layout(std430, binding = 0) readonly buffer F4 { uvec4 f4[]; };
layout(std430, binding = 1) readonly buffer Nb { int nbr[]; };
layout(std430, binding = 2) readonly buffer Wt { uint w[]; };
layout(std430, binding = 2) readonly buffer Wt4 { uvec4 w4[]; };
layout(std430, binding = 3) readonly buffer Bias { float bias[]; };
layout(std430, binding = 4) buffer Y { uint y[]; };
layout(std430, binding = 5) readonly buffer Ord { int order[]; };

layout(push_constant) uniform PC {
  uint N, Cin, Cout, K;
  uint f_off, n_off, w_off, b_off, y_off, o_off;
  uint tile_x0, tile_y0;
} pc;

shared uvec4 sh[MAIN_V + EMU_V];
shared int rows[TILE_M];
shared uint vlist[KMAX];
shared uint nv_sh;

#define SH_WORD(i) sh[(i) >> 2][(i) & 3u]

#ifdef EMULATE
#define SG_ID (gl_LocalInvocationID.x / 32u)
#define LANE (gl_LocalInvocationID.x % 32u)
#define SG_SYNC() barrier()
struct Frag {
  float v[8];
};
#define FRAG_A Frag
#define FRAG_B Frag
#define FRAG_C Frag
Frag frag_zero() {
  Frag r;
  [[unroll]] for (uint i = 0u; i < 8u; ++i) r.v[i] = 0.0;
  return r;
}
float sh_half(uint h) { return f16_bits_to_f32((sh[h >> 3][(h & 7u) >> 1] >> ((h & 1u) * 16u)) & 0xffffu); }
// lane L holds elements L * 8 + i (row (L * 8 + i) / 16, column % 16); base, stride in uvec4.
void frag_load16(out Frag r, uint base, uint stride, bool col_major) {
  [[unroll]] for (uint i = 0u; i < 8u; ++i) {
    uint e = LANE * 8u + i, rr = e / 16u, c = e % 16u;
    r.v[i] = sh_half(base * 8u + (col_major ? c * stride * 8u + rr : rr * stride * 8u + c));
  }
}
void frag_store32(Frag r, uint base, uint stride) {
  [[unroll]] for (uint i = 0u; i < 8u; ++i) {
    uint e = LANE * 8u + i, idx = base * 4u + (e / 16u) * stride * 4u + e % 16u;
    SH_WORD(idx) = floatBitsToUint(r.v[i]);
  }
}
Frag frag_muladd(Frag a, Frag b, Frag c) {
  const uint base = (MAIN_V + SG_ID * 128u) * 4u;
  [[unroll]] for (uint i = 0u; i < 8u; ++i) {
    uint e = LANE * 8u + i;
    SH_WORD(base + e) = floatBitsToUint(a.v[i]);
    SH_WORD(base + 256u + e) = floatBitsToUint(b.v[i]);
  }
  SG_SYNC();
  Frag d;
  [[unroll]] for (uint i = 0u; i < 8u; ++i) {
    uint e = LANE * 8u + i, r = e / 16u, cc = e % 16u;
    float t = c.v[i];
    [[unroll]] for (uint kk = 0u; kk < 16u; ++kk)
      t = fma(uintBitsToFloat(SH_WORD(base + r * 16u + kk)), uintBitsToFloat(SH_WORD(base + 256u + kk * 16u + cc)), t);
    d.v[i] = t;
  }
  SG_SYNC();
  return d;
}
#define FRAG_C_ZERO frag_zero()
uint pack2(float a, float b) { return f32_to_f16_bits(a) | (f32_to_f16_bits(b) << 16); }
#else
#define SG_ID gl_SubgroupID
#define LANE gl_SubgroupInvocationID
#define SG_SYNC()                  \
  {                                \
    subgroupMemoryBarrierShared(); \
    subgroupBarrier();             \
  }
#define FRAG_A fcoopmatNV<16, gl_ScopeSubgroup, 16, 16>
#define FRAG_B fcoopmatNV<16, gl_ScopeSubgroup, 16, 16>
#define FRAG_C fcoopmatNV<32, gl_ScopeSubgroup, 16, 16>
#define FRAG_C_ZERO FRAG_C(0.0)
#define frag_load16(r, base, stride, cm) coopMatLoadNV(r, sh, base, stride, cm)
#define frag_store32(r, base, stride) coopMatStoreNV(r, sh, base, stride, false)
#define frag_muladd(a, b, c) coopMatMulAddNV(a, b, c)
uint pack2(float a, float b) { return packHalf2x16(vec2(a, b)); }  // round to nearest even
#endif

uint half_bits(uint word, uint i) { return (word >> ((i & 1u) * 16u)) & 0xffffu; }

// 8 consecutive f16 of feats row j from channel c (zeros past Cin or for j < 0).
uvec4 load8_f(int j, uint c) {
  if (j < 0 || c >= pc.Cin) return uvec4(0);
  const uint e = pc.f_off + uint(j) * pc.Cin + c;
  if (ALIGNED) return f4[e >> 3];
  uint h[8];
  [[unroll]] for (uint t = 0; t < 8; ++t) h[t] = (c + t < pc.Cin) ? half_bits(f[(e + t) >> 1], e + t) : 0u;
  return uvec4(h[0] | (h[1] << 16), h[2] | (h[3] << 16), h[4] | (h[5] << 16), h[6] | (h[7] << 16));
}
// 8 consecutive f16 of W[co, v Cin + c ..] (zeros past Cin / Cout).
uvec4 load8_w(uint co, uint v, uint c) {
  if (co >= pc.Cout || c >= pc.Cin) return uvec4(0);
  const uint e = pc.w_off + co * (pc.K * pc.Cin) + v * pc.Cin + c;
  if (ALIGNED) return w4[e >> 3];
  uint h[8];
  [[unroll]] for (uint t = 0; t < 8; ++t) h[t] = (c + t < pc.Cin) ? half_bits(w[(e + t) >> 1], e + t) : 0u;
  return uvec4(h[0] | (h[1] << 16), h[2] | (h[3] << 16), h[4] | (h[5] << 16), h[6] | (h[7] << 16));
}

int nbr_of(int o, uint v) {
  if (o < 0) return -1;
  const int j = nbr[pc.n_off + uint(o) * pc.K + v];
  return (j >= 0 && uint(j) < pc.N) ? j : -1;
}

void main() {
  const uint tid = gl_LocalInvocationID.x;
  const uint sg = SG_ID, lane = LANE;
  const uint wm = sg / WG_N, wn = sg % WG_N;
  const uint r0 = (pc.tile_x0 + gl_WorkGroupID.x) * TILE_M;
  const uint n0 = (pc.tile_y0 + gl_WorkGroupID.y) * TILE_N;

  // Prologue 1: the tile's original rows (outside [0, N): skipped).
  for (uint i = tid; i < TILE_M; i += NT) {
    int o = -1;
    if (r0 + i < pc.N) o = order[pc.o_off + r0 + i];
    rows[i] = (o >= 0 && uint(o) < pc.N) ? o : -1;
  }
  if (tid == 0u) nv_sh = 0u;
  barrier();
  // Prologue 2: active offsets, 32 at a time. Lane l checks offset 32 w + l
  // on rows sg, sg + NSG, ...; per-lane flags go through shared words, then
  // invocation 0 appends the active ones to vlist in increasing order.
  for (uint w0 = 0u; w0 < pc.K; w0 += 32u) {
    const uint v = w0 + lane;
    bool act = false;
    if (v < pc.K)
      for (uint i = sg; i < TILE_M; i += NSG) act = act || nbr_of(rows[i], v) >= 0;
    SH_WORD(tid) = act ? 1u : 0u;
    barrier();
    if (tid < 32u) {
      bool any = false;
      for (uint s = 0u; s < NSG; ++s) any = any || SH_WORD(s * 32u + tid) != 0u;
      SH_WORD(NT + tid) = any ? 1u : 0u;
    }
    barrier();
    if (tid == 0u) {
      uint n = nv_sh;
      for (uint l = 0u; l < 32u && w0 + l < pc.K; ++l)
        if (SH_WORD(NT + l) != 0u) vlist[n++] = w0 + l;
      nv_sh = n;
    }
    barrier();
  }
  const uint ck = (pc.Cin + TILE_K - 1u) / TILE_K;
  const uint steps = nv_sh * ck;  // uniform: read after the barrier

  const uint a_sub = wm * WM * ROW_V;
  const uint b_sub = A_V + wn * WN * ROW_V;
  FRAG_C acc[C_ROWS][C_COLS];
  [[unroll]] for (uint i = 0; i < C_ROWS; ++i)
    [[unroll]] for (uint j = 0; j < C_COLS; ++j) acc[i][j] = FRAG_C_ZERO;

  uvec4 ra[LA], rb[LB];
#define LOAD_STEP(t)                                                        \
  {                                                                         \
    const uint v_ = vlist[(t) / ck], c0_ = ((t) % ck) * TILE_K;             \
    [[unroll]] for (uint s = 0; s < LA; ++s) {                              \
      const uint l = tid + s * NT;                                          \
      ra[s] = l < TILE_M * VPR ? load8_f(nbr_of(rows[l / VPR], v_), c0_ + (l % VPR) * 8u) : uvec4(0); \
    }                                                                       \
    [[unroll]] for (uint s = 0; s < LB; ++s) {                              \
      const uint l = tid + s * NT;                                          \
      rb[s] = l < TILE_N * VPR ? load8_w(n0 + l / VPR, v_, c0_ + (l % VPR) * 8u) : uvec4(0); \
    }                                                                       \
  }
  if (steps > 0u) LOAD_STEP(0u)
  for (uint t = 0u; t < steps; ++t) {
    barrier();
    [[unroll]] for (uint s = 0; s < LA; ++s) {
      const uint l = tid + s * NT;
      if (l < TILE_M * VPR) sh[(l / VPR) * ROW_V + l % VPR] = ra[s];
    }
    [[unroll]] for (uint s = 0; s < LB; ++s) {
      const uint l = tid + s * NT;
      if (l < TILE_N * VPR) sh[A_V + (l / VPR) * ROW_V + l % VPR] = rb[s];
    }
    barrier();
    if (t + 1u < steps) LOAD_STEP(t + 1u)
    [[unroll]] for (uint kk = 0; kk < TILE_K; kk += 16) {
      FRAG_A fa[C_ROWS];
      FRAG_B fb[C_COLS];
      [[unroll]] for (uint i = 0; i < C_ROWS; ++i) frag_load16(fa[i], a_sub + i * 16 * ROW_V + kk / 8, ROW_V, false);
      [[unroll]] for (uint j = 0; j < C_COLS; ++j) frag_load16(fb[j], b_sub + j * 16 * ROW_V + kk / 8, ROW_V, true);
      [[unroll]] for (uint i = 0; i < C_ROWS; ++i)
        [[unroll]] for (uint j = 0; j < C_COLS; ++j) acc[i][j] = frag_muladd(fa[i], fb[j], acc[i][j]);
    }
  }

  // Epilogue: one row of fragments at a time through this subgroup's scratch.
  barrier();  // the scratch aliases the stage
  const uint sbase = sg * SCR_V;
  [[unroll]] for (uint i = 0; i < C_ROWS; ++i) {
    [[unroll]] for (uint j = 0; j < C_COLS; ++j) frag_store32(acc[i][j], sbase + j * 4u, SCR_S);
    SG_SYNC();
    const uint lr0 = wm * WM + i * 16u, c0 = n0 + wn * WN;
    for (uint p = lane; p < 16u * WN / 2u; p += 32u) {
      const uint r = p / (WN / 2u), c = (p % (WN / 2u)) * 2u;
      const int o = rows[lr0 + r];
      const uint col = c0 + c;
      if (o < 0 || col >= pc.Cout) continue;
      float v0 = uintBitsToFloat(SH_WORD(sbase * 4u + r * SCR_S * 4u + c));
      float v1 = uintBitsToFloat(SH_WORD(sbase * 4u + r * SCR_S * 4u + c + 1u));
      const bool two = col + 1u < pc.Cout;
      if (HAS_BIAS) {
        v0 += bias[pc.b_off + col];
        if (two) v1 += bias[pc.b_off + col + 1u];
      }
      const uint e = pc.y_off + uint(o) * pc.Cout + col;
      if (EVEN) {
        y[e >> 1] = pack2(v0, v1);  // Cout even: col + 1 < Cout
      } else {
        STORE_HALF_ATOMIC(y, e, f32_to_f16_bits(v0))
        if (two) STORE_HALF_ATOMIC(y, e + 1u, f32_to_f16_bits(v1))
      }
    }
    SG_SYNC();
  }
}
