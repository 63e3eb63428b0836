#include "backends/vulkan/bf16_scaling.hpp"

#include <algorithm>

#include "core/error.hpp"

namespace tessera::vk {

Tensor absmax_slots(VulkanDevice& dev, int64_t n) {
  Tensor m = Tensor::empty({n}, DType::i32, dev);
  dev.fill(m.buffer(), m.offset_bytes(), size_t(m.nbytes()), 0u);
  return m;
}

void absmax(VulkanDevice& dev, const TensorArg& x, uint64_t rows, uint64_t heads, uint64_t width,
            const TensorArg& out, uint64_t slot0) {
  if (rows == 0 || heads == 0 || width == 0) return;
  // Blocks of ~8k elements per workgroup (whole rows; one row when a row is longer).
  const uint64_t rb = std::clamp<uint64_t>(8192 / width, 1, rows);
  const bool aligned = width % 8 == 0 && x.elem_off % 8 == 0 && x.bind.offset % 16 == 0;
  struct {
    uint64_t base, count, x_off;
    uint32_t rows, heads, D, slot0, rb;
  } pc{0, 256 * heads * ((rows + rb - 1) / rb), x.elem_off, uint32_t(rows), uint32_t(heads), uint32_t(width),
       uint32_t(slot0 + out.elem_off), uint32_t(rb)};
  launch_1d(dev, dev.pipelines().get("absmax", 2, {{0, uint32_t(aligned)}}, 256), {x.bind, out.bind}, &pc,
            sizeof(pc), pc.count);
}

Tensor scaled_f16_copy(VulkanDevice& dev, const TensorArg& x, uint64_t rows, uint64_t cols, const TensorArg& amax,
                       uint64_t slot0, uint64_t row_mod) {
  Tensor out = Tensor::empty({int64_t(rows), int64_t(cols)}, DType::f16, dev);
  const uint64_t n = rows * cols;
  if (n == 0) return out;
  const TensorArg ad = tensor_arg(out, true);
  TESSERA_CHECK(ad.elem_off == 0, "vulkan: scaled f16 temporary not at a binding start");
  // Push of shaders/linear_bf16.comp (MODE 0: one output word per invocation, or 8 elements when aligned).
  const bool aligned8 = cols % 8 == 0 && x.elem_off % 8 == 0 && x.bind.offset % 16 == 0;
  Bf16Push pc{0, aligned8 ? n / 8 : (n + 1) / 2, n, x.elem_off, 0, uint32_t(cols), uint32_t(amax.elem_off + slot0),
              0, 0, uint32_t(row_mod)};
  launch_1d(dev, dev.pipelines().get("linear_bf16_in", 5, {{0, 256}, {5, uint32_t(aligned8)}}, 256),
            {x.bind, amax.bind, amax.bind, amax.bind, ad.bind}, &pc, sizeof(pc), pc.count);
  return out;
}

}  // namespace tessera::vk
