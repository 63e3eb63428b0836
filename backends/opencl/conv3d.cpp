// OpenCL conv3d (implicit GEMM, kernels/conv3d.cl: f32 accumulation, no
// im2col buffer: beyond the input and output only a Cin k^3 tap table), and the voxel
// resampling ops pixel_shuffle_3d / upsample_nearest_3d as strided copies
// (every dtype; enqueue_strided_copy).
#include "backends/opencl/cl_launch.hpp"
#include "core/error.hpp"
#include "core/op_registry.hpp"

namespace tessera::opencl {
namespace {

constexpr uint64_t kTileM = 64, kTileN = 64;
constexpr size_t kConvWG = 256;

void conv3d(Device& d, OpArgs& a) {
  ClDevice& dev = as_cl(d);
  const Tensor &x = a.in[0], &w = a.in[1];
  Tensor& y = a.out[0];
  const uint64_t N = uint64_t(x.dim(0)), Ci = uint64_t(x.dim(1)), D = uint64_t(x.dim(2)), H = uint64_t(x.dim(3)),
                 W = uint64_t(x.dim(4)), Co = uint64_t(w.dim(0)), k = uint64_t(w.dim(2));
  const uint64_t DHW = D * H * W;
  if (y.numel() == 0) return;
  const bool has_bias = a.in.size() > 2 && a.in[2].defined();
  const Tensor& bias = has_bias ? a.in[2] : w;
  const uint64_t co_tiles = (Co + kTileM - 1) / kTileM, pos_tiles = (DHW + kTileN - 1) / kTileN;
  const uint64_t K = Ci * k * k * k;
  TempBuffer taps = temp_buffer(dev, size_t(K) * 8);
  Launch(dev, "conv3d", "conv3d_taps").arg(taps.mem).arg(cl_uint(k)).run_1d(K);
  Launch(dev, "conv3d", std::string("conv3d_") + dtype_name(x.dtype()))
      .tensor(x)
      .tensor(w)
      .tensor(bias)
      .arg(cl_int(has_bias))
      .tensor(y)
      .arg(taps.mem)
      .arg(cl_uint(Ci))
      .arg(cl_uint(Co))
      .arg(cl_uint(D))
      .arg(cl_uint(H))
      .arg(cl_uint(W))
      .arg(cl_uint(K))
      .arg(cl_uint(co_tiles))
      .run_groups(pos_tiles, N * co_tiles, kConvWG);
}

std::string supports_conv(const Device& dev, const OpArgs& a) {
  const Tensor &x = a.in[0], &w = a.in[1];
  if (!dtype_is_float(x.dtype()) || w.dtype() != x.dtype() || a.out[0].dtype() != x.dtype())
    return fmt::format("dtypes x {}, w {}, out {} (one of f32, f16, bf16 for all)", dtype_name(x.dtype()),
                       dtype_name(w.dtype()), dtype_name(a.out[0].dtype()));
  if (a.in.size() > 2 && a.in[2].defined() && a.in[2].dtype() != DType::f32) return "bias must be f32";
  const uint64_t lim = uint64_t(1) << 31;
  const uint64_t K = uint64_t(w.dim(1)) * uint64_t(w.dim(2)) * uint64_t(w.dim(3)) * uint64_t(w.dim(4));
  for (uint64_t v : {uint64_t(x.dim(1)), uint64_t(w.dim(0)), uint64_t(x.dim(2)), uint64_t(x.dim(3)),
                     uint64_t(x.dim(4)), K})
    if (v >= lim) return fmt::format("a channel count, spatial size or Cin k^3 ({}) reaches 2^31", v);
  const uint64_t co_tiles = (uint64_t(w.dim(0)) + kTileM - 1) / kTileM;
  if (uint64_t(x.dim(0)) * co_tiles >= lim) return "batch x output-channel tiles reach 2^31";
  if (w.dim(2) > 255) return fmt::format("kernel size {} (at most 255)", w.dim(2));
  return supports_common(dev, a);
}

// [N, C r^3, D, H, W] viewed as [N, C, r, r, r, D, H, W], written in the
// order [N, C, D, r, H, r, W, r] = [N, C, rD, rH, rW].
void pixel_shuffle_3d(Device& d, OpArgs& a) {
  const Tensor& x = a.in[0];
  const int64_t r = a.attrs.get_int("factor", 2);
  const int64_t N = x.dim(0), Cin = x.dim(1), C = Cin / (r * r * r), D = x.dim(2), H = x.dim(3), W = x.dim(4);
  const int64_t HW = H * W, DHW = D * HW;
  std::vector<int64_t> dims{N, C, D, r, H, r, W, r};
  std::vector<int64_t> ss{Cin * DHW, r * r * r * DHW, HW, r * r * DHW, W, r * DHW, 1, DHW};
  std::vector<int64_t> ds(8);
  int64_t s = 1;
  for (int k = 7; k >= 0; --k) {
    ds[size_t(k)] = s;
    s *= dims[size_t(k)];
  }
  enqueue_strided_copy(as_cl(d), mem_of(x), elem_offset(x), mem_of(a.out[0]), elem_offset(a.out[0]),
                       dtype_size(x.dtype()), dims, ss, ds);
}

// out [N C, D, r, H, r, W, r] from x [N C, D, H, W] (stride 0 on the r axes).
void upsample_nearest_3d(Device& d, OpArgs& a) {
  const Tensor& x = a.in[0];
  const int64_t r = a.attrs.get_int("factor", 2);
  const int64_t NC = x.dim(0) * x.dim(1), D = x.dim(2), H = x.dim(3), W = x.dim(4);
  std::vector<int64_t> dims{NC, D, r, H, r, W, r};
  std::vector<int64_t> ss{D * H * W, H * W, 0, W, 0, 1, 0};
  std::vector<int64_t> ds(7);
  int64_t s = 1;
  for (int k = 6; k >= 0; --k) {
    ds[size_t(k)] = s;
    s *= dims[size_t(k)];
  }
  enqueue_strided_copy(as_cl(d), mem_of(x), elem_offset(x), mem_of(a.out[0]), elem_offset(a.out[0]),
                       dtype_size(x.dtype()), dims, ss, ds);
}

std::string supports_resample(const Device& dev, const OpArgs& a) {
  if (a.out[0].dtype() != a.in[0].dtype()) return "output dtype differs from the input's";
  return supports_common(dev, a);
}

TESSERA_REGISTER_KERNEL("conv3d", "opencl", conv3d, supports_conv);
TESSERA_REGISTER_KERNEL("pixel_shuffle_3d", "opencl", pixel_shuffle_3d, supports_resample);
TESSERA_REGISTER_KERNEL("upsample_nearest_3d", "opencl", upsample_nearest_3d, supports_resample);

}  // namespace
}  // namespace tessera::opencl
