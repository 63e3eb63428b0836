// CPU modulate / gated_residual over a 3-input broadcast plan.
#include <tbb/parallel_for.h>

#include "backends/cpu/cpu_device.hpp"
#include "core/broadcast.hpp"
#include "core/op_registry.hpp"

namespace tessera::cpu {
namespace {

template <typename F>
void ternary(OpArgs& a, F f) {
  auto p = broadcast_plan("cpu", {a.in[0].shape(), a.in[1].shape(), a.in[2].shape()});
  const DType t = a.in[0].dtype();
  const char* in[3] = {data<char>(a.in[0]), data<char>(a.in[1]), data<char>(a.in[2])};
  char* o = data<char>(a.out[0]);
  const int r = int(p.dims.size());
  const int64_t inner = p.dims[r - 1], rows = shape_numel(p.dims) / inner;
  tbb::parallel_for(tbb::blocked_range<int64_t>(0, rows, std::max<int64_t>(1, 16384 / inner)),
                    [&](const tbb::blocked_range<int64_t>& rg) {
                      for (int64_t row = rg.begin(); row < rg.end(); ++row) {
                        int64_t base[3] = {0, 0, 0}, rem = row;
                        for (int d = r - 2; d >= 0; --d) {
                          int64_t c = rem % p.dims[d];
                          rem /= p.dims[d];
                          for (int j = 0; j < 3; ++j) base[j] += c * p.strides[j][d];
                        }
                        for (int64_t i = 0; i < inner; ++i)
                          st(o, t, row * inner + i,
                             f(ld(in[0], t, base[0] + i * p.strides[0][r - 1]),
                               ld(in[1], t, base[1] + i * p.strides[1][r - 1]),
                               ld(in[2], t, base[2] + i * p.strides[2][r - 1])));
                      }
                    });
}

void modulate(Device&, OpArgs& a) {
  ternary(a, [](float x, float shift, float scale) { return x * (1.f + scale) + shift; });
}
void gated_residual(Device&, OpArgs& a) {
  ternary(a, [](float h, float x, float gate) { return h + gate * x; });
}

TESSERA_REGISTER_KERNEL("modulate", "cpu", modulate);
TESSERA_REGISTER_KERNEL("gated_residual", "cpu", gated_residual);

}  // namespace
}  // namespace tessera::cpu
