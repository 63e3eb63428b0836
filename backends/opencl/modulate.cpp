// OpenCL modulate / gated_residual (kernels/modulate.cl): three inputs under
// numpy broadcasting (core/broadcast.hpp), f32 arithmetic, rounded once.
#include "backends/opencl/cl_launch.hpp"
#include "core/broadcast.hpp"
#include "core/error.hpp"
#include "core/op_registry.hpp"

namespace tessera::opencl {
namespace {

void ternary(Device& d, OpArgs& a, const char* op) {
  ClDevice& dev = as_cl(d);
  Tensor& out = a.out[0];
  const uint64_t n = uint64_t(out.numel());
  if (n == 0) return;
  BroadcastPlan p = broadcast_plan(op, {a.in[0].shape(), a.in[1].shape(), a.in[2].shape()});
  const int rank = int(p.dims.size());
  TESSERA_CHECK(rank >= 1 && rank <= 8, "op '{}': collapsed rank {} outside 1..8", op, rank);
  cl_long8 dims, s[3];
  for (int k = 0; k < 8; ++k) {
    int dd = k - (8 - rank);
    dims.s[k] = dd >= 0 ? p.dims[dd] : 1;
    for (int j = 0; j < 3; ++j) s[j].s[k] = dd >= 0 ? p.strides[j][dd] : 0;
  }
  Launch(dev, "modulate", std::string(op) + "_" + dtype_name(out.dtype()))
      .tensor(a.in[0])
      .tensor(a.in[1])
      .tensor(a.in[2])
      .tensor(out)
      .arg(cl_int(rank))
      .arg(dims)
      .arg(s[0])
      .arg(s[1])
      .arg(s[2])
      .run_1d(n);
}

void modulate(Device& d, OpArgs& a) { ternary(d, a, "modulate"); }
void gated_residual(Device& d, OpArgs& a) { ternary(d, a, "gated_residual"); }

std::string supports(const Device& dev, const OpArgs& a) {
  for (auto& t : a.in)
    if (!dtype_is_float(t.dtype()) || t.dtype() != a.in[0].dtype())
      return fmt::format("dtypes {}, {}, {} (one of f32, f16, bf16 for all)", dtype_name(a.in[0].dtype()),
                         dtype_name(a.in[1].dtype()), dtype_name(a.in[2].dtype()));
  if (a.out[0].dtype() != a.in[0].dtype()) return "output dtype differs from the inputs'";
  return supports_common(dev, a);
}

TESSERA_REGISTER_KERNEL("modulate", "opencl", modulate, supports);
TESSERA_REGISTER_KERNEL("gated_residual", "opencl", gated_residual, supports);

}  // namespace
}  // namespace tessera::opencl
