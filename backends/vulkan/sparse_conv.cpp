// Vulkan sparse_conv3d: masked implicit GEMM over planned row tiles, f32
// accumulation (docs/sparse-conv.md).
//   sparse_conv_order         mask keys (sparse_conv_order.comp) + stable 4-bit
//                             LSD radix sort (the bvh_hist / bvh_scan /
//                             bvh_scatter shaders): the row order
//   sparse_conv               portable shared-memory tiles, f32 FMA (any dtype)
//   sparse_conv_cm_*          f16 only: tensor cores (VK_NV_cooperative_matrix,
//                             16x16x16 f16 fragments, f32 accumulators)
// Without an order input the op computes the order per call (temporaries).
// TESSERA_VK_SPARSE_CONV=portable|coopmat forces a path where it can run;
// coopmat_emu runs the coopmat kernel's functional model on any device (tests);
// TESSERA_VK_SPARSE_CONV_CM=128x128|256x64|128x64 forces a tile variant.
#include <algorithm>
#include <cstddef>
#include <cstdlib>

#include "backends/vulkan/vk_kernel.hpp"
#include "core/error.hpp"
#include "ops/sparse_conv.hpp"

namespace tessera::vk {
namespace {

constexpr uint64_t kTileM = 64, kTileN = 64, kTileK = 16;
constexpr uint32_t kSortWG = 256;
constexpr uint64_t kMaxCmK = 1024;  // the coopmat kernel lists active offsets in shared memory

struct Push {
  uint32_t N, Cin, Cout, K;
  uint32_t f_off, n_off, w_off, b_off, y_off, o_off;
  uint32_t tile_x0, tile_y0;
};

struct CmVariant {
  const char* name;  // tile suffix and shader sparse_conv_cm_<name>
  uint64_t tm, tn, tk;
  uint32_t invocations;
};
// Same table as CMakeLists.txt.
constexpr CmVariant kCmVariants[] = {
    {"128x128", 128, 128, 64, 512},
    {"256x64", 256, 64, 32, 512},
    {"128x64", 128, 64, 64, 256},
};
constexpr CmVariant kCmEmu{"emu", 64, 64, 32, 128};

std::string env(const char* name) {
  const char* e = std::getenv(name);
  return e ? e : "";
}

// The coopmat variant for this call on this device, nullptr for the portable kernel.
const CmVariant* coopmat_variant(const Context& c, DType t, uint64_t K, uint64_t Co) {
  const std::string force = env("TESSERA_VK_SPARSE_CONV");
  if (t != DType::f16 || force == "portable" || K > kMaxCmK) return nullptr;
  if (force == "coopmat_emu") return find_spirv("sparse_conv_coopmat_emu") ? &kCmEmu : nullptr;
  if (!c.coopmat_nv || !c.float16 || c.subgroup_size != 32 || !c.subgroup_basic || c.max_shared < 48 * 1024)
    return nullptr;
  bool shape = false;
  for (auto& s : c.coopmat_f16) shape = shape || (s.m == 16 && s.n == 16 && s.k == 16);
  if (!shape) return nullptr;
  const std::string want = env("TESSERA_VK_SPARSE_CONV_CM");
  const CmVariant* pick = Co <= 64 ? &kCmVariants[1] : &kCmVariants[0];
  for (auto& v : kCmVariants)
    if (want == v.name) pick = &v;
  return find_spirv(std::string("sparse_conv_cm_") + pick->name) ? pick : nullptr;
}

Tensor scratch(Device& d, int64_t words) { return Tensor::empty({std::max<int64_t>(words, 1)}, DType::i32, d); }

// order (i32 [N], contiguous) = rows stably sorted by mask key. Caller holds the lock.
void compute_order(VulkanDevice& dev, const Tensor& nbr, const Tensor& order) {
  const uint64_t N = uint64_t(nbr.dim(0)), K = uint64_t(nbr.dim(1));
  if (N == 0) return;
  const uint32_t G = uint32_t((N + kSortWG - 1) / kSortWG);
  const int passes = ops::sparse_conv_order_passes(int64_t(K));
  Tensor k0 = scratch(dev, int64_t(N)), k1 = scratch(dev, int64_t(N)), vt = scratch(dev, int64_t(N)),
         hist = scratch(dev, 16 * int64_t(G));
  // The last pass writes vals[passes % 2]: make that the output.
  const Tensor* vals[2] = {passes % 2 == 0 ? &order : &vt, passes % 2 == 0 ? &vt : &order};
  const Tensor* keys[2] = {&k0, &k1};
  auto bind = [](const Tensor& t, bool write) { return tensor_arg(t, write); };
  auto an = bind(nbr, false);
  struct P1 {
    uint64_t base;
    uint32_t N, K, n_off;
  } p1{0, uint32_t(N), uint32_t(K), uint32_t(an.elem_off)};
  auto& pipes = dev.pipelines();
  launch_1d(dev, pipes.get("sparse_conv_order", 3, {}, kSortWG),
            {an.bind, bind(k0, true).bind, bind(*vals[0], true).bind}, &p1, sizeof(p1), N);
  struct PG {
    uint32_t n, shift, G, g0, gy0;
  };
  for (int p = 0, s = 0; p < passes; ++p, s ^= 1) {
    PG ph{uint32_t(N), uint32_t(4 * p), G, 0, 0};
    launch_2d(dev, pipes.get("bvh_hist", 2, {}, kSortWG), {bind(*keys[s], false).bind, bind(hist, true).bind}, &ph,
              sizeof(ph), G, 1, offsetof(PG, g0), offsetof(PG, gy0));
    PG ps{16 * G, 0, 0, 0, 0};
    launch_2d(dev, pipes.get("bvh_scan", 1, {}, kSortWG), {bind(hist, true).bind}, &ps, sizeof(ps), 1, 1,
              offsetof(PG, shift), offsetof(PG, G));
    launch_2d(dev, pipes.get("bvh_scatter", 5, {}, kSortWG),
              {bind(*keys[s], false).bind, bind(*vals[s], false).bind, bind(*keys[s ^ 1], true).bind,
               bind(*vals[s ^ 1], true).bind, bind(hist, false).bind},
              &ph, sizeof(ph), G, 1, offsetof(PG, g0), offsetof(PG, gy0));
  }
}

// The radix shaders address their buffers from the binding start: outputs
// that do not start a binding are computed in a temporary and copied.
void sparse_conv_order(Device& d, OpArgs& a) {
  auto& dev = as_vulkan(d);
  auto lock = dev.lock();
  const Tensor& out = a.out[0];
  if (out.numel() == 0) return;
  if (tensor_arg(out, true).elem_off == 0) {
    compute_order(dev, a.in[0], out);
    return;
  }
  Tensor tmp = scratch(dev, out.numel());
  compute_order(dev, a.in[0], tmp);
  dev.copy(tmp.buffer(), tmp.offset_bytes(), out.buffer(), out.offset_bytes(), size_t(out.numel()) * 4);
}

void sparse_conv3d(Device& d, OpArgs& a) {
  auto& dev = as_vulkan(d);
  auto lock = dev.lock();
  const Tensor &f = a.in[0], &nbr = a.in[1], &w = a.in[2];
  const ops::SparseConvInputs has(a.in.size(), a.in.back().dtype());
  Tensor& y = a.out[0];
  if (y.numel() == 0) return;
  const uint64_t N = uint64_t(f.dim(0)), Ci = uint64_t(f.dim(1)), K = uint64_t(nbr.dim(1)), Co = uint64_t(w.dim(0));
  Tensor order;
  if (has.order) {
    order = a.in.back();
  } else {  // per call: mask keys + radix sort into a temporary
    order = scratch(dev, int64_t(N));
    compute_order(dev, nbr, order);
  }
  auto af = tensor_arg(f, false), an = tensor_arg(nbr, false), aw = tensor_arg(w, false), ay = tensor_arg(y, true),
       ao = tensor_arg(order, false);
  auto ab = has.bias ? tensor_arg(a.in[3], false) : aw;  // never read without bias
  Push pc{uint32_t(N),           uint32_t(Ci),          uint32_t(Co),          uint32_t(K),
          uint32_t(af.elem_off), uint32_t(an.elem_off), uint32_t(aw.elem_off), uint32_t(ab.elem_off),
          uint32_t(ay.elem_off), uint32_t(ao.elem_off), 0,                     0};
  const std::vector<Binding> binds{af.bind, an.bind, aw.bind, ab.bind, ay.bind, ao.bind};
  if (const CmVariant* cm = coopmat_variant(dev.ctx(), f.dtype(), K, Co)) {
    const bool even = ay.elem_off % 2 == 0 && Co % 2 == 0;
    const bool aligned = Ci % 8 == 0 && af.elem_off % 8 == 0 && aw.elem_off % 8 == 0;
    const std::string shader = cm == &kCmEmu ? "sparse_conv_coopmat_emu" : std::string("sparse_conv_cm_") + cm->name;
    const auto& p = dev.pipelines().get(
        shader, 6, {{2, uint32_t(has.bias)}, {3, uint32_t(even)}, {4, uint32_t(aligned)}}, cm->invocations);
    launch_2d(dev, p, binds, &pc, sizeof(pc), (N + cm->tm - 1) / cm->tm, (Co + cm->tn - 1) / cm->tn,
              offsetof(Push, tile_x0), offsetof(Push, tile_y0));
    return;
  }
  const auto& p =
      dev.pipelines().get("sparse_conv", 6, {{1, dtype_code(f.dtype())}, {2, uint32_t(has.bias)}}, 256);
  launch_2d(dev, p, binds, &pc, sizeof(pc), (N + kTileM - 1) / kTileM, (Co + kTileN - 1) / kTileN,
            offsetof(Push, tile_x0), offsetof(Push, tile_y0));
}

std::string supports(const Device& d, const OpArgs& a) {
  std::string why = check_nn(d, a);
  if (!why.empty()) return why;
  const Tensor &f = a.in[0], &nbr = a.in[1], &w = a.in[2];
  if (w.dtype() != f.dtype() || a.out[0].dtype() != f.dtype()) return "feats, weight and out must share a dtype";
  for (const Tensor* t : {&f, &nbr, &w, &a.out[0]})
    if (uint64_t(t->numel()) >= (uint64_t(1) << 32)) return "a tensor has 2^32 elements or more (32-bit indexing)";
  const uint64_t K = uint64_t(nbr.dim(1)), Ci = uint64_t(f.dim(1)), Co = uint64_t(w.dim(0));
  const auto& ctx = static_cast<const VulkanDevice&>(d).ctx();
  const std::string force = env("TESSERA_VK_SPARSE_CONV");
  const CmVariant* cm = coopmat_variant(ctx, f.dtype(), K, Co);
  if (f.dtype() == DType::f16 && (force == "coopmat" || force == "coopmat_emu") && !cm)
    return "TESSERA_VK_SPARSE_CONV=" + force + " but the coopmat kernel cannot run here (f16 only; tensor cores; k^3 <= 1024)";
  // One invocation loops over K offsets x channel steps (+ the staging loops);
  // the order computed per call: K per row plus the one-group scan.
  const uint64_t steps = cm ? 2 * K + K * ((Ci + cm->tk - 1) / cm->tk) + 64 : K * ((Ci + kTileK - 1) / kTileK + 2);
  return check_loop_budget(d, steps + K, "sparse_conv3d");
}

std::string supports_order(const Device& d, const OpArgs& a) {
  std::string why = check_nn(d, a);
  if (!why.empty()) return why;
  if (uint64_t(a.in[0].numel()) >= (uint64_t(1) << 32)) return "nbr has 2^32 elements or more (32-bit indexing)";
  return check_loop_budget(d, uint64_t(a.in[0].dim(1)) + uint64_t(a.in[0].dim(0)) / 256 / 16 + 16, "sparse_conv_order");
}

TESSERA_REGISTER_KERNEL("sparse_conv3d", "vulkan", sparse_conv3d, supports);
TESSERA_REGISTER_KERNEL("sparse_conv_order", "vulkan", sparse_conv_order, supports_order);

}  // namespace
}  // namespace tessera::vk
