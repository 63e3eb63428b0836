#include "backends/opencl/cl_launch.hpp"

#include <algorithm>
#include <cstdlib>

#include "backends/opencl/cl_error.hpp"
#include "backends/opencl/cl_program_cache.hpp"
#include "core/error.hpp"

namespace tessera::opencl {

uint64_t max_launch_items() {
  static const uint64_t n = [] {
    const uint64_t def = uint64_t(1) << 30;
    const char* v = std::getenv("TESSERA_CL_MAX_LAUNCH_ITEMS");
    uint64_t k = v ? std::strtoull(v, nullptr, 10) : 0;
    return k > 0 && k < def ? k : def;
  }();
  return n;
}

Launch::Launch(ClDevice& dev, const std::string& module, const std::string& name)
    : dev_(dev), lock_(dev.launch_mutex()), kernel_(dev.programs().kernel(module, name)), name_(name) {}

void Launch::set(size_t size, const void* value) {
  cl_check(clSetKernelArg(kernel_, next_, size, value),
           fmt::format("clSetKernelArg({}, arg {}) on {}", name_, next_, dev_.id()));
  ++next_;
}

Launch& Launch::buffer(cl_mem m, uint64_t elem_offset) {
  arg(m);
  return arg(cl_ulong(elem_offset));
}

Launch& Launch::tensor(const Tensor& t) { return buffer(mem_of(t), elem_offset(t)); }

void Launch::run_1d(uint64_t n) {
  if (n == 0) return;
  size_t local = std::min({kPreferredLocalSize, dev_.programs().work_group_size(kernel_),
                           dev_.limits().max_work_group_size});
  // Largest power of two <= local (every chunk size is then a multiple of it).
  size_t p2 = 1;
  while (p2 * 2 <= local) p2 *= 2;
  local = p2;
  // Chunk: a multiple of the work-group size.
  const uint64_t chunk = std::max<uint64_t>(local, max_launch_items() / local * local);
  const cl_uint base_idx = next_;
  const cl_ulong total = n;
  for (uint64_t base = 0; base < n; base += chunk) {
    uint64_t count = std::min<uint64_t>(chunk, n - base);
    size_t global = size_t((count + local - 1) / local * local);
    cl_ulong b = base;
    next_ = base_idx;
    arg(b);
    arg(total);
    cl_check(clEnqueueNDRangeKernel(dev_.queue(), kernel_, 1, nullptr, &global, &local, 0, nullptr, nullptr),
             fmt::format("clEnqueueNDRangeKernel({}, {} items) on {}", name_, global, dev_.id()));
  }
}

size_t Launch::max_local() const {
  return std::max<size_t>(1, std::min(dev_.programs().work_group_size(kernel_), dev_.limits().max_work_group_size));
}

size_t Launch::pow2_local(size_t cap) const {
  size_t lim = std::min(cap, max_local()), p2 = 1;
  while (p2 * 2 <= lim) p2 *= 2;
  return p2;
}

void Launch::run_groups(uint64_t groups0, uint64_t groups1, size_t local) {
  if (groups0 == 0 || groups1 == 0) return;
  TESSERA_CHECK(local >= 1 && local <= max_local(),
                "kernel {} on {} ({}) needs work-groups of {} items; the kernel/device allows at most {}", name_,
                dev_.id(), dev_.info().name, local, max_local());
  const uint64_t chunk = std::max<uint64_t>(1, max_launch_items() / (uint64_t(local) * groups1));
  const cl_uint base_idx = next_;
  for (uint64_t g0 = 0; g0 < groups0; g0 += chunk) {
    const uint64_t count = std::min<uint64_t>(chunk, groups0 - g0);
    next_ = base_idx;
    arg(cl_ulong(g0));
    size_t global[2] = {size_t(count * local), size_t(groups1)};
    size_t loc[2] = {local, 1};
    cl_check(clEnqueueNDRangeKernel(dev_.queue(), kernel_, groups1 > 1 ? 2 : 1, nullptr, global, loc, 0, nullptr,
                                    nullptr),
             fmt::format("clEnqueueNDRangeKernel({}, {} x {} groups of {}) on {}", name_, count, groups1, local,
                         dev_.id()));
  }
}

size_t row_local(const Launch& l, uint64_t len, size_t cap) {
  size_t want = 1;
  while (want < len && want < cap) want *= 2;
  return l.pow2_local(want);
}

TempBuffer temp_buffer(ClDevice& dev, size_t bytes) {
  TempBuffer t;
  t.buf = dev.allocate(std::max<size_t>(bytes, 4));
  t.mem = mem_of_buffer(*t.buf, dev.id());
  return t;
}

uint64_t elem_offset(const Tensor& t) {
  size_t es = dtype_size(t.dtype());
  TESSERA_CHECK(t.offset_bytes() % es == 0, "tensor {} starts at byte offset {}, not a multiple of its element size",
                t.desc(), t.offset_bytes());
  return t.offset_bytes() / es;
}

std::string supports_common(const Device& dev, const OpArgs& a) {
  const ClDevice* cd = dynamic_cast<const ClDevice*>(&dev);
  if (!cd) return "not an OpenCL device";
  std::string why = cd->kernel_unsupported_reason();
  if (!why.empty()) return why;
  for (auto* list : {&a.in, &a.out})
    for (const Tensor& t : *list) {
      if (!t.defined()) continue;
      if (!t.is_contiguous()) return "tensor " + t.desc() + " is not contiguous";
      if (t.offset_bytes() % dtype_size(t.dtype()) != 0)
        return fmt::format("tensor {} starts at byte offset {}, not a multiple of its element size", t.desc(),
                           t.offset_bytes());
    }
  return "";
}

}  // namespace tessera::opencl
