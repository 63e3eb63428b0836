// NMSE thresholds against the float64 reference (see docs/numerics.md).
#pragma once
#include "core/dtype.hpp"

namespace tessera::tol {

inline constexpr double kExactF32 = 1e-10;    // elementwise/cast in f32
inline constexpr double kReduceF32 = 1e-8;    // GEMM, reductions, attention with f32 accumulation
inline constexpr double kF16 = 1e-5;          // f16 storage, f32 accumulation
inline constexpr double kBF16 = 1e-4;         // bf16 storage, f32 accumulation

// Threshold for an output of dtype `out`, given the f32 threshold of the op.
inline double for_output(DType out, double f32_tol) {
  if (out == DType::f16) return kF16;
  if (out == DType::bf16) return kBF16;
  if (out == DType::f32) return f32_tol;
  return 0.0;  // integers: exact
}

}  // namespace tessera::tol
