// Vulkan layer_norm / rms_norm / group_norm (shaders/norm.comp): one
// workgroup per normalised segment, f32 statistics (corrected two-pass mean
// and variance; sum of squares for rms/l2), one rounding to x's dtype.
#include "backends/vulkan/vk_kernel.hpp"

namespace tessera::vk {
namespace {

struct NormPush {
  uint64_t base, count;
  uint32_t segs, L;
  uint32_t x_off, o_off, w_off, b_off;
  uint32_t wrows;
  uint32_t S, G, cg;
  float eps;
  uint32_t pad;
};

// op: 0 layer_norm, 1 rms, 2 l2, 3 group_norm. L: elements per segment.
void run_norm(Device& d, OpArgs& a, uint32_t op, uint64_t L, NormPush pc) {
  auto& dev = as_vulkan(d);
  auto lock = dev.lock();
  const Tensor& x = a.in[0];
  Tensor& o = a.out[0];
  if (o.numel() == 0 || L == 0) return;
  const bool has_w = a.in.size() > 1;
  const uint64_t segs = uint64_t(x.numel()) / L;
  const uint32_t ls = L >= 1024 ? 256 : (L >= 128 ? 128 : 32);
  auto ax = tensor_arg(x, false), ao = tensor_arg(o, true);
  // Without weight/bias, bindings 2 and 3 get x (never read).
  auto aw = has_w ? tensor_arg(a.in[1], false) : ax;
  auto ab = a.in.size() > 2 ? tensor_arg(a.in[2], false) : aw;
  const auto& p = dev.pipelines().get(
      "norm", 4, {{0, ls}, {1, dtype_code(o.dtype())}, {2, op}, {3, uint32_t(has_w)}}, ls);
  pc.base = 0;
  pc.count = segs * ls;
  pc.segs = uint32_t(segs);
  pc.L = uint32_t(L);
  pc.x_off = uint32_t(ax.elem_off);
  pc.o_off = uint32_t(ao.elem_off);
  pc.w_off = uint32_t(aw.elem_off);
  pc.b_off = uint32_t(ab.elem_off);
  launch_1d(dev, p, {ax.bind, ao.bind, aw.bind, ab.bind}, &pc, sizeof(pc), pc.count);
}

void layer_norm(Device& d, OpArgs& a) {
  NormPush pc{};
  pc.wrows = 1;
  pc.S = pc.G = pc.cg = 1;
  pc.eps = float(a.attrs.get_float("eps", 1e-5));
  run_norm(d, a, 0, uint64_t(a.in[0].dim(-1)), pc);
}

void rms_norm(Device& d, OpArgs& a) {
  const uint64_t C = uint64_t(a.in[0].dim(-1));
  NormPush pc{};
  pc.wrows = a.in.size() > 1 ? uint32_t(uint64_t(a.in[1].numel()) / C) : 1;
  pc.S = pc.G = pc.cg = 1;
  pc.eps = float(a.attrs.get_float("eps", 1e-6));
  run_norm(d, a, a.attrs.get_str("mode", "rms") == "l2" ? 2 : 1, C, pc);
}

void group_norm(Device& d, OpArgs& a) {
  const Tensor& x = a.in[0];
  const uint64_t G = uint64_t(a.attrs.get_int("groups", 1)), N = uint64_t(x.dim(0)), C = uint64_t(x.dim(1));
  if (x.numel() == 0) return;
  const uint64_t S = uint64_t(x.numel()) / (N * C), cg = C / G;
  NormPush pc{};
  pc.wrows = 1;
  pc.S = uint32_t(S);
  pc.G = uint32_t(G);
  pc.cg = uint32_t(cg);
  pc.eps = float(a.attrs.get_float("eps", 1e-5));
  run_norm(d, a, 3, cg * S, pc);
}

// Elements per segment.
uint64_t segment_len(const OpArgs& a, bool group) {
  const Tensor& x = a.in[0];
  if (!group) return uint64_t(x.dim(-1));
  const uint64_t N = uint64_t(x.dim(0)), C = uint64_t(x.dim(1)), G = uint64_t(a.attrs.get_int("groups", 1));
  return N * C == 0 ? 0 : uint64_t(x.numel()) / (N * C) * (C / G);
}

std::string supports(const Device& d, const OpArgs& a, bool group) {
  std::string why = check_nn(d, a);
  if (!why.empty()) return why;
  // Three passes over the segment, 4 x 256 elements per loop iteration.
  return check_loop_budget(d, 3 * (segment_len(a, group) / 1024 + 1) + 32, "a normalised segment this long");
}

TESSERA_REGISTER_KERNEL("layer_norm", "vulkan", layer_norm,
                        [](const Device& d, const OpArgs& a) { return supports(d, a, false); });
TESSERA_REGISTER_KERNEL("rms_norm", "vulkan", rms_norm,
                        [](const Device& d, const OpArgs& a) { return supports(d, a, false); });
TESSERA_REGISTER_KERNEL("group_norm", "vulkan", group_norm,
                        [](const Device& d, const OpArgs& a) { return supports(d, a, true); });

}  // namespace
}  // namespace tessera::vk
