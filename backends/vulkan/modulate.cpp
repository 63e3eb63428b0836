// Vulkan modulate / gated_residual (shaders/modulate.comp): three inputs with
// numpy broadcasting over the collapsed plan of core/broadcast.hpp, f32
// arithmetic, one rounding to the dtype.
#include "backends/vulkan/vk_kernel.hpp"
#include "core/broadcast.hpp"
#include "core/error.hpp"

namespace tessera::vk {
namespace {

constexpr uint32_t kLocal = 256;

struct TernaryPush {
  uint64_t base, count;
  uint32_t n, a_off, b_off, c_off, o_off, pad;
};

void ternary(Device& d, OpArgs& a, const char* name, uint32_t op) {
  auto& dev = as_vulkan(d);
  auto lock = dev.lock();
  Tensor& o = a.out[0];
  const uint64_t n = uint64_t(o.numel());
  if (n == 0) return;
  auto plan = broadcast_plan(name, {a.in[0].shape(), a.in[1].shape(), a.in[2].shape()});
  const size_t r = plan.dims.size();
  std::vector<int64_t> meta(4 * r);
  for (size_t i = 0; i < r; ++i) {
    meta[i] = plan.dims[i];
    for (size_t j = 0; j < 3; ++j) meta[(j + 1) * r + i] = plan.strides[j][i];
  }
  auto a0 = tensor_arg(a.in[0], false), a1 = tensor_arg(a.in[1], false), a2 = tensor_arg(a.in[2], false);
  auto ao = tensor_arg(o, true);
  Binding mb = dev.stream().params(meta.data(), meta.size() * sizeof(int64_t));
  const auto& p = dev.pipelines().get(
      "modulate", 5, {{0, kLocal}, {1, dtype_code(o.dtype())}, {2, op}, {3, uint32_t(r)}}, kLocal);
  TernaryPush pc{0,
                 words_covering(o.dtype(), n, ao.elem_off),
                 uint32_t(n),
                 uint32_t(a0.elem_off),
                 uint32_t(a1.elem_off),
                 uint32_t(a2.elem_off),
                 uint32_t(ao.elem_off),
                 0};
  launch_1d(dev, p, {a0.bind, a1.bind, a2.bind, ao.bind, mb}, &pc, sizeof(pc), pc.count);
}

void modulate(Device& d, OpArgs& a) { ternary(d, a, "modulate", 0); }
void gated_residual(Device& d, OpArgs& a) { ternary(d, a, "gated_residual", 1); }

std::string supports(const Device& d, const OpArgs& a) {
  std::string why = check_nn(d, a);
  if (!why.empty()) return why;
  auto plan = broadcast_plan("modulate", {a.in[0].shape(), a.in[1].shape(), a.in[2].shape()});
  if (plan.dims.size() > 8)
    return fmt::format("the broadcast plan has rank {} after collapsing (the shader takes up to 8)", plan.dims.size());
  return "";
}

TESSERA_REGISTER_KERNEL("modulate", "vulkan", modulate, supports);
TESSERA_REGISTER_KERNEL("gated_residual", "vulkan", gated_residual, supports);

}  // namespace
}  // namespace tessera::vk
