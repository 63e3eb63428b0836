// Vulkan sparse_subdivide_offsets, sparse_channel_to_space and
// sparse_space_to_channel (shaders/sparse_resample.comp, one variant per
// pass; see the shader for the passes). Temporaries come from the caching
// allocator; space_to_channel reads its 4-byte error flag back (a sync point).
#include "backends/vulkan/vk_kernel.hpp"
#include "core/error.hpp"

namespace tessera::vk {
namespace {

constexpr uint64_t kBlock = 1024;
constexpr uint32_t kLocal = 256;

struct Push {
  uint64_t base, n;
  uint32_t a[6];
};

const Pipeline& pipe(VulkanDevice& dev, int mode, uint32_t bindings, uint32_t dt = 0, uint32_t es = 4) {
  return dev.pipelines().get("sparse_resample_m" + std::to_string(mode), bindings, {{1, dt}, {2, es}}, kLocal);
}

void subdivide_offsets(Device& d, OpArgs& a) {
  auto& dev = as_vulkan(d);
  auto lock = dev.lock();
  const Tensor& l = a.in[0];
  Tensor& o = a.out[0];
  const uint64_t Np = uint64_t(l.dim(0)), nb = (Np + kBlock - 1) / kBlock;
  Tensor bsum = Tensor::empty({int64_t(std::max<uint64_t>(nb, 1))}, DType::i32, d);
  auto al = tensor_arg(l, false), ao = tensor_arg(o, true), as = tensor_arg(bsum, true);
  Push pc{0, Np, {uint32_t(al.elem_off), uint32_t(ao.elem_off), 0, 0, 0, 0}};
  launch_1d(dev, pipe(dev, 1, 3, dtype_code(l.dtype())), {al.bind, ao.bind, as.bind}, &pc, sizeof(pc), nb * kLocal);
  Push ps{0, nb, {0, 0, 0, 0, 0, 0}};
  launch_1d(dev, pipe(dev, 2, 1), {as.bind}, &ps, sizeof(ps), kLocal);
  Push pa{0, Np + 1, {0, uint32_t(ao.elem_off), 0, 0, 0, 0}};
  auto asr = tensor_arg(bsum, false);
  launch_1d(dev, pipe(dev, 3, 2), {ao.bind, asr.bind}, &pa, sizeof(pa), Np + 1);
}

void channel_to_space(Device& d, OpArgs& a) {
  auto& dev = as_vulkan(d);
  auto lock = dev.lock();
  const Tensor &pcrd = a.in[0], &f = a.in[1], &l = a.in[2], &off = a.in[3];
  Tensor &cc = a.out[0], &y = a.out[1];
  const uint64_t Np = uint64_t(pcrd.dim(0)), Nc = uint64_t(cc.dim(0)), Cc = uint64_t(f.dim(1) / 8);
  const uint64_t rep = uint64_t(a.attrs.get_int("repeat", 1));
  if (Nc == 0) return;
  Tensor src = Tensor::empty({int64_t(Nc)}, DType::i32, d);
  auto ap = tensor_arg(pcrd, false), al = tensor_arg(l, false), ao = tensor_arg(off, false),
       ac = tensor_arg(cc, true), as = tensor_arg(src, true);
  Push p1{0, Np, {uint32_t(ap.elem_off), uint32_t(al.elem_off), uint32_t(ao.elem_off), uint32_t(ac.elem_off),
                  uint32_t(Nc), 0}};
  launch_1d(dev, pipe(dev, 4, 5, dtype_code(l.dtype())), {ap.bind, al.bind, ao.bind, ac.bind, as.bind}, &p1,
            sizeof(p1), Np);
  auto af = tensor_arg(f, false), asr = tensor_arg(src, false), ay = tensor_arg(y, true);
  Push p2{0, Nc * Cc * rep, {uint32_t(af.elem_off), uint32_t(ay.elem_off), uint32_t(Cc), uint32_t(rep), 0, 0}};
  launch_1d(dev, pipe(dev, 5, 3, 0, uint32_t(dtype_size(f.dtype()))), {af.bind, asr.bind, ay.bind}, &p2, sizeof(p2),
            p2.n);
}

void space_to_channel(Device& d, OpArgs& a) {
  auto& dev = as_vulkan(d);
  auto lock = dev.lock();
  const Tensor &f = a.in[0], &cc = a.in[1], &par = a.in[2];
  Tensor& y = a.out[0];
  const uint64_t Nc = uint64_t(f.dim(0)), C = uint64_t(f.dim(1)), Np = uint64_t(y.dim(0));
  if (y.numel() > 0) d.fill(y.buffer(), y.offset_bytes(), y.nbytes(), 0u);  // 8 C elements per row: 4-byte multiple
  if (Nc == 0) return;
  Tensor occ = Tensor::empty({int64_t(std::max<uint64_t>(Np * 8, 1))}, DType::i32, d);
  Tensor slot = Tensor::empty({int64_t(Nc)}, DType::i32, d);
  Tensor flag = Tensor::empty({1}, DType::i32, d);
  d.fill(occ.buffer(), occ.offset_bytes(), occ.nbytes(), 0u);
  d.fill(flag.buffer(), flag.offset_bytes(), 4, 0u);
  auto ac = tensor_arg(cc, false), ap = tensor_arg(par, false), ao = tensor_arg(occ, true),
       as = tensor_arg(slot, true), afl = tensor_arg(flag, true);
  TESSERA_CHECK(ao.elem_off == 0 && as.elem_off == 0 && afl.elem_off == 0, "vulkan: temporaries must be bound at offset 0");
  Push p1{0, Nc, {uint32_t(ac.elem_off), uint32_t(ap.elem_off), uint32_t(Np), 0, 0, 0}};
  launch_1d(dev, pipe(dev, 6, 5), {ac.bind, ap.bind, ao.bind, as.bind, afl.bind}, &p1, sizeof(p1), Nc);
  if (C > 0) {
    auto af = tensor_arg(f, false), asr = tensor_arg(slot, false), ay = tensor_arg(y, true);
    Push p2{0, Nc * C, {uint32_t(af.elem_off), uint32_t(ay.elem_off), uint32_t(C), 0, 0, 0}};
    launch_1d(dev, pipe(dev, 7, 3, 0, uint32_t(dtype_size(f.dtype()))), {af.bind, asr.bind, ay.bind}, &p2,
              sizeof(p2), p2.n);
  }
  int32_t bad = 0;
  flag.copy_to_host(&bad);
  TESSERA_CHECK(!(bad & 1), "sparse_space_to_channel (vulkan): a parent index lies outside [0, {})", Np);
  TESSERA_CHECK(!(bad & 2),
                "sparse_space_to_channel (vulkan): two children map to the same slot of one parent (duplicate child "
                "coordinates?)");
}

std::string supports_offsets(const Device& d, const OpArgs& a) { return check_nn(d, a); }

std::string supports_resample(const Device& d, const OpArgs& a) {
  std::string why = check_nn(d, a);
  if (!why.empty()) return why;
  const size_t es = dtype_size(a.in[0].dtype() == DType::i32 ? a.in[1].dtype() : a.in[0].dtype());
  if (es != 2 && es != 4) return "features must have 2- or 4-byte elements";
  for (const auto* list : {&a.in, &a.out})
    for (const Tensor& t : *list)
      if (uint64_t(t.numel()) >= (uint64_t(1) << 32)) return "a tensor has 2^32 elements or more (32-bit indexing)";
  return "";
}

std::string supports_s2c(const Device& d, const OpArgs& a) {
  std::string why = supports_resample(d, a);
  if (!why.empty()) return why;
  if (a.out[0].offset_bytes() % 4) return "output must start at a 4-byte aligned offset (zero fill)";
  return "";
}

TESSERA_REGISTER_KERNEL("sparse_subdivide_offsets", "vulkan", subdivide_offsets, supports_offsets);
TESSERA_REGISTER_KERNEL("sparse_channel_to_space", "vulkan", channel_to_space, supports_resample);
TESSERA_REGISTER_KERNEL("sparse_space_to_channel", "vulkan", space_to_channel, supports_s2c);

}  // namespace
}  // namespace tessera::vk
