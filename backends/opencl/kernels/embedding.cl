// timestep_embedding: [B] f32 -> [B, dim] f32, element (b, j): cos(t f_j) for
// j < half, sin(t f_{j - half}) for j < 2 half, 0 for the odd last column;
// f_k = exp(-ln(max_period) k / half) in f32 (as the CPU backend), full-precision
// exp/cos/sin.
__kernel void timestep_embedding(__global const float* t, ulong t_off, __global float* o, ulong o_off,
                                 ulong dim, ulong half_dim, float neg_log_mp, ulong base, ulong n) {
  TS_INDEX_OR_RETURN(base, n);
  const ulong b = i / dim, j = i % dim;
  float r = 0.f;
  if (j < 2 * half_dim) {
    const ulong k = j < half_dim ? j : j - half_dim;
    const float f = exp(neg_log_mp * (float)k / (float)half_dim);
    const float arg = t[t_off + b] * f;
    r = j < half_dim ? cos(arg) : sin(arg);
  }
  o[o_off + i] = r;
}

// gather: out[n, c] = table[index[n], c], or 0 when index[n] is outside [0, V).
// Any table dtype: elements move as opaque units of U bytes (the row is
// C units). One work-item per output unit.
#define TS_DEFINE_GATHER(U, T, IDX, IT)                                                             \
  __kernel void gather_##U##_##IDX(__global const T* tab, ulong t_off, __global const IT* idx,      \
                                   ulong i_off, __global T* o, ulong o_off, ulong V, ulong C,       \
                                   ulong base, ulong n) {                                           \
    TS_INDEX_OR_RETURN(base, n);                                                                    \
    const ulong row = i / C, c = i - row * C;                                                       \
    const long r = (long)idx[i_off + row];                                                          \
    T v = (T)0;                                                                                     \
    if (r >= 0 && (ulong)r < V) v = tab[t_off + (ulong)r * C + c];                                  \
    o[o_off + i] = v;                                                                               \
  }

TS_DEFINE_GATHER(1, uchar, i32, int)
TS_DEFINE_GATHER(2, ushort, i32, int)
TS_DEFINE_GATHER(4, uint, i32, int)
TS_DEFINE_GATHER(8, uint2, i32, int)
TS_DEFINE_GATHER(16, uint4, i32, int)
TS_DEFINE_GATHER(1, uchar, i64, long)
TS_DEFINE_GATHER(2, ushort, i64, long)
TS_DEFINE_GATHER(4, uint, i64, long)
TS_DEFINE_GATHER(8, uint2, i64, long)
TS_DEFINE_GATHER(16, uint4, i64, long)
