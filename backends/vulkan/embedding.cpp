// Vulkan timestep_embedding (shaders/embedding.comp) and gather (the copy
// shader of shape_ops.cpp, mode 4: any table dtype, i32/i64 index, zero rows
// for indices outside [0, V)).
#include <cmath>

#include "backends/vulkan/vk_kernel.hpp"

namespace tessera::vk {

void run_copy(VulkanDevice& dev, uint32_t mode, const std::vector<Binding>& ins, Tensor& out,
              const std::vector<int64_t>& meta, uint32_t rank, uint32_t nin, bool idx64);  // shape_ops.cpp

namespace {

constexpr uint32_t kLocal = 256;

struct TsPush {
  uint64_t base, count;
  uint32_t dim, half_dim, t_off, o_off;
};

void timestep_embedding(Device& d, OpArgs& a) {
  auto& dev = as_vulkan(d);
  auto lock = dev.lock();
  Tensor& o = a.out[0];
  if (o.numel() == 0) return;
  const int64_t dim = a.attrs.get_int("dim", 256), half = dim / 2;
  const double mp = a.attrs.get_float("max_period", 10000.0);
  // Frequencies as the reference: float64 exp, rounded to f32 (torch.arange(float32) in the original).
  std::vector<float> freq(size_t(std::max<int64_t>(half, 1)), 0.f);
  for (int64_t k = 0; k < half; ++k) freq[size_t(k)] = float(std::exp(-std::log(mp) * double(k) / double(half)));
  Binding fb = dev.stream().params(freq.data(), freq.size() * sizeof(float));
  auto at = tensor_arg(a.in[0], false), ao = tensor_arg(o, true);
  const auto& p = dev.pipelines().get("embedding", 3, {{0, kLocal}}, kLocal);
  TsPush pc{0, uint64_t(o.numel()), uint32_t(dim), uint32_t(half), uint32_t(at.elem_off), uint32_t(ao.elem_off)};
  launch_1d(dev, p, {at.bind, fb, ao.bind}, &pc, sizeof(pc), pc.count);
}

void gather(Device& d, OpArgs& a) {
  auto& dev = as_vulkan(d);
  auto lock = dev.lock();
  const Tensor &tab = a.in[0], &idx = a.in[1];
  Tensor& o = a.out[0];
  if (o.numel() == 0) return;
  auto at = tensor_arg(tab, false), ai = tensor_arg(idx, false);
  std::vector<int64_t> meta{tab.dim(0), tab.dim(1), int64_t(at.elem_off), int64_t(ai.elem_off)};
  run_copy(dev, 4, {at.bind, ai.bind}, o, meta, 1, 1, idx.dtype() == DType::i64);
}

TESSERA_REGISTER_KERNEL("timestep_embedding", "vulkan", timestep_embedding, check_nn);
TESSERA_REGISTER_KERNEL("gather", "vulkan", gather, check_nn);

}  // namespace
}  // namespace tessera::vk
