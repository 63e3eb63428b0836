// bf16 on f16 tensor cores by power-of-two scaling (docs/numerics.md): the
// host side of shaders/absmax.comp (largest bf16 magnitude per head or per
// row) and of shaders/linear_bf16.comp MODE 0 (bf16 -> f16 copies with each
// row or head scaled into f16's range). Used by linear (linear.cpp) and by
// sdpa's tensor-core kernel (attention.cpp).
#pragma once
#include <cstdint>

#include "backends/vulkan/vk_kernel.hpp"

namespace tessera::vk {

// Push constants of shaders/linear_bf16.comp.
struct Bf16Push {
  uint64_t base, count, n, src_off, dst_off;
  uint32_t cols, ar_off, ac_off, b_off, row_mod;
};

// A u32 tensor of n zeroed slots for absmax().
Tensor absmax_slots(VulkanDevice& dev, int64_t n);

// out[slot0 + h] = max(out[slot0 + h], largest |x[r, h, :]| over the rows) as bf16
// magnitude bits, for x a bf16 [rows, heads, width] tensor. A [rows, cols] matrix
// per row: rows = 1, heads = its rows, width = cols.
void absmax(VulkanDevice& dev, const TensorArg& x, uint64_t rows, uint64_t heads, uint64_t width,
            const TensorArg& out, uint64_t slot0);

// A fresh f16 [rows, cols] tensor holding the bf16 [rows, cols] matrix x with row r
// multiplied by 2^-e, e = bf16_scale_exp(amax[slot0 + (row_mod ? r % row_mod : r)])
// (common.glsl): exact for every element within 2^29 of its slot's magnitude.
Tensor scaled_f16_copy(VulkanDevice& dev, const TensorArg& x, uint64_t rows, uint64_t cols, const TensorArg& amax,
                       uint64_t slot0, uint64_t row_mod);

}  // namespace tessera::vk
