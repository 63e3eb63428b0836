// Vulkan rope (shaders/rope.comp): rotary embedding from a per-token angle
// table, interleaved or half pairs, in place when out aliases x (rope_). The
// unrotated prefix (attr skip) is copied when out is a different tensor.
#include "backends/vulkan/vk_kernel.hpp"

namespace tessera::vk {
namespace {

constexpr uint32_t kLocal = 256;

struct RopePush {
  uint64_t base, count;
  uint32_t H, D, P, skip;
  uint32_t x_off, a_off, o_off, pad;
};

void rope(Device& d, OpArgs& a) {
  auto& dev = as_vulkan(d);
  auto lock = dev.lock();
  const Tensor& x = a.in[0];
  Tensor& o = a.out[0];
  if (o.numel() == 0) return;
  const uint64_t T = uint64_t(x.dim(0)), H = uint64_t(x.dim(1)), D = uint64_t(x.dim(2)), P = D / 2;
  const uint64_t skip = uint64_t(a.attrs.get_int("skip", 0));
  const bool half = a.attrs.get_str("style", "interleaved") == "half";
  const bool same = buffer_obj(x.buffer()) == buffer_obj(o.buffer()) && x.offset_bytes() == o.offset_bytes();
  if (!same && skip > 0) {  // unrotated prefix
    dev.stream().copy(buffer_obj(x.buffer()), x.offset_bytes(), buffer_obj(o.buffer()), o.offset_bytes(),
                      skip * H * D * dtype_size(x.dtype()));
    dev.stream().end_op();
  }
  if (T == skip || P == 0) return;
  auto ax = tensor_arg(x, false), aa = tensor_arg(a.in[1], false), ao = tensor_arg(o, true);
  const bool wide = half && x.dtype() != DType::f32 && P % 2 == 0 && ax.elem_off % 2 == 0 && ao.elem_off % 2 == 0;
  const auto& p = dev.pipelines().get(
      "rope", 3, {{0, kLocal}, {1, dtype_code(x.dtype())}, {2, uint32_t(half)}, {3, uint32_t(wide)}}, kLocal);
  RopePush pc{0,
              (T - skip) * H * (wide ? P / 2 : P),
              uint32_t(H),
              uint32_t(D),
              uint32_t(P),
              uint32_t(skip),
              uint32_t(ax.elem_off),
              uint32_t(aa.elem_off),
              uint32_t(ao.elem_off),
              0};
  launch_1d(dev, p, {ax.bind, aa.bind, ao.bind}, &pc, sizeof(pc), pc.count);
}

std::string supports(const Device& d, const OpArgs& a) {
  std::string why = check_nn(d, a);
  if (!why.empty()) return why;
  const Tensor &x = a.in[0], &o = a.out[0];
  // In place means exactly the same elements: a partial overlap would race.
  if (buffer_obj(x.buffer()) == buffer_obj(o.buffer()) && x.offset_bytes() != o.offset_bytes()) {
    const uint64_t xs = x.offset_bytes(), os = o.offset_bytes();
    if (xs < os + o.nbytes() && os < xs + x.nbytes()) return "out partially overlaps x (only exact aliasing is supported)";
  }
  return "";
}

TESSERA_REGISTER_KERNEL("rope", "vulkan", rope, supports);

}  // namespace
}  // namespace tessera::vk
