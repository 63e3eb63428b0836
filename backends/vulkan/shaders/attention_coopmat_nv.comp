// sdpa on tensor cores (GL_NV_cooperative_matrix), f16 q/k/v/out, head dims
// D = Dv = HD (64 or 128): flash attention with f16 fragments and f32
// accumulators, the softmax done in registers on the S fragments.
//
// A workgroup of NSG subgroups (32 lanes) owns BQ = 16 MB NSG query rows of
// one head, MB blocks of 16 per subgroup; its Q fragments stay in registers.
// With MB = 2 each K / V fragment loaded from shared memory feeds two products
// (FlashAttention-2's 32 rows per warp), at twice the accumulator registers.
// Per tile of BKV keys (K and V staged in shared memory as f16, loaded once
// per workgroup):
//   S = Q K^T              f16 x f16 -> f32 fragments (BKV / 16 of 16 x 16)
//   x = S * scale * log2(e) (element-wise on the fragments)
//   row max of the tile    each lane's 2 MB rows, then 2 subgroup shuffles
//   P = exp2(x - m)        element-wise; l += P per lane (reduced at the end)
//   O += f16(P) V          the converted S fragments are P V's A operand
// No score, probability or accumulator ever goes through shared memory.
// Lazy rescaling: a row's running max m only moves (O and l rescaled, in
// registers) when a tile max exceeds it by more than TAU (log2 units), so
// P <= 2^TAU (fine in f16) and the rescale is rare after the first tiles.
// out = O / l (0 for an empty key sequence), rounded once to f16, written
// through a per-subgroup shared scratch as 16-byte stores.
//
// Element layout: the row-wise steps need to know which row of a 16 x 16 f32
// fragment each of a lane's 8 components holds. NVIDIA's layout (that of
// mma.m16n8k16's accumulator, two n8 halves) is assumed:
//   lane L, component i: row L/4 + 8 (i/4), column 2 (L%4) + i%2 + 8 ((i/2) % 2)
// (read back on the H100 with a probe; see SDPA_NOTES.md)
// and checked once per subgroup at the start against a fragment loaded from
// shared memory; on any mismatch the kernel writes NaN to its outputs (never
// silently wrong); attention.cpp only picks this kernel on NVIDIA devices.
//
// EMULATE builds a functional model without the extension, for devices
// without tensor cores (lavapipe): fragments are 8 floats per lane in the same
// layout, products computed from shared / global memory, subgroup operations
// through shared memory and workgroup barriers. It exercises the layout-
// dependent softmax, masking, sequences and epilogue of the real kernel.
//
// Sequences and masks as attention.comp (rows global, tiles may span
// sequences, cu_seqlens clamped on the device).
//
// bf16 inputs (IN_BF16): each head of q, k and v is scaled by a power of two
// 2^-e into f16's range (absmax.comp gives the head's largest magnitude M; e =
// floor(log2 M) - 14, so the largest value lands in [2^14, 2^15)), and the
// tiles are f16 from there on. bf16's 8-bit significand fits f16's 11 bits, so
// every element within 2^29 of its head's largest magnitude is carried
// exactly; smaller ones become f16 subnormals (fewer bits), and below 2^-39 of
// it zero. Scores are S 2^-(eq+ek): the scale absorbs 2^(eq+ek); O is
// multiplied by 2^ev at the end and written as bf16. Nothing is ever forced
// into f16 beyond its range (the precision contract of docs/numerics.md).
// KV_F16: the host made the scaled f16 copies of k and v already (every K / V
// tile is staged once per 16·NSG query rows, so converting them here would
// repeat the work Tq / (16·NSG) times); only q is converted while staged.
#version 450
#extension GL_EXT_control_flow_attributes : enable
#ifndef EMULATE
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_vote : require
#extension GL_KHR_shader_subgroup_shuffle : require
#extension GL_KHR_memory_scope_semantics : enable
#extension GL_NV_cooperative_matrix : require
#endif
#include "common.glsl"

#ifndef HD
#define HD 128
#endif
#ifndef BKV
#define BKV 64
#endif
#ifndef NSG
#define NSG 4
#endif
#ifndef MB
#define MB 1  // blocks of 16 query rows per subgroup
#endif
#ifndef DB
#define DB 0  // 1: K / V double-buffered in shared, the next tile's global loads in flight during this one
#endif
#define RPS (16 * MB)  // query rows per subgroup
#define BQ (RPS * NSG)
#define NT (32 * NSG)
#define NJ (BKV / 16)
#define ND (HD / 16)
#define TAU 8.0
#define LOG2E 1.4426950408889634
#define RPV ((HD + 8) / 8)  // uvec4 per K / V / Q / out row in shared (8 halves of padding)
#define KS 0                // K tile [BKV][RPV] (DB: tile buffer b at b * KV_V / 2)
#define VS (BKV * RPV)      // V tile [BKV][RPV]; Q staging and out scratch [BQ][RPV] overlay both
#define KV_V ((DB + 1) * 2 * BKV * RPV)
#define Q_V (BQ * RPV)
#ifdef EMULATE
#define PE (KV_V > Q_V ? KV_V : Q_V)  // per subgroup: RPS x BKV f32 probabilities
#define SH_V (PE + NSG * RPS * BKV / 4)
#else
#define SH_V (KV_V > Q_V ? KV_V : Q_V)
#endif
#define LD_TOT (BKV * HD / 8)              // uvec4 of K (and of V) per tile
#define LD_PER ((LD_TOT + NT - 1) / NT)     // ... per invocation
#define LD_OK(l) (LD_TOT % NT == 0 || (l) < LD_TOT)

layout(local_size_x = NT) in;
layout(constant_id = 2) const bool VARLEN = false;
layout(constant_id = 3) const bool ALIGNED = false;   // q/k/v offsets multiples of 8 elements: 16-byte loads
layout(constant_id = 4) const bool OALIGNED = false;  // out offset a multiple of 8 elements: 16-byte stores
layout(constant_id = 5) const bool IN_BF16 = false;   // q/k/v/out bf16: per-head power-of-two scaling into f16
layout(constant_id = 6) const bool KV_F16 = false;    // IN_BF16: k / v bound as their scaled f16 copies

layout(std430, binding = 0) readonly buffer Q { uint q[]; };
layout(std430, binding = 1) readonly buffer K { uint k[]; };
layout(std430, binding = 2) readonly buffer V { uint v[]; };
layout(std430, binding = 3) buffer O { uint o[]; };
layout(std430, binding = 4) readonly buffer CQ { int cu_q[]; };
layout(std430, binding = 5) readonly buffer CK { int cu_k[]; };
layout(std430, binding = 6) readonly buffer AM { uint amax[]; };  // IN_BF16: [H] q, [Hk] k, [Hk] v (bf16 magnitude bits)
layout(std430, binding = 0) readonly buffer Q4 { uvec4 q4[]; };
layout(std430, binding = 1) readonly buffer K4 { uvec4 k4[]; };
layout(std430, binding = 2) readonly buffer V4 { uvec4 v4[]; };
layout(std430, binding = 3) buffer O4 { uvec4 o4[]; };

layout(push_constant) uniform PC {
  uint B;
  uint Tq, Tk;
  uint Nq, Nk;
  uint H, Hk, D, Dv;
  uint q_off, k_off, v_off, o_off, cq_off, ck_off;
  float scale;
  uint tile_base;
  uint tile_x0, tile_y0;
  uint am_off;
} pc;

shared uvec4 sh[SH_V];

// Row (0..15) and column (0..15) of component i of a lane's 16 x 16 f32 fragment.
#define ROW_HI(i) (((i) >> 2) != 0u)
#define COL_OF(ln, i) (2u * ((ln) & 3u) + ((i) & 1u) + 8u * (((i) >> 1) & 1u))

#ifdef EMULATE
#define SG_ID (gl_LocalInvocationID.x / 32u)
#define LANE (gl_LocalInvocationID.x % 32u)
shared float xchg[NT];
shared uint flag_sh[NSG];
struct Frag {
  float v[8];
};
#define FRAG32 Frag
#define FE(f, i) f.v[i]
Frag frag_zero() {
  Frag f;
  [[unroll]] for (uint i = 0u; i < 8u; ++i) f.v[i] = 0.0;
  return f;
}
#define FRAG32_ZERO frag_zero()
float sh_half(uint h) { return f16_bits_to_f32((sh[h >> 3][(h & 7u) >> 1] >> ((h & 1u) * 16u)) & 0xffffu); }
// Shuffle-xor within each 4-lane row group, through shared memory (workgroup barriers).
float xor_max(float x) {
  const uint t = gl_LocalInvocationID.x;
  barrier();
  xchg[t] = x;
  barrier();
  x = max(x, xchg[t ^ 1u]);
  barrier();
  xchg[t] = x;
  barrier();
  return max(x, xchg[t ^ 2u]);
}
float xor_sum(float x) {
  const uint t = gl_LocalInvocationID.x;
  barrier();
  xchg[t] = x;
  barrier();
  x += xchg[t ^ 1u];
  barrier();
  xchg[t] = x;
  barrier();
  return x + xchg[t ^ 2u];
}
#define QK1(p) t = fma(f16_bits_to_f32(half_bits(w[(p) >> 1], (p))), sh_half(kbase + cc + (p)), t);
#define QK8 QK1(0u) QK1(1u) QK1(2u) QK1(3u) QK1(4u) QK1(5u) QK1(6u) QK1(7u)
#define PV1(x) \
  t = fma(uintBitsToFloat(sh[(prow + k16 + (x)) >> 2][(prow + k16 + (x)) & 3u]), sh_half((VB + (k16 + (x)) * RPV) * 8u + col), t);
#define PV16 PV1(0u) PV1(1u) PV1(2u) PV1(3u) PV1(4u) PV1(5u) PV1(6u) PV1(7u) \
             PV1(8u) PV1(9u) PV1(10u) PV1(11u) PV1(12u) PV1(13u) PV1(14u) PV1(15u)
bool sg_any(bool b) {
  barrier();
  if (LANE == 0u) flag_sh[SG_ID] = 0u;
  barrier();
  if (b) atomicOr(flag_sh[SG_ID], 1u);
  barrier();
  return flag_sh[SG_ID] != 0u;
}
#else
#define SG_ID gl_SubgroupID
#define LANE gl_SubgroupInvocationID
#define FRAG16 fcoopmatNV<16, gl_ScopeSubgroup, 16, 16>
#define FRAG32 fcoopmatNV<32, gl_ScopeSubgroup, 16, 16>
#define FE(f, i) f[i]
#define FRAG32_ZERO FRAG32(0.0)
float xor_max(float x) {
  x = max(x, subgroupShuffleXor(x, 1u));
  return max(x, subgroupShuffleXor(x, 2u));
}
float xor_sum(float x) {
  x += subgroupShuffleXor(x, 1u);
  return x + subgroupShuffleXor(x, 2u);
}
#define sg_any(b) subgroupAny(b)
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

#define CVT8(v, mul) (IN_BF16 ? bf16x8_to_f16((v), (mul)) : (v))
#define CVT8_KV(v, mul) (IN_BF16 && !KV_F16 ? bf16x8_to_f16((v), (mul)) : (v))
#define OUT_BITS(v) (IN_BF16 ? from_f32((v), DT_BF16) : f32_to_f16_bits(v))

// 8 halves of row `row` (element index of its first element `e`, any alignment), zeros when !ok.
#define LOAD8(buf, buf4, e, ok)                                                                              \
  (!(ok) ? uvec4(0)                                                                                          \
         : ALIGNED ? buf4[(e) >> 3]                                                                          \
                   : uvec4(half_bits(buf[(e) >> 1], (e)) | (half_bits(buf[((e) + 1u) >> 1], (e) + 1u) << 16),  \
                           half_bits(buf[((e) + 2u) >> 1], (e) + 2u) | (half_bits(buf[((e) + 3u) >> 1], (e) + 3u) << 16), \
                           half_bits(buf[((e) + 4u) >> 1], (e) + 4u) | (half_bits(buf[((e) + 5u) >> 1], (e) + 5u) << 16), \
                           half_bits(buf[((e) + 6u) >> 1], (e) + 6u) | (half_bits(buf[((e) + 7u) >> 1], (e) + 7u) << 16)))

// Index (0 .. 2 MB - 1) of the row that component i of block b's fragment holds among this lane's rows.
#define RQ(b, i) (2u * (b) + (ROW_HI(i) ? 1u : 0u))

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
  // bf16: per-head scales 2^-e of q, k, v; the scores carry 2^-(eq+ek), folded into c2; the output
  // gets 2^ev back.
  float mq = 1.0, mk = 1.0, mv = 1.0, out_mul = 1.0;
  int eqk = 0;
  if (IN_BF16) {
    const int eq = bf16_scale_exp(amax[pc.am_off + h]), ek = bf16_scale_exp(amax[pc.am_off + pc.H + hk]);
    const int ev = bf16_scale_exp(amax[pc.am_off + pc.H + pc.Hk + hk]);
    mq = exp2(float(-eq));
    mk = exp2(float(-ek));
    mv = exp2(float(-ev));
    eqk = eq + ek;
    out_mul = exp2(float(ev));
  }
  const float c2 = times_pow2(pc.scale * float(LOG2E), eqk);
  // This lane's rows: in block b, component rows g and g + 8 of the block's 16 (index RQ(b, i)).
  const uint g = lane >> 2;
  uint rows[2 * MB];
  [[unroll]] for (uint q = 0u; q < 2u * MB; ++q) rows[q] = r0 + sg * RPS + 16u * (q >> 1) + g + 8u * (q & 1u);

#ifndef EMULATE
  // Layout check: a fragment holding row * 16 + column, read back per component.
  [[unroll]] for (uint e = 0u; e < 256u / 4u / 32u; ++e) {
    uint w = lane + e * 32u;  // uvec4 index within this subgroup's 16 x 16 f32 block
    sh[sg * 64u + w] = floatBitsToUint(vec4(w * 4u) + vec4(0.0, 1.0, 2.0, 3.0));
  }
  subgroupMemoryBarrierShared();
  subgroupBarrier();
  bool layout_ok;
  {
    FRAG32 pr;
    coopMatLoadNV(pr, sh, sg * 64u, 4u, false);
    layout_ok = pr.length() == 8;
    [[unroll]] for (uint i = 0u; i < 8u; ++i)
      layout_ok = layout_ok && pr[i] == float((g + (ROW_HI(i) ? 8u : 0u)) * 16u + COL_OF(lane, i));
    layout_ok = subgroupAll(layout_ok);
  }
  barrier();  // the probe area is overwritten by the Q staging
#endif

  // Q tile -> shared -> fragments (kept for the whole workgroup).
#ifndef EMULATE
  [[unroll]] for (uint e = 0u; e < BQ * HD / 8u / NT; ++e) {
    uint l = tid + e * NT, rr = l / (HD / 8u), c = (l % (HD / 8u)) * 8u, qrow = r0 + rr;
    sh[rr * RPV + c / 8u] = CVT8(LOAD8(q, q4, pc.q_off + (qrow * pc.H + h) * HD + c, qrow < pc.Tq), mq);
  }
  barrier();
  FRAG16 qa[MB * ND];
  [[unroll]] for (uint b = 0u; b < MB; ++b)
    [[unroll]] for (uint kk = 0u; kk < ND; ++kk)
      coopMatLoadNV(qa[b * ND + kk], sh, (sg * RPS + 16u * b) * RPV + kk * 2u, RPV, false);
#endif
  FRAG32 acc[MB * ND];
  [[unroll]] for (uint n = 0u; n < MB * ND; ++n) acc[n] = FRAG32_ZERO;
  float m[2 * MB];  // running max (log2 units) per row, the same in the row's 4 lanes
  float l[2 * MB];  // this lane's part of the row sums
  [[unroll]] for (uint q = 0u; q < 2u * MB; ++q) {
    m[q] = NEG_INF;
    l[q] = 0.0;
  }

  const uint s_first = seq_of(r0), s_last = seq_of(r_end - 1u);
  for (uint s = s_first; s <= s_last && s < pc.B; ++s) {
    const uint qa_row = max(q_begin(s), r0), qb_row = min(q_end(s), r_end);
    if (qa_row >= qb_row) continue;  // uniform
    bool okr[2 * MB];
    [[unroll]] for (uint q = 0u; q < 2u * MB; ++q) okr[q] = rows[q] >= qa_row && rows[q] < qb_row;
    const bool full = qa_row == r0 && qb_row == r0 + BQ;  // every row of the tile is in sequence s
    const uint kb = k_end(s);
    const uint ka = k_begin(s);
#if DB
    barrier();  // the previous sequence's tiles (or the Q staging) are no longer read
    [[unroll]] for (uint e = 0u; e < LD_PER; ++e) {
      uint l = tid + e * NT, jj = l / (HD / 8u), c = (l % (HD / 8u)) * 8u, key = ka + jj;
      if (!LD_OK(l)) break;
      sh[KS + jj * RPV + c / 8u] = CVT8_KV(LOAD8(k, k4, pc.k_off + (key * pc.Hk + hk) * HD + c, key < kb), mk);
      sh[VS + jj * RPV + c / 8u] = CVT8_KV(LOAD8(v, v4, pc.v_off + (key * pc.Hk + hk) * HD + c, key < kb), mv);
    }
    barrier();
    uint buf = 0u;
#endif
    for (uint j0 = ka; j0 < kb; j0 += BKV) {
#if DB
      // Next tile: global loads issued now, stored to the other buffer after this tile's products.
      const bool has_next = j0 + BKV < kb;
      uvec4 kr[LD_PER], vr[LD_PER];
      if (has_next) {
        [[unroll]] for (uint e = 0u; e < LD_PER; ++e) {
          uint l = tid + e * NT, jj = l / (HD / 8u), c = (l % (HD / 8u)) * 8u, key = j0 + BKV + jj;
          if (!LD_OK(l)) break;
          kr[e] = CVT8_KV(LOAD8(k, k4, pc.k_off + (key * pc.Hk + hk) * HD + c, key < kb), mk);
          vr[e] = CVT8_KV(LOAD8(v, v4, pc.v_off + (key * pc.Hk + hk) * HD + c, key < kb), mv);
        }
      }
      const uint KB = KS + buf * (KV_V / 2u), VB = VS + buf * (KV_V / 2u);
#else
      const uint KB = KS, VB = VS;
      barrier();  // the previous tile's K / V (or the Q staging) are no longer read
      [[unroll]] for (uint e = 0u; e < LD_PER; ++e) {
        uint l = tid + e * NT, jj = l / (HD / 8u), c = (l % (HD / 8u)) * 8u, key = j0 + jj;
        if (!LD_OK(l)) break;
        sh[KS + jj * RPV + c / 8u] = CVT8_KV(LOAD8(k, k4, pc.k_off + (key * pc.Hk + hk) * HD + c, key < kb), mk);
        sh[VS + jj * RPV + c / 8u] = CVT8_KV(LOAD8(v, v4, pc.v_off + (key * pc.Hk + hk) * HD + c, key < kb), mv);
      }
      barrier();
#endif

      // S = Q K^T (block b's fragments at sfr[b NJ + j]).
      FRAG32 sfr[MB * NJ];
#ifdef EMULATE
      // lavapipe ends an invocation after 65,535 loop iterations and does not unroll
      // everything: loops stay rolled and their bodies are written out (QK8, PV16).
      for (uint e = 0u; e < MB * NJ * 8u; ++e) {
        const uint bj = e / 8u, i = e % 8u, j = bj % NJ;
        const uint qrow = rows[RQ(bj / NJ, i)], kbase = (KB + (j * 16u + COL_OF(lane, i)) * RPV) * 8u;
        float t = 0.0;
        if (qrow < pc.Tq) {
          for (uint c = 0u; c < HD; c += 16u) {
            uvec4 w = CVT8(LOAD8(q, q4, pc.q_off + (qrow * pc.H + h) * HD + c, true), mq);
            uint cc = c;
            QK8
            w = CVT8(LOAD8(q, q4, pc.q_off + (qrow * pc.H + h) * HD + c + 8u, true), mq);
            cc = c + 8u;
            QK8
          }
        }
        sfr[bj].v[i] = t;
      }
#else
      [[unroll]] for (uint j = 0u; j < MB * NJ; ++j) sfr[j] = FRAG32_ZERO;
      [[unroll]] for (uint kk = 0u; kk < ND; ++kk)
        [[unroll]] for (uint j = 0u; j < NJ; ++j) {
          FRAG16 kb_frag;
          coopMatLoadNV(kb_frag, sh, KB + j * 16u * RPV + kk * 2u, RPV, true);  // K rows are B's columns
          [[unroll]] for (uint b = 0u; b < MB; ++b)
            sfr[b * NJ + j] = coopMatMulAddNV(qa[b * ND + kk], kb_frag, sfr[b * NJ + j]);
        }
#endif

      // Scale into log2 units, mask, row max of the tile.
      float mx[2 * MB];
      [[unroll]] for (uint q = 0u; q < 2u * MB; ++q) mx[q] = NEG_INF;
      if (full && j0 + BKV <= kb) {  // uniform: no masked row or key in this tile
        [[unroll]] for (uint b = 0u; b < MB; ++b)
          [[unroll]] for (uint j = 0u; j < NJ; ++j)
            [[unroll]] for (uint i = 0u; i < 8u; ++i) {
              const float x = FE(sfr[b * NJ + j], i) * c2;
              FE(sfr[b * NJ + j], i) = x;
              mx[RQ(b, i)] = max(mx[RQ(b, i)], x);
            }
      } else {
        [[unroll]] for (uint b = 0u; b < MB; ++b)
          [[unroll]] for (uint j = 0u; j < NJ; ++j)
            [[unroll]] for (uint i = 0u; i < 8u; ++i) {
              const bool ok = okr[RQ(b, i)] && j0 + j * 16u + COL_OF(lane, i) < kb;
              const float x = ok ? FE(sfr[b * NJ + j], i) * c2 : NEG_INF;
              FE(sfr[b * NJ + j], i) = x;
              mx[RQ(b, i)] = max(mx[RQ(b, i)], x);
            }
      }
      bool grow = false;
      [[unroll]] for (uint q = 0u; q < 2u * MB; ++q) {
        mx[q] = xor_max(mx[q]);
        grow = grow || mx[q] > m[q] + TAU;
      }
      if (sg_any(grow)) {  // move each row's max to its tile max, rescale O and l
        float a[2 * MB];
        [[unroll]] for (uint q = 0u; q < 2u * MB; ++q) {
          const float n = max(m[q], mx[q]);
          a[q] = m[q] == NEG_INF ? 0.0 : exp2(m[q] - n);
          m[q] = n;
          l[q] *= a[q];
        }
        [[unroll]] for (uint b = 0u; b < MB; ++b)
          [[unroll]] for (uint n = 0u; n < ND; ++n)
            [[unroll]] for (uint i = 0u; i < 8u; ++i) FE(acc[b * ND + n], i) *= a[RQ(b, i)];
      }
      // P = exp2(x - m) <= 2^TAU; masked entries (x = -inf) give 0 (m of a row with no key yet taken as 0).
      float base[2 * MB];
      [[unroll]] for (uint q = 0u; q < 2u * MB; ++q) base[q] = m[q] == NEG_INF ? 0.0 : m[q];
      [[unroll]] for (uint b = 0u; b < MB; ++b)
        [[unroll]] for (uint j = 0u; j < NJ; ++j)
          [[unroll]] for (uint i = 0u; i < 8u; ++i) {
            const float p = exp2(FE(sfr[b * NJ + j], i) - base[RQ(b, i)]);
            FE(sfr[b * NJ + j], i) = p;
            l[RQ(b, i)] += p;
          }

      // O += f16(P) V.
#ifdef EMULATE
      {
        const uint pe = PE + sg * (RPS * BKV / 4u);  // f32 [RPS][BKV]
        barrier();
        [[unroll]] for (uint b = 0u; b < MB; ++b)
          [[unroll]] for (uint j = 0u; j < NJ; ++j)
            [[unroll]] for (uint i = 0u; i < 8u; ++i) {
              const uint idx = pe * 4u + (16u * b + g + (ROW_HI(i) ? 8u : 0u)) * BKV + j * 16u + COL_OF(lane, i);
              sh[idx >> 2][idx & 3u] = floatBitsToUint(f16_bits_to_f32(f32_to_f16_bits(sfr[b * NJ + j].v[i])));
            }
        barrier();
        for (uint e = 0u; e < MB * HD / 2u; ++e) {
          const uint bn = e / 8u, i = e % 8u, n = bn % ND;
          const uint prow = pe * 4u + (16u * (bn / ND) + g + (ROW_HI(i) ? 8u : 0u)) * BKV;
          const uint col = n * 16u + COL_OF(lane, i);
          float t = acc[bn].v[i];
          for (uint k16 = 0u; k16 < BKV; k16 += 16u) {
            PV16
          }
          acc[bn].v[i] = t;
        }
      }
#else
      FRAG16 pa[MB * NJ];
      [[unroll]] for (uint j = 0u; j < MB * NJ; ++j) pa[j] = FRAG16(sfr[j]);
      [[unroll]] for (uint n = 0u; n < ND; ++n)
        [[unroll]] for (uint kk = 0u; kk < NJ; ++kk) {
          FRAG16 vb;
          coopMatLoadNV(vb, sh, VB + kk * 16u * RPV + n * 2u, RPV, false);
          [[unroll]] for (uint b = 0u; b < MB; ++b)
            acc[b * ND + n] = coopMatMulAddNV(pa[b * NJ + kk], vb, acc[b * ND + n]);
        }
#endif
#if DB
      if (has_next) {
        [[unroll]] for (uint e = 0u; e < LD_PER; ++e) {
          uint l = tid + e * NT, jj = l / (HD / 8u), c = (l % (HD / 8u)) * 8u;
          if (!LD_OK(l)) break;
          sh[KS + (buf ^ 1u) * (KV_V / 2u) + jj * RPV + c / 8u] = kr[e];
          sh[VS + (buf ^ 1u) * (KV_V / 2u) + jj * RPV + c / 8u] = vr[e];
        }
      }
      barrier();  // next tile stored; this tile's buffer free for the one after
      buf ^= 1u;
#endif
    }
  }

  // out = O / l, converted to f16 in registers, through this subgroup's scratch rows.
  float inv[2 * MB];
  [[unroll]] for (uint q = 0u; q < 2u * MB; ++q) {
    l[q] = xor_sum(l[q]);
    inv[q] = l[q] > 0.0 ? out_mul / l[q] : 0.0;
#ifndef EMULATE
    if (!layout_ok) inv[q] = uintBitsToFloat(0x7fc00000u);  // unknown fragment layout: fail loudly
#endif
  }
  const uint scr = sg * RPS * RPV;  // [RPS][RPV] uvec4 rows of f16
  barrier();                        // K / V no longer read
  // Per element (bf16 out, or the functional model): components i, i + 1 are adjacent columns of one row.
#define EPI_PER_ELEMENT                                                                                     \
  [[unroll]] for (uint b = 0u; b < MB; ++b)                                                               \
    [[unroll]] for (uint n = 0u; n < ND; ++n)                                                             \
      [[unroll]] for (uint i = 0u; i < 8u; i += 2u) {                                                     \
        const uint rr = 16u * b + g + (ROW_HI(i) ? 8u : 0u), col = n * 16u + COL_OF(lane, i);             \
        const float iv = inv[RQ(b, i)];                                                                    \
        const uint hidx = (scr + rr * RPV) * 8u + col;                                                     \
        sh[hidx >> 3][(hidx & 7u) >> 1] =                                                                  \
            OUT_BITS(FE(acc[b * ND + n], i) * iv) | (OUT_BITS(FE(acc[b * ND + n], i + 1u) * iv) << 16);   \
      }
#ifdef EMULATE
  EPI_PER_ELEMENT
  barrier();
#else
  if (IN_BF16) {
    EPI_PER_ELEMENT
  } else {
    [[unroll]] for (uint b = 0u; b < MB; ++b)
      [[unroll]] for (uint n = 0u; n < ND; ++n) {
        [[unroll]] for (uint i = 0u; i < 8u; ++i) acc[b * ND + n][i] *= inv[RQ(b, i)];
        FRAG16 of = FRAG16(acc[b * ND + n]);
        coopMatStoreNV(of, sh, scr + 16u * b * RPV + n * 2u, RPV, false);
      }
  }
  subgroupMemoryBarrierShared();
  subgroupBarrier();
#endif
  // RPS rows x HD / 8 uvec4 per subgroup, 32 lanes.
  [[unroll]] for (uint e = 0u; e < RPS * HD / 8u / 32u; ++e) {
    const uint w = lane + e * 32u, rr = w / (HD / 8u), c = (w % (HD / 8u)) * 8u;
    const uint row = r0 + sg * RPS + rr;
    if (row < pc.Tq) {
      const uvec4 x = sh[scr + rr * RPV + c / 8u];
      const uint idx = pc.o_off + (row * pc.H + h) * HD + c;
      if (OALIGNED) {
        o4[idx >> 3] = x;
      } else {
        [[unroll]] for (uint p = 0u; p < 4u; ++p) {
          const uint b0 = x[p] & 0xffffu, b1 = x[p] >> 16, ix = idx + 2u * p;
          if ((ix & 1u) == 0u) {
            o[ix >> 1] = b0 | (b1 << 16);
          } else {
            STORE_HALF_ATOMIC(o, ix, b0)
            STORE_HALF_ATOMIC(o, ix + 1u, b1)
          }
        }
      }
    }
  }
}
