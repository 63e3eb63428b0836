// Vulkan add / mul / scale / axpby (shaders/binary.comp, shaders/unary.comp,
// shaders/axpby.comp).
#include "backends/vulkan/vk_kernel.hpp"
#include "core/broadcast.hpp"

namespace tessera::vk {
namespace {

constexpr uint32_t kLocal = 256;

// Shader variant keeping f32 subnormals where the device can (bit-exact with
// the CPU backend); elsewhere the device may flush them to zero.
std::string variant(const VulkanDevice& dev, const char* base) {
  return dev.ctx().denorm_preserve32 ? std::string(base) + "_dp" : std::string(base);
}

struct BinaryPush {
  uint64_t base, count, n, a_off, b_off, o_off;
};
struct AxpbyPush {
  uint64_t base, count, n, a_off, b_off, o_off;
  float alpha, beta;
};
struct UnaryPush {
  uint64_t base, count, n, x_off, o_off;
  float alpha;
  uint32_t pad;
};

// Invocations of a job writing n elements of dtype t from element offset
// `off`: one per element for f32, one per 32-bit word for 16-bit dtypes.
uint64_t invocations(DType t, uint64_t n, uint64_t off) {
  if (t == DType::f32) return n;
  return ((off + n - 1) >> 1) - (off >> 1) + 1;
}

void binary(Device& d, OpArgs& a, const char* name, uint32_t op) {
  auto& dev = as_vulkan(d);
  auto lock = dev.lock();
  const Tensor &x = a.in[0], &y = a.in[1];
  Tensor& o = a.out[0];
  const uint64_t n = uint64_t(o.numel());
  if (n == 0) return;
  auto plan = broadcast_plan(name, {x.shape(), y.shape()});
  const size_t r = plan.dims.size();
  std::vector<int64_t> meta(3 * r);
  for (size_t i = 0; i < r; ++i) {
    meta[i] = plan.dims[i];
    meta[r + i] = plan.strides[0][i];
    meta[2 * r + i] = plan.strides[1][i];
  }
  auto ax = tensor_arg(x, false), ay = tensor_arg(y, false), ao = tensor_arg(o, true);
  Binding mb = dev.stream().params(meta.data(), meta.size() * sizeof(int64_t));
  const auto& p = dev.pipelines().get(variant(dev, "binary"), 4, {{0, kLocal}, {1, dtype_code(o.dtype())}, {2, op}, {3, uint32_t(r)}},
                                      kLocal);
  BinaryPush pc{0, invocations(o.dtype(), n, ao.elem_off), n, ax.elem_off, ay.elem_off, ao.elem_off};
  launch_1d(dev, p, {ax.bind, ay.bind, ao.bind, mb}, &pc, sizeof(pc), pc.count);
}

void add(Device& d, OpArgs& a) { binary(d, a, "add", 0); }
void mul(Device& d, OpArgs& a) { binary(d, a, "mul", 1); }

void scale(Device& d, OpArgs& a) {
  auto& dev = as_vulkan(d);
  auto lock = dev.lock();
  const Tensor& x = a.in[0];
  Tensor& o = a.out[0];
  const uint64_t n = uint64_t(o.numel());
  if (n == 0) return;
  auto ax = tensor_arg(x, false), ao = tensor_arg(o, true);
  const uint32_t dt = dtype_code(o.dtype());
  const auto& p = dev.pipelines().get(variant(dev, "unary"), 2, {{0, kLocal}, {1, dt}, {2, dt}, {3, 1}}, kLocal);
  UnaryPush pc{0, invocations(o.dtype(), n, ao.elem_off), n, ax.elem_off, ao.elem_off,
               float(a.attrs.get_float("alpha", 1.0)), 0};
  launch_1d(dev, p, {ax.bind, ao.bind}, &pc, sizeof(pc), pc.count);
}

void axpby(Device& d, OpArgs& a) {
  auto& dev = as_vulkan(d);
  auto lock = dev.lock();
  const Tensor &x = a.in[0], &y = a.in[1];
  Tensor& o = a.out[0];
  const uint64_t n = uint64_t(o.numel());
  if (n == 0) return;
  auto ax = tensor_arg(x, false), ay = tensor_arg(y, false), ao = tensor_arg(o, true);
  const auto& p = dev.pipelines().get("axpby", 3, {{0, kLocal}, {1, dtype_code(x.dtype())}, {2, dtype_code(y.dtype())}},
                                      kLocal);
  AxpbyPush pc{0, invocations(o.dtype(), n, ao.elem_off), n, ax.elem_off, ay.elem_off, ao.elem_off,
               float(a.attrs.get_float("alpha", 1.0)), float(a.attrs.get_float("beta", 1.0))};
  launch_1d(dev, p, {ax.bind, ay.bind, ao.bind}, &pc, sizeof(pc), pc.count);
}

std::string supports(const Device& d, const OpArgs& a) {
  std::string why = check_int64(d);
  if (why.empty()) why = check_tensors(d, a);
  return why;
}

TESSERA_REGISTER_KERNEL("add", "vulkan", add, supports);
TESSERA_REGISTER_KERNEL("mul", "vulkan", mul, supports);
TESSERA_REGISTER_KERNEL("scale", "vulkan", scale, supports);
TESSERA_REGISTER_KERNEL("axpby", "vulkan", axpby, supports);

}  // namespace

// Shared with cast.cpp.
void run_cast(VulkanDevice& dev, const Tensor& x, Tensor& o) {
  const uint64_t n = uint64_t(o.numel());
  if (n == 0) return;
  if (x.dtype() == o.dtype()) {  // same dtype: a plain copy
    dev.stream().copy(buffer_obj(x.buffer()), x.offset_bytes(), buffer_obj(o.buffer()), o.offset_bytes(), o.nbytes());
    dev.stream().end_op();
    return;
  }
  auto ax = tensor_arg(x, false), ao = tensor_arg(o, true);
  const auto& p = dev.pipelines().get(
      variant(dev, "unary"), 2, {{0, kLocal}, {1, dtype_code(x.dtype())}, {2, dtype_code(o.dtype())}, {3, 0}}, kLocal);
  UnaryPush pc{0, invocations(o.dtype(), n, ao.elem_off), n, ax.elem_off, ao.elem_off, 1.0f, 0};
  launch_1d(dev, p, {ax.bind, ao.bind}, &pc, sizeof(pc), pc.count);
}

}  // namespace tessera::vk
