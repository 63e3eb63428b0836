#include "backends/vulkan/vk_kernel.hpp"

#include <algorithm>
#include <cstring>

#include "core/error.hpp"

namespace tessera::vk {

uint32_t dtype_code(DType t) {
  switch (t) {
    case DType::f32: return 0;
    case DType::f16: return 1;
    case DType::bf16: return 2;
    default: fail("vulkan: dtype {} has no shader code", dtype_name(t));
  }
}

TensorArg tensor_arg(const Tensor& t, bool write) {
  const auto& obj = buffer_obj(t.buffer());
  const uint64_t align = obj->ctx->storage_align;
  const uint64_t off = t.offset_bytes();
  TensorArg a;
  a.bind.buf = obj;
  a.bind.offset = off / align * align;
  const uint64_t resid = off - a.bind.offset;
  a.elem_off = resid / dtype_size(t.dtype());
  uint64_t range = (resid + t.nbytes() + 3) & ~uint64_t(3);
  a.bind.range = std::min<uint64_t>(std::max<uint64_t>(range, 4), obj->size - a.bind.offset);
  a.bind.write = write;
  return a;
}

std::string check_tensors(const Device& dev, const OpArgs& a) {
  auto& ctx = static_cast<const VulkanDevice&>(dev).ctx();
  for (auto* list : {&a.in, &a.out})
    for (auto& t : *list) {
      if (!t.defined()) continue;
      if (!t.is_contiguous()) return fmt::format("tensor {} is not contiguous", t.desc());
      uint64_t resid = t.offset_bytes() % ctx.storage_align;
      if (resid + t.nbytes() > ctx.max_storage_range)
        return fmt::format(
            "tensor {} ({:.1f} MiB) exceeds the device's largest storage-buffer binding (maxStorageBufferRange "
            "{:.1f} MiB); split it into smaller tensors",
            t.desc(), t.nbytes() / 1048576.0, ctx.max_storage_range / 1048576.0);
    }
  return "";
}

std::string check_int64(const Device& dev) {
  auto& ctx = static_cast<const VulkanDevice&>(dev).ctx();
  return ctx.int64 ? "" : "the device lacks shaderInt64 (64-bit indices)";
}

uint64_t words_covering(DType t, uint64_t n, uint64_t elem_off) {
  if (n == 0) return 0;
  const uint64_t es = dtype_size(t);
  const uint64_t b0 = elem_off * es, b1 = (elem_off + n) * es;
  return (b1 + 3) / 4 - b0 / 4;
}

std::string check_nn(const Device& dev, const OpArgs& a) {
  std::string why = check_int64(dev);
  if (why.empty()) why = check_tensors(dev, a);
  return why;
}

std::string check_loop_budget(const Device& dev, uint64_t iterations, const char* what) {
  auto& ctx = static_cast<const VulkanDevice&>(dev).ctx();
  if (!ctx.info.software || iterations <= 60000) return "";
  return fmt::format(
      "{} needs ~{} loop iterations per shader invocation; this CPU Vulkan implementation stops shaders after 65,535",
      what, iterations);
}

void launch_1d(VulkanDevice& dev, const Pipeline& p, const std::vector<Binding>& binds, void* push,
               uint32_t push_bytes, uint64_t invocations) {
  if (invocations == 0) return;
  Stream& s = dev.stream();
  s.bind(p, binds);
  const uint64_t groups = (invocations + p.local_size - 1) / p.local_size;
  const uint64_t mx = dev.max_groups(0), my = dev.max_groups(1);
  for (uint64_t g0 = 0; g0 < groups;) {
    uint64_t left = groups - g0;
    uint32_t gx = uint32_t(std::min(left, mx));
    uint32_t gy = uint32_t(std::min((left + gx - 1) / gx, my));
    uint64_t base = g0 * p.local_size;
    std::memcpy(push, &base, 8);
    s.dispatch(push, push_bytes, gx, gy, 1);
    g0 += uint64_t(gx) * gy;
  }
  s.end_op();
}

void launch_2d(VulkanDevice& dev, const Pipeline& p, const std::vector<Binding>& binds, void* push,
               uint32_t push_bytes, uint64_t gx, uint64_t gy, uint32_t off_x, uint32_t off_y) {
  if (gx == 0 || gy == 0) return;
  TESSERA_CHECK(gx <= UINT32_MAX && gy <= UINT32_MAX, "vulkan: grid {}x{} too large", gx, gy);
  Stream& s = dev.stream();
  s.bind(p, binds);
  const uint64_t mx = dev.max_groups(0), my = dev.max_groups(1);
  for (uint64_t y0 = 0; y0 < gy; y0 += my)
    for (uint64_t x0 = 0; x0 < gx; x0 += mx) {
      uint32_t x = uint32_t(x0), y = uint32_t(y0);
      std::memcpy(static_cast<char*>(push) + off_x, &x, 4);
      std::memcpy(static_cast<char*>(push) + off_y, &y, 4);
      s.dispatch(push, push_bytes, uint32_t(std::min(mx, gx - x0)), uint32_t(std::min(my, gy - y0)), 1);
    }
  s.end_op();
}

}  // namespace tessera::vk
