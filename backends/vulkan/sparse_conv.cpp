// Vulkan sparse_conv3d: masked implicit GEMM with f32 accumulation.
//   sparse_conv               portable shared-memory tiles, f32 FMA (any dtype)
//   sparse_conv_coopmat_nv    f16 only: tensor cores (VK_NV_cooperative_matrix,
//                             16x16x16 f16 fragments, f32 accumulators)
// TESSERA_VK_SPARSE_CONV=portable|coopmat forces a path where it can run;
// coopmat_emu runs the coopmat kernel's functional model on any device (tests).
#include <cstdlib>

#include "backends/vulkan/vk_kernel.hpp"
#include "core/error.hpp"

namespace tessera::vk {
namespace {

constexpr uint64_t kTileM = 64, kTileN = 64, kTileK = 16;

struct Push {
  uint32_t N, Cin, Cout, K;
  uint32_t f_off, n_off, w_off, b_off, y_off;
  uint32_t co_tiles;
  uint32_t tile_x0, tile_y0;
};

std::string forced_path() {
  const char* e = std::getenv("TESSERA_VK_SPARSE_CONV");
  return e ? e : "";
}

// The coopmat shader for this call on this device, "" for the portable one.
std::string coopmat_shader(const Context& c, DType t) {
  const std::string force = forced_path();
  if (t != DType::f16 || force == "portable") return "";
  if (force == "coopmat_emu") return find_spirv("sparse_conv_coopmat_emu") ? "sparse_conv_coopmat_emu" : "";
  if (!find_spirv("sparse_conv_coopmat_nv") || !c.coopmat_nv || !c.float16 || c.subgroup_size != 32 ||
      !c.subgroup_basic)
    return "";
  bool shape = false;
  for (auto& s : c.coopmat_f16) shape = shape || (s.m == 16 && s.n == 16 && s.k == 16);
  return shape && 23000 <= c.max_shared ? "sparse_conv_coopmat_nv" : "";
}

void sparse_conv3d(Device& d, OpArgs& a) {
  auto& dev = as_vulkan(d);
  auto lock = dev.lock();
  const Tensor &f = a.in[0], &nbr = a.in[1], &w = a.in[2];
  const bool has_bias = a.in.size() > 3 && a.in[3].defined();
  Tensor& y = a.out[0];
  if (y.numel() == 0) return;
  const uint64_t N = uint64_t(f.dim(0)), Ci = uint64_t(f.dim(1)), K = uint64_t(nbr.dim(1)), Co = uint64_t(w.dim(0));
  auto af = tensor_arg(f, false), an = tensor_arg(nbr, false), aw = tensor_arg(w, false), ay = tensor_arg(y, true);
  auto ab = has_bias ? tensor_arg(a.in[3], false) : aw;  // never read without bias
  const uint64_t row_tiles = (N + kTileM - 1) / kTileM, co_tiles = (Co + kTileN - 1) / kTileN;
  Push pc{uint32_t(N), uint32_t(Ci), uint32_t(Co), uint32_t(K), uint32_t(af.elem_off), uint32_t(an.elem_off),
          uint32_t(aw.elem_off), uint32_t(ab.elem_off), uint32_t(ay.elem_off), uint32_t(co_tiles), 0, 0};
  const std::string cm = coopmat_shader(dev.ctx(), f.dtype());
  const bool even = ay.elem_off % 2 == 0 && Co % 2 == 0;
  const auto& p = !cm.empty()
                      ? dev.pipelines().get(cm, 5, {{2, uint32_t(has_bias)}, {3, uint32_t(even)}}, 128)
                      : dev.pipelines().get("sparse_conv", 5, {{1, dtype_code(f.dtype())}, {2, uint32_t(has_bias)}}, 256);
  launch_2d(dev, p, {af.bind, an.bind, aw.bind, ab.bind, ay.bind}, &pc, sizeof(pc), row_tiles, co_tiles,
            offsetof(Push, tile_x0), offsetof(Push, tile_y0));
}

std::string supports(const Device& d, const OpArgs& a) {
  std::string why = check_nn(d, a);
  if (!why.empty()) return why;
  const Tensor &f = a.in[0], &nbr = a.in[1], &w = a.in[2];
  if (w.dtype() != f.dtype() || a.out[0].dtype() != f.dtype()) return "feats, weight and out must share a dtype";
  for (const Tensor* t : {&f, &nbr, &w, &a.out[0]})
    if (uint64_t(t->numel()) >= (uint64_t(1) << 32)) return "a tensor has 2^32 elements or more (32-bit indexing)";
  // One invocation loops over K offsets x ceil(Cin / 16) channel steps (+ the staging loops).
  const uint64_t K = uint64_t(nbr.dim(1)), steps = K * ((uint64_t(f.dim(1)) + kTileK - 1) / kTileK + 2);
  const std::string force = forced_path();
  if (f.dtype() == DType::f16 && (force == "coopmat" || force == "coopmat_emu") &&
      coopmat_shader(static_cast<const VulkanDevice&>(d).ctx(), f.dtype()).empty())
    return "TESSERA_VK_SPARSE_CONV=" + force + " but the coopmat kernel cannot run here (f16 only; tensor cores)";
  return check_loop_budget(d, steps, "sparse_conv3d");
}

TESSERA_REGISTER_KERNEL("sparse_conv3d", "vulkan", sparse_conv3d, supports);

}  // namespace
}  // namespace tessera::vk
