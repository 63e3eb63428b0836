// Vulkan texture_sample_2d / _3d (shaders/texture.comp): one invocation per
// (point, channel).
#include "backends/vulkan/vk_kernel.hpp"

namespace tessera::vk {
namespace {

struct TexPush {
  uint64_t base, count;
  int32_t D, H, W;
  uint32_t C, mode, t_off, c_off, o_off;
};

void tex(Device& d, OpArgs& a, uint32_t dims) {
  auto& dev = as_vulkan(d);
  auto lock = dev.lock();
  const Tensor& t = a.in[0];
  const std::string b = a.attrs.get_str("boundary", "wrap");
  auto at = tensor_arg(t, false), ac = tensor_arg(a.in[1], false), ao = tensor_arg(a.out[0], true);
  TexPush pc{0, uint64_t(a.out[0].numel()), int32_t(dims == 3 ? t.dim(0) : 1), 0, 0, uint32_t(t.dim(-1)), uint32_t(b == "wrap" ? 0 : b == "clamp" ? 1 : 2), uint32_t(at.elem_off),
             uint32_t(ac.elem_off), uint32_t(ao.elem_off)};
  pc.H = int32_t(t.dim(-3));
  pc.W = int32_t(t.dim(-2));
  launch_1d(dev, dev.pipelines().get("texture", 3, {{0, 256u}, {1, dims}}, 256), {at.bind, ac.bind, ao.bind}, &pc, sizeof(pc),
            pc.count);
}

void tex2d(Device& d, OpArgs& a) { tex(d, a, 2); }
void tex3d(Device& d, OpArgs& a) { tex(d, a, 3); }

std::string supports_tex(const Device& d, const OpArgs& a) {
  std::string why = check_nn(d, a);
  if (!why.empty()) return why;
  for (const auto& t : a.in)
    if (uint64_t(t.numel()) >= (uint64_t(1) << 32)) return "an input with 2^32 or more elements";
  if (uint64_t(a.out[0].numel()) >= (uint64_t(1) << 32)) return "an output with 2^32 or more elements";
  return "";
}

TESSERA_REGISTER_KERNEL("texture_sample_2d", "vulkan", tex2d, supports_tex);
TESSERA_REGISTER_KERNEL("texture_sample_3d", "vulkan", tex3d, supports_tex);

}  // namespace
}  // namespace tessera::vk
