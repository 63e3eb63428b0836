// Vulkan cast between f32 / f16 / bf16 (shaders/unary.comp): exact widening,
// round-to-nearest-even narrowing, f32 -> f16 overflow to inf, NaN kept.
#include "backends/vulkan/vk_kernel.hpp"

namespace tessera::vk {

void run_cast(VulkanDevice& dev, const Tensor& x, Tensor& o);  // elementwise.cpp

namespace {

void cast(Device& d, OpArgs& a) {
  auto& dev = as_vulkan(d);
  auto lock = dev.lock();
  run_cast(dev, a.in[0], a.out[0]);
}

std::string supports(const Device& d, const OpArgs& a) {
  std::string why = check_int64(d);
  if (why.empty()) why = check_tensors(d, a);
  return why;
}

TESSERA_REGISTER_KERNEL("cast", "vulkan", cast, supports);

}  // namespace
}  // namespace tessera::vk
