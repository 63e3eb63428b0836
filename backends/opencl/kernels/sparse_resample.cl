// Sparse space<->channel resampling (ops/sparse_conv.hpp).
//
// sparse_subdivide_offsets in three passes: (1) one work-group per block of
// 1024 parents counts logits > 0 per parent and scans them in local memory
// (out[p + 1] = inclusive count within the block, bsum[block] = block total);
// (2) one work-group scans the block totals (exclusive, in chunks of 256: a
// bounded loop of nblocks / 256 steps); (3) every out[p + 1] gets its block's
// prefix added, out[0] = 0.

#define SR_WG 256
#define SR_PER 4
#define SR_BLOCK (SR_WG * SR_PER)

inline int sr_scan_incl(__local int* sc, int v) {  // inclusive scan over the 256 items
  const uint lid = get_local_id(0);
  barrier(CLK_LOCAL_MEM_FENCE);
  sc[lid] = v;
  barrier(CLK_LOCAL_MEM_FENCE);
  for (uint off = 1; off < SR_WG; off <<= 1) {
    const int t = lid >= off ? sc[lid - off] : 0;
    barrier(CLK_LOCAL_MEM_FENCE);
    sc[lid] += t;
    barrier(CLK_LOCAL_MEM_FENCE);
  }
  return sc[lid];
}

#define TS_DEFINE_SUBDIV_COUNT(D)                                                                          \
  __kernel __attribute__((reqd_work_group_size(SR_WG, 1, 1))) void subdiv_count_##D(                       \
      __global const TS_T_##D* l, ulong l_off, __global int* out, ulong o_off, __global int* bsum,          \
      ulong Np, ulong group_base) {                                                                        \
    __local int sc[SR_WG];                                                                                 \
    const ulong blk = TS_GROUP(group_base);                                                                \
    const uint lid = get_local_id(0);                                                                      \
    const ulong p0 = blk * SR_BLOCK + (ulong)lid * SR_PER;                                                 \
    int cnt[SR_PER];                                                                                       \
    int s = 0;                                                                                             \
    for (int q = 0; q < SR_PER; ++q) {                                                                     \
      int n = 0;                                                                                           \
      if (p0 + q < Np)                                                                                     \
        for (int k = 0; k < 8; ++k) n += TS_LOAD_##D(l, l_off + (p0 + q) * 8 + k) > 0.f ? 1 : 0;           \
      cnt[q] = n;                                                                                          \
      s += n;                                                                                              \
    }                                                                                                      \
    int run = sr_scan_incl(sc, s) - s;                                                                     \
    for (int q = 0; q < SR_PER; ++q) {                                                                     \
      run += cnt[q];                                                                                       \
      if (p0 + q < Np) out[o_off + p0 + q + 1] = run;                                                      \
    }                                                                                                      \
    if (lid == SR_WG - 1) bsum[blk] = run;                                                                 \
  }

TS_DEFINE_SUBDIV_COUNT(f32)
TS_DEFINE_SUBDIV_COUNT(f16)
TS_DEFINE_SUBDIV_COUNT(bf16)

// In place: bsum[b] = sum of bsum[0..b) (one work-group).
__kernel __attribute__((reqd_work_group_size(SR_WG, 1, 1))) void subdiv_scan_blocks(__global int* bsum, ulong nb,
                                                                                      ulong group_base) {
  __local int sc[SR_WG];
  const uint lid = get_local_id(0);
  int carry = 0;
  for (ulong b0 = 0; b0 < nb; b0 += SR_WG) {
    const int v = b0 + lid < nb ? bsum[b0 + lid] : 0;
    const int incl = sr_scan_incl(sc, v);
    if (b0 + lid < nb) bsum[b0 + lid] = carry + incl - v;
    carry += sc[SR_WG - 1];
  }
}

__kernel void subdiv_add(__global int* out, ulong o_off, __global const int* bsum, ulong base, ulong n) {
  TS_INDEX_OR_RETURN(base, n);  // n = Np + 1
  if (i == 0) out[o_off] = 0;
  else out[o_off + i] += bsum[(i - 1) / SR_BLOCK];
}

// Channel -> space, pass 1 (one item per parent): child coordinates and each
// child's source row src[c] = 8 p + k of the [8 Np, C'] view of the features.
#define TS_DEFINE_C2S_FILL(D)                                                                              \
  __kernel void c2s_fill_##D(__global const int* pc, ulong pc_off, __global const TS_T_##D* l, ulong l_off, \
                             __global const int* offs, ulong offs_off, __global int* cc, ulong cc_off,       \
                             __global int* src, ulong Nc, ulong base, ulong n) {                             \
    TS_INDEX_OR_RETURN(base, n); /* i = parent */                                                           \
    long c = offs[offs_off + i];                                                                           \
    const int4 q = vload4(0, pc + pc_off + i * 4);                                                         \
    for (int k = 0; k < 8; ++k) {                                                                          \
      if (!(TS_LOAD_##D(l, l_off + i * 8 + k) > 0.f)) continue;                                            \
      if (c < 0 || c >= (long)Nc) return; /* inconsistent offsets: stay in bounds */                       \
      vstore4((int4)(q.x, 2 * q.y + (k & 1), 2 * q.z + ((k >> 1) & 1), 2 * q.w + ((k >> 2) & 1)), 0,       \
              cc + cc_off + c * 4);                                                                        \
      src[c] = (int)(i * 8 + k);                                                                           \
      ++c;                                                                                                 \
    }                                                                                                      \
  }

TS_DEFINE_C2S_FILL(f32)
TS_DEFINE_C2S_FILL(f16)
TS_DEFINE_C2S_FILL(bf16)

// Pass 2 (one item per output element): out[c, j] = feats[src[c] Cc + j / rep].
#define TS_DEFINE_C2S_GATHER(NAME, T)                                                                      \
  __kernel void c2s_gather_##NAME(__global const T* f, ulong f_off, __global const int* src,               \
                                  __global T* y, ulong y_off, ulong Cc, ulong rep, ulong base, ulong n) {   \
    TS_INDEX_OR_RETURN(base, n);                                                                           \
    const ulong Co = Cc * rep, c = i / Co, j = i - c * Co;                                                 \
    y[y_off + i] = f[f_off + (ulong)src[c] * Cc + j / rep];                                                \
  }
TS_DEFINE_C2S_GATHER(b4, uint)
TS_DEFINE_C2S_GATHER(b2, ushort)

// Space -> channel, pass 1 (one item per child): slot[c] = 8 parent + k, and
// the error flag: bit 0 = parent outside [0, Np), bit 1 = a slot taken twice.
__kernel void s2c_slots(__global const int* cc, ulong cc_off, __global const int* par, ulong par_off,
                        __global int* occ, __global int* slot, __global int* flag, ulong Np, ulong base, ulong n) {
  TS_INDEX_OR_RETURN(base, n);
  const int p = par[par_off + i];
  if (p < 0 || (ulong)p >= Np) {
    slot[i] = -1;
    atomic_or(flag, 1);
    return;
  }
  const int4 q = vload4(0, cc + cc_off + i * 4);
  const int s = p * 8 + (q.y & 1) + 2 * (q.z & 1) + 4 * (q.w & 1);
  if (atomic_inc(occ + s) != 0) atomic_or(flag, 2);
  slot[i] = s;
}

// Pass 2 (one item per input element): out[slot[c] C + j] = feats[c, j].
#define TS_DEFINE_S2C_SCATTER(NAME, T)                                                                     \
  __kernel void s2c_scatter_##NAME(__global const T* f, ulong f_off, __global const int* slot,             \
                                   __global T* y, ulong y_off, ulong C, ulong base, ulong n) {              \
    TS_INDEX_OR_RETURN(base, n);                                                                           \
    const ulong c = i / C, j = i - c * C;                                                                  \
    const int s = slot[c];                                                                                 \
    if (s >= 0) y[y_off + (ulong)s * C + j] = f[f_off + i];                                                \
  }
TS_DEFINE_S2C_SCATTER(b4, uint)
TS_DEFINE_S2C_SCATTER(b2, ushort)
