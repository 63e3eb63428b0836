// Helpers around the CLBlast SGEMM of `linear`.

// c[row * N + col] = bias[col] (f32) for the M*N elements of the f32 output,
// which the GEMM then accumulates into with beta = 1.
#define TS_DEFINE_BIAS_ROWS(D)                                                                        \
  __kernel void bias_rows_##D(__global const TS_T_##D* bias, ulong b_off, __global float* c,          \
                              ulong c_off, ulong N, ulong base, ulong n) {                            \
    TS_INDEX_OR_RETURN(base, n);                                                                      \
    c[c_off + i] = TS_LOAD_##D(bias, b_off + i % N);                                                  \
  }

TS_DEFINE_BIAS_ROWS(f32)
TS_DEFINE_BIAS_ROWS(f16)
TS_DEFINE_BIAS_ROWS(bf16)
