// OpenCL sparse_conv3d: masked implicit GEMM (kernels/sparse_conv.cl), f32
// accumulation, no im2col or gather buffer.
#include "backends/opencl/cl_launch.hpp"
#include "core/error.hpp"
#include "core/op_registry.hpp"

namespace tessera::opencl {
namespace {

constexpr uint64_t kTileM = 64, kTileN = 64;
constexpr size_t kWG = 256;

void sparse_conv3d(Device& d, OpArgs& a) {
  ClDevice& dev = as_cl(d);
  const Tensor &f = a.in[0], &nbr = a.in[1], &w = a.in[2];
  Tensor& y = a.out[0];
  if (y.numel() == 0) return;
  const uint64_t N = uint64_t(f.dim(0)), Ci = uint64_t(f.dim(1)), K = uint64_t(nbr.dim(1)), Co = uint64_t(w.dim(0));
  const bool has_bias = a.in.size() > 3 && a.in[3].defined();
  const Tensor& bias = has_bias ? a.in[3] : w;  // never read without bias
  Launch(dev, "sparse_conv", std::string("sparse_conv3d_") + dtype_name(f.dtype()))
      .tensor(f)
      .tensor(nbr)
      .tensor(w)
      .tensor(bias)
      .arg(cl_int(has_bias))
      .tensor(y)
      .arg(cl_uint(N))
      .arg(cl_uint(Ci))
      .arg(cl_uint(Co))
      .arg(cl_uint(K))
      .run_groups((N + kTileM - 1) / kTileM, (Co + kTileN - 1) / kTileN, kWG);
}

std::string supports(const Device& dev, const OpArgs& a) {
  const Tensor &f = a.in[0], &w = a.in[2];
  if (w.dtype() != f.dtype() || a.out[0].dtype() != f.dtype()) return "feats, weight and out must share a dtype";
  const uint64_t lim = uint64_t(1) << 31;
  const uint64_t KC = uint64_t(a.in[1].dim(1)) * uint64_t(f.dim(1));
  if (uint64_t(f.dim(1)) >= lim || uint64_t(w.dim(0)) >= lim || KC >= lim)
    return fmt::format("Cin {} / Cout {} / K Cin {} reach 2^31", f.dim(1), w.dim(0), KC);
  return supports_common(dev, a);
}

TESSERA_REGISTER_KERNEL("sparse_conv3d", "opencl", sparse_conv3d, supports);

}  // namespace
}  // namespace tessera::opencl
