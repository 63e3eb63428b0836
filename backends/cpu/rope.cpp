// CPU rope (in place when out aliases x: each pair is read before it is written).
#include <cmath>

#include <tbb/parallel_for.h>

#include "backends/cpu/cpu_device.hpp"
#include "core/op_registry.hpp"

namespace tessera::cpu {
namespace {

void rope(Device&, OpArgs& a) {
  const Tensor& x = a.in[0];
  const int64_t T = x.dim(0), H = x.dim(1), D = x.dim(2), P = D / 2, skip = a.attrs.get_int("skip", 0);
  const bool half = a.attrs.get_str("style", "interleaved") == "half";
  const DType t = x.dtype();
  const char* xp = data<char>(x);
  char* yp = data<char>(a.out[0]);
  const float* ang = data<float>(a.in[1]);
  if (yp != xp) std::memcpy(yp, xp, size_t(skip * H * D) * dtype_size(t));  // unrotated prefix
  tbb::parallel_for(skip, T, [&](int64_t tok) {
    for (int64_t h = 0; h < H; ++h)
      for (int64_t p = 0; p < P; ++p) {
        const float th = ang[(tok - skip) * P + p], c = std::cos(th), s = std::sin(th);
        const int64_t i0 = (tok * H + h) * D + (half ? p : 2 * p), i1 = i0 + (half ? P : 1);
        const float u = ld(xp, t, i0), v = ld(xp, t, i1);
        st(yp, t, i0, u * c - v * s);
        st(yp, t, i1, u * s + v * c);
      }
  });
}

TESSERA_REGISTER_KERNEL("rope", "cpu", rope);

}  // namespace
}  // namespace tessera::cpu
