// sdpa, portable flash attention (any device, f32 / f16 / bf16 storage):
// softmax(q k^T * scale) v without materialising the score matrix. A
// workgroup owns BQ consecutive query rows of one head and streams BKV-key
// tiles of K and V through shared memory with an online softmax (running
// max m, running sum l, f32 output accumulator O in registers):
//   S = Q K^T (D in DK-wide chunks)      each invocation a 4 x 4 block
//   m' = max(m, rowmax S), P = exp(S*scale - m'), l = l e^(m - m') + rowsum P
//   O = O e^(m - m') + P V (V in VCH-key chunks)
// All statistics and accumulation in f32; out = O / l (0 for an empty key
// sequence), rounded once to the dtype.
// Shared tiles are vec4 arrays laid out so that every shared read is a
// 16-byte vector (Q and K rows along d, P rows and transposed V along keys):
// few memory operations per multiply-add on GPUs and on CPU devices alike.
// Rows are global (dense: b * Nq + i; varlen: token index); a tile may span
// sequences: it visits each sequence it touches, with the other rows masked
// (a fully masked tile leaves a row's state unchanged). Varlen bounds come
// from cu_seqlens on the device (clamped to [0, T]: never out of bounds).
// DV_MAX (compile time: 64, 128, 256) bounds the value head dim Dv; the q/k
// head dim D is any size (chunked). Loops per invocation: about
// 1 + D/16 + BKV/VCH per key tile (llvmpipe ends a shader after 65,535).
#version 450
#extension GL_EXT_control_flow_attributes : enable
#include "common.glsl"

#ifndef DV_MAX
#define DV_MAX 128
#endif
#define BQ 64
#define BKV 64
#define TX 16
#define TY 16
#define NT 256
#define DK 16
#define OC (DV_MAX / TX)     // output columns per invocation
#define VCH (2048 / DV_MAX)  // keys per V chunk
#define QP (DK / 4 + 1)      // vec4 per Q / K row in shared (padded)
#define PP (BKV / 4 + 1)     // vec4 per P row
#define VP (VCH / 4 + 1)     // vec4 per transposed V row (one value column)

layout(local_size_x = NT) in;
layout(constant_id = 1) const uint DT = 0;
layout(constant_id = 2) const bool VARLEN = false;
// D and Dv multiples of 4 and the q, k, v offsets too: 4 elements per load
// (a uvec4 of f32 or a uvec2 of 16-bit values).
layout(constant_id = 3) const bool ALIGNED = false;

layout(std430, binding = 0) readonly buffer Q { uint q[]; };
layout(std430, binding = 1) readonly buffer K { uint k[]; };
layout(std430, binding = 2) readonly buffer V { uint v[]; };
layout(std430, binding = 3) buffer O { uint o[]; };
layout(std430, binding = 0) readonly buffer Q4 { uvec4 q4[]; };
layout(std430, binding = 1) readonly buffer K4 { uvec4 k4[]; };
layout(std430, binding = 2) readonly buffer V4 { uvec4 v4[]; };
layout(std430, binding = 0) readonly buffer Q2 { uvec2 q2[]; };
layout(std430, binding = 1) readonly buffer K2 { uvec2 k2[]; };
layout(std430, binding = 2) readonly buffer V2 { uvec2 v2[]; };
layout(std430, binding = 4) readonly buffer CQ { int cu_q[]; };
layout(std430, binding = 5) readonly buffer CK { int cu_k[]; };

layout(push_constant) uniform PC {
  uint B;       // sequences (dense: batch)
  uint Tq, Tk;  // q / k rows in all (dense: B * Nq, B * Nk)
  uint Nq, Nk;  // dense: rows per batch
  uint H, Hk, D, Dv;
  uint q_off, k_off, v_off, o_off, cq_off, ck_off;
  float scale;
  uint tile_base;  // first q tile of this launch
  uint tile_x0, tile_y0;
} pc;

#define XS_QK (2 * BQ * QP)   // Q chunk then K chunk
#define XS_V (DV_MAX * VP)    // transposed V chunk
#define XS_N (XS_QK > XS_V ? XS_QK : XS_V)
shared vec4 Ps[BQ * PP];  // scores, then probabilities
shared vec4 Xs[XS_N];     // Q and K chunks | a V chunk
shared float red[2 * NT];
shared float m_s[BQ], l_s[BQ], a_s[BQ];

// Row range [q_begin(s), q_end(s)) and key range of sequence s, clamped.
uint q_begin(uint s) { return VARLEN ? uint(clamp(cu_q[pc.cq_off + s], 0, int(pc.Tq))) : s * pc.Nq; }
uint q_end(uint s) {
  return VARLEN ? uint(clamp(cu_q[pc.cq_off + s + 1u], int(q_begin(s)), int(pc.Tq))) : (s + 1u) * pc.Nq;
}
uint k_begin(uint s) { return VARLEN ? uint(clamp(cu_k[pc.ck_off + s], 0, int(pc.Tk))) : s * pc.Nk; }
uint k_end(uint s) {
  return VARLEN ? uint(clamp(cu_k[pc.ck_off + s + 1u], int(k_begin(s)), int(pc.Tk))) : (s + 1u) * pc.Nk;
}

// The last sequence s with q_begin(s) <= row (binary search; 0 if none).
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

// Output column of the invocation's c-th accumulator: pairs (2 tx, 2 tx + 1)
// so that 16-bit results form whole words.
uint out_col(uint c, uint tx) { return (c >> 1) * (2u * TX) + 2u * tx + (c & 1u); }

// Four consecutive elements starting at element e (a multiple of 4).
vec4 unpack4(uvec2 w) {
  return vec4(to_f32(w.x, DT), to_f32(w.x >> 16, DT), to_f32(w.y, DT), to_f32(w.y >> 16, DT));
}
#define LOAD4(buf4, buf2, e) (DT == DT_F32 ? uintBitsToFloat(buf4[(e) >> 2]) : unpack4(buf2[(e) >> 2]))

float dot4(vec4 a, vec4 b) { return fma(a.x, b.x, fma(a.y, b.y, fma(a.z, b.z, a.w * b.w))); }

void main() {
  const uint tid = gl_LocalInvocationID.x;
  const uint tx = tid % TX, ty = tid / TX;
  const uint tile = pc.tile_base + pc.tile_x0 + gl_WorkGroupID.x;
  const uint h = pc.tile_y0 + gl_WorkGroupID.y;
  const uint hk = h / (pc.H / pc.Hk);
  const uint r0 = tile * BQ;
  if (r0 >= pc.Tq) return;  // uniform
  const uint r_end = min(r0 + BQ, pc.Tq);
  const uint D = pc.D, Dv = pc.Dv;
  const float NEG_INF = -TX_INF;

  float acc_o[4][OC];
  [[unroll]] for (uint i = 0u; i < 4u; ++i)
    [[unroll]] for (uint c = 0u; c < OC; ++c) acc_o[i][c] = 0.0;
  if (tid < BQ) {
    m_s[tid] = NEG_INF;
    l_s[tid] = 0.0;
  }

  const uint s_first = seq_of(r0), s_last = seq_of(r_end - 1u);
  for (uint s = s_first; s <= s_last && s < pc.B; ++s) {
    const uint qa = max(q_begin(s), r0), qb = min(q_end(s), r_end);
    if (qa >= qb) continue;  // uniform
    const uint kb = k_end(s);
    for (uint j0 = k_begin(s); j0 < kb; j0 += BKV) {
      // S = Q K^T over D in chunks of DK: Xs[r * QP + d/4] = Q, Xs[BQ * QP + j * QP + d/4] = K.
      float acc[4][4];
      [[unroll]] for (uint i = 0u; i < 4u; ++i)
        [[unroll]] for (uint j = 0u; j < 4u; ++j) acc[i][j] = 0.0;
      for (uint d0 = 0u; d0 < D; d0 += DK) {
        barrier();
        if (ALIGNED) {  // one vec4 of Q and one of K per invocation
          uint r = tid / (DK / 4u), d = (tid % (DK / 4u)) * 4u, row = r0 + r, key = j0 + r;
          Xs[r * QP + d / 4u] = (row < pc.Tq && d0 + d < D) ? LOAD4(q4, q2, pc.q_off + (row * pc.H + h) * D + d0 + d) : vec4(0.0);
          Xs[BQ * QP + r * QP + d / 4u] =
              (key < kb && d0 + d < D) ? LOAD4(k4, k2, pc.k_off + (key * pc.Hk + hk) * D + d0 + d) : vec4(0.0);
        } else {
          [[unroll]] for (uint e = 0u; e < BQ * DK / NT; ++e) {
            uint l = tid + e * NT, r = l / DK, d = l % DK, row = r0 + r, key = j0 + r;
            Xs[r * QP + d / 4u][d % 4u] =
                (row < pc.Tq && d0 + d < D) ? LOAD_ELEM(q, DT, pc.q_off + (row * pc.H + h) * D + d0 + d) : 0.0;
            Xs[BQ * QP + r * QP + d / 4u][d % 4u] =
                (key < kb && d0 + d < D) ? LOAD_ELEM(k, DT, pc.k_off + (key * pc.Hk + hk) * D + d0 + d) : 0.0;
          }
        }
        barrier();
        [[unroll]] for (uint d4 = 0u; d4 < DK / 4u; ++d4) {
          vec4 qv[4], kv[4];
          [[unroll]] for (uint i = 0u; i < 4u; ++i) qv[i] = Xs[(ty + i * TY) * QP + d4];
          [[unroll]] for (uint j = 0u; j < 4u; ++j) kv[j] = Xs[BQ * QP + (tx + j * TX) * QP + d4];
          [[unroll]] for (uint i = 0u; i < 4u; ++i)
            [[unroll]] for (uint j = 0u; j < 4u; ++j) acc[i][j] += dot4(qv[i], kv[j]);
        }
      }
      // Scaled, masked scores to shared memory.
      [[unroll]] for (uint i = 0u; i < 4u; ++i) {
        uint r = ty + i * TY, row = r0 + r;
        bool row_ok = row >= qa && row < qb;
        [[unroll]] for (uint j = 0u; j < 4u; ++j) {
          uint c = tx + j * TX;
          Ps[r * PP + c / 4u][c % 4u] = (row_ok && j0 + c < kb) ? acc[i][j] * pc.scale : NEG_INF;
        }
      }
      barrier();
      // Online softmax: four invocations per row, 16 columns (4 vec4) each.
      {
        const uint rr = tid / 4u, part = tid % 4u;
        vec4 sv[4];
        float mx = NEG_INF;
        [[unroll]] for (uint c = 0u; c < 4u; ++c) {
          sv[c] = Ps[rr * PP + part * 4u + c];
          mx = max(mx, max(max(sv[c].x, sv[c].y), max(sv[c].z, sv[c].w)));
        }
        red[tid] = mx;
        barrier();
        const float m_old = m_s[rr];
        const float m_new = max(max(m_old, max(red[rr * 4u], red[rr * 4u + 1u])), max(red[rr * 4u + 2u], red[rr * 4u + 3u]));
        const float m_use = m_new == NEG_INF ? 0.0 : m_new;
        float sum = 0.0;
        [[unroll]] for (uint c = 0u; c < 4u; ++c) {
          vec4 p;
          [[unroll]] for (uint t = 0u; t < 4u; ++t) p[t] = sv[c][t] == NEG_INF ? 0.0 : exp(sv[c][t] - m_use);
          Ps[rr * PP + part * 4u + c] = p;
          sum += (p.x + p.y) + (p.z + p.w);
        }
        red[NT + tid] = sum;
        barrier();
        if (part == 0u) {
          const float alpha = m_old == NEG_INF ? 0.0 : exp(m_old - m_use);
          l_s[rr] = l_s[rr] * alpha + ((red[NT + tid] + red[NT + tid + 1u]) + (red[NT + tid + 2u] + red[NT + tid + 3u]));
          m_s[rr] = m_new;
          a_s[rr] = alpha;
        }
        barrier();
      }
      // O = O * alpha + P V; V chunks transposed: Xs[c * VP + j/4] = V[j][c].
      [[unroll]] for (uint i = 0u; i < 4u; ++i) {
        const float alpha = a_s[ty + i * TY];
        [[unroll]] for (uint c = 0u; c < OC; ++c) acc_o[i][c] *= alpha;
      }
      for (uint vc = 0u; vc < BKV && j0 + vc < kb; vc += VCH) {
        barrier();
        if (ALIGNED) {
          [[unroll]] for (uint e = 0u; e < VCH * DV_MAX / 4u / NT; ++e) {
            uint l = tid + e * NT, jj = l / (DV_MAX / 4u), c = (l % (DV_MAX / 4u)) * 4u, key = j0 + vc + jj;
            vec4 x = (key < kb && c < Dv) ? LOAD4(v4, v2, pc.v_off + (key * pc.Hk + hk) * Dv + c) : vec4(0.0);
            [[unroll]] for (uint t = 0u; t < 4u; ++t) Xs[(c + t) * VP + jj / 4u][jj % 4u] = x[t];
          }
        } else {
          [[unroll]] for (uint e = 0u; e < VCH * DV_MAX / NT; ++e) {
            uint l = tid + e * NT, jj = l / DV_MAX, c = l % DV_MAX, key = j0 + vc + jj;
            Xs[c * VP + jj / 4u][jj % 4u] =
                (key < kb && c < Dv) ? LOAD_ELEM(v, DT, pc.v_off + (key * pc.Hk + hk) * Dv + c) : 0.0;
          }
        }
        barrier();
        [[unroll]] for (uint j4 = 0u; j4 < VCH / 4u; ++j4) {
          vec4 pv[4];
          [[unroll]] for (uint i = 0u; i < 4u; ++i) pv[i] = Ps[(ty + i * TY) * PP + vc / 4u + j4];
          [[unroll]] for (uint c = 0u; c < OC; ++c) {
            const vec4 vv = Xs[out_col(c, tx) * VP + j4];
            [[unroll]] for (uint i = 0u; i < 4u; ++i) acc_o[i][c] += dot4(pv[i], vv);
          }
        }
      }
    }
  }

  // out = O / l; 16-bit: column pairs of one invocation form whole words when aligned.
  barrier();
  [[unroll]] for (uint i = 0u; i < 4u; ++i) {
    const uint r = ty + i * TY, row = r0 + r;
    if (row >= pc.Tq) continue;
    const float l = l_s[r];
    const float inv = l > 0.0 ? 1.0 / l : 0.0;
    const uint obase = pc.o_off + (row * pc.H + h) * Dv;
    [[unroll]] for (uint c = 0u; c < OC; c += 2u) {
      const uint col = out_col(c, tx);
      if (col >= Dv) continue;
      const float v0 = acc_o[i][c] * inv, v1 = acc_o[i][c + 1u] * inv;
      const uint idx = obase + col;
      if (DT == DT_F32) {
        o[idx] = floatBitsToUint(v0);
        if (col + 1u < Dv) o[idx + 1u] = floatBitsToUint(v1);
      } else if ((idx & 1u) == 0u && col + 1u < Dv) {
        o[idx >> 1] = from_f32(v0, DT) | (from_f32(v1, DT) << 16);
      } else {
        STORE_HALF_ATOMIC(o, idx, from_f32(v0, DT))
        if (col + 1u < Dv) STORE_HALF_ATOMIC(o, idx + 1u, from_f32(v1, DT))
      }
    }
  }
}
