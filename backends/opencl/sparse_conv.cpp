// OpenCL sparse_conv3d: masked implicit GEMM over planned row tiles
// (kernels/sparse_conv.cl), f32 accumulation, no im2col or gather buffer.
// sparse_conv_order: mask keys (sparse_conv_mask) + the bvh program's stable
// 4-bit LSD radix sort; sparse_conv3d without an order input computes it per call.
#include "backends/opencl/cl_launch.hpp"
#include "core/error.hpp"
#include "core/op_registry.hpp"
#include "ops/sparse_conv.hpp"

namespace tessera::opencl {
namespace {

constexpr uint64_t kTileM = 64, kTileN = 64;
constexpr size_t kWG = 256;

// The row order of nbr into a temporary (offset 0).
TempBuffer compute_order(ClDevice& dev, const Tensor& nbr) {
  const uint64_t N = uint64_t(nbr.dim(0)), K = uint64_t(nbr.dim(1)), G = (N + kWG - 1) / kWG;
  const int passes = ops::sparse_conv_order_passes(int64_t(K));
  TempBuffer k0 = temp_buffer(dev, N * 4), v0 = temp_buffer(dev, N * 4), k1 = temp_buffer(dev, N * 4),
             v1 = temp_buffer(dev, N * 4), hist = temp_buffer(dev, 16 * G * 4);
  Launch(dev, "sparse_conv", "sparse_conv_mask").tensor(nbr).arg(cl_uint(N)).arg(cl_uint(K)).arg(k0.mem).arg(v0.mem)
      .run_1d(N);
  cl_mem keys[2] = {k0.mem, k1.mem}, vals[2] = {v0.mem, v1.mem};
  for (int p = 0, s = 0; p < passes; ++p, s ^= 1) {
    const cl_uint shift = cl_uint(4 * p);
    Launch(dev, "bvh", "radix_hist").arg(keys[s]).arg(cl_uint(N)).arg(shift).arg(cl_uint(G)).arg(hist.mem)
        .run_groups(G, 1, kWG);
    Launch(dev, "bvh", "radix_scan").arg(hist.mem).arg(cl_uint(16 * G)).run_groups(1, 1, kWG);
    Launch(dev, "bvh", "radix_scatter").arg(keys[s]).arg(vals[s]).arg(keys[s ^ 1]).arg(vals[s ^ 1]).arg(cl_uint(N))
        .arg(shift).arg(cl_uint(G)).arg(hist.mem).run_groups(G, 1, kWG);
  }
  return passes % 2 == 0 ? v0 : v1;
}

void sparse_conv_order(Device& d, OpArgs& a) {
  ClDevice& dev = as_cl(d);
  Tensor& out = a.out[0];
  if (out.numel() == 0) return;
  TempBuffer o = compute_order(dev, a.in[0]);
  dev.copy(*o.buf, 0, out.buffer(), out.offset_bytes(), size_t(out.numel()) * 4);
}

void sparse_conv3d(Device& d, OpArgs& a) {
  ClDevice& dev = as_cl(d);
  const Tensor &f = a.in[0], &nbr = a.in[1], &w = a.in[2];
  Tensor& y = a.out[0];
  if (y.numel() == 0) return;
  const uint64_t N = uint64_t(f.dim(0)), Ci = uint64_t(f.dim(1)), K = uint64_t(nbr.dim(1)), Co = uint64_t(w.dim(0));
  const ops::SparseConvInputs has(a.in.size(), a.in.back().dtype());
  const bool has_bias = has.bias;
  const Tensor& bias = has_bias ? a.in[3] : w;  // never read without bias
  TempBuffer tmp;
  if (!has.order) tmp = compute_order(dev, nbr);
  Launch l(dev, "sparse_conv", std::string("sparse_conv3d_") + dtype_name(f.dtype()));
  l.tensor(f).tensor(nbr).tensor(w).tensor(bias).arg(cl_int(has_bias)).tensor(y);
  if (has.order)
    l.tensor(a.in.back());
  else
    l.buffer(tmp.mem, 0);
  l.arg(cl_uint(N))
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
TESSERA_REGISTER_KERNEL("sparse_conv_order", "opencl", sparse_conv_order, [](const Device& dev, const OpArgs& a) {
  return supports_common(dev, a);
});

}  // namespace
}  // namespace tessera::opencl
