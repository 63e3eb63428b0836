// Vulkan conv3d (shaders/conv3d.comp: implicit GEMM, f32 accumulation) and
// pixel_shuffle_3d / upsample_nearest_3d (the copy shader of shape_ops.cpp,
// every dtype).
#include "backends/vulkan/vk_kernel.hpp"
#include "core/error.hpp"

namespace tessera::vk {

void run_copy(VulkanDevice& dev, uint32_t mode, const std::vector<Binding>& ins, Tensor& out,
              const std::vector<int64_t>& meta, uint32_t rank, uint32_t nin, bool idx64);  // shape_ops.cpp

namespace {

constexpr uint64_t kTile = 64;  // BM = BN of conv3d.comp

struct ConvPush {
  uint32_t Cout, Cin, D, H, W, k;
  uint32_t co_tiles;
  uint32_t x_off, w_off, b_off, y_off;
  uint32_t tile_x0, tile_y0;
};

void conv3d(Device& d, OpArgs& a) {
  auto& dev = as_vulkan(d);
  auto lock = dev.lock();
  const Tensor &x = a.in[0], &w = a.in[1];
  const bool has_bias = a.in.size() > 2 && a.in[2].defined();
  Tensor& y = a.out[0];
  if (y.numel() == 0) return;
  const uint64_t N = uint64_t(x.dim(0)), Cin = uint64_t(x.dim(1)), D = uint64_t(x.dim(2)), H = uint64_t(x.dim(3)),
                 W = uint64_t(x.dim(4)), Cout = uint64_t(w.dim(0)), k = uint64_t(w.dim(2));
  auto ax = tensor_arg(x, false), aw = tensor_arg(w, false), ay = tensor_arg(y, true);
  auto ab = has_bias ? tensor_arg(a.in[2], false) : aw;  // never read without bias
  const uint64_t co_tiles = (Cout + kTile - 1) / kTile, s_tiles = (D * H * W + kTile - 1) / kTile;
  ConvPush pc{uint32_t(Cout), uint32_t(Cin), uint32_t(D), uint32_t(H), uint32_t(W), uint32_t(k), uint32_t(co_tiles),
              uint32_t(ax.elem_off), uint32_t(aw.elem_off), uint32_t(ab.elem_off), uint32_t(ay.elem_off), 0, 0};
  const auto& p =
      dev.pipelines().get("conv3d", 4, {{1, dtype_code(x.dtype())}, {2, uint32_t(has_bias)}}, 256);
  launch_2d(dev, p, {ax.bind, aw.bind, ab.bind, ay.bind}, &pc, sizeof(pc), s_tiles, N * co_tiles,
            offsetof(ConvPush, tile_x0), offsetof(ConvPush, tile_y0));
}

std::string conv_supports(const Device& d, const OpArgs& a) {
  std::string why = check_nn(d, a);
  if (!why.empty()) return why;
  const Tensor& w = a.in[1];
  const uint64_t K = uint64_t(w.dim(1)) * uint64_t(w.dim(2)) * uint64_t(w.dim(3)) * uint64_t(w.dim(4));
  if (K > UINT32_MAX) return "conv3d: Cin * k^3 exceeds 2^32";
  return "";
}

// mode 2: pixel_shuffle_3d, 3: upsample_nearest_3d.
void resample(Device& d, OpArgs& a, uint32_t mode) {
  auto& dev = as_vulkan(d);
  auto lock = dev.lock();
  const Tensor& x = a.in[0];
  Tensor& o = a.out[0];
  if (o.numel() == 0) return;
  auto ax = tensor_arg(x, false);
  std::vector<int64_t> meta;
  for (int i = 0; i < 5; ++i) meta.push_back(o.dim(i));
  for (int i = 0; i < 5; ++i) meta.push_back(x.dim(i));
  meta.push_back(a.attrs.get_int("factor", 2));
  meta.push_back(int64_t(ax.elem_off));
  run_copy(dev, mode, {ax.bind}, o, meta, 1, 1, false);
}

void pixel_shuffle_3d(Device& d, OpArgs& a) { resample(d, a, 2); }
void upsample_nearest_3d(Device& d, OpArgs& a) { resample(d, a, 3); }

TESSERA_REGISTER_KERNEL("conv3d", "vulkan", conv3d, conv_supports);
TESSERA_REGISTER_KERNEL("pixel_shuffle_3d", "vulkan", pixel_shuffle_3d, check_nn);
TESSERA_REGISTER_KERNEL("upsample_nearest_3d", "vulkan", upsample_nearest_3d, check_nn);

}  // namespace
}  // namespace tessera::vk
