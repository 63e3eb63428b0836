// OpenCL gelu / silu / sigmoid / softplus (1-D pointwise) and softmax over the last dim (one
// work-group per row), kernels/activation.cl. f32 arithmetic with the
// full-precision builtins; the result is rounded once to x's dtype.
#include "backends/opencl/cl_launch.hpp"
#include "core/error.hpp"
#include "core/op_registry.hpp"

namespace tessera::opencl {
namespace {

void pointwise(Device& d, OpArgs& a, const std::string& kernel) {
  const Tensor& x = a.in[0];
  Launch(as_cl(d), "activation", kernel + "_" + dtype_name(x.dtype()))
      .tensor(x)
      .tensor(a.out[0])
      .run_1d(uint64_t(x.numel()));
}

void gelu(Device& d, OpArgs& a) {
  pointwise(d, a, a.attrs.get_str("approximate", "none") == "tanh" ? "gelu_tanh" : "gelu_erf");
}

void silu(Device& d, OpArgs& a) { pointwise(d, a, "silu"); }
void sigmoid(Device& d, OpArgs& a) { pointwise(d, a, "sigmoid"); }
void softplus(Device& d, OpArgs& a) { pointwise(d, a, "softplus"); }

void softmax(Device& d, OpArgs& a) {
  const Tensor& x = a.in[0];
  const uint64_t C = x.ndim() ? uint64_t(x.dim(-1)) : 1, rows = C ? uint64_t(x.numel()) / C : 0;
  if (rows == 0) return;
  Launch l(as_cl(d), "activation", std::string("softmax_") + dtype_name(x.dtype()));
  const size_t local = row_local(l, C);
  l.tensor(x).tensor(a.out[0]).arg(cl_ulong(C)).arg(cl_ulong(rows)).run_groups(rows, 1, local);
}

std::string supports(const Device& dev, const OpArgs& a) {
  if (!dtype_is_float(a.in[0].dtype())) return fmt::format("dtype {} (only f32, f16, bf16)", dtype_name(a.in[0].dtype()));
  if (a.out[0].dtype() != a.in[0].dtype()) return "output dtype differs from the input's";
  return supports_common(dev, a);
}

TESSERA_REGISTER_KERNEL("gelu", "opencl", gelu, supports);
TESSERA_REGISTER_KERNEL("silu", "opencl", silu, supports);
TESSERA_REGISTER_KERNEL("sigmoid", "opencl", sigmoid, supports);
TESSERA_REGISTER_KERNEL("softplus", "opencl", softplus, supports);
TESSERA_REGISTER_KERNEL("softmax", "opencl", softmax, supports);

}  // namespace
}  // namespace tessera::opencl
