// OpenCL permute / slice / concat, every dtype: each is one strided copy
// (enqueue_strided_copy, kernels/copy.cl) moving opaque units of 1..16 bytes.
#include "backends/opencl/cl_launch.hpp"
#include "core/error.hpp"
#include "core/op_registry.hpp"

namespace tessera::opencl {
namespace {

std::vector<int64_t> strides_of(const Shape& s) {
  Shape c = contiguous_strides(s);
  return std::vector<int64_t>(c.begin(), c.end());
}

struct Plan {
  std::vector<int64_t> dims, ss, ds;
  uint64_t soff = 0, doff = 0;
};

Plan permute_plan(const OpArgs& a) {
  const Tensor& x = a.in[0];
  auto perm = a.attrs.get_ints("dims");
  auto is = strides_of(x.shape());
  Plan p;
  for (auto d : perm) {
    p.dims.push_back(x.shape()[size_t(d)]);
    p.ss.push_back(is[size_t(d)]);
  }
  p.ds = strides_of(Shape(p.dims.begin(), p.dims.end()));
  return p;
}

void permute(Device& d, OpArgs& a) {
  const Tensor& x = a.in[0];
  Plan p = permute_plan(a);
  enqueue_strided_copy(as_cl(d), mem_of(x), elem_offset(x), mem_of(a.out[0]), elem_offset(a.out[0]),
                       dtype_size(x.dtype()), p.dims, p.ss, p.ds);
}

void slice(Device& d, OpArgs& a) {
  const Tensor& x = a.in[0];
  const Shape& s = x.shape();
  int64_t dim = a.attrs.get_int("dim", 0);
  if (dim < 0) dim += int64_t(s.size());
  int64_t st = a.attrs.get_int("start", 0);
  if (st < 0) st += s[size_t(dim)];
  auto is = strides_of(s);
  const Tensor& y = a.out[0];
  std::vector<int64_t> dims(y.shape().begin(), y.shape().end());
  enqueue_strided_copy(as_cl(d), mem_of(x), elem_offset(x) + uint64_t(st * is[size_t(dim)]), mem_of(y),
                       elem_offset(y), dtype_size(x.dtype()), dims, is, strides_of(y.shape()));
}

void concat(Device& d, OpArgs& a) {
  Tensor& y = a.out[0];
  const Shape& s = y.shape();
  int64_t dim = a.attrs.get_int("dim", 0);
  if (dim < 0) dim += int64_t(s.size());
  auto os = strides_of(s);
  int64_t off = 0;
  for (const Tensor& t : a.in) {
    std::vector<int64_t> dims(t.shape().begin(), t.shape().end());
    enqueue_strided_copy(as_cl(d), mem_of(t), elem_offset(t), mem_of(y), elem_offset(y) + uint64_t(off * os[size_t(dim)]),
                         dtype_size(y.dtype()), dims, strides_of(t.shape()), os);
    off += t.shape()[size_t(dim)];
  }
}

std::string supports_same_dtype(const Device& dev, const OpArgs& a) {
  for (auto& t : a.in)
    if (t.dtype() != a.out[0].dtype()) return "input and output dtypes differ";
  return supports_common(dev, a);
}

std::string supports_permute(const Device& dev, const OpArgs& a) {
  std::string why = supports_same_dtype(dev, a);
  if (!why.empty()) return why;
  Plan p = permute_plan(a);
  return strided_copy_unsupported(p.dims, p.ss, p.ds);
}

TESSERA_REGISTER_KERNEL("permute", "opencl", permute, supports_permute);
TESSERA_REGISTER_KERNEL("slice", "opencl", slice, supports_same_dtype);
TESSERA_REGISTER_KERNEL("concat", "opencl", concat, supports_same_dtype);

}  // namespace
}  // namespace tessera::opencl
