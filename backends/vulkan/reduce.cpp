// Vulkan moments (shaders/reduce.comp): G workgroups of per-invocation
// Welford states merged with Chan's formula into G partial states, then one
// workgroup merging those into (mean, std).
#include <algorithm>

#include "backends/vulkan/vk_kernel.hpp"
#include "core/error.hpp"

namespace tessera::vk {
namespace {

constexpr uint32_t kLocal = 256;
constexpr uint64_t kMaxGroups = 1024;

struct MomentsPush {
  uint64_t base, count;
  uint32_t n, G;
  uint32_t x_off, p_off, o_off;
  float denom;
};

// Partial states: at least 64 elements per invocation before adding groups.
uint64_t groups(uint64_t n) { return std::clamp<uint64_t>((n + kLocal * 64 - 1) / (kLocal * 64), 1, kMaxGroups); }

void moments(Device& d, OpArgs& a) {
  auto& dev = as_vulkan(d);
  auto lock = dev.lock();
  const Tensor& x = a.in[0];
  const uint64_t n = uint64_t(x.numel()), G = groups(n);
  Tensor part = Tensor::empty({int64_t(3 * G)}, DType::f32, d);  // (count, mean, M2) per workgroup
  auto ax = tensor_arg(x, false), ap = tensor_arg(part, true), ao = tensor_arg(a.out[0], true);
  const uint32_t dt = dtype_code(x.dtype());
  MomentsPush pc{0, G * kLocal, uint32_t(n), uint32_t(G), uint32_t(ax.elem_off), uint32_t(ap.elem_off),
                 uint32_t(ao.elem_off), float(double(int64_t(n) - a.attrs.get_int("correction", 1)))};
  const auto& p0 = dev.pipelines().get("reduce", 3, {{0, kLocal}, {1, dt}, {2, 0}}, kLocal);
  ao.bind.write = false;  // not touched by the partial pass
  launch_1d(dev, p0, {ax.bind, ap.bind, ao.bind}, &pc, sizeof(pc), pc.count);
  const auto& p1 = dev.pipelines().get("reduce", 3, {{0, kLocal}, {1, dt}, {2, 1}}, kLocal);
  ap.bind.write = false;
  ao.bind.write = true;
  pc.count = kLocal;
  launch_1d(dev, p1, {ax.bind, ap.bind, ao.bind}, &pc, sizeof(pc), pc.count);
}

std::string supports(const Device& d, const OpArgs& a) {
  std::string why = check_nn(d, a);
  if (!why.empty()) return why;
  const uint64_t n = uint64_t(a.in[0].numel());
  if (n > (uint64_t(1) << 31)) return fmt::format("{} elements (32-bit indices: at most 2^31)", n);
  return check_loop_budget(d, n / (groups(n) * kLocal) + 32, "moments over this many elements");
}

TESSERA_REGISTER_KERNEL("moments", "vulkan", moments, supports);

}  // namespace
}  // namespace tessera::vk
