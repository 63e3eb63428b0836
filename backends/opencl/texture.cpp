// OpenCL texture_sample_2d / _3d (kernels/texture.cl): one work-item per
// (point, channel).
#include "backends/opencl/cl_launch.hpp"
#include "core/op_registry.hpp"

namespace tessera::opencl {
namespace {

int mode_of(const Attrs& a) {
  const std::string b = a.get_str("boundary", "wrap");
  return b == "wrap" ? 0 : b == "clamp" ? 1 : 2;
}

void tex2d(Device& d, OpArgs& a) {
  const Tensor& t = a.in[0];
  Launch(as_cl(d), "texture", "texture_2d")
      .tensor(t)
      .tensor(a.in[1])
      .tensor(a.out[0])
      .arg(cl_int(t.dim(0)))
      .arg(cl_int(t.dim(1)))
      .arg(cl_uint(t.dim(2)))
      .arg(cl_int(mode_of(a.attrs)))
      .run_1d(uint64_t(a.out[0].numel()));
}

void tex3d(Device& d, OpArgs& a) {
  const Tensor& t = a.in[0];
  Launch(as_cl(d), "texture", "texture_3d")
      .tensor(t)
      .tensor(a.in[1])
      .tensor(a.out[0])
      .arg(cl_int(t.dim(0)))
      .arg(cl_int(t.dim(1)))
      .arg(cl_int(t.dim(2)))
      .arg(cl_uint(t.dim(3)))
      .arg(cl_int(mode_of(a.attrs)))
      .run_1d(uint64_t(a.out[0].numel()));
}

std::string supports_tex(const Device& dev, const OpArgs& a) {
  if (a.in[0].dim(-1) >= (int64_t(1) << 31)) return "2^31 or more channels";
  return supports_common(dev, a);
}

TESSERA_REGISTER_KERNEL("texture_sample_2d", "opencl", tex2d, supports_tex);
TESSERA_REGISTER_KERNEL("texture_sample_3d", "opencl", tex3d, supports_tex);

}  // namespace
}  // namespace tessera::opencl
