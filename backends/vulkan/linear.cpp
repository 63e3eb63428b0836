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
//   scaled f16       bf16 x and w on devices with the coopmat kernel (the
//                    default there; TESSERA_VK_GEMM=scaled16 forces it
//                    elsewhere): rows of x and w copied to f16 scaled by
//                    powers of two (exact for bf16 values within 2^29 of
//                    their row's largest; bf16_scaling.hpp), the coopmat
//                    GEMM with the scales applied in its epilogue (SCALED);
//                    without the coopmat kernel, the portable f16 GEMM into
//                    an f32 temporary, then shaders/linear_bf16.comp MODE 1
// TESSERA_VK_GEMM=128|64|coopmat|scaled16|<coopmat variant shader name> forces
// a path (for tests and benchmarks; coopmat falls back to the portable path
// where it cannot run; 128 / 64 keep bf16 on the portable kernel).
// Tuning log with H100 measurements: GEMM_NOTES.md.
#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "backends/vulkan/bf16_scaling.hpp"
#include "backends/vulkan/vk_kernel.hpp"
#include "core/error.hpp"
#include "ops/linear.hpp"

namespace tessera::vk {
namespace {

struct GemmPush {
  uint32_t M, N, K;
  uint32_t x_off, w_off, b_off, y_off;
  uint32_t tile_x0, tile_y0;
  uint32_t ax_off, aw_off;  // coopmat, scaled: per-row magnitudes of x and w
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

// One GEMM y = x . w^T (+ bias, activation) on bound tensors: the coopmat
// kernel for f16 x and w where the device has one, else the portable kernel.
// With scales (coopmat only): y = act(2^(ex[m] + ew[n]) x . w^T + bias), the
// exponents from per-row magnitudes amx, amw (bf16_scaling.hpp).
struct Gemm {
  TensorArg x, w, b, y;
  DType xt, wt, bt, yt;
  bool has_bias;
  uint32_t act;
  uint64_t M, N, K;
  const TensorArg* amx = nullptr;
  const TensorArg* amw = nullptr;
};

void run_gemm(VulkanDevice& dev, const Gemm& g, const std::string& force) {
  const Context& ctx = dev.ctx();
  const uint32_t bt = g.has_bias ? dtype_code(g.bt) : 0;
  const bool scaled = g.amx && g.amw;
  GemmPush pc{uint32_t(g.M),           uint32_t(g.N),           uint32_t(g.K),
              uint32_t(g.x.elem_off),  uint32_t(g.w.elem_off),  uint32_t(g.b.elem_off),
              uint32_t(g.y.elem_off),  0,
              0,                       scaled ? uint32_t(g.amx->elem_off) : 0,
              scaled ? uint32_t(g.amw->elem_off) : 0};
  std::vector<Binding> binds{g.x.bind, g.w.bind, g.b.bind, g.y.bind};
  const bool f16_in = g.xt == DType::f16 && g.wt == DType::f16;
  const bool portable_forced = force == "64" || force == "128";
  // 16-byte loads need K and the offsets of x and w to be multiples of 8 elements.
  const bool aligned = g.K % 8 == 0 && g.x.elem_off % 8 == 0 && g.w.elem_off % 8 == 0;
  const std::string pick = force.empty() && !aligned ? "gemm_cm_256x128_s1p1_w16" : force;
  const CoopVariant* var = f16_in && !portable_forced ? coopmat_variant(ctx, pick) : nullptr;
  TESSERA_CHECK(var || !scaled, "vulkan linear: scaled GEMM without the coopmat kernel");
  if (var) {
    binds.push_back(scaled ? g.amx->bind : g.x.bind);  // bindings 4, 5: read only when scaled
    binds.push_back(scaled ? g.amw->bind : g.x.bind);
    const auto& p = dev.pipelines().get(var->shader, 6,
                                        {{3, bt},
                                         {4, dtype_code(g.yt)},
                                         {5, uint32_t(g.has_bias)},
                                         {6, uint32_t(aligned)},
                                         {7, g.act},
                                         {8, uint32_t(scaled)}},
                                        var->threads());
    launch_2d(dev, p, binds, &pc, sizeof(pc), (g.N + var->tn - 1) / var->tn, (g.M + var->tm - 1) / var->tm,
              offsetof(GemmPush, tile_x0), offsetof(GemmPush, tile_y0));
    return;
  }
  // Big tiles: more work per invocation; on hardware GPUs only once there
  // are enough tiles to fill the device.
  bool big = ctx.info.software ? (g.M >= 128 && g.N >= 128) : (g.M >= 512 && g.N >= 512);
  if (force == "128") big = true;
  if (force == "64") big = false;
  const uint32_t tile = big ? 128 : 64;
  // 4-element (16-byte f32 / 8-byte f16, bf16) loads need K and the offsets of x and w to be multiples of 4.
  const bool aligned4 = g.K % 4 == 0 && g.x.elem_off % 4 == 0 && g.w.elem_off % 4 == 0;
  const char* portable = big ? "gemm_128" : "gemm_64";
  const auto& p = dev.pipelines().get(portable, 4,
                                      {{1, dtype_code(g.xt)},
                                       {2, dtype_code(g.wt)},
                                       {3, bt},
                                       {4, dtype_code(g.yt)},
                                       {5, uint32_t(g.has_bias)},
                                       {6, uint32_t(aligned4)},
                                       {7, g.act}},
                                      256);
  launch_2d(dev, p, binds, &pc, sizeof(pc), (g.N + tile - 1) / tile, (g.M + tile - 1) / tile,
            offsetof(GemmPush, tile_x0), offsetof(GemmPush, tile_y0));
}

// Per-row largest bf16 magnitudes of a [rows, cols] matrix.
Tensor row_absmax(VulkanDevice& dev, const TensorArg& t, uint64_t rows, uint64_t cols) {
  Tensor m = absmax_slots(dev, int64_t(rows));
  absmax(dev, t, 1, rows, cols, tensor_arg(m, true), 0);
  return m;
}

// The coopmat variant the scaled bf16 GEMM runs on (run_gemm's pick for its f16 copies, which start at
// element 0: rows 16-byte aligned when K % 8 == 0); nullptr where none can run.
const CoopVariant* scaled_coopmat(const Context& c, uint64_t K, const std::string& force) {
  return coopmat_variant(c, K % 8 == 0 ? force : "gemm_cm_256x128_s1p1_w16");
}

// The bf16 x bf16 linear through f16 GEMM kernels (shaders/linear_bf16.comp has the math): the default
// where the coopmat kernel runs (tensor cores), or forced (TESSERA_VK_GEMM=scaled16). Needs the f16
// copies (and, without the coopmat kernel, the f32 temporary) to fit the device's limits and, on lavapipe,
// the conversion loops within its budget.
bool scaled16_applies(const VulkanDevice& dev, const OpArgs& a, const std::string& force) {
  const Tensor &x = a.in[0], &w = a.in[1];
  if (x.dtype() != DType::bf16 || w.dtype() != DType::bf16 || force == "64" || force == "128") return false;
  const uint64_t N = uint64_t(w.dim(0)), K = uint64_t(w.dim(1)), M = N ? uint64_t(a.out[0].numel()) / N : 0;
  const bool coopmat = scaled_coopmat(dev.ctx(), K, force) != nullptr;
  if (force != "scaled16" && !coopmat) return false;
  const uint64_t most = std::max({M * K * 2, N * K * 2, coopmat ? 0 : M * N * 4});
  if (most > dev.info().max_binding_bytes || most > dev.info().max_alloc_bytes) return false;
  return !dev.ctx().info.software || K < 60000;
}

void linear_scaled16(VulkanDevice& dev, OpArgs& a, const std::string& force) {
  const Tensor &x = a.in[0], &w = a.in[1];
  const bool has_bias = a.in.size() > 2 && a.in[2].defined();
  Tensor& y = a.out[0];
  const uint64_t N = uint64_t(w.dim(0)), K = uint64_t(w.dim(1)), M = uint64_t(y.numel()) / N;
  const TensorArg ax = tensor_arg(x, false), aw = tensor_arg(w, false), ay = tensor_arg(y, true);
  const TensorArg ab = has_bias ? tensor_arg(a.in[2], false) : ax;
  Tensor mx = row_absmax(dev, ax, M, K), mw = row_absmax(dev, aw, N, K);
  const TensorArg amx = tensor_arg(mx, false), amw = tensor_arg(mw, false);
  // x' and w' (f16), scaled per row.
  Tensor xs = scaled_f16_copy(dev, ax, M, K, amx, 0, 0), ws = scaled_f16_copy(dev, aw, N, K, amw, 0, 0);
  const uint32_t act = uint32_t(ops::linear_activation(a.attrs));
  if (scaled_coopmat(dev.ctx(), K, force)) {
    // Tensor cores; scales, bias and activation in the GEMM's epilogue.
    Gemm g{tensor_arg(xs, false), tensor_arg(ws, false), ab, ay, DType::f16, DType::f16,
           has_bias ? a.in[2].dtype() : DType::f32, y.dtype(), has_bias, act, M, N, K, &amx, &amw};
    run_gemm(dev, g, force == "scaled16" ? "" : force);
    return;
  }
  // f32 GEMM result of the scaled operands, then scales, bias, activation and rounding.
  Tensor y32 = Tensor::empty({int64_t(M), int64_t(N)}, DType::f32, dev);
  run_gemm(dev, Gemm{tensor_arg(xs, false), tensor_arg(ws, false), tensor_arg(xs, false), tensor_arg(y32, true),
                     DType::f16, DType::f16, DType::f16, DType::f32, false, 0, M, N, K},
           "");
  const auto& pout = dev.pipelines().get("linear_bf16_out", 5,
                                         {{0, 256},
                                          {1, dtype_code(y.dtype())},
                                          {2, has_bias ? dtype_code(a.in[2].dtype()) : 0},
                                          {3, uint32_t(has_bias)},
                                          {4, act}},
                                         256);
  const uint64_t n = M * N;
  const uint64_t count = y.dtype() == DType::f32 ? n : words_covering(y.dtype(), n, ay.elem_off);
  const TensorArg a32 = tensor_arg(y32, false);
  Bf16Push pc{0, count, n, a32.elem_off, ay.elem_off, uint32_t(N), uint32_t(amx.elem_off), uint32_t(amw.elem_off),
              uint32_t(ab.elem_off), 0};
  launch_1d(dev, pout, {a32.bind, amx.bind, amw.bind, ab.bind, ay.bind}, &pc, sizeof(pc), count);
}

void linear(Device& d, OpArgs& a) {
  auto& dev = as_vulkan(d);
  auto lock = dev.lock();
  const Tensor& x = a.in[0];
  const Tensor& w = a.in[1];
  const bool has_bias = a.in.size() > 2 && a.in[2].defined();
  Tensor& y = a.out[0];
  const uint64_t N = uint64_t(w.dim(0)), K = uint64_t(w.dim(1));
  if (N == 0 || y.numel() == 0) return;
  const uint64_t M = uint64_t(y.numel()) / N;  // rows of x (also when K == 0)
  const std::string force = forced_path();
  if (K > 0 && scaled16_applies(dev, a, force)) {
    linear_scaled16(dev, a, force);
    return;
  }
  auto ax = tensor_arg(x, false);
  // Without bias, binding 2 gets x (never read: HAS_BIAS is false).
  // Fused epilogue activation (ops::LinearAct codes = tx_activate codes in common.glsl).
  run_gemm(dev,
           Gemm{ax, tensor_arg(w, false), has_bias ? tensor_arg(a.in[2], false) : ax, tensor_arg(y, true), x.dtype(),
                w.dtype(), has_bias ? a.in[2].dtype() : DType::f32, y.dtype(), has_bias,
                uint32_t(ops::linear_activation(a.attrs)), M, N, K},
           force);
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
