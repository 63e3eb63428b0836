// sdpa: flash-style attention with an online softmax; the N x N score matrix
// never exists. One work-group = one (query block of BQ rows, head h).
// Key/value tiles of BK rows are staged in local memory as f32 (f16/bf16
// widened on load); scores, the running max m, the running sum l and the
// output accumulator are f32 (registers).
//
// TPR items share one query row: item t of a row owns the float4 chunks
// c * TPR + t (c < QT) of the padded head dim of q and k, and c * TPR + t
// (c < VT) of v and the output, so that per-item registers stay at 64 + 64
// floats for any head dim up to 64 * TPR. The TPR partial dot products of a
// key are summed through local memory laid out [key][row][item] (free of
// bank conflicts), in the same order on every item, so all items of a row
// agree bit for bit on the scores.
//
// Rows and keys beyond the sequence are zero-padded in local memory and
// masked out of the softmax; an empty key sequence gives zeros.
//
// Layouts: q [rows, H, Dq], k [rows, Hk, Dq], v [rows, Hk, Dv], o [rows, H, Dv]
// (dense [B, N, ...] is rows = B * N). Sequence s covers q rows
// [q0, q0 + nq) and k rows [k0, k0 + nk): dense: q0 = s Nq, k0 = s Nk;
// varlen: from cu_seqlens, clamped to [0, rows] (no out-of-bounds access
// even for malformed offsets). Varlen work-groups find their sequence by a
// binary search in `blocks` (sdpa_blocks: the exclusive prefix sum of
// ceil(nq_s / BQ), total at blocks[nseq]).

inline float4 ts_fma4(float a, float4 b, float4 c) { return fma((float4)(a), b, c); }

// Number of rows of sequence s in cu (clamped to [0, rows]; 0 when decreasing).
inline ulong ts_seq_rows(__global const int* cu, ulong s, ulong rows, ulong* start) {
  const long a = clamp((long)cu[s], 0L, (long)rows), b = clamp((long)cu[s + 1], 0L, (long)rows);
  *start = (ulong)a;
  return b > a ? (ulong)(b - a) : 0UL;
}

// One work-group of L (power of two <= 256) items: blocks[s] = sum_{s' < s}
// ceil(nq_s' / bq), blocks[nseq] = total.
__kernel void sdpa_blocks(__global const int* cu_q, ulong cq_off, uint nseq, ulong rows, uint bq,
                          __global int* blocks, ulong group_base) {
  __local uint part[256];
  const uint lid = get_local_id(0), L = get_local_size(0);
  const uint per = (nseq + L - 1) / L, lo = min(nseq, lid * per), hi = min(nseq, lo + per);
  cu_q += cq_off;
  uint sum = 0;
  ulong st;
  for (uint s = lo; s < hi; ++s) sum += (uint)((ts_seq_rows(cu_q, s, rows, &st) + bq - 1) / bq);
  part[lid] = sum;
  barrier(CLK_LOCAL_MEM_FENCE);
  if (lid == 0) {
    uint acc = 0;
    for (uint i = 0; i < L; ++i) {
      const uint t = part[i];
      part[i] = acc;
      acc += t;
    }
    blocks[nseq] = (int)acc;
  }
  barrier(CLK_LOCAL_MEM_FENCE);
  uint acc = part[lid];
  for (uint s = lo; s < hi; ++s) {
    blocks[s] = (int)acc;
    acc += (uint)((ts_seq_rows(cu_q, s, rows, &st) + bq - 1) / bq);
  }
}

#define TS_SDPA_SUM_PARTIALS(BQ, TPR, SUB)                                                          \
  if (TPR > 1) {                                                                                    \
    barrier(CLK_LOCAL_MEM_FENCE);                                                                   \
    TS_UNROLL for (uint jj = 0; jj < SUB; ++jj) Xs[(jj * BQ + r) * TPR + t] = s[jj];                \
    barrier(CLK_LOCAL_MEM_FENCE);                                                                   \
    TS_UNROLL for (uint jj = 0; jj < SUB; ++jj) {                                                   \
      float tot = 0.f;                                                                              \
      TS_UNROLL for (uint u = 0; u < TPR; ++u) tot += Xs[(jj * BQ + r) * TPR + u];                  \
      s[jj] = tot;                                                                                  \
    }                                                                                               \
  }

// Stages rows [j0, j0 + nkt) of k or v (head hk, row length DIM) into the
// local tile T of BK rows x CT * TPR float4 chunks, zero-padded; float4 loads
// where the 4 elements are in range. Fully unrolled so the loads of an item
// are all in flight together.
#define TS_SDPA_LOAD_TILE(D, BQ, TPR, BK, src, s_off, T, CT, DIM)                                   \
  TS_UNROLL for (uint it = 0; it < BK * CT / BQ; ++it) {                                            \
    const uint e = lid + it * (BQ * TPR), j = e / (CT * TPR), dd = (e % (CT * TPR)) * 4;            \
    float4 val = (float4)(0.f);                                                                     \
    if (j < nkt) {                                                                                  \
      const ulong rb = s_off + ((k0 + j0 + j) * Hk + hk) * DIM + dd;                                \
      if (dd + 4 <= DIM) {                                                                          \
        val = TS_LOAD4_##D(src, rb);                                                                \
      } else if (dd < DIM) {                                                                        \
        float e4[4] = {0.f, 0.f, 0.f, 0.f};                                                         \
        for (uint u = 0; u < 4 && dd + u < DIM; ++u) e4[u] = TS_LOAD_##D(src, rb + u);              \
        val = (float4)(e4[0], e4[1], e4[2], e4[3]);                                                 \
      }                                                                                             \
    }                                                                                               \
    T[e] = val;                                                                                     \
  }

// NAME: variant; D: storage dtype; BQ query rows per group; TPR items per row;
// QT / VT float4 chunks per item (padded head dims DQP = 4 QT TPR, DVP = 4 VT TPR);
// BK keys per local tile; SUB keys per online-softmax step.
#define TS_DEFINE_SDPA(NAME, D, BQ, TPR, QT, VT, BK, SUB)                                                                   \
  __kernel __attribute__((reqd_work_group_size(BQ * TPR, 1, 1))) void sdpa_##NAME##_##D(                                    \
      __global const TS_T_##D* q, ulong q_off, __global const TS_T_##D* k, ulong k_off,                                     \
      __global const TS_T_##D* v, ulong v_off, __global TS_T_##D* o, ulong o_off,                                           \
      __global const int* cu_q, ulong cq_off, __global const int* cu_k, ulong ck_off,                                       \
      __global const int* blocks, int varlen, uint nseq, ulong Nq, ulong Nk, uint H, uint Hk, uint Dq,                      \
      uint Dv, float scale, ulong qblocks, ulong group_base) {                                                              \
    __local float4 Ks[BK * QT * TPR];                                                                                       \
    __local float4 Vs[BK * VT * TPR];                                                                                       \
    __local float Xs[TPR > 1 ? BQ * SUB * TPR : 1];                                                                         \
    const ulong g = TS_GROUP(group_base);                                                                                   \
    const uint h = get_global_id(1), hk = h / (H / Hk);                                                                     \
    ulong q0 = 0, nq = 0, k0 = 0, nk = 0, blk = 0;                                                                          \
    if (varlen) {                                                                                                           \
      /* Groups past the last block (the grid is an upper bound) keep nq = nk = 0. */                                       \
      const bool live = g < (ulong)blocks[nseq];                                                                            \
      uint lo = 0, hi = nseq; /* blocks[lo] <= g < blocks[hi] */                                                            \
      for (uint it = 0; it < 33 && hi - lo > 1; ++it) {                                                                     \
        const uint mid = lo + (hi - lo) / 2;                                                                                \
        if ((ulong)blocks[mid] <= g) lo = mid;                                                                              \
        else hi = mid;                                                                                                      \
      }                                                                                                                     \
      if (live) {                                                                                                           \
        blk = g - (ulong)blocks[lo];                                                                                        \
        nq = ts_seq_rows(cu_q + cq_off, lo, Nq, &q0);                                                                       \
        nk = ts_seq_rows(cu_k + ck_off, lo, Nk, &k0);                                                                       \
      }                                                                                                                     \
    } else {                                                                                                                \
      const ulong b = g / qblocks; /* < nseq: the grid is exact */                                                          \
      blk = g - b * qblocks;                                                                                                \
      q0 = b * Nq;                                                                                                          \
      nq = Nq;                                                                                                              \
      k0 = b * Nk;                                                                                                          \
      nk = Nk;                                                                                                              \
    }                                                                                                                       \
    const uint lid = get_local_id(0), r = lid / TPR, t = lid % TPR;                                                         \
    const ulong qi = blk * BQ + r;                                                                                          \
    const bool qvalid = qi < nq;                                                                                            \
    const ulong qbase = q_off + ((q0 + qi) * H + h) * Dq;                                                                   \
    float4 qv[QT], ov[VT];                                                                                                  \
    TS_UNROLL for (uint c = 0; c < QT; ++c) {                                                                               \
      const uint d0 = (c * TPR + t) * 4;                                                                                    \
      float e[4];                                                                                                           \
      TS_UNROLL for (uint u = 0; u < 4; ++u) e[u] = (qvalid && d0 + u < Dq) ? TS_LOAD_##D(q, qbase + d0 + u) * scale : 0.f; \
      qv[c] = (float4)(e[0], e[1], e[2], e[3]);                                                                             \
    }                                                                                                                       \
    TS_UNROLL for (uint c = 0; c < VT; ++c) ov[c] = (float4)(0.f);                                                          \
    float m = -INFINITY, l = 0.f;                                                                                           \
    for (ulong j0 = 0; j0 < nk; j0 += BK) {                                                                                 \
      const uint nkt = (uint)min((ulong)BK, nk - j0);                                                                       \
      barrier(CLK_LOCAL_MEM_FENCE);                                                                                         \
      TS_SDPA_LOAD_TILE(D, BQ, TPR, BK, k, k_off, Ks, QT, Dq)                                                               \
      TS_SDPA_LOAD_TILE(D, BQ, TPR, BK, v, v_off, Vs, VT, Dv)                                                               \
      barrier(CLK_LOCAL_MEM_FENCE);                                                                                         \
      for (uint js = 0; js < nkt; js += SUB) {                                                                              \
        float s[SUB];                                                                                                       \
        TS_UNROLL for (uint jj = 0; jj < SUB; ++jj) s[jj] = 0.f;                                                            \
        TS_UNROLL for (uint c = 0; c < QT; ++c) {                                                                           \
          const float4 a = qv[c];                                                                                           \
          TS_UNROLL for (uint jj = 0; jj < SUB; ++jj) {                                                                     \
            const float4 b = Ks[(js + jj) * (QT * TPR) + c * TPR + t];                                                      \
            s[jj] = fma(a.x, b.x, fma(a.y, b.y, fma(a.z, b.z, fma(a.w, b.w, s[jj]))));                                      \
          }                                                                                                                 \
        }                                                                                                                   \
        TS_SDPA_SUM_PARTIALS(BQ, TPR, SUB)                                                                                  \
        float mx = m;                                                                                                       \
        TS_UNROLL for (uint jj = 0; jj < SUB; ++jj)                                                                         \
          if (js + jj < nkt) mx = fmax(mx, s[jj]);                                                                          \
        const float alpha = exp(m - mx);                                                                                    \
        l *= alpha;                                                                                                         \
        TS_UNROLL for (uint c = 0; c < VT; ++c) ov[c] *= alpha;                                                             \
        TS_UNROLL for (uint jj = 0; jj < SUB; ++jj) {                                                                       \
          const float p = js + jj < nkt ? exp(s[jj] - mx) : 0.f;                                                            \
          l += p;                                                                                                           \
          TS_UNROLL for (uint c = 0; c < VT; ++c) ov[c] = ts_fma4(p, Vs[(js + jj) * (VT * TPR) + c * TPR + t], ov[c]);      \
        }                                                                                                                   \
        m = mx;                                                                                                             \
      }                                                                                                                     \
    }                                                                                                                       \
    const float inv = l > 0.f ? 1.f / l : 0.f;                                                                              \
    const ulong obase = o_off + ((q0 + qi) * H + h) * Dv;                                                                   \
    TS_UNROLL for (uint c = 0; c < VT; ++c) {                                                                               \
      const uint d0 = (c * TPR + t) * 4;                                                                                    \
      const float4 r4 = ov[c] * inv;                                                                                        \
      const float e[4] = {r4.x, r4.y, r4.z, r4.w};                                                                          \
      TS_UNROLL for (uint u = 0; u < 4; ++u)                                                                                \
        if (qvalid && d0 + u < Dv) TS_STORE_##D(o, obase + d0 + u, e[u]);                                                   \
    }                                                                                                                       \
  }

// Head dims up to 64: one item per row, 64-key tiles (32 KiB of local memory).
TS_DEFINE_SDPA(v64, f32, 64, 1, 16, 16, 64, 16)
TS_DEFINE_SDPA(v64, f16, 64, 1, 16, 16, 64, 16)
TS_DEFINE_SDPA(v64, bf16, 64, 1, 16, 16, 64, 16)
// Up to 128: two items per row, 32-key tiles (40 KiB).
TS_DEFINE_SDPA(v128, f32, 64, 2, 16, 16, 32, 16)
TS_DEFINE_SDPA(v128, f16, 64, 2, 16, 16, 32, 16)
TS_DEFINE_SDPA(v128, bf16, 64, 2, 16, 16, 32, 16)
// Up to 256: four items per row, 32 rows, 16-key tiles (40 KiB).
TS_DEFINE_SDPA(v256, f32, 32, 4, 16, 16, 16, 16)
TS_DEFINE_SDPA(v256, f16, 32, 4, 16, 16, 16, 16)
TS_DEFINE_SDPA(v256, bf16, 32, 4, 16, 16, 16, 16)
