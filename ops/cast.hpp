// cast: convert between f32, f16 and bf16. Rounding is to nearest even;
// f32 values beyond 65504 become +-inf in f16 (IEEE), NaN stays NaN.
#pragma once
#include "core/tensor.hpp"

namespace tessera::ops {
Tensor cast(const Tensor& x, DType to);
}
