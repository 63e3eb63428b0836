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

// Four consecutive elements from p + i as a float4 (vloadn needs only element
// alignment, so any i works).
#define TS_LOAD4_f32(p, i) vload4(0, (p) + (i))
#define TS_LOAD4_f16(p, i) vload_half4(0, (__global const half*)((p) + (i)))
#define TS_LOAD4_bf16(p, i) as_float4(convert_uint4(vload4(0, (p) + (i))) << 16)

// Every 1-D kernel takes (ulong base, ulong n) as its last two arguments: it
// handles element base + get_global_id(0), which the host launches in chunks
// of at most 2^30 work-items, the global size rounded up to the work-group size.
#define TS_INDEX_OR_RETURN(base, n)           \
  const ulong i = (base) + get_global_id(0); \
  if (i >= (n)) return

// Full unrolling of a loop with a compile-time trip count, usable inside
// macros: keeps small private arrays indexed by the loop counter in GPU
// registers. Not on CPU devices (TS_CPU_DEVICE, set by the host for PoCL),
// where it made the attention kernel twice as slow.
#if defined(TS_CPU_DEVICE)
#define TS_UNROLL
#else
#define TS_UNROLL _Pragma("unroll")
#endif

// Kernels launched by Launch::run_groups take (ulong group_base) last: their
// work-group index along dim 0 is group_base + get_group_id(0). run_groups
// launches the exact number of groups asked for.
//
// Kernels with barriers never `return` early, not even on a condition that is
// uniform over the work-group and never true: PoCL 3.1 (pthread device) then
// computed wrong local-memory reductions for a few work-groups at random.
// Out-of-range groups or items are masked instead.
#define TS_GROUP(group_base) ((group_base) + (ulong)get_group_id(0))

// Work-group reductions over get_local_size(0) items (a power of two, at most
// the size of `red`). Every item of the group must call them (uniform control
// flow); every item gets the result. The leading barrier lets `red` be reused
// by consecutive reductions.
inline float ts_wg_sum(__local float* red, float v) {
  const uint lid = get_local_id(0);
  barrier(CLK_LOCAL_MEM_FENCE);
  red[lid] = v;
  barrier(CLK_LOCAL_MEM_FENCE);
  for (uint s = get_local_size(0) / 2; s > 0; s >>= 1) {
    if (lid < s) red[lid] += red[lid + s];
    barrier(CLK_LOCAL_MEM_FENCE);
  }
  return red[0];
}

inline float ts_wg_max(__local float* red, float v) {
  const uint lid = get_local_id(0);
  barrier(CLK_LOCAL_MEM_FENCE);
  red[lid] = v;
  barrier(CLK_LOCAL_MEM_FENCE);
  for (uint s = get_local_size(0) / 2; s > 0; s >>= 1) {
    if (lid < s) red[lid] = fmax(red[lid], red[lid + s]);
    barrier(CLK_LOCAL_MEM_FENCE);
  }
  return red[0];
}
