// OpenCL moments (kernels/reduce.cl): G work-groups of per-item Welford
// states merged with Chan's formula into G partial states, then one
// work-group merging those into (mean, std).
#include <algorithm>

#include "backends/opencl/cl_launch.hpp"
#include "core/error.hpp"
#include "core/op_registry.hpp"

namespace tessera::opencl {
namespace {

constexpr uint64_t kMaxGroups = 1024;

void moments(Device& d, OpArgs& a) {
  ClDevice& dev = as_cl(d);
  const Tensor& x = a.in[0];
  const std::string dt = dtype_name(x.dtype());
  const uint64_t n = uint64_t(x.numel());
  const int64_t c = a.attrs.get_int("correction", 1);
  Launch partial(dev, "reduce", "moments_partial_" + dt);
  const size_t local = partial.pow2_local(256);
  // At least 64 elements per work-item before adding groups.
  const uint64_t G = std::clamp<uint64_t>((n + local * 64 - 1) / (local * 64), 1, kMaxGroups);
  TempBuffer part = temp_buffer(dev, size_t(G) * 3 * sizeof(float));
  partial.tensor(x).arg(cl_ulong(n)).arg(cl_ulong(G)).arg(part.mem).run_groups(G, 1, local);
  Launch fin(dev, "reduce", "moments_final_" + dt);
  fin.tensor(x).arg(part.mem).arg(cl_ulong(G)).arg(cl_float(double(int64_t(n) - c))).tensor(a.out[0])
      .run_groups(1, 1, fin.pow2_local(256));
}

std::string supports(const Device& dev, const OpArgs& a) {
  if (!dtype_is_float(a.in[0].dtype())) return fmt::format("dtype {} (only f32, f16, bf16)", dtype_name(a.in[0].dtype()));
  return supports_common(dev, a);
}

TESSERA_REGISTER_KERNEL("moments", "opencl", moments, supports);

}  // namespace
}  // namespace tessera::opencl
