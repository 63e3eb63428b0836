// Host side of shaders/absmax.comp: largest bf16 magnitudes per head (or per
// row), for the bf16 paths that scale data by powers of two into f16's range
// (sdpa's tensor-core kernel, linear's scaled f16 path; docs/numerics.md).
#pragma once
#include <cstdint>

#include "backends/vulkan/vk_kernel.hpp"

namespace tessera::vk {

// A u32 tensor of n zeroed slots for absmax().
Tensor absmax_slots(VulkanDevice& dev, int64_t n);

// out[slot0 + h] = max(out[slot0 + h], largest |x[r, h, :]| over the rows) as bf16
// magnitude bits, for x a bf16 [rows, heads, width] tensor. A [rows, cols] matrix
// per row: rows = 1, heads = its rows, width = cols.
void absmax(VulkanDevice& dev, const TensorArg& x, uint64_t rows, uint64_t heads, uint64_t width,
            const TensorArg& out, uint64_t slot0);

}  // namespace tessera::vk
