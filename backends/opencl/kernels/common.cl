// Shared helpers, prepended to every Tessera OpenCL program.
//
// Storage vs arithmetic: f16 and bf16 tensors are stored as 16-bit words and
// every kernel computes in f32. No cl_khr_fp16 is needed (NVIDIA's driver has
// none): f16 goes through the core builtins vload_half / vstore_half_rte, bf16
// through bit operations. Tensors are passed as their buffer plus an element
// offset; kernels index with 64-bit (ulong) indices.

// bf16 -> f32 is exact: the bf16 bits are the high half of the f32.
inline float ts_bf16_to_f32(ushort b) { return as_float(((uint)b) << 16); }

// f32 -> bf16, round to nearest even; NaN stays a (quiet) NaN. Same bit
// operations as tessera::f32_to_bf16 in core/dtype.cpp.
inline ushort ts_f32_to_bf16(float f) {
  uint x = as_uint(f);
  if ((x & 0x7fffffffu) > 0x7f800000u) return (ushort)((x >> 16) | 0x40u);
  uint lsb = (x >> 16) & 1u;
  x += 0x7fffu + lsb;
  return (ushort)(x >> 16);
}

// Per-dtype storage type, load (to f32) and store (from f32, rounded to nearest even).
#define TS_T_f32 float
#define TS_T_f16 ushort
#define TS_T_bf16 ushort
#define TS_LOAD_f32(p, i) ((p)[i])
#define TS_LOAD_f16(p, i) vload_half((size_t)(i), (__global const half*)(p))
#define TS_LOAD_bf16(p, i) ts_bf16_to_f32((p)[i])
#define TS_STORE_f32(p, i, v) ((p)[i] = (v))
#define TS_STORE_f16(p, i, v) vstore_half_rte((v), (size_t)(i), (__global half*)(p))
#define TS_STORE_bf16(p, i, v) ((p)[i] = ts_f32_to_bf16(v))

// Every 1-D kernel takes (ulong base, ulong n) as its last two arguments: it
// handles element base + get_global_id(0), which the host launches in chunks
// of at most 2^30 work-items, the global size rounded up to the work-group size.
#define TS_INDEX_OR_RETURN(base, n)           \
  const ulong i = (base) + get_global_id(0); \
  if (i >= (n)) return
