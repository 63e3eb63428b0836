#include "backends/vulkan/absmax.hpp"

namespace tessera::vk {

Tensor absmax_slots(VulkanDevice& dev, int64_t n) {
  Tensor m = Tensor::empty({n}, DType::i32, dev);
  dev.fill(m.buffer(), m.offset_bytes(), size_t(m.nbytes()), 0u);
  return m;
}

void absmax(VulkanDevice& dev, const TensorArg& x, uint64_t rows, uint64_t heads, uint64_t width,
            const TensorArg& out, uint64_t slot0) {
  if (rows == 0 || heads == 0) return;
  struct {
    uint64_t base, count, x_off;
    uint32_t rows, heads, D, slot0;
  } pc{0, heads * ((rows + 31) / 32), x.elem_off, uint32_t(rows), uint32_t(heads), uint32_t(width),
       uint32_t(slot0 + out.elem_off)};  // one invocation per (head, 32 rows): RB in absmax.comp
  launch_1d(dev, dev.pipelines().get("absmax", 2, {{0, 256}}, 256), {x.bind, out.bind}, &pc, sizeof(pc), pc.count);
}

}  // namespace tessera::vk
