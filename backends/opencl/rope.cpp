// OpenCL rope (kernels/rope.cl): one work-item per (token, pair), looping over
// the heads; each pair is read before it is written, so it works in place
// (out aliasing x: rope_). The `skip` leading tokens are copied unchanged when
// out is a separate tensor.
#include "backends/opencl/cl_launch.hpp"
#include "core/error.hpp"
#include "core/op_registry.hpp"

namespace tessera::opencl {
namespace {

void rope(Device& d, OpArgs& a) {
  ClDevice& dev = as_cl(d);
  const Tensor& x = a.in[0];
  Tensor& y = a.out[0];
  const uint64_t T = uint64_t(x.dim(0)), H = uint64_t(x.dim(1)), D = uint64_t(x.dim(2)), P = D / 2;
  const uint64_t skip = uint64_t(a.attrs.get_int("skip", 0));
  const bool same = mem_of(x) == mem_of(y) && x.offset_bytes() == y.offset_bytes();
  if (!same && skip > 0 && H * D > 0)
    dev.copy(x.buffer(), x.offset_bytes(), y.buffer(), y.offset_bytes(), size_t(skip * H * D) * dtype_size(x.dtype()));
  const uint64_t n = (T - skip) * P;
  if (n == 0 || H == 0) return;
  Launch(dev, "rope", std::string("rope_") + dtype_name(x.dtype()))
      .tensor(x)
      .tensor(y)
      .tensor(a.in[1])
      .arg(cl_ulong(H))
      .arg(cl_ulong(P))
      .arg(cl_ulong(skip))
      .arg(cl_int(a.attrs.get_str("style", "interleaved") == "half"))
      .run_1d(n);
}

std::string supports(const Device& dev, const OpArgs& a) {
  const Tensor& x = a.in[0];
  if (!dtype_is_float(x.dtype())) return fmt::format("dtype {} (only f32, f16, bf16)", dtype_name(x.dtype()));
  if (a.out[0].dtype() != x.dtype()) return "output dtype differs from x's";
  if (a.in[1].dtype() != DType::f32) return "angles must be f32";
  return supports_common(dev, a);
}

TESSERA_REGISTER_KERNEL("rope", "opencl", rope, supports);

}  // namespace
}  // namespace tessera::opencl
