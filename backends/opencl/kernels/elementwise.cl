// add / mul with numpy broadcasting, scale, axpby. f32 arithmetic, result
// rounded to the output's dtype. The host passes the collapsed broadcast plan (core/broadcast.hpp)
// right-aligned in long8 vectors: dims.s7 is the innermost dimension; unused
// leading slots have dim 1 and stride 0. rank (1..8) says how many are used.

// Map flat output index `rem` to the two input indices (strides in elements).
// Unrolled over at most 8 dimensions; IT is uint when everything fits in 32
// bits (cheaper division on GPUs), else ulong.
#define TS_BCAST_DIM(IT, c)                  \
  if (rank > 7 - c) {                        \
    const IT d = (IT)dims.s##c;              \
    const IT q = rem / d;                    \
    const IT r = rem - q * d;                \
    ja += r * (IT)sa.s##c;                   \
    jb += r * (IT)sb.s##c;                   \
    rem = q;                                 \
  }
#define TS_BCAST_INDEX(IT, i_in, ia_out, ib_out)                                                 \
  {                                                                                             \
    IT rem = (IT)(i_in), ja = 0, jb = 0;                                                        \
    TS_BCAST_DIM(IT, 7) TS_BCAST_DIM(IT, 6) TS_BCAST_DIM(IT, 5) TS_BCAST_DIM(IT, 4)              \
    TS_BCAST_DIM(IT, 3) TS_BCAST_DIM(IT, 2) TS_BCAST_DIM(IT, 1) TS_BCAST_DIM(IT, 0)              \
    ia_out = (ulong)ja;                                                                         \
    ib_out = (ulong)jb;                                                                         \
  }

#define TS_DEFINE_BINARY(NAME, EXPR, D)                                                           \
  __kernel void NAME##_##D(__global const TS_T_##D* a, ulong a_off, __global const TS_T_##D* b,   \
                           ulong b_off, __global TS_T_##D* o, ulong o_off, int rank, long8 dims,  \
                           long8 sa, long8 sb, ulong base, ulong n) {                             \
    TS_INDEX_OR_RETURN(base, n);                                                                  \
    ulong ia, ib;                                                                                 \
    if (rank == 1 && sa.s7 == 1 && sb.s7 == 1) {                                                  \
      ia = i;                                                                                     \
      ib = i;                                                                                     \
    } else if (n <= 0xffffffffUL) {                                                               \
      TS_BCAST_INDEX(uint, i, ia, ib)                                                             \
    } else {                                                                                      \
      TS_BCAST_INDEX(ulong, i, ia, ib)                                                            \
    }                                                                                             \
    const float x = TS_LOAD_##D(a, a_off + ia);                                                   \
    const float y = TS_LOAD_##D(b, b_off + ib);                                                   \
    const float r = EXPR;                                                                         \
    TS_STORE_##D(o, o_off + i, r);                                                                \
  }

TS_DEFINE_BINARY(add, x + y, f32)
TS_DEFINE_BINARY(add, x + y, f16)
TS_DEFINE_BINARY(add, x + y, bf16)
TS_DEFINE_BINARY(mul, x * y, f32)
TS_DEFINE_BINARY(mul, x * y, f16)
TS_DEFINE_BINARY(mul, x * y, bf16)

#define TS_DEFINE_SCALE(D)                                                                            \
  __kernel void scale_##D(__global const TS_T_##D* x, ulong x_off, __global TS_T_##D* o, ulong o_off, \
                          float alpha, ulong base, ulong n) {                                         \
    TS_INDEX_OR_RETURN(base, n);                                                                      \
    const float r = alpha * TS_LOAD_##D(x, x_off + i);                                                \
    TS_STORE_##D(o, o_off + i, r);                                                                    \
  }

TS_DEFINE_SCALE(f32)
TS_DEFINE_SCALE(f16)
TS_DEFINE_SCALE(bf16)

// o = alpha * a + beta * b, same shapes; b in dtype DB, a and o in DA.
#define TS_DEFINE_AXPBY(DA, DB)                                                             \
  __kernel void axpby_##DA##_##DB(__global const TS_T_##DA* a, ulong a_off,                 \
                                  __global const TS_T_##DB* b, ulong b_off,                 \
                                  __global TS_T_##DA* o, ulong o_off, float alpha,          \
                                  float beta, ulong base, ulong n) {                        \
    TS_INDEX_OR_RETURN(base, n);                                                            \
    const float r = alpha * TS_LOAD_##DA(a, a_off + i) + beta * TS_LOAD_##DB(b, b_off + i); \
    TS_STORE_##DA(o, o_off + i, r);                                                         \
  }

TS_DEFINE_AXPBY(f32, f32)
TS_DEFINE_AXPBY(f32, f16)
TS_DEFINE_AXPBY(f32, bf16)
TS_DEFINE_AXPBY(f16, f32)
TS_DEFINE_AXPBY(f16, f16)
TS_DEFINE_AXPBY(f16, bf16)
TS_DEFINE_AXPBY(bf16, f32)
TS_DEFINE_AXPBY(bf16, f16)
TS_DEFINE_AXPBY(bf16, bf16)
