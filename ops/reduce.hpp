// Reductions over a whole tensor.
#pragma once
#include "core/tensor.hpp"

namespace tessera::ops {

// (mean, std) of all elements of x (f32, f16, bf16; any shape), as an f32
// tensor [2]: std = sqrt(sum((x - mean)^2) / (n - correction)), torch.std's
// definition (correction 1: Bessel-corrected, 0: population). n - correction
// must be positive. Accurate for tens of millions of elements around a large
// offset: the GPU kernels subtract x's first element, accumulate per-thread
// Welford statistics in f32 and merge them with Chan's formula; the CPU
// kernel takes two passes in double.
Tensor moments(const Tensor& x, int64_t correction = 1);

}  // namespace tessera::ops
