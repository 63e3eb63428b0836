// Tensor-core GEMM for linear with f16 x and w (GL_NV_cooperative_matrix):
// y[M,N] = x[M,K] . w[N,K]^T (+ bias), f16 A/B fragments, f32 accumulators,
// one rounding to y's dtype at the end.
//
// Compile-time configuration (-D, see CMakeLists.txt / linear.cpp):
//   TILE_M x TILE_N  tile of y per workgroup, TILE_K-deep k steps
//   WG_M x WG_N      subgroups of 32 (each owns a (TILE_M/WG_M) x (TILE_N/WG_N) block)
//   CM_M x CM_N x CM_K fragment shape (the host checks the device lists it)
//   STAGES           shared-memory stages: 2 = one barrier per k step, 1 = two
//   PREFETCH         k steps held in registers ahead of the one being multiplied
//                    (1 or 2: global loads get one or two k steps to arrive)
//   PAD              halves of padding per shared row (8: rows 16 bytes apart mod
//                    128, so the 8 rows of each 8x8 fragment load hit distinct banks)
//   FRAG_ORDER       0: all A and B fragments of a k slice, then the products;
//                    1: A fragments, then each B fragment followed by its products
//   EPI_DIRECT       1: f16 y without bias on whole tiles: fragments converted and
//                    stored straight to y (else through shared scratch; measured
//                    slower on the H100, so 0 by default)
//   SH_T             shared array element: 0 = uvec4, 1 = uint (fragment loads
//                    and stores address the same bytes either way)
//   DIAG             timing-only diagnostics (wrong results): 1 = no global loads in
//                    the loop, 2 = also no shared stores / barriers, 3 = fragments
//                    loaded once, the loop only multiplies
// x rows and w rows are both K-contiguous; both go to shared memory as rows of
// TILE_K halves, so A fragments load row-major and B fragments column-major
// (a w row is a column of B) with the same 16-byte row pieces.
// Ragged M, N, K: loads outside the matrices give zeros; the epilogue masks.
// Epilogue: each subgroup writes one row of fragments (CM_M x its columns) to
// shared scratch, then lanes write whole 32-bit words of y (coalesced rows).
// SCALED (bf16 linear through f16, linear.cpp): x and w hold rows scaled by
// 2^-ex[m] / 2^-ew[n] (shaders/linear_bf16.comp, MODE 0); the epilogue multiplies
// by 2^(ex[m] + ew[n]) (exponents from the per-row magnitudes in bindings 4, 5)
// before the bias and the activation.
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
#endif
#ifndef CM_M
#define CM_M 16
#define CM_N 16
#define CM_K 16
#endif
#ifndef STAGES
#define STAGES 2
#endif
#ifndef PREFETCH
#define PREFETCH 1
#endif
#ifndef PAD
#define PAD 8
#endif
#ifndef DIAG
#define DIAG 0
#endif
#ifndef FRAG_ORDER
#define FRAG_ORDER 0
#endif
#ifndef EPI_DIRECT
#define EPI_DIRECT 0
#endif
#ifndef SH_T
#define SH_T 0
#endif

#define NT (32 * WG_M * WG_N)
#define WM (TILE_M / WG_M)  // rows of y per subgroup
#define WN (TILE_N / WG_N)  // columns of y per subgroup
#define C_ROWS (WM / CM_M)
#define C_COLS (WN / CM_N)
#define ROW_H (TILE_K + PAD)        // halves per shared row
#define ROW_V (ROW_H / 8)           // uvec4 per shared row
#define VPR (TILE_K / 8)            // uvec4 per tile row in global memory
#define LA (TILE_M * VPR / NT)      // uvec4 of x each invocation loads per k step
#define LB (TILE_N * VPR / NT)      // uvec4 of w
#define A_V (TILE_M * ROW_V)        // uvec4 of one A stage
#define STAGE_V (A_V + TILE_N * ROW_V)
#define SCR_S (WN / 4 + 1)          // uvec4 per scratch row (+1 against bank conflicts)
#define SCR_V (CM_M * SCR_S)        // uvec4 of one subgroup's epilogue scratch

#define SH_V (STAGES * STAGE_V)
#if SH_V < (NT / 32) * SCR_V
#undef SH_V
#define SH_V ((NT / 32) * SCR_V)
#endif

layout(local_size_x = NT) in;
layout(constant_id = 3) const uint BT = 0;
layout(constant_id = 4) const uint YT = 0;
layout(constant_id = 5) const bool HAS_BIAS = false;
layout(constant_id = 6) const bool ALIGNED = false;  // K, x_off, w_off multiples of 8: 16-byte loads
layout(constant_id = 7) const uint ACT = 0;  // fused epilogue activation (tx_activate codes; 0 none)
layout(constant_id = 8) const bool SCALED = false;  // rows of x and w carry power-of-two scales (see above)

layout(std430, binding = 0) readonly buffer X { uint x[]; };
layout(std430, binding = 0) readonly buffer X4 { uvec4 x4[]; };
layout(std430, binding = 1) readonly buffer W { uint w[]; };
layout(std430, binding = 1) readonly buffer W4 { uvec4 w4[]; };
layout(std430, binding = 2) readonly buffer Bias { uint bias[]; };
layout(std430, binding = 3) buffer Y { uint y[]; };
layout(std430, binding = 4) readonly buffer AX { uint amax_x[]; };  // SCALED: per row of x (bf16 magnitude bits)
layout(std430, binding = 5) readonly buffer AW { uint amax_w[]; };  // SCALED: per row of w

layout(push_constant) uniform PC {
  uint M, N, K;
  uint x_off, w_off, b_off, y_off;
  uint tile_x0, tile_y0;
  uint ax_off, aw_off;  // SCALED: element offsets in bindings 4, 5
} pc;

#if SH_T == 1
shared uint sh[SH_V * 4];
#define SHS 4u  // array elements per uvec4
#define SH_PUT(i, v) { const uint i_ = (i) * 4u; sh[i_] = (v).x; sh[i_ + 1u] = (v).y; sh[i_ + 2u] = (v).z; sh[i_ + 3u] = (v).w; }
#define SH_WORD(i) sh[(i)]
#else
shared uvec4 sh[SH_V];
#define SHS 1u
#define SH_PUT(i, v) sh[(i)] = (v);
#define SH_WORD(i) sh[(i) >> 2][(i) & 3u]
#endif

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

float scratch_at(uint i) { return uintBitsToFloat(SH_WORD(i)); }

#define FRAG_A fcoopmatNV<16, gl_ScopeSubgroup, CM_M, CM_K>
#define FRAG_B fcoopmatNV<16, gl_ScopeSubgroup, CM_K, CM_N>
#define FRAG_C fcoopmatNV<32, gl_ScopeSubgroup, CM_M, CM_N>

// Global k step kt -> registers (RA, RB).
#define LOAD_TILE(RA, RB, kt)                                         \
  {                                                                   \
    const uint k0_ = (kt) * TILE_K;                                   \
    [[unroll]] for (uint s = 0; s < LA; ++s) {                        \
      uint l = tid + s * NT;                                          \
      RA[s] = load8_x(m0 + l / VPR, k0_ + (l % VPR) * 8);             \
    }                                                                 \
    [[unroll]] for (uint s = 0; s < LB; ++s) {                        \
      uint l = tid + s * NT;                                          \
      RB[s] = load8_w(n0 + l / VPR, k0_ + (l % VPR) * 8);             \
    }                                                                 \
  }
// Registers -> shared stage st.
#define STORE_TILE(RA, RB, st)                                        \
  {                                                                   \
    const uint b_ = (st) * STAGE_V;                                   \
    [[unroll]] for (uint s = 0; s < LA; ++s) {                        \
      uint l = tid + s * NT;                                          \
      SH_PUT(b_ + (l / VPR) * ROW_V + l % VPR, RA[s])                 \
    }                                                                 \
    [[unroll]] for (uint s = 0; s < LB; ++s) {                        \
      uint l = tid + s * NT;                                          \
      SH_PUT(b_ + A_V + (l / VPR) * ROW_V + l % VPR, RB[s])           \
    }                                                                 \
  }

#if DIAG >= 1
#define LOAD_TILE_LOOP(RA, RB, kt) {}
#else
#define LOAD_TILE_LOOP(RA, RB, kt) LOAD_TILE(RA, RB, kt)
#endif
#if DIAG >= 2
#define STORE_TILE_LOOP(RA, RB, st) {}
#define BARRIER_LOOP()
#else
#define STORE_TILE_LOOP(RA, RB, st) STORE_TILE(RA, RB, st)
#define BARRIER_LOOP() barrier()
#endif

void main() {
  const uint tid = gl_LocalInvocationID.x;
  const uint sg = gl_SubgroupID;
  const uint lane = gl_SubgroupInvocationID;
  const uint wm = sg / WG_N, wn = sg % WG_N;
  const uint m0 = (pc.tile_y0 + gl_WorkGroupID.y) * TILE_M;
  const uint n0 = (pc.tile_x0 + gl_WorkGroupID.x) * TILE_N;
  const uint nk = (pc.K + TILE_K - 1) / TILE_K;
  // Shared offsets (uvec4) of this subgroup's first A row and first B column.
  const uint a_sub = wm * WM * ROW_V;
  const uint b_sub = A_V + wn * WN * ROW_V;

  FRAG_C acc[C_ROWS][C_COLS];
  [[unroll]] for (uint i = 0; i < C_ROWS; ++i)
    [[unroll]] for (uint j = 0; j < C_COLS; ++j) acc[i][j] = FRAG_C(0.0);

#if DIAG == 3
  FRAG_A fa[C_ROWS];
  FRAG_B fb[C_COLS];
#define COMPUTE(st)                                                                  \
  [[unroll]] for (uint kk = 0; kk < TILE_K; kk += CM_K)                              \
    [[unroll]] for (uint i = 0; i < C_ROWS; ++i)                                     \
      [[unroll]] for (uint j = 0; j < C_COLS; ++j) acc[i][j] = coopMatMulAddNV(fa[i], fb[j], acc[i][j]);
#elif FRAG_ORDER == 1
// A fragments first, then one B fragment at a time with its column of products.
#define COMPUTE(st)                                                                  \
  [[unroll]] for (uint kk = 0; kk < TILE_K; kk += CM_K) {                            \
    FRAG_A fa[C_ROWS];                                                               \
    [[unroll]] for (uint i = 0; i < C_ROWS; ++i)                                     \
      coopMatLoadNV(fa[i], sh, ((st) * STAGE_V + a_sub + i * CM_M * ROW_V + kk / 8) * SHS, ROW_V * SHS, false); \
    [[unroll]] for (uint j = 0; j < C_COLS; ++j) {                                   \
      FRAG_B fb;                                                                     \
      coopMatLoadNV(fb, sh, ((st) * STAGE_V + b_sub + j * CM_N * ROW_V + kk / 8) * SHS, ROW_V * SHS, true); \
      [[unroll]] for (uint i = 0; i < C_ROWS; ++i) acc[i][j] = coopMatMulAddNV(fa[i], fb, acc[i][j]); \
    }                                                                                \
  }
#else
#define COMPUTE(st)                                                                  \
  [[unroll]] for (uint kk = 0; kk < TILE_K; kk += CM_K) {                            \
    FRAG_A fa[C_ROWS];                                                               \
    FRAG_B fb[C_COLS];                                                               \
    [[unroll]] for (uint i = 0; i < C_ROWS; ++i)                                     \
      coopMatLoadNV(fa[i], sh, ((st) * STAGE_V + a_sub + i * CM_M * ROW_V + kk / 8) * SHS, ROW_V * SHS, false); \
    [[unroll]] for (uint j = 0; j < C_COLS; ++j)                                     \
      coopMatLoadNV(fb[j], sh, ((st) * STAGE_V + b_sub + j * CM_N * ROW_V + kk / 8) * SHS, ROW_V * SHS, true); \
    [[unroll]] for (uint i = 0; i < C_ROWS; ++i)                                     \
      [[unroll]] for (uint j = 0; j < C_COLS; ++j) acc[i][j] = coopMatMulAddNV(fa[i], fb[j], acc[i][j]); \
  }
#endif

  uvec4 ra0[LA], rb0[LB];
#if PREFETCH == 2
  uvec4 ra1[LA], rb1[LB];
#endif

#if STAGES == 2
  LOAD_TILE(ra0, rb0, 0u)
  STORE_TILE(ra0, rb0, 0u)
#if PREFETCH == 2
  if (1u < nk) LOAD_TILE(ra1, rb1, 1u)
#endif
  barrier();
#if DIAG == 3
  [[unroll]] for (uint i = 0; i < C_ROWS; ++i) coopMatLoadNV(fa[i], sh, (a_sub + i * CM_M * ROW_V) * SHS, ROW_V * SHS, false);
  [[unroll]] for (uint j = 0; j < C_COLS; ++j) coopMatLoadNV(fb[j], sh, (b_sub + j * CM_N * ROW_V) * SHS, ROW_V * SHS, true);
#endif
#if PREFETCH == 1
  // k step t is in stage t % 2; step t + 1 is loaded while t is multiplied.
  for (uint t = 0; t < nk; t += 2) {
    if (t + 1 < nk) LOAD_TILE_LOOP(ra0, rb0, t + 1)
    COMPUTE(0u)
    if (t + 1 < nk) STORE_TILE_LOOP(ra0, rb0, 1u)
    BARRIER_LOOP();
    if (t + 1 >= nk) break;
    if (t + 2 < nk) LOAD_TILE_LOOP(ra0, rb0, t + 2)
    COMPUTE(1u)
    if (t + 2 < nk) STORE_TILE_LOOP(ra0, rb0, 0u)
    BARRIER_LOOP();
  }
#else
  // Step t + 1 waits in registers while t is multiplied and t + 2 is loaded.
  for (uint t = 0; t < nk; t += 2) {
    if (t + 2 < nk) LOAD_TILE_LOOP(ra0, rb0, t + 2)
    COMPUTE(0u)
    if (t + 1 < nk) STORE_TILE_LOOP(ra1, rb1, 1u)
    BARRIER_LOOP();
    if (t + 1 >= nk) break;
    if (t + 3 < nk) LOAD_TILE_LOOP(ra1, rb1, t + 3)
    COMPUTE(1u)
    if (t + 2 < nk) STORE_TILE_LOOP(ra0, rb0, 0u)
    BARRIER_LOOP();
  }
#endif
#else  // STAGES == 1: store, barrier, multiply, barrier
  LOAD_TILE(ra0, rb0, 0u)
#if PREFETCH == 2
  if (1u < nk) LOAD_TILE(ra1, rb1, 1u)
#endif
#if DIAG >= 2
  STORE_TILE(ra0, rb0, 0u)
  barrier();
#endif
#if DIAG == 3
  [[unroll]] for (uint i = 0; i < C_ROWS; ++i) coopMatLoadNV(fa[i], sh, (a_sub + i * CM_M * ROW_V) * SHS, ROW_V * SHS, false);
  [[unroll]] for (uint j = 0; j < C_COLS; ++j) coopMatLoadNV(fb[j], sh, (b_sub + j * CM_N * ROW_V) * SHS, ROW_V * SHS, true);
#endif
#if PREFETCH == 1
  for (uint t = 0; t < nk; ++t) {
    BARRIER_LOOP();
    STORE_TILE_LOOP(ra0, rb0, 0u)
    BARRIER_LOOP();
    if (t + 1 < nk) LOAD_TILE_LOOP(ra0, rb0, t + 1)
    COMPUTE(0u)
  }
#else
  for (uint t = 0; t < nk; t += 2) {
    BARRIER_LOOP();
    STORE_TILE_LOOP(ra0, rb0, 0u)
    BARRIER_LOOP();
    if (t + 2 < nk) LOAD_TILE_LOOP(ra0, rb0, t + 2)
    COMPUTE(0u)
    if (t + 1 >= nk) break;
    BARRIER_LOOP();
    STORE_TILE_LOOP(ra1, rb1, 0u)
    BARRIER_LOOP();
    if (t + 3 < nk) LOAD_TILE_LOOP(ra1, rb1, t + 3)
    COMPUTE(0u)
  }
#endif
#endif

#if EPI_DIRECT
  // f16 y without bias, whole tile inside y, 32-bit aligned rows: convert the
  // fragments (round to nearest even) and store them straight to y.
  if (YT == DT_F16 && !SCALED && !HAS_BIAS && ACT == 0u && ((pc.N | pc.y_off) & 1u) == 0u && m0 + TILE_M <= pc.M && n0 + TILE_N <= pc.N) {
    [[unroll]] for (uint i = 0; i < C_ROWS; ++i)
      [[unroll]] for (uint j = 0; j < C_COLS; ++j) {
        fcoopmatNV<16, gl_ScopeSubgroup, CM_M, CM_N> h = fcoopmatNV<16, gl_ScopeSubgroup, CM_M, CM_N>(acc[i][j]);
        const uint row = m0 + wm * WM + i * CM_M, col = n0 + wn * WN + j * CM_N;
        coopMatStoreNV(h, y, (pc.y_off + row * pc.N + col) >> 1, pc.N >> 1, false);
      }
    return;
  }
#endif
  // Epilogue: one row of fragments at a time -> shared scratch -> (bias,
  // rounding) -> whole 32-bit words of y.
  barrier();  // the scratch aliases the stages
  const uint sbase = sg * SCR_V;  // uvec4
  [[unroll]] for (uint i = 0; i < C_ROWS; ++i) {
    [[unroll]] for (uint j = 0; j < C_COLS; ++j) coopMatStoreNV(acc[i][j], sh, (sbase + j * (CM_N / 4)) * SHS, SCR_S * SHS, false);
    subgroupMemoryBarrierShared();
    subgroupBarrier();
    const uint r0 = m0 + wm * WM + i * CM_M;
    const uint c0 = n0 + wn * WN;
    [[unroll]] for (uint p = lane; p < CM_M * WN / 2; p += 32) {
      uint r = p / (WN / 2), c = (p % (WN / 2)) * 2;
      uint row = r0 + r, col = c0 + c;
      if (row < pc.M && col < pc.N) {
        float v0 = scratch_at(sbase * 4 + r * SCR_S * 4 + c);
        float v1 = scratch_at(sbase * 4 + r * SCR_S * 4 + c + 1);
        if (SCALED) {
          const int ex = bf16_scale_exp(amax_x[pc.ax_off + row]);
          v0 = times_pow2(v0, ex + bf16_scale_exp(amax_w[pc.aw_off + col]));
          if (col + 1 < pc.N) v1 = times_pow2(v1, ex + bf16_scale_exp(amax_w[pc.aw_off + col + 1]));
        }
        if (HAS_BIAS) {
          v0 += LOAD_ELEM(bias, BT, pc.b_off + col);
          if (col + 1 < pc.N) v1 += LOAD_ELEM(bias, BT, pc.b_off + col + 1);
        }
        v0 = tx_activate(v0, ACT);
        v1 = tx_activate(v1, ACT);
        uint idx = pc.y_off + row * pc.N + col;
        if (YT == DT_F32) {
          y[idx] = floatBitsToUint(v0);
          if (col + 1 < pc.N) y[idx + 1] = floatBitsToUint(v1);
        } else if ((idx & 1u) == 0u && col + 1 < pc.N) {
          // f16: the hardware conversion (round to nearest even, as from_f32)
          y[idx >> 1] = YT == DT_F16 ? packHalf2x16(vec2(v0, v1)) : from_f32(v0, YT) | (from_f32(v1, YT) << 16);
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
