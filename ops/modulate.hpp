// adaLN-style modulation, with numpy broadcasting over all inputs (one dtype).
//   modulate(x, shift, scale)   = x * (1 + scale) + shift
//   gated_residual(h, x, gate)  = h + gate * x
// f32 arithmetic, rounded once to the dtype.
#pragma once
#include "core/tensor.hpp"

namespace tessera::ops {
Tensor modulate(const Tensor& x, const Tensor& shift, const Tensor& scale);
Tensor gated_residual(const Tensor& h, const Tensor& x, const Tensor& gate);
}  // namespace tessera::ops
