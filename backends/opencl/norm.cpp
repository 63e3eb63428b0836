// OpenCL layer_norm / rms_norm / group_norm (kernels/norm.cl): f32 two-pass
// statistics around a pivot (see the .cl), the result rounded once to x's
// dtype. Rows: one work-group each; groups: partial sums over chunks, a
// finalize per group, then a 1-D apply.
#include <algorithm>

#include "backends/opencl/cl_launch.hpp"
#include "core/error.hpp"
#include "core/op_registry.hpp"

namespace tessera::opencl {
namespace {

std::string dt(const Tensor& t) { return dtype_name(t.dtype()); }

void layer_norm(Device& d, OpArgs& a) {
  ClDevice& dev = as_cl(d);
  const Tensor& x = a.in[0];
  Tensor& y = a.out[0];
  const uint64_t C = uint64_t(x.dim(-1)), rows = C ? uint64_t(x.numel()) / C : 0;
  if (rows == 0) return;
  const bool affine = a.in.size() > 1;
  const Tensor& w = affine ? a.in[1] : x;
  const Tensor& b = affine ? a.in[2] : x;
  Launch l(dev, "norm", "layer_norm_" + dt(x));
  const size_t local = row_local(l, C);
  l.tensor(x).tensor(y).tensor(w).tensor(b).arg(cl_int(affine)).arg(cl_ulong(C))
      .arg(cl_float(a.attrs.get_float("eps", 1e-5))).arg(cl_ulong(rows))
      .run_groups(rows, 1, local);
}

void rms_norm(Device& d, OpArgs& a) {
  ClDevice& dev = as_cl(d);
  const Tensor& x = a.in[0];
  Tensor& y = a.out[0];
  const uint64_t C = uint64_t(x.dim(-1)), rows = C ? uint64_t(x.numel()) / C : 0;
  if (rows == 0) return;
  const bool has_w = a.in.size() > 1;
  const Tensor& w = has_w ? a.in[1] : x;
  const uint64_t wrows = has_w ? std::max<uint64_t>(1, uint64_t(w.numel()) / C) : 1;
  Launch l(dev, "norm", "rms_norm_" + dt(x));
  const size_t local = row_local(l, C);
  l.tensor(x).tensor(y).tensor(w).arg(cl_int(has_w)).arg(cl_ulong(wrows))
      .arg(cl_int(a.attrs.get_str("mode", "rms") == "l2")).arg(cl_ulong(C))
      .arg(cl_float(a.attrs.get_float("eps", 1e-6))).arg(cl_ulong(rows))
      .run_groups(rows, 1, local);
}

void group_norm(Device& d, OpArgs& a) {
  ClDevice& dev = as_cl(d);
  const Tensor& x = a.in[0];
  Tensor& y = a.out[0];
  const uint64_t G = uint64_t(a.attrs.get_int("groups", 1)), N = uint64_t(x.dim(0)), C = uint64_t(x.dim(1));
  if (x.numel() == 0) return;
  const uint64_t S = uint64_t(x.numel()) / (N * C), cnt = C / G * S, ng = N * G;
  const bool affine = a.in.size() > 1;
  const Tensor& w = affine ? a.in[1] : x;
  const Tensor& b = affine ? a.in[2] : x;
  const float eps = float(a.attrs.get_float("eps", 1e-5));

  const size_t local = row_local(Launch(dev, "norm", "gn_partial_" + dt(x)), cnt);
  // Chunks of at least 16 elements per work-item, at most 64 per group.
  const uint64_t P = std::clamp<uint64_t>((cnt + local * 16 - 1) / (local * 16), 1, 64);
  const uint64_t chunk = (cnt + P - 1) / P;
  TempBuffer part = temp_buffer(dev, size_t(ng * P) * 4);
  TempBuffer stats = temp_buffer(dev, size_t(ng) * 8);
  for (int pass = 0; pass < 2; ++pass) {
    Launch l(dev, "norm", "gn_partial_" + dt(x));
    l.tensor(x).arg(cl_ulong(cnt)).arg(cl_ulong(chunk)).arg(cl_uint(P)).arg(cl_int(pass)).arg(stats.mem)
        .arg(part.mem).arg(cl_ulong(ng)).run_groups(ng * P, 1, local);
    Launch(dev, "norm", "gn_finalize")
        .arg(part.mem).arg(cl_uint(P)).arg(cl_ulong(cnt)).arg(cl_float(eps)).arg(cl_int(pass)).arg(stats.mem)
        .run_1d(ng);
  }
  Launch(dev, "norm", "gn_apply_" + dt(x))
      .tensor(x).tensor(y).tensor(w).tensor(b).arg(cl_int(affine)).arg(stats.mem).arg(cl_ulong(cnt))
      .arg(cl_ulong(S)).arg(cl_ulong(C))
      .run_1d(uint64_t(x.numel()));
}

std::string supports(const Device& dev, const OpArgs& a) {
  const Tensor& x = a.in[0];
  if (!dtype_is_float(x.dtype())) return fmt::format("dtype {} (only f32, f16, bf16)", dtype_name(x.dtype()));
  if (a.out[0].dtype() != x.dtype()) return "output dtype differs from x's";
  for (size_t i = 1; i < a.in.size(); ++i)
    if (a.in[i].defined() && a.in[i].dtype() != DType::f32) return "weight/bias must be f32";
  return supports_common(dev, a);
}

TESSERA_REGISTER_KERNEL("layer_norm", "opencl", layer_norm, supports);
TESSERA_REGISTER_KERNEL("rms_norm", "opencl", rms_norm, supports);
TESSERA_REGISTER_KERNEL("group_norm", "opencl", group_norm, supports);

}  // namespace
}  // namespace tessera::opencl
