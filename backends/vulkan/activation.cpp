// Vulkan gelu / silu / sigmoid / softplus (shaders/activation.comp) and
// softmax (shaders/softmax.comp). f32 arithmetic with accurate exp/erfc/log1p,
// one rounding to the dtype.
#include "backends/vulkan/vk_kernel.hpp"

namespace tessera::vk {
namespace {

constexpr uint32_t kLocal = 256;

struct ActPush {
  uint64_t base, count;
  uint32_t n, x_off, o_off, pad;
};

void pointwise(Device& d, OpArgs& a, uint32_t op) {
  auto& dev = as_vulkan(d);
  auto lock = dev.lock();
  const Tensor& x = a.in[0];
  Tensor& o = a.out[0];
  const uint64_t n = uint64_t(o.numel());
  if (n == 0) return;
  auto ax = tensor_arg(x, false), ao = tensor_arg(o, true);
  const auto& p = dev.pipelines().get("activation", 2, {{0, kLocal}, {1, dtype_code(o.dtype())}, {2, op}}, kLocal);
  ActPush pc{0, words_covering(o.dtype(), n, ao.elem_off), uint32_t(n), uint32_t(ax.elem_off), uint32_t(ao.elem_off),
             0};
  launch_1d(dev, p, {ax.bind, ao.bind}, &pc, sizeof(pc), pc.count);
}

void gelu(Device& d, OpArgs& a) { pointwise(d, a, a.attrs.get_str("approximate", "none") == "tanh" ? 1 : 0); }
void silu(Device& d, OpArgs& a) { pointwise(d, a, 2); }
void sigmoid(Device& d, OpArgs& a) { pointwise(d, a, 3); }
void softplus(Device& d, OpArgs& a) { pointwise(d, a, 4); }

struct SoftmaxPush {
  uint64_t base, count;
  uint32_t rows, C, x_off, o_off;
};

void softmax(Device& d, OpArgs& a) {
  auto& dev = as_vulkan(d);
  auto lock = dev.lock();
  const Tensor& x = a.in[0];
  Tensor& o = a.out[0];
  if (o.numel() == 0) return;
  const uint64_t C = uint64_t(x.dim(-1)), rows = uint64_t(x.numel()) / C;
  const uint32_t ls = C >= 1024 ? 256 : (C >= 128 ? 128 : 32);
  auto ax = tensor_arg(x, false), ao = tensor_arg(o, true);
  const auto& p = dev.pipelines().get("softmax", 2, {{0, ls}, {1, dtype_code(o.dtype())}}, ls);
  SoftmaxPush pc{0, rows * ls, uint32_t(rows), uint32_t(C), uint32_t(ax.elem_off), uint32_t(ao.elem_off)};
  launch_1d(dev, p, {ax.bind, ao.bind}, &pc, sizeof(pc), pc.count);
}

TESSERA_REGISTER_KERNEL("gelu", "vulkan", gelu, check_nn);
TESSERA_REGISTER_KERNEL("silu", "vulkan", silu, check_nn);
TESSERA_REGISTER_KERNEL("sigmoid", "vulkan", sigmoid, check_nn);
TESSERA_REGISTER_KERNEL("softplus", "vulkan", softplus, check_nn);
std::string softmax_supports(const Device& d, const OpArgs& a) {
  std::string why = check_nn(d, a);
  if (!why.empty()) return why;
  // Three passes over the row, 4 x 256 elements per loop iteration.
  return check_loop_budget(d, 3 * (uint64_t(a.in[0].dim(-1)) / 1024 + 1) + 32, "a softmax row this long");
}

TESSERA_REGISTER_KERNEL("softmax", "vulkan", softmax, softmax_supports);

}  // namespace
}  // namespace tessera::vk
