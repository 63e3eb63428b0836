// OpenCL cast between f32 / f16 / bf16 (kernels/cast.cl): widen to f32
// (exact), store rounded to nearest even. Same dtype: a buffer copy.
#include "backends/opencl/cl_error.hpp"
#include "backends/opencl/cl_launch.hpp"
#include "core/error.hpp"
#include "core/op_registry.hpp"

namespace tessera::opencl {

void enqueue_cast(ClDevice& dev, cl_mem x, uint64_t x_off, DType from, cl_mem y, uint64_t y_off, DType to,
                  uint64_t n) {
  TESSERA_CHECK(dtype_is_float(from) && dtype_is_float(to), "opencl cast: {} -> {} is not supported",
                dtype_name(from), dtype_name(to));
  if (n == 0) return;
  if (from == to) {
    size_t es = dtype_size(from);
    if (x == y && x_off == y_off) return;
    cl_check(clEnqueueCopyBuffer(dev.queue(), x, y, x_off * es, y_off * es, n * es, 0, nullptr, nullptr),
             "clEnqueueCopyBuffer (cast) on " + dev.id());
    return;
  }
  Launch(dev, "cast", std::string("cast_") + dtype_name(from) + "_" + dtype_name(to))
      .buffer(x, x_off)
      .buffer(y, y_off)
      .run_1d(n);
}

namespace {

void cast(Device& d, OpArgs& a) {
  const Tensor& x = a.in[0];
  Tensor& y = a.out[0];
  enqueue_cast(as_cl(d), mem_of(x), elem_offset(x), x.dtype(), mem_of(y), elem_offset(y), y.dtype(),
               uint64_t(x.numel()));
}

std::string supports(const Device& dev, const OpArgs& a) {
  DType from = a.in[0].dtype(), to = a.out[0].dtype();
  if (!dtype_is_float(from) || !dtype_is_float(to))
    return fmt::format("{} -> {} (only f32, f16, bf16)", dtype_name(from), dtype_name(to));
  return supports_common(dev, a);
}

TESSERA_REGISTER_KERNEL("cast", "opencl", cast, supports);

}  // namespace
}  // namespace tessera::opencl
