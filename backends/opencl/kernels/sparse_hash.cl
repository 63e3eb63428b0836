// Voxel hash map and coordinate utilities (ops/sparse_hash.hpp,
// docs/sparse-hash.md). Keys: b*W*H*D + x*H*D + y*D + z (long, -1 = outside
// the grid). Slots are claimed by a 32-bit compare-and-swap of the value word
// (-1 -> row); the key of an occupied slot is the packed key of the row it
// holds, so no 64-bit atomics are needed. Every probe loop runs at most `cap`
// steps; failures set bits of a status word the host reads.

#define SH_EMPTY (-1)
#define SH_FULL 1
#define SH_BAD 2

inline long sh_pack(long B, long W, long H, long D, long b, long x, long y, long z) {
  if (b < 0 || b >= B || x < 0 || x >= W || y < 0 || y >= H || z < 0 || z >= D) return -1;
  return ((b * W + x) * H + y) * D + z;
}
inline long sh_key_row(__global const int* c, long B, long W, long H, long D) {
  return sh_pack(B, W, H, D, c[0], c[1], c[2], c[3]);
}
inline uint sh_fmix32(uint k) {
  k ^= k >> 16;
  k *= 0x85ebca6bu;
  k ^= k >> 13;
  k *= 0xc2b2ae35u;
  k ^= k >> 16;
  return k;
}
inline ulong sh_fmix64(ulong k) {
  k ^= k >> 33;
  k *= 0xff51afd7ed558ccdUL;
  k ^= k >> 33;
  k *= 0xc4ceb9fe1a85ec53UL;
  k ^= k >> 33;
  return k;
}
inline long sh_home(long key, int small, long cap) {
  // cap < 2^31: the 32-bit hash needs only a 32-bit modulo.
  return small ? (long)(sh_fmix32((uint)key) % (uint)cap) : (long)(sh_fmix64((ulong)key) % (ulong)cap);
}
inline int sh_probe(__global const long* keys, __global const int* vals, long cap, int small, long key) {
  if (key < 0) return -1;
  long s = sh_home(key, small, cap);
  for (long t = 0; t < cap; ++t) {
    const long k = keys[s];
    if (k == -1) return -1;
    if (k == key) return vals[s];
    s = s + 1 == cap ? 0 : s + 1;
  }
  return -1;
}

// One work-item per row.
__kernel void sh_insert(__global const int* c, ulong c_off, __global int* vals, ulong v_off, long cap, long B, long W,
                        long H, long D, int small, __global int* status, ulong base, ulong n) {
  TS_INDEX_OR_RETURN(base, n);
  c += c_off;
  vals += v_off;
  const long key = sh_key_row(c + 4 * i, B, W, H, D);
  if (key < 0) {
    atomic_or(status, SH_BAD);
    return;
  }
  long s = sh_home(key, small, cap);
  for (long t = 0; t < cap; ++t) {
    // atomic_cmpxchg is a strong CAS: it returns -1 only when it stored the row.
    const int prev = atomic_cmpxchg(&vals[s], SH_EMPTY, (int)i);
    if (prev == SH_EMPTY) return;
    if (sh_key_row(c + 4 * (long)prev, B, W, H, D) == key) {
      atomic_min(&vals[s], (int)i);  // duplicate key: smallest row wins
      return;
    }
    s = s + 1 == cap ? 0 : s + 1;
  }
  atomic_or(status, SH_FULL);
}

// One work-item per slot: keys[s] = key of the row in vals[s], or -1.
__kernel void sh_fill_keys(__global const int* c, ulong c_off, __global const int* vals, ulong v_off,
                           __global long* keys, ulong k_off, long B, long W, long H, long D, ulong base, ulong n) {
  TS_INDEX_OR_RETURN(base, n);
  const int r = vals[v_off + i];
  keys[k_off + i] = r < 0 ? -1 : sh_key_row(c + c_off + 4 * (long)r, B, W, H, D);
}

__kernel void sh_probe_rows(__global const long* keys, ulong k_off, __global const int* vals, ulong v_off, long cap,
                            __global const int* q, ulong q_off, __global int* out, ulong o_off, long B, long W, long H,
                            long D, int small, ulong base, ulong n) {
  TS_INDEX_OR_RETURN(base, n);
  out[o_off + i] = sh_probe(keys + k_off, vals + v_off, cap, small, sh_key_row(q + q_off + 4 * i, B, W, H, D));
}

// One work-item per (row, kernel offset v); V = k^3.
__kernel void sh_neighbour(__global const int* c, ulong c_off, __global const long* keys, ulong k_off,
                           __global const int* vals, ulong v_off, long cap, __global int* out, ulong o_off, long B,
                           long W, long H, long D, int small, int k, int dil, ulong base, ulong n) {
  TS_INDEX_OR_RETURN(base, n);
  const long V = (long)k * k * k, row = (long)(i / V), v = (long)(i % V), h = k / 2;
  int r = (int)row;
  if (v != V / 2) {
    __global const int* p = c + c_off + 4 * row;
    const long da = (v / (k * k) - h) * dil, db = (v / k % k - h) * dil, dc = (v % k - h) * dil;
    r = sh_probe(keys + k_off, vals + v_off, cap, small, sh_pack(B, W, H, D, p[0], p[1] + da, p[2] + db, p[3] + dc));
  }
  out[o_off + i] = r;
}

// ---- sort-based unique: (key, row) pairs padded to a power of two with (ULONG_MAX, INT_MAX)
__kernel void sh_sort_init(__global const int* c, ulong c_off, long nrows, long B, long W, long H, long D, int f,
                           long pW, long pH, long pD, __global ulong* skey, __global int* sidx, __global int* status,
                           ulong base, ulong n) {
  TS_INDEX_OR_RETURN(base, n);
  if ((long)i >= nrows) {
    skey[i] = ULONG_MAX;
    sidx[i] = INT_MAX;
    return;
  }
  __global const int* p = c + c_off + 4 * i;
  long key = sh_key_row(p, B, W, H, D);
  if (key < 0) {
    atomic_or(status, SH_BAD);
    key = 0;
  } else {
    key = sh_pack(B, pW, pH, pD, p[0], p[1] / f, p[2] / f, p[3] / f);
  }
  skey[i] = (ulong)key;
  sidx[i] = (int)i;
}

// One bitonic compare-exchange step (block size kk, distance j) over n = 2^m items.
__kernel void sh_bitonic(__global ulong* skey, __global int* sidx, ulong j, ulong kk, ulong base, ulong n) {
  TS_INDEX_OR_RETURN(base, n);
  const ulong l = i ^ j;
  if (l <= i) return;
  const ulong a = skey[i], b = skey[l];
  const int ia = sidx[i], ib = sidx[l];
  const bool greater = a > b || (a == b && ia > ib);
  const bool up = (i & kk) == 0;
  if (greater == up) {
    skey[i] = b;
    skey[l] = a;
    sidx[i] = ib;
    sidx[l] = ia;
  }
}

__kernel void sh_flags(__global const ulong* skey, __global int* flags, ulong base, ulong n) {
  TS_INDEX_OR_RETURN(base, n);
  flags[i] = (i == 0 || skey[i] != skey[i - 1]) ? 1 : 0;
}

// Hillis-Steele inclusive scan step: out[i] = in[i] + in[i - s].
__kernel void sh_scan_step(__global const int* in, __global int* out, ulong s, ulong base, ulong n) {
  TS_INDEX_OR_RETURN(base, n);
  out[i] = in[i] + (i >= s ? in[i - s] : 0);
}

__kernel void sh_unique_scatter(__global const ulong* skey, __global const int* sidx, __global const int* scan,
                                long B, long pW, long pH, long pD, __global int* uc, ulong u_off, __global int* inv,
                                ulong i_off, __global int* count, ulong n_off, ulong base, ulong n) {
  TS_INDEX_OR_RETURN(base, n);
  const int r = scan[i] - 1;
  inv[i_off + sidx[i]] = r;
  if (i == 0 || skey[i] != skey[i - 1]) {
    ulong k = skey[i];
    __global int* o = uc + u_off + 4 * (long)r;
    o[3] = (int)(k % (ulong)pD);
    k /= (ulong)pD;
    o[2] = (int)(k % (ulong)pH);
    k /= (ulong)pH;
    o[1] = (int)(k % (ulong)pW);
    o[0] = (int)(k / (ulong)pW);
  }
  if (i == n - 1) count[n_off] = scan[i];
}

__kernel void sh_subidx(__global const int* c, ulong c_off, int f, __global int* sub, ulong s_off, ulong base,
                        ulong n) {
  TS_INDEX_OR_RETURN(base, n);
  __global const int* p = c + c_off + 4 * i;
  sub[s_off + i] = p[1] % f + (p[2] % f) * f + (p[3] % f) * f * f;
}

// ---- occupancy -> coords: flags, scan, scatter (row-major order = argwhere order)
#define SH_DEFINE_OCC(DT)                                                                                 \
  __kernel void sh_occ_flags_##DT(__global const TS_T_##DT* x, ulong x_off, float thr, __global int* flags, \
                                  ulong base, ulong n) {                                                  \
    TS_INDEX_OR_RETURN(base, n);                                                                          \
    flags[i] = TS_LOAD_##DT(x, x_off + i) > thr ? 1 : 0;                                                  \
  }
SH_DEFINE_OCC(f32)
SH_DEFINE_OCC(f16)
SH_DEFINE_OCC(bf16)

__kernel void sh_occ_scatter(__global const int* scan, long X, long Y, long Z, __global int* out, ulong o_off,
                             __global int* count, ulong n_off, ulong base, ulong n) {
  TS_INDEX_OR_RETURN(base, n);
  const int prev = i == 0 ? 0 : scan[i - 1];
  if (scan[i] != prev) {
    __global int* o = out + o_off + 4 * (long)prev;
    o[0] = (int)(i / (ulong)(X * Y * Z));
    o[1] = (int)(i / (ulong)(Y * Z) % (ulong)X);
    o[2] = (int)(i / (ulong)Z % (ulong)Y);
    o[3] = (int)(i % (ulong)Z);
  }
  if (i == n - 1) count[n_off] = scan[i];
}

// ---- batch offsets: histogram of batch + 1, then an inclusive scan.
__kernel void sh_batch_hist(__global const int* c, ulong c_off, int B, __global int* cnt, __global int* status,
                            ulong base, ulong n) {
  TS_INDEX_OR_RETURN(base, n);
  const int b = c[c_off + 4 * i];
  if (b < 0 || b >= B) {
    atomic_or(status, SH_BAD);
    return;
  }
  atomic_inc(&cnt[b + 1]);
}
