// sdpa on tensor cores (GL_NV_cooperative_matrix), f16 q/k/v/out, head dims
// D = Dv = HD (64 or 128): flash attention with f16 fragments and f32
// accumulators. A workgroup of 4 subgroups (32 lanes) owns 64 query rows of
// one head, 16 per subgroup; its Q fragments stay in registers. Per tile of
// BKV = 32 keys (K and V staged in shared memory as f16):
//   S = Q K^T            (f16 x f16 -> f32 fragments, scale applied in f32)
//   online softmax in f32 on S (two lanes per row), P = exp(S - m) rounded to
//   f16, l += rowsum(P) (of the rounded values)
//   O += P V             (f16 x f16 -> f32 fragments)
// Lazy rescaling: the running max m of a row only moves (and O and l are
// rescaled, through shared memory) when the tile max exceeds it by more than
// TAU, so P <= e^TAU (fine in f16) and the fragments are rarely touched.
// out = O / l (0 for an empty key sequence), rounded once to f16.
// Sequences and masks as attention.comp (rows global, tiles may span
// sequences, cu_seqlens clamped on the device).
// EMULATE builds a functional model of the same kernel without the
// extension (fragments emulated through shared memory, workgroup barriers),
// so that the algorithm can be tested on devices without tensor cores.
#version 450
#extension GL_EXT_control_flow_attributes : enable
#ifndef EMULATE
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_memory_scope_semantics : enable
#extension GL_NV_cooperative_matrix : require
#endif
#include "common.glsl"

#ifndef HD
#define HD 128
#endif
#define BQ 64
#define BKV 32
#define NSG 4
#define NT (32 * NSG)
#define TAU 8.0
#define RPV ((HD + 8) / 8)       // uvec4 per K / V / Q row in shared (8 halves of padding)
#define KS 0                     // K tile [BKV][RPV]
#define VS (BKV * RPV)           // V tile [BKV][RPV]; Q staging [BQ][RPV] overlays K and V
#define SC (2 * BKV * RPV)       // per subgroup: 16 x BKV f32 scores / 16 x 16 f32 scratch
#define SC_V (16 * BKV / 4)
#define PS (SC + NSG * SC_V)     // per subgroup: 16 x (BKV + 8) f16 probabilities
#define PS_RV ((BKV + 8) / 8)
#define PS_V (16 * PS_RV)
#define SH_V (PS + NSG * PS_V)

layout(local_size_x = NT) in;
layout(constant_id = 2) const bool VARLEN = false;
layout(constant_id = 3) const bool ALIGNED = false;  // offsets multiples of 8 elements: 16-byte loads

layout(std430, binding = 0) readonly buffer Q { uint q[]; };
layout(std430, binding = 1) readonly buffer K { uint k[]; };
layout(std430, binding = 2) readonly buffer V { uint v[]; };
layout(std430, binding = 3) buffer O { uint o[]; };
layout(std430, binding = 4) readonly buffer CQ { int cu_q[]; };
layout(std430, binding = 5) readonly buffer CK { int cu_k[]; };
layout(std430, binding = 0) readonly buffer Q4 { uvec4 q4[]; };
layout(std430, binding = 1) readonly buffer K4 { uvec4 k4[]; };
layout(std430, binding = 2) readonly buffer V4 { uvec4 v4[]; };

layout(push_constant) uniform PC {
  uint B;
  uint Tq, Tk;
  uint Nq, Nk;
  uint H, Hk, D, Dv;
  uint q_off, k_off, v_off, o_off, cq_off, ck_off;
  float scale;
  uint tile_base;
  uint tile_x0, tile_y0;
} pc;

shared uvec4 sh[SH_V];
shared float m_sh[BQ], l_sh[BQ], al_sh[BQ];
shared float xchg[NT];
shared uint flag_sh[NSG];

#ifdef EMULATE
#define SG_ID (gl_LocalInvocationID.x / 32u)
#define LANE (gl_LocalInvocationID.x % 32u)
#define SG_SYNC() barrier()
// Fragment of a 16 x 16 matrix: lane L holds elements L * 8 + i (row (L * 8 + i) / 16).
struct Frag {
  float v[8];
};
#define FRAG16 Frag
#define FRAG32 Frag
Frag frag_zero() {
  Frag f;
  [[unroll]] for (uint i = 0u; i < 8u; ++i) f.v[i] = 0.0;
  return f;
}
#define FRAG32_ZERO frag_zero()
float sh_half(uint h) { return f16_bits_to_f32((sh[h >> 3][(h & 7u) >> 1] >> ((h & 1u) * 16u)) & 0xffffu); }
// base, stride in uvec4 (8 halves / 4 floats), as coopMatLoadNV / coopMatStoreNV on sh.
void frag_load16(out Frag f, uint base, uint stride, bool col_major) {
  [[unroll]] for (uint i = 0u; i < 8u; ++i) {
    uint e = LANE * 8u + i, r = e / 16u, c = e % 16u;
    f.v[i] = sh_half(base * 8u + (col_major ? c * stride * 8u + r : r * stride * 8u + c));
  }
}
void frag_store32(Frag f, uint base, uint stride) {
  [[unroll]] for (uint i = 0u; i < 8u; ++i) {
    uint e = LANE * 8u + i, idx = base * 4u + (e / 16u) * stride * 4u + e % 16u;
    sh[idx >> 2][idx & 3u] = floatBitsToUint(f.v[i]);
  }
}
void frag_load32(out Frag f, uint base, uint stride) {
  [[unroll]] for (uint i = 0u; i < 8u; ++i) {
    uint e = LANE * 8u + i, idx = base * 4u + (e / 16u) * stride * 4u + e % 16u;
    f.v[i] = uintBitsToFloat(sh[idx >> 2][idx & 3u]);
  }
}
// C + A B through this subgroup's score scratch (free whenever a product runs).
Frag frag_muladd(Frag a, Frag b, Frag c) {
  const uint base = (SC + SG_ID * SC_V) * 4u;
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
#else
#define SG_ID gl_SubgroupID
#define LANE gl_SubgroupInvocationID
#define SG_SYNC()              \
  {                            \
    subgroupMemoryBarrierShared(); \
    subgroupBarrier();         \
  }
#define FRAG16 fcoopmatNV<16, gl_ScopeSubgroup, 16, 16>
#define FRAG32 fcoopmatNV<32, gl_ScopeSubgroup, 16, 16>
#define FRAG32_ZERO FRAG32(0.0)
#define frag_load16(f, base, stride, cm) coopMatLoadNV(f, sh, base, stride, cm)
#define frag_load32(f, base, stride) coopMatLoadNV(f, sh, base, stride, false)
#define frag_store32(f, base, stride) coopMatStoreNV(f, sh, base, stride, false)
#define frag_muladd(a, b, c) coopMatMulAddNV(a, b, c)
#endif

uint q_begin(uint s) { return VARLEN ? uint(clamp(cu_q[pc.cq_off + s], 0, int(pc.Tq))) : s * pc.Nq; }
uint q_end(uint s) {
  return VARLEN ? uint(clamp(cu_q[pc.cq_off + s + 1u], int(q_begin(s)), int(pc.Tq))) : (s + 1u) * pc.Nq;
}
uint k_begin(uint s) { return VARLEN ? uint(clamp(cu_k[pc.ck_off + s], 0, int(pc.Tk))) : s * pc.Nk; }
uint k_end(uint s) {
  return VARLEN ? uint(clamp(cu_k[pc.ck_off + s + 1u], int(k_begin(s)), int(pc.Tk))) : (s + 1u) * pc.Nk;
}

uint seq_of(uint row) {
  if (!VARLEN) return min(row / max(pc.Nq, 1u), pc.B - 1u);
  uint lo = 0u, n = pc.B;
  while (n > 0u) {
    uint half_n = n / 2u, mid = lo + half_n;
    if (q_begin(mid) <= row) {
      lo = mid + 1u;
      n -= half_n + 1u;
    } else {
      n = half_n;
    }
  }
  return lo > 0u ? lo - 1u : 0u;
}

uint half_bits(uint word, uint i) { return (word >> ((i & 1u) * 16u)) & 0xffffu; }

// 8 halves of row `row` (element index of its first element `e`, any alignment), zeros when !ok.
#define LOAD8(buf, buf4, e, ok)                                                                              \
  (!(ok) ? uvec4(0)                                                                                          \
         : ALIGNED ? buf4[(e) >> 3]                                                                          \
                   : uvec4(half_bits(buf[(e) >> 1], (e)) | (half_bits(buf[((e) + 1u) >> 1], (e) + 1u) << 16),  \
                           half_bits(buf[((e) + 2u) >> 1], (e) + 2u) | (half_bits(buf[((e) + 3u) >> 1], (e) + 3u) << 16), \
                           half_bits(buf[((e) + 4u) >> 1], (e) + 4u) | (half_bits(buf[((e) + 5u) >> 1], (e) + 5u) << 16), \
                           half_bits(buf[((e) + 6u) >> 1], (e) + 6u) | (half_bits(buf[((e) + 7u) >> 1], (e) + 7u) << 16)))

void main() {
  const uint tid = gl_LocalInvocationID.x;
  const uint sg = SG_ID, lane = LANE;
  const uint tile = pc.tile_base + pc.tile_x0 + gl_WorkGroupID.x;
  const uint h = pc.tile_y0 + gl_WorkGroupID.y;
  const uint hk = h / (pc.H / pc.Hk);
  const uint r0 = tile * BQ;
  if (r0 >= pc.Tq) return;  // uniform
  const uint r_end = min(r0 + BQ, pc.Tq);
  const float NEG_INF = -TX_INF;
  const uint r = lane / 2u, hh = lane % 2u;  // softmax / epilogue: row r of the subgroup, half hh
  const uint R = sg * 16u + r;               // row within the tile
  const uint row = r0 + R;

  // Q tile -> shared -> fragments (kept for the whole workgroup).
  [[unroll]] for (uint e = 0u; e < BQ * HD / 8u / NT; ++e) {
    uint l = tid + e * NT, rr = l / (HD / 8u), c = (l % (HD / 8u)) * 8u, qrow = r0 + rr;
    sh[rr * RPV + c / 8u] = LOAD8(q, q4, pc.q_off + (qrow * pc.H + h) * HD + c, qrow < pc.Tq);
  }
  if (tid < BQ) {
    m_sh[tid] = NEG_INF;
    l_sh[tid] = 0.0;
  }
  if (tid < NSG) flag_sh[tid] = 0u;
  barrier();
  FRAG16 qa[HD / 16];
  [[unroll]] for (uint kk = 0u; kk < HD / 16u; ++kk) frag_load16(qa[kk], sg * 16u * RPV + kk * 2u, RPV, false);
  FRAG32 acc[HD / 16];
  [[unroll]] for (uint n = 0u; n < HD / 16u; ++n) acc[n] = FRAG32_ZERO;

  const uint s_first = seq_of(r0), s_last = seq_of(r_end - 1u);
  for (uint s = s_first; s <= s_last && s < pc.B; ++s) {
    const uint qa_row = max(q_begin(s), r0), qb_row = min(q_end(s), r_end);
    if (qa_row >= qb_row) continue;  // uniform
    const bool row_ok = row >= qa_row && row < qb_row;
    const uint kb = k_end(s);
    for (uint j0 = k_begin(s); j0 < kb; j0 += BKV) {
      barrier();  // the previous tile's K / V (or the Q staging) are no longer read
      [[unroll]] for (uint e = 0u; e < BKV * HD / 8u / NT; ++e) {
        uint l = tid + e * NT, jj = l / (HD / 8u), c = (l % (HD / 8u)) * 8u, key = j0 + jj;
        sh[KS + jj * RPV + c / 8u] = LOAD8(k, k4, pc.k_off + (key * pc.Hk + hk) * HD + c, key < kb);
        sh[VS + jj * RPV + c / 8u] = LOAD8(v, v4, pc.v_off + (key * pc.Hk + hk) * HD + c, key < kb);
      }
      barrier();

      // S = Q K^T: BKV / 16 fragments of 16 x 16.
      FRAG32 sfr[BKV / 16];
      [[unroll]] for (uint j = 0u; j < BKV / 16u; ++j) sfr[j] = FRAG32_ZERO;
      [[unroll]] for (uint kk = 0u; kk < HD / 16u; ++kk)
        [[unroll]] for (uint j = 0u; j < BKV / 16u; ++j) {
          FRAG16 kb_frag;
          frag_load16(kb_frag, KS + j * 16u * RPV + kk * 2u, RPV, true);  // K rows are B's columns
          sfr[j] = frag_muladd(qa[kk], kb_frag, sfr[j]);
        }
      const uint sc = SC + sg * SC_V;
      [[unroll]] for (uint j = 0u; j < BKV / 16u; ++j) frag_store32(sfr[j], sc + j * 4u, BKV / 4u);
      SG_SYNC();

      // Online softmax: lanes 2r, 2r + 1 own row r, 16 columns each.
      float sv[16];
      float mx = NEG_INF;
      [[unroll]] for (uint t4 = 0u; t4 < 4u; ++t4) {
        uvec4 w = sh[sc + r * (BKV / 4u) + hh * 4u + t4];
        [[unroll]] for (uint t = 0u; t < 4u; ++t) {
          uint c = hh * 16u + t4 * 4u + t;
          float x = (row_ok && j0 + c < kb) ? uintBitsToFloat(w[t]) * pc.scale : NEG_INF;
          sv[t4 * 4u + t] = x;
          mx = max(mx, x);
        }
      }
      xchg[tid] = mx;
      SG_SYNC();
      mx = max(mx, xchg[tid ^ 1u]);
      float mu = m_sh[R];
      if (mx > mu + TAU) {
#ifdef EMULATE
        atomicOr(flag_sh[0], 1u);
#else
        atomicOr(flag_sh[sg], 1u);
#endif
      }
      SG_SYNC();
#ifdef EMULATE
      const bool need = flag_sh[0] != 0u;
#else
      const bool need = flag_sh[sg] != 0u;
#endif
      float alpha = 1.0;
      if (need) {  // move every row's max to its running max and rescale O, fragment by fragment
        const float m_new = max(mu, mx);
        alpha = mu == NEG_INF ? 0.0 : exp(mu - m_new);
        mu = m_new;
        SG_SYNC();  // every lane has read m_sh and the flag
        if (hh == 0u) {
          m_sh[R] = m_new;
          al_sh[R] = alpha;
        }
        if (lane == 0u) {
#ifdef EMULATE
          if (sg == 0u) flag_sh[0] = 0u;
#else
          flag_sh[sg] = 0u;
#endif
        }
        SG_SYNC();
        [[unroll]] for (uint n = 0u; n < HD / 16u; ++n) {
          frag_store32(acc[n], sc, 4u);
          SG_SYNC();
          [[unroll]] for (uint t = 0u; t < 2u; ++t) {
            uvec4 w = sh[sc + r * 4u + hh * 2u + t];
            sh[sc + r * 4u + hh * 2u + t] = floatBitsToUint(uintBitsToFloat(w) * alpha);
          }
          SG_SYNC();
          frag_load32(acc[n], sc, 4u);
          SG_SYNC();
        }
      }
      // P = exp(S - m) in f16 (probabilities at most e^TAU), row sums of the rounded values.
      float psum = 0.0;
      uint pw[8];
      [[unroll]] for (uint t = 0u; t < 16u; t += 2u) {
        uint b0 = sv[t] == NEG_INF ? 0u : f32_to_f16_bits(exp(sv[t] - mu));
        uint b1 = sv[t + 1u] == NEG_INF ? 0u : f32_to_f16_bits(exp(sv[t + 1u] - mu));
        psum += f16_bits_to_f32(b0) + f16_bits_to_f32(b1);
        pw[t / 2u] = b0 | (b1 << 16);
      }
      const uint ps = PS + sg * PS_V;
      sh[ps + r * PS_RV + hh * 2u] = uvec4(pw[0], pw[1], pw[2], pw[3]);
      sh[ps + r * PS_RV + hh * 2u + 1u] = uvec4(pw[4], pw[5], pw[6], pw[7]);
      xchg[tid] = psum;
      SG_SYNC();
      if (hh == 0u) l_sh[R] = l_sh[R] * alpha + (psum + xchg[tid + 1u]);

      // O += P V.
      FRAG16 pa[BKV / 16];
      [[unroll]] for (uint kk = 0u; kk < BKV / 16u; ++kk) frag_load16(pa[kk], ps + kk * 2u, PS_RV, false);
      [[unroll]] for (uint n = 0u; n < HD / 16u; ++n)
        [[unroll]] for (uint kk = 0u; kk < BKV / 16u; ++kk) {
          FRAG16 vb;
          frag_load16(vb, VS + kk * 16u * RPV + n * 2u, RPV, false);
          acc[n] = frag_muladd(pa[kk], vb, acc[n]);
        }
      SG_SYNC();  // the P and score scratch may be rewritten
    }
  }

  // out = O / l, through the score scratch; lanes 2r, 2r + 1 write 8 columns each as 4 words.
  barrier();
  const float l = l_sh[R];
  const float inv = l > 0.0 ? 1.0 / l : 0.0;
  const uint sc = SC + sg * SC_V;
  const uint obase = pc.o_off + (row * pc.H + h) * HD;
  [[unroll]] for (uint n = 0u; n < HD / 16u; ++n) {
    frag_store32(acc[n], sc, 4u);
    SG_SYNC();
    if (row < pc.Tq) {
      [[unroll]] for (uint t = 0u; t < 2u; ++t) {
        vec4 x = uintBitsToFloat(sh[sc + r * 4u + hh * 2u + t]) * inv;
        [[unroll]] for (uint p = 0u; p < 2u; ++p) {
          uint idx = obase + n * 16u + hh * 8u + t * 4u + p * 2u;
          uint b0 = f32_to_f16_bits(x[2u * p]), b1 = f32_to_f16_bits(x[2u * p + 1u]);
          if ((idx & 1u) == 0u) {
            o[idx >> 1] = b0 | (b1 << 16);
          } else {
            STORE_HALF_ATOMIC(o, idx, b0)
            STORE_HALF_ATOMIC(o, idx + 1u, b1)
          }
        }
      }
    }
    SG_SYNC();
  }
}
