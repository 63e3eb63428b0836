// OpenCL timestep_embedding and gather (kernels/embedding.cl).
#include <cmath>

#include "backends/opencl/cl_launch.hpp"
#include "core/error.hpp"
#include "core/op_registry.hpp"

namespace tessera::opencl {
namespace {

void timestep_embedding(Device& d, OpArgs& a) {
  const uint64_t dim = uint64_t(a.attrs.get_int("dim", 256)), half = dim / 2;
  const float lmp = float(std::log(a.attrs.get_float("max_period", 10000.0)));
  Launch(as_cl(d), "embedding", "timestep_embedding")
      .tensor(a.in[0])
      .tensor(a.out[0])
      .arg(cl_ulong(dim))
      .arg(cl_ulong(half))
      .arg(cl_float(-lmp))
      .run_1d(uint64_t(a.out[0].numel()));
}

void gather(Device& d, OpArgs& a) {
  const Tensor &tab = a.in[0], &idx = a.in[1];
  Tensor& out = a.out[0];
  const uint64_t V = uint64_t(tab.dim(0)), es = dtype_size(tab.dtype());
  const uint64_t row_bytes = uint64_t(tab.dim(1)) * es;
  if (out.numel() == 0) return;
  // Widest unit dividing the row and both offsets (in bytes).
  uint64_t unit = es;
  for (uint64_t u : {16, 8, 4, 2})
    if (u > es && row_bytes % u == 0 && tab.offset_bytes() % u == 0 && out.offset_bytes() % u == 0) {
      unit = u;
      break;
    }
  const uint64_t C = row_bytes / unit, N = uint64_t(idx.numel());
  Launch(as_cl(d), "embedding", fmt::format("gather_{}_{}", unit, dtype_name(idx.dtype())))
      .buffer(mem_of(tab), tab.offset_bytes() / unit)
      .tensor(idx)
      .buffer(mem_of(out), out.offset_bytes() / unit)
      .arg(cl_ulong(V))
      .arg(cl_ulong(C))
      .run_1d(N * C);
}

std::string supports_t(const Device& dev, const OpArgs& a) {
  if (a.in[0].dtype() != DType::f32 || a.out[0].dtype() != DType::f32) return "t and the output must be f32";
  return supports_common(dev, a);
}

std::string supports_g(const Device& dev, const OpArgs& a) {
  DType it = a.in[1].dtype();
  if (it != DType::i32 && it != DType::i64) return fmt::format("index dtype {} (only i32, i64)", dtype_name(it));
  if (a.out[0].dtype() != a.in[0].dtype()) return "output dtype differs from the table's";
  return supports_common(dev, a);
}

TESSERA_REGISTER_KERNEL("timestep_embedding", "opencl", timestep_embedding, supports_t);
TESSERA_REGISTER_KERNEL("gather", "opencl", gather, supports_g);

}  // namespace
}  // namespace tessera::opencl
