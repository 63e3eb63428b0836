// CPU permute / slice / concat / pixel_shuffle_3d / upsample_nearest_3d:
// byte copies by element size, parallel over output rows.
#include <cstring>

#include <tbb/parallel_for.h>

#include "backends/cpu/cpu_device.hpp"
#include "core/op_registry.hpp"

namespace tessera::cpu {
namespace {

void permute(Device&, OpArgs& a) {
  const Tensor& x = a.in[0];
  auto dims = a.attrs.get_ints("dims");
  const Shape is = contiguous_strides(x.shape()), os = a.out[0].shape();
  const int r = int(os.size());
  const size_t es = dtype_size(x.dtype());
  const char* src = data<char>(x);
  char* dst = data<char>(a.out[0]);
  const int64_t inner = r ? os[r - 1] : 1, rows = a.out[0].numel() / std::max<int64_t>(inner, 1);
  const int64_t istep = r ? is[dims[r - 1]] : 1;
  tbb::parallel_for(int64_t(0), rows, [&](int64_t row) {
    int64_t rem = row, base = 0;
    for (int d = r - 2; d >= 0; --d) {
      base += (rem % os[d]) * is[dims[d]];
      rem /= os[d];
    }
    for (int64_t i = 0; i < inner; ++i) std::memcpy(dst + (row * inner + i) * es, src + (base + i * istep) * es, es);
  });
}

// Copy `n` blocks of `len` bytes from src (stride sstride) to dst (stride dstride).
void copy_blocks(const char* src, int64_t sstride, char* dst, int64_t dstride, int64_t n, int64_t len) {
  tbb::parallel_for(int64_t(0), n, [&](int64_t i) { std::memcpy(dst + i * dstride, src + i * sstride, size_t(len)); });
}

void outer_inner(const Shape& s, int64_t d, int64_t& outer, int64_t& inner) {
  outer = inner = 1;
  for (int64_t i = 0; i < d; ++i) outer *= s[i];
  for (size_t i = d + 1; i < s.size(); ++i) inner *= s[i];
}

void slice(Device&, OpArgs& a) {
  const Tensor& x = a.in[0];
  const Shape& s = x.shape();
  int64_t d = a.attrs.get_int("dim", 0);
  if (d < 0) d += int64_t(s.size());
  int64_t st = a.attrs.get_int("start", 0);
  if (st < 0) st += s[d];
  int64_t outer, inner;
  outer_inner(s, d, outer, inner);
  const int64_t es = int64_t(dtype_size(x.dtype())), n = a.out[0].dim(int(d));
  copy_blocks(data<char>(x) + st * inner * es, s[d] * inner * es, data<char>(a.out[0]), n * inner * es, outer,
              n * inner * es);
}

void concat(Device&, OpArgs& a) {
  const Shape& s = a.out[0].shape();
  int64_t d = a.attrs.get_int("dim", 0);
  if (d < 0) d += int64_t(s.size());
  int64_t outer, inner;
  outer_inner(s, d, outer, inner);
  const int64_t es = int64_t(dtype_size(a.out[0].dtype()));
  int64_t off = 0;
  for (auto& t : a.in) {
    const int64_t n = t.dim(int(d));
    copy_blocks(data<char>(t), n * inner * es, data<char>(a.out[0]) + off * inner * es, s[d] * inner * es, outer,
                n * inner * es);
    off += n;
  }
}

// Both resampling ops map each output voxel to one input element.
template <typename F>
void resample(OpArgs& a, F src_index) {
  const Shape& os = a.out[0].shape();
  const size_t es = dtype_size(a.in[0].dtype());
  const char* src = data<char>(a.in[0]);
  char* dst = data<char>(a.out[0]);
  const int64_t rows = os[0] * os[1] * os[2] * os[3];
  tbb::parallel_for(int64_t(0), rows, [&](int64_t row) {
    const int64_t h = row % os[3], d = (row / os[3]) % os[2], c = (row / (os[3] * os[2])) % os[1],
                  n = row / (os[3] * os[2] * os[1]);
    for (int64_t w = 0; w < os[4]; ++w) std::memcpy(dst + (row * os[4] + w) * es, src + src_index(n, c, d, h, w) * es, es);
  });
}

void pixel_shuffle_3d(Device&, OpArgs& a) {
  const Shape& is = a.in[0].shape();
  const int64_t r = a.attrs.get_int("factor", 2);
  resample(a, [&](int64_t n, int64_t c, int64_t d, int64_t h, int64_t w) {
    const int64_t ci = c * r * r * r + ((d % r) * r + h % r) * r + w % r;
    return (((n * is[1] + ci) * is[2] + d / r) * is[3] + h / r) * is[4] + w / r;
  });
}

void upsample_nearest_3d(Device&, OpArgs& a) {
  const Shape& is = a.in[0].shape();
  const int64_t r = a.attrs.get_int("factor", 2);
  resample(a, [&](int64_t n, int64_t c, int64_t d, int64_t h, int64_t w) {
    return (((n * is[1] + c) * is[2] + d / r) * is[3] + h / r) * is[4] + w / r;
  });
}

TESSERA_REGISTER_KERNEL("permute", "cpu", permute);
TESSERA_REGISTER_KERNEL("slice", "cpu", slice);
TESSERA_REGISTER_KERNEL("concat", "cpu", concat);
TESSERA_REGISTER_KERNEL("pixel_shuffle_3d", "cpu", pixel_shuffle_3d);
TESSERA_REGISTER_KERNEL("upsample_nearest_3d", "cpu", upsample_nearest_3d);

}  // namespace
}  // namespace tessera::cpu
