// Vulkan linear: y[M,N] = x[M,K] . w[N,K]^T (+ bias[N]), f32 accumulation.
// Paths:
//   gemm_cm_*        f16 x and w on devices with VK_NV_cooperative_matrix
//                    (tensor cores: f16 fragments, f32 accumulators); variants
//                    of shaders/gemm_coopmat_nv.comp in kCoopVariants, the
//                    first that runs is the default (16-byte aligned rows);
//                    rows that are not 16-byte aligned (K % 8 != 0) take
//                    gemm_cm_256x128_s1p1_w16 (measured best there)
//   gemm_128         portable 128x128 tiles, 8x8 per invocation (large
//                    problems on hardware GPUs; f32/bf16 and mixed dtypes)
//   gemm_64          portable 64x64 tiles, 4x4 per invocation
// TESSERA_VK_GEMM=128|64|coopmat|<coopmat variant shader name> forces a path
// (for tests and benchmarks; coopmat falls back to the portable path where it
// cannot run). Tuning log with H100 measurements: GEMM_NOTES.md.
#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "backends/vulkan/vk_kernel.hpp"
#include "core/error.hpp"
#include "ops/linear.hpp"

namespace tessera::vk {
namespace {

struct GemmPush {
  uint32_t M, N, K;
  uint32_t x_off, w_off, b_off, y_off;
  uint32_t tile_x0, tile_y0;
};

std::string forced_path() {
  const char* e = std::getenv("TESSERA_VK_GEMM");
  return e ? e : "";
}

// Variants of shaders/gemm_coopmat_nv.comp (CMakeLists.txt builds the same table;
// the fields are its -D values). diag != 0: a timing-only diagnostic build
// (wrong results, see the shader's DIAG), never chosen unless named.
struct CoopVariant {
  const char* shader;
  uint32_t tm, tn, tk, wg_m, wg_n, stages, prefetch, pad, cm_m, cm_n, cm_k, diag;
  uint32_t threads() const { return 32 * wg_m * wg_n; }
  uint32_t shared_bytes() const {
    return std::max(stages * (tm + tn) * (tk + pad) * 2, wg_m * wg_n * cm_m * (tn / wg_n + 4) * 4);
  }
};
constexpr CoopVariant kCoopVariants[] = {
    // H100: 154-168 TFLOP/s on 4096^3 and the 8192-token model shapes.
    {"gemm_cm_128x128k64_s1p1_w16", 128, 128, 64, 4, 4, 1, 1, 8, 16, 16, 16, 0},
    // H100: 131-142; best of those measured with element loads (K % 8 != 0).
    {"gemm_cm_256x128_s1p1_w16", 256, 128, 32, 4, 4, 1, 1, 8, 16, 16, 16, 0},
    // H100: 131-142.
    {"gemm_cm_128x128_s2p1_w16", 128, 128, 32, 4, 4, 2, 1, 8, 16, 16, 16, 0},
};

bool runs_on(const CoopVariant& v, const Context& c) {
  if (!find_spirv(v.shader) || v.shared_bytes() > c.max_shared) return false;
  for (auto& s : c.coopmat_f16)
    if (s.m == v.cm_m && s.n == v.cm_n && s.k == v.cm_k) return true;
  return false;
}

// The coopmat variant named `want` if it runs on this device, else the first
// that does ("" / "coopmat": the first); nullptr when none can run there.
const CoopVariant* coopmat_variant(const Context& c, const std::string& want) {
  if (!c.coopmat_nv || !c.float16 || c.subgroup_size != 32 || !c.subgroup_basic) return nullptr;
  for (auto& v : kCoopVariants)
    if (want == v.shader && runs_on(v, c)) return &v;
  for (auto& v : kCoopVariants)
    if (!v.diag && runs_on(v, c)) return &v;
  return nullptr;
}

void linear(Device& d, OpArgs& a) {
  auto& dev = as_vulkan(d);
  auto lock = dev.lock();
  const Context& ctx = dev.ctx();
  const Tensor& x = a.in[0];
  const Tensor& w = a.in[1];
  const bool has_bias = a.in.size() > 2 && a.in[2].defined();
  Tensor& y = a.out[0];
  const uint64_t N = uint64_t(w.dim(0)), K = uint64_t(w.dim(1));
  if (N == 0 || y.numel() == 0) return;
  const uint64_t M = uint64_t(y.numel()) / N;  // rows of x (also when K == 0)

  auto ax = tensor_arg(x, false), aw = tensor_arg(w, false), ay = tensor_arg(y, true);
  // Without bias, binding 2 gets x (never read: HAS_BIAS is false).
  auto ab = has_bias ? tensor_arg(a.in[2], false) : ax;
  const uint32_t bt = has_bias ? dtype_code(a.in[2].dtype()) : 0;
  // Fused epilogue activation (ops::LinearAct codes = tx_activate codes in common.glsl).
  const uint32_t act = uint32_t(ops::linear_activation(a.attrs));
  GemmPush pc{uint32_t(M), uint32_t(N), uint32_t(K), uint32_t(ax.elem_off), uint32_t(aw.elem_off),
              uint32_t(ab.elem_off), uint32_t(ay.elem_off), 0, 0};
  std::vector<Binding> binds{ax.bind, aw.bind, ab.bind, ay.bind};

  const std::string force = forced_path();
  const bool f16_in = x.dtype() == DType::f16 && w.dtype() == DType::f16;
  const bool portable_forced = force == "64" || force == "128";
  // 16-byte loads need K and the offsets of x and w to be multiples of 8 elements.
  const bool aligned = K % 8 == 0 && ax.elem_off % 8 == 0 && aw.elem_off % 8 == 0;
  const std::string pick = force.empty() && !aligned ? "gemm_cm_256x128_s1p1_w16" : force;
  const CoopVariant* var = f16_in && !portable_forced ? coopmat_variant(ctx, pick) : nullptr;
  if (var) {
    const auto& p = dev.pipelines().get(var->shader, 4,
                                        {{3, bt},
                                         {4, dtype_code(y.dtype())},
                                         {5, uint32_t(has_bias)},
                                         {6, uint32_t(aligned)},
                                         {7, act}},
                                        var->threads());
    launch_2d(dev, p, binds, &pc, sizeof(pc), (N + var->tn - 1) / var->tn, (M + var->tm - 1) / var->tm,
              offsetof(GemmPush, tile_x0), offsetof(GemmPush, tile_y0));
    return;
  }
  // Big tiles: more work per invocation; on hardware GPUs only once there
  // are enough tiles to fill the device.
  bool big = ctx.info.software ? (M >= 128 && N >= 128) : (M >= 512 && N >= 512);
  if (force == "128") big = true;
  if (force == "64") big = false;
  const uint32_t tile = big ? 128 : 64;
  // 4-element (16-byte f32 / 8-byte f16, bf16) loads need K and the offsets of x and w to be multiples of 4.
  const bool aligned4 = K % 4 == 0 && ax.elem_off % 4 == 0 && aw.elem_off % 4 == 0;
  const char* portable = big ? "gemm_128" : "gemm_64";
  const auto& p = dev.pipelines().get(portable, 4,
                                      {{1, dtype_code(x.dtype())},
                                       {2, dtype_code(w.dtype())},
                                       {3, bt},
                                       {4, dtype_code(y.dtype())},
                                       {5, uint32_t(has_bias)},
                                       {6, uint32_t(aligned4)},
                                       {7, act}},
                                      256);
  launch_2d(dev, p, binds, &pc, sizeof(pc), (N + tile - 1) / tile, (M + tile - 1) / tile, offsetof(GemmPush, tile_x0),
            offsetof(GemmPush, tile_y0));
}

std::string supports(const Device& d, const OpArgs& a) {
  std::string why = check_tensors(d, a);
  if (!why.empty()) return why;
  const Tensor& w = a.in[1];
  const uint64_t N = uint64_t(w.dim(0)), K = uint64_t(w.dim(1));
  const uint64_t M = N ? uint64_t(a.out[0].numel()) / N : 0;
  // Indices are 32-bit in the GEMM shaders (a binding is at most 4 GiB, so
  // element indices inside one fit; tile counts must fit too).
  if (M > INT32_MAX || N > INT32_MAX || K > INT32_MAX) return "GEMM dimensions exceed 2^31";
  return "";
}

TESSERA_REGISTER_KERNEL("linear", "vulkan", linear, supports);

}  // namespace
}  // namespace tessera::vk
