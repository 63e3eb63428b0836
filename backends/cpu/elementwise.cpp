// CPU add / mul / scale / axpby: f32 arithmetic (add and mul over the collapsed
// broadcast plan).
#include <tbb/parallel_for.h>

#include "backends/cpu/cpu_device.hpp"
#include "core/broadcast.hpp"
#include "core/op_registry.hpp"

namespace tessera::cpu {
namespace {

template <typename F>
void binary(OpArgs& a, F f) {
  auto p = broadcast_plan("cpu", {a.in[0].shape(), a.in[1].shape()});
  DType t = a.in[0].dtype();
  const void* x = data<char>(a.in[0]);
  const void* y = data<char>(a.in[1]);
  void* o = data<char>(a.out[0]);
  const int r = int(p.dims.size());
  const int64_t inner = p.dims[r - 1], sx = p.strides[0][r - 1], sy = p.strides[1][r - 1];
  const int64_t rows = shape_numel(p.dims) / inner;
  tbb::parallel_for(tbb::blocked_range<int64_t>(0, rows, std::max<int64_t>(1, 16384 / inner)),
                    [&](const tbb::blocked_range<int64_t>& rg) {
                      for (int64_t row = rg.begin(); row < rg.end(); ++row) {
                        int64_t bx = 0, by = 0, rem = row;
                        for (int d = r - 2; d >= 0; --d) {
                          int64_t c = rem % p.dims[d];
                          rem /= p.dims[d];
                          bx += c * p.strides[0][d];
                          by += c * p.strides[1][d];
                        }
                        for (int64_t i = 0; i < inner; ++i)
                          st(o, t, row * inner + i, f(ld(x, t, bx + i * sx), ld(y, t, by + i * sy)));
                      }
                    });
}

void add(Device&, OpArgs& a) { binary(a, [](float u, float v) { return u + v; }); }
void mul(Device&, OpArgs& a) { binary(a, [](float u, float v) { return u * v; }); }

void scale(Device&, OpArgs& a) {
  const float alpha = float(a.attrs.get_float("alpha", 1.0));
  DType t = a.in[0].dtype();
  const void* x = data<char>(a.in[0]);
  void* o = data<char>(a.out[0]);
  tbb::parallel_for(tbb::blocked_range<int64_t>(0, a.in[0].numel(), 1 << 14), [&](const tbb::blocked_range<int64_t>& r) {
    for (int64_t i = r.begin(); i < r.end(); ++i) st(o, t, i, alpha * ld(x, t, i));
  });
}

// b may have another float dtype than a and the output.
void axpby(Device&, OpArgs& a) {
  const float alpha = float(a.attrs.get_float("alpha", 1.0)), beta = float(a.attrs.get_float("beta", 1.0));
  const DType ta = a.in[0].dtype(), tb = a.in[1].dtype();
  const void* x = data<char>(a.in[0]);
  const void* y = data<char>(a.in[1]);
  void* o = data<char>(a.out[0]);
  tbb::parallel_for(tbb::blocked_range<int64_t>(0, a.in[0].numel(), 1 << 14), [&](const tbb::blocked_range<int64_t>& r) {
    for (int64_t i = r.begin(); i < r.end(); ++i) st(o, ta, i, alpha * ld(x, ta, i) + beta * ld(y, tb, i));
  });
}

TESSERA_REGISTER_KERNEL("add", "cpu", add);
TESSERA_REGISTER_KERNEL("mul", "cpu", mul);
TESSERA_REGISTER_KERNEL("scale", "cpu", scale);
TESSERA_REGISTER_KERNEL("axpby", "cpu", axpby);

}  // namespace
}  // namespace tessera::cpu
