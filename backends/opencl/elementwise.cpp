// OpenCL add / mul (numpy broadcasting), scale and axpby: f32 arithmetic, the
// result rounded to nearest even into the output's dtype (kernels/elementwise.cl).
#include "backends/opencl/cl_launch.hpp"
#include "core/broadcast.hpp"
#include "core/error.hpp"
#include "core/op_registry.hpp"

namespace tessera::opencl {
namespace {

void binary(Device& d, OpArgs& a, const char* op) {
  ClDevice& dev = as_cl(d);
  const Tensor& x = a.in[0];
  const Tensor& y = a.in[1];
  Tensor& out = a.out[0];
  const uint64_t n = uint64_t(out.numel());
  if (n == 0) return;
  BroadcastPlan p = broadcast_plan(op, {x.shape(), y.shape()});
  const int rank = int(p.dims.size());
  TESSERA_CHECK(rank >= 1 && rank <= 8, "op '{}': collapsed rank {} outside 1..8", op, rank);
  // Right-aligned: slot 7 is the innermost dimension; unused slots are (1, 0, 0).
  cl_long8 dims, sa, sb;
  for (int s = 0; s < 8; ++s) {
    int dd = s - (8 - rank);
    dims.s[s] = dd >= 0 ? p.dims[dd] : 1;
    sa.s[s] = dd >= 0 ? p.strides[0][dd] : 0;
    sb.s[s] = dd >= 0 ? p.strides[1][dd] : 0;
  }
  Launch(dev, "elementwise", std::string(op) + "_" + dtype_name(x.dtype()))
      .tensor(x)
      .tensor(y)
      .tensor(out)
      .arg(cl_int(rank))
      .arg(dims)
      .arg(sa)
      .arg(sb)
      .run_1d(n);
}

void add(Device& d, OpArgs& a) { binary(d, a, "add"); }
void mul(Device& d, OpArgs& a) { binary(d, a, "mul"); }

void scale(Device& d, OpArgs& a) {
  ClDevice& dev = as_cl(d);
  const Tensor& x = a.in[0];
  Launch(dev, "elementwise", std::string("scale_") + dtype_name(x.dtype()))
      .tensor(x)
      .tensor(a.out[0])
      .arg(cl_float(a.attrs.get_float("alpha", 1.0)))
      .run_1d(uint64_t(x.numel()));
}

// One kernel per (a dtype, b dtype); the output has a's.
void axpby(Device& d, OpArgs& a) {
  const Tensor &x = a.in[0], &y = a.in[1];
  Launch(as_cl(d), "elementwise", std::string("axpby_") + dtype_name(x.dtype()) + "_" + dtype_name(y.dtype()))
      .tensor(x)
      .tensor(y)
      .tensor(a.out[0])
      .arg(cl_float(a.attrs.get_float("alpha", 1.0)))
      .arg(cl_float(a.attrs.get_float("beta", 1.0)))
      .run_1d(uint64_t(x.numel()));
}

std::string supports(const Device& dev, const OpArgs& a) {
  for (auto& t : a.in)
    if (!dtype_is_float(t.dtype())) return fmt::format("dtype {} (only f32, f16, bf16)", dtype_name(t.dtype()));
  if (a.out[0].dtype() != a.in[0].dtype()) return "output dtype differs from the inputs'";
  return supports_common(dev, a);
}

TESSERA_REGISTER_KERNEL("add", "opencl", add, supports);
TESSERA_REGISTER_KERNEL("mul", "opencl", mul, supports);
TESSERA_REGISTER_KERNEL("scale", "opencl", scale, supports);
TESSERA_REGISTER_KERNEL("axpby", "opencl", axpby, supports);

}  // namespace
}  // namespace tessera::opencl
