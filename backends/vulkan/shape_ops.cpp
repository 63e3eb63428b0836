// Vulkan permute / slice / concat (shaders/shape_ops.comp, every dtype).
// Contiguous pieces go through vkCmdCopyBuffer; everything else through the
// copy shader, which assembles whole 32-bit output words (so 1- and 2-byte
// dtypes need no atomics). run_copy is shared with conv3d.cpp (resampling)
// and embedding.cpp (gather).
#include <algorithm>

#include "backends/vulkan/vk_kernel.hpp"
#include "core/error.hpp"

namespace tessera::vk {

constexpr uint32_t kCopyLocal = 256;
constexpr size_t kCopyInputs = 6;  // inputs per dispatch of shape_ops.comp

struct CopyPush {
  uint64_t base, count;
  uint32_t n, o_off;
};

// One dispatch of shaders/shape_ops.comp over every output word of `out`
// (mode and meta as documented there). `ins`: up to 6 input bindings.
void run_copy(VulkanDevice& dev, uint32_t mode, const std::vector<Binding>& ins, Tensor& out,
              const std::vector<int64_t>& meta, uint32_t rank, uint32_t nin, bool idx64) {
  const uint64_t n = uint64_t(out.numel());
  if (n == 0) return;
  TESSERA_CHECK(!ins.empty() && ins.size() <= kCopyInputs, "vulkan copy: {} inputs", ins.size());
  auto ao = tensor_arg(out, true);
  std::vector<Binding> binds(ins);
  while (binds.size() < kCopyInputs) binds.push_back(ins[0]);
  binds.push_back(ao.bind);
  binds.push_back(dev.stream().params(meta.data(), meta.size() * sizeof(int64_t)));
  const auto& p = dev.pipelines().get("shape_ops", 8,
                                      {{0, kCopyLocal},
                                       {1, uint32_t(dtype_size(out.dtype()))},
                                       {2, mode},
                                       {3, rank},
                                       {4, nin},
                                       {5, uint32_t(idx64)}},
                                      kCopyLocal);
  CopyPush pc{0, words_covering(out.dtype(), n, ao.elem_off), uint32_t(n), uint32_t(ao.elem_off)};
  launch_1d(dev, p, binds, &pc, sizeof(pc), pc.count);
}

namespace {

void copy_bytes(VulkanDevice& dev, const Tensor& src, uint64_t src_byte, Tensor& dst, uint64_t dst_byte,
                uint64_t bytes) {
  if (bytes == 0) return;
  dev.stream().copy(buffer_obj(src.buffer()), src.offset_bytes() + src_byte, buffer_obj(dst.buffer()),
                    dst.offset_bytes() + dst_byte, bytes);
  dev.stream().end_op();
}

// Strided copy: out element (row-major over `dims`) = x[base + sum coord_d * strides_d].
void strided(VulkanDevice& dev, const Tensor& x, Tensor& out, const Shape& dims, const Shape& strides, uint64_t base) {
  auto ax = tensor_arg(x, false);
  const size_t r = dims.size();
  std::vector<int64_t> meta(2 * r + 1);
  for (size_t i = 0; i < r; ++i) {
    meta[i] = dims[i];
    meta[r + i] = strides[i];
  }
  meta[2 * r] = int64_t(ax.elem_off + base);
  run_copy(dev, 0, {ax.bind}, out, meta, uint32_t(r), 1, false);
}

void permute(Device& d, OpArgs& a) {
  auto& dev = as_vulkan(d);
  auto lock = dev.lock();
  const Tensor& x = a.in[0];
  Tensor& o = a.out[0];
  if (o.numel() == 0) return;
  const auto perm = a.attrs.get_ints("dims");
  const Shape is = contiguous_strides(x.shape());
  // Output dims with their input strides; size-1 dims dropped, dims that stay
  // contiguous in the input merged.
  Shape dims, strides;
  for (size_t i = 0; i < perm.size(); ++i) {
    const int64_t n = x.dim(int(perm[i])), st = is[size_t(perm[i])];
    if (n == 1) continue;
    if (!dims.empty() && strides.back() == st * n) {
      dims.back() *= n;
      strides.back() = st;
    } else {
      dims.push_back(n);
      strides.push_back(st);
    }
  }
  if (dims.empty() || (dims.size() == 1 && strides[0] == 1)) {  // the identity
    copy_bytes(dev, x, 0, o, 0, o.nbytes());
    return;
  }
  strided(dev, x, o, dims, strides, 0);
}

void outer_inner(const Shape& s, int64_t d, int64_t& outer, int64_t& inner) {
  outer = inner = 1;
  for (int64_t i = 0; i < d; ++i) outer *= s[size_t(i)];
  for (size_t i = size_t(d) + 1; i < s.size(); ++i) inner *= s[i];
}

void slice(Device& d, OpArgs& a) {
  auto& dev = as_vulkan(d);
  auto lock = dev.lock();
  const Tensor& x = a.in[0];
  Tensor& o = a.out[0];
  if (o.numel() == 0) return;
  const Shape& s = x.shape();
  int64_t dim = a.attrs.get_int("dim", 0);
  if (dim < 0) dim += int64_t(s.size());
  int64_t st = a.attrs.get_int("start", 0);
  if (st < 0) st += s[size_t(dim)];
  int64_t outer, inner;
  outer_inner(s, dim, outer, inner);
  const int64_t n = o.dim(int(dim)), es = int64_t(dtype_size(x.dtype()));
  if (outer == 1) {  // one contiguous block
    copy_bytes(dev, x, uint64_t(st * inner * es), o, 0, o.nbytes());
    return;
  }
  strided(dev, x, o, {outer, n * inner}, {s[size_t(dim)] * inner, 1}, uint64_t(st * inner));
}

void concat(Device& d, OpArgs& a) {
  auto& dev = as_vulkan(d);
  auto lock = dev.lock();
  Tensor& o = a.out[0];
  if (o.numel() == 0) return;
  const Shape& s = o.shape();
  int64_t dim = a.attrs.get_int("dim", 0);
  if (dim < 0) dim += int64_t(s.size());
  int64_t outer, inner;
  outer_inner(s, dim, outer, inner);
  const int64_t es = int64_t(dtype_size(o.dtype())), row = s[size_t(dim)] * inner;
  if (outer == 1) {  // each input is one contiguous block of the output
    int64_t off = 0;
    for (auto& t : a.in) {
      copy_bytes(dev, t, 0, o, uint64_t(off * es), t.nbytes());
      off += t.numel();
    }
    return;
  }
  // Groups of up to 6 non-empty inputs per dispatch; each dispatch covers the
  // whole output and keeps the elements of the other groups.
  std::vector<Binding> binds;
  std::vector<int64_t> meta{row};
  int64_t start = 0;
  auto flush = [&] {
    if (binds.empty()) return;
    run_copy(dev, 1, binds, o, meta, 1, uint32_t(binds.size()), false);
    binds.clear();
    meta.assign(1, row);
  };
  for (auto& t : a.in) {
    const int64_t len = t.dim(int(dim)) * inner;
    if (len > 0) {
      auto at = tensor_arg(t, false);
      binds.push_back(at.bind);
      meta.insert(meta.end(), {start, len, int64_t(at.elem_off)});
      if (binds.size() == kCopyInputs) flush();
    }
    start += len;
  }
  flush();
}

TESSERA_REGISTER_KERNEL("permute", "vulkan", permute, check_nn);
TESSERA_REGISTER_KERNEL("slice", "vulkan", slice, check_nn);
TESSERA_REGISTER_KERNEL("concat", "vulkan", concat, check_nn);

}  // namespace
}  // namespace tessera::vk
