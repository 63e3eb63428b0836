// Vulkan voxel hash map and coordinate utilities (shaders/sparse_hash.comp,
// one SPIR-V variant per job). Same algorithms as the OpenCL backend: 32-bit
// CAS insert with bounded linear probing and a status word read back by the
// host; bitonic sort + Hillis-Steele scan for unique / downsample /
// occupancy; atomic histogram + scan for batch offsets. On CPU Vulkan
// implementations (lavapipe stops a shader invocation silently after 65,535
// loop iterations) the probing jobs also count finished invocations, and a
// shortfall is an Error instead of a silently wrong table or map.
#include <cstring>

#include "backends/vulkan/vk_kernel.hpp"
#include "core/error.hpp"
#include "ops/reference/sparse_hash.hpp"

namespace tessera::vk {
namespace {

using sparse::Grid;

struct ShPush {
  uint64_t base = 0, count = 0;
  int64_t p[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  uint32_t u[8] = {0, 0, 0, 0, 0, 0, 0, 0};
};
static_assert(sizeof(ShPush) == 112, "push block layout");

bool software(VulkanDevice& dev) { return dev.ctx().info.software; }

const Pipeline& pipe(VulkanDevice& dev, const char* name, uint32_t bindings, uint32_t dt = 0) {
  return dev.pipelines().get(name, bindings, {{0, uint32_t(software(dev))}, {1, dt}}, 256);
}

void run(VulkanDevice& dev, const char* name, const std::vector<Binding>& b, ShPush pc, uint64_t n, uint32_t dt = 0) {
  pc.count = n;
  launch_1d(dev, pipe(dev, name, uint32_t(b.size()), dt), b, &pc, sizeof(pc), n);
}

void set_grid(ShPush& pc, const Grid& g) {
  pc.p[0] = g.B;
  pc.p[1] = g.W;
  pc.p[2] = g.H;
  pc.p[3] = g.D;
}

uint32_t off32(const TensorArg& t) { return uint32_t(t.elem_off); }

// [status bits, finished invocations], zeroed.
Tensor status_tensor(VulkanDevice& dev) {
  Tensor s = Tensor::empty({2}, DType::i32, dev);
  dev.fill(s.buffer(), s.offset_bytes(), 8, 0u);
  return s;
}
// Throws on status bits, or when counting showed unfinished invocations.
void check_status(VulkanDevice& dev, const Tensor& s, const char* op, int64_t rows, int64_t cap, const Grid& g,
                  uint64_t expect_done) {
  int32_t v[2];
  dev.download(s.buffer(), s.offset_bytes(), v, 8);
  if (v[0]) throw Error(sparse::status_message(op, "vulkan", v[0], rows, cap, g));
  if (software(dev) && expect_done && uint64_t(uint32_t(v[1])) != expect_done)
    fail("op '{}' (vulkan): only {} of {} shader invocations finished their probe loops (this CPU Vulkan "
         "implementation stops an invocation after 65,535 loop iterations: the table is too full for it; use a "
         "lower load factor or another backend)",
         op, uint32_t(v[1]), expect_done);
}

void hash_build(Device& d, OpArgs& a) {
  auto& dev = as_vulkan(d);
  auto lock = dev.lock();
  const Grid g = ref::grid_of(a.attrs);
  const Tensor& c = a.in[0];
  Tensor &keys = a.out[0], &vals = a.out[1];
  const int64_t n = c.dim(0), cap = keys.dim(0);
  dev.fill(vals.buffer(), vals.offset_bytes(), size_t(cap) * 4, 0xffffffffu);
  Tensor st = status_tensor(dev);
  auto ac = tensor_arg(c, false), av = tensor_arg(vals, true), ak = tensor_arg(keys, true), as = tensor_arg(st, true);
  ShPush pc;
  set_grid(pc, g);
  pc.p[4] = cap;
  pc.u[0] = off32(ac);
  pc.u[1] = off32(av);
  pc.u[4] = g.small();
  run(dev, "sparse_hash_insert", {ac.bind, av.bind, as.bind}, pc, uint64_t(n));
  check_status(dev, st, "hash_build", n, cap, g, uint64_t(n));
  av.bind.write = false;
  pc.u[2] = off32(ak);
  run(dev, "sparse_hash_fill_keys", {ac.bind, av.bind, ak.bind}, pc, uint64_t(cap));
}

void probe_job(VulkanDevice& dev, const char* shader, const char* op, const Tensor& rows, const Tensor& keys,
               const Tensor& vals, Tensor& out, const Grid& g, uint32_t k, uint32_t dil) {
  Tensor st = status_tensor(dev);
  auto ac = tensor_arg(rows, false), ak = tensor_arg(keys, false), av = tensor_arg(vals, false),
       ao = tensor_arg(out, true), as = tensor_arg(st, true);
  ShPush pc;
  set_grid(pc, g);
  pc.p[4] = keys.dim(0);
  pc.u[0] = off32(ac);
  pc.u[1] = off32(ak);
  pc.u[2] = off32(av);
  pc.u[3] = off32(ao);
  pc.u[4] = g.small();
  pc.u[5] = k;
  pc.u[6] = dil;
  const uint64_t n = uint64_t(out.numel());
  run(dev, shader, {ac.bind, ak.bind, av.bind, ao.bind, as.bind}, pc, n);
  if (software(dev)) check_status(dev, st, op, rows.dim(0), keys.dim(0), g, n);
}

void hash_probe(Device& d, OpArgs& a) {
  auto& dev = as_vulkan(d);
  auto lock = dev.lock();
  probe_job(dev, "sparse_hash_probe", "hash_probe", a.in[2], a.in[0], a.in[1], a.out[0], ref::grid_of(a.attrs), 0, 0);
}

void neighbour_map(Device& d, OpArgs& a) {
  auto& dev = as_vulkan(d);
  auto lock = dev.lock();
  probe_job(dev, "sparse_hash_neighbour", "neighbour_map", a.in[0], a.in[1], a.in[2], a.out[0], ref::grid_of(a.attrs),
            uint32_t(a.attrs.get_int("kernel_size", 3)), uint32_t(a.attrs.get_int("dilation", 1)));
}

// Inclusive scan of the i32 tensor `x` (n elements; `y` same size, scratch).
// Returns the tensor holding the result.
Tensor inclusive_scan(VulkanDevice& dev, Tensor x, Tensor y, uint64_t n) {
  for (uint64_t s = 1; s < n; s <<= 1) {
    ShPush pc;
    pc.p[0] = int64_t(s);
    run(dev, "sparse_hash_scan", {tensor_arg(x, false).bind, tensor_arg(y, true).bind}, pc, n);
    std::swap(x, y);
  }
  return x;
}

void unique_impl(Device& d, OpArgs& a, const char* op, int64_t f, bool with_sub) {
  auto& dev = as_vulkan(d);
  auto lock = dev.lock();
  const Grid g = ref::grid_of(a.attrs);
  Grid pg = g;
  pg.W = (g.W + f - 1) / f;
  pg.H = (g.H + f - 1) / f;
  pg.D = (g.D + f - 1) / f;
  const Tensor& c = a.in[0];
  const uint64_t n = uint64_t(c.dim(0));
  Tensor &uc = a.out[0], &inv = a.out[1], &count = a.out.back();
  dev.fill(uc.buffer(), uc.offset_bytes(), uc.nbytes(), 0xffffffffu);
  if (n == 0) {
    dev.fill(count.buffer(), count.offset_bytes(), 4, 0u);
    return;
  }
  uint64_t np = 1;
  while (np < n) np <<= 1;
  Tensor skey = Tensor::empty({int64_t(np)}, DType::i64, dev), sidx = Tensor::empty({int64_t(np)}, DType::i32, dev);
  Tensor st = status_tensor(dev);
  auto ac = tensor_arg(c, false);
  {
    ShPush pc;
    set_grid(pc, g);
    pc.p[4] = int64_t(n);
    pc.p[5] = pg.W;
    pc.p[6] = pg.H;
    pc.p[7] = pg.D;
    pc.u[0] = off32(ac);
    pc.u[1] = uint32_t(f);
    run(dev, "sparse_hash_sort_init",
        {ac.bind, tensor_arg(skey, true).bind, tensor_arg(sidx, true).bind, tensor_arg(st, true).bind}, pc, np);
  }
  check_status(dev, st, op, int64_t(n), 0, g, 0);
  for (uint64_t kk = 2; kk <= np; kk <<= 1)
    for (uint64_t j = kk >> 1; j > 0; j >>= 1) {
      ShPush pc;
      pc.p[0] = int64_t(j);
      pc.p[1] = int64_t(kk);
      run(dev, "sparse_hash_bitonic", {tensor_arg(skey, true).bind, tensor_arg(sidx, true).bind}, pc, np);
    }
  Tensor fa = Tensor::empty({int64_t(n)}, DType::i32, dev), fb = Tensor::empty({int64_t(n)}, DType::i32, dev);
  run(dev, "sparse_hash_flags", {tensor_arg(skey, false).bind, tensor_arg(fa, true).bind}, ShPush{}, n);
  Tensor scan = inclusive_scan(dev, fa, fb, n);
  {
    auto au = tensor_arg(uc, true), ai = tensor_arg(inv, true), an = tensor_arg(count, true);
    ShPush pc;
    pc.p[0] = pg.W;
    pc.p[1] = pg.H;
    pc.p[2] = pg.D;
    pc.u[0] = off32(au);
    pc.u[1] = off32(ai);
    pc.u[2] = off32(an);
    run(dev, "sparse_hash_unique_scatter",
        {tensor_arg(skey, false).bind, tensor_arg(sidx, false).bind, tensor_arg(scan, false).bind, au.bind, ai.bind,
         an.bind},
        pc, n);
  }
  if (with_sub) {
    auto as = tensor_arg(a.out[2], true);
    ShPush pc;
    pc.u[0] = off32(ac);
    pc.u[1] = uint32_t(f);
    pc.u[2] = off32(as);
    run(dev, "sparse_hash_subidx", {ac.bind, as.bind}, pc, n);
  }
}

void sparse_unique(Device& d, OpArgs& a) { unique_impl(d, a, "sparse_unique", 1, false); }
void sparse_downsample_coords(Device& d, OpArgs& a) {
  unique_impl(d, a, "sparse_downsample_coords", a.attrs.get_int("factor", 2), true);
}

void occupancy_to_coords(Device& d, OpArgs& a) {
  auto& dev = as_vulkan(d);
  auto lock = dev.lock();
  const Tensor& x = a.in[0];
  Tensor &out = a.out[0], &count = a.out[1];
  const uint64_t n = uint64_t(x.numel());
  dev.fill(out.buffer(), out.offset_bytes(), out.nbytes(), 0xffffffffu);
  if (n == 0) {
    dev.fill(count.buffer(), count.offset_bytes(), 4, 0u);
    return;
  }
  Tensor fa = Tensor::empty({int64_t(n)}, DType::i32, dev), fb = Tensor::empty({int64_t(n)}, DType::i32, dev);
  auto ax = tensor_arg(x, false);
  {
    ShPush pc;
    pc.u[0] = off32(ax);
    const float thr = sparse::threshold_f32(a.attrs.get_float("threshold", 0.0));
    std::memcpy(&pc.u[1], &thr, 4);
    run(dev, "sparse_hash_occ_flags", {ax.bind, tensor_arg(fa, true).bind}, pc, n, dtype_code(x.dtype()));
  }
  Tensor scan = inclusive_scan(dev, fa, fb, n);
  auto ao = tensor_arg(out, true), an = tensor_arg(count, true);
  ShPush pc;
  pc.p[0] = x.dim(2);
  pc.p[1] = x.dim(3);
  pc.p[2] = x.dim(4);
  pc.u[0] = off32(ao);
  pc.u[1] = off32(an);
  run(dev, "sparse_hash_occ_scatter", {tensor_arg(scan, false).bind, ao.bind, an.bind}, pc, n);
}

void batch_offsets(Device& d, OpArgs& a) {
  auto& dev = as_vulkan(d);
  auto lock = dev.lock();
  const int64_t B = a.attrs.get_int("batch", 1), n = a.in[0].dim(0);
  const uint64_t m = uint64_t(B + 1);
  Tensor ca = Tensor::empty({int64_t(m)}, DType::i32, dev), cb = Tensor::empty({int64_t(m)}, DType::i32, dev);
  dev.fill(ca.buffer(), ca.offset_bytes(), size_t(m) * 4, 0u);
  Tensor st = status_tensor(dev);
  auto ac = tensor_arg(a.in[0], false);
  ShPush pc;
  pc.p[0] = B;
  pc.u[0] = off32(ac);
  run(dev, "sparse_hash_batch_hist", {ac.bind, tensor_arg(ca, true).bind, tensor_arg(st, true).bind}, pc, uint64_t(n));
  int32_t v[2];
  dev.download(st.buffer(), st.offset_bytes(), v, 8);
  if (v[0]) fail("op 'batch_offsets' (vulkan): a row has a batch outside [0, {}) among {} rows", B, n);
  Tensor r = inclusive_scan(dev, ca, cb, m);
  dev.copy(r.buffer(), r.offset_bytes(), a.out[0].buffer(), a.out[0].offset_bytes(), size_t(m) * 4);
}

std::string supports_sizes(const OpArgs& a);

std::string supports(const Device& d, const OpArgs& a) {
  std::string why = check_nn(d, a);
  if (!why.empty()) return why;
  return supports_sizes(a);
}

// hash_build: on CPU Vulkan implementations a nearly full large table needs
// probe chains beyond their 65,535-iteration shader loop limit.
std::string supports_build(const Device& d, const OpArgs& a) {
  std::string why = supports(d, a);
  if (!why.empty()) return why;
  auto& dev = static_cast<const VulkanDevice&>(d);
  const int64_t n = a.in[0].dim(0), cap = a.out[0].dim(0);
  if (dev.ctx().info.software && cap > 60000 && double(n) > 0.97 * double(cap))
    return fmt::format("{} rows into {} slots (load > 0.97): the probe chains would exceed this CPU Vulkan "
                       "implementation's 65,535-iteration shader loop limit",
                       n, cap);
  return "";
}

std::string supports_sizes(const OpArgs& a) {
  // Element offsets and indices are 32-bit in the shaders.
  for (const auto* list : {&a.in, &a.out})
    for (const Tensor& t : *list)
      if (uint64_t(t.numel()) + 64 >= (uint64_t(1) << 32)) return "a tensor has 2^32 or more elements";
  return "";
}

TESSERA_REGISTER_KERNEL("hash_build", "vulkan", hash_build, supports_build);
TESSERA_REGISTER_KERNEL("hash_probe", "vulkan", hash_probe, supports);
TESSERA_REGISTER_KERNEL("neighbour_map", "vulkan", neighbour_map, supports);
TESSERA_REGISTER_KERNEL("sparse_unique", "vulkan", sparse_unique, supports);
TESSERA_REGISTER_KERNEL("sparse_downsample_coords", "vulkan", sparse_downsample_coords, supports);
TESSERA_REGISTER_KERNEL("occupancy_to_coords", "vulkan", occupancy_to_coords, supports);
TESSERA_REGISTER_KERNEL("batch_offsets", "vulkan", batch_offsets, supports);

}  // namespace
}  // namespace tessera::vk
