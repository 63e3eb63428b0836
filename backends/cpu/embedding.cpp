// CPU timestep_embedding and gather.
#include <cmath>
#include <cstring>

#include <tbb/parallel_for.h>

#include "backends/cpu/cpu_device.hpp"
#include "core/op_registry.hpp"

namespace tessera::cpu {
namespace {

void timestep_embedding(Device&, OpArgs& a) {
  const int64_t dim = a.attrs.get_int("dim", 256), half = dim / 2, B = a.in[0].dim(0);
  const float lmp = float(std::log(a.attrs.get_float("max_period", 10000.0)));
  const float* t = data<float>(a.in[0]);
  float* o = data<float>(a.out[0]);
  for (int64_t b = 0; b < B; ++b) {
    for (int64_t k = 0; k < half; ++k) {
      const float f = std::exp(-lmp * float(k) / float(half));
      const float arg = t[b] * f;
      o[b * dim + k] = std::cos(arg);
      o[b * dim + half + k] = std::sin(arg);
    }
    if (dim % 2) o[b * dim + dim - 1] = 0.f;
  }
}

void gather(Device&, OpArgs& a) {
  const Tensor &tab = a.in[0], &idx = a.in[1];
  const int64_t V = tab.dim(0), N = idx.dim(0);
  const size_t row = size_t(tab.dim(1)) * dtype_size(tab.dtype());
  const char* src = data<char>(tab);
  char* dst = data<char>(a.out[0]);
  tbb::parallel_for(int64_t(0), N, [&](int64_t n) {
    int64_t r = idx.dtype() == DType::i64 ? data<int64_t>(idx)[n] : data<int32_t>(idx)[n];
    if (r >= 0 && r < V) std::memcpy(dst + n * row, src + r * row, row);
    else std::memset(dst + n * row, 0, row);
  });
}

TESSERA_REGISTER_KERNEL("timestep_embedding", "cpu", timestep_embedding);
TESSERA_REGISTER_KERNEL("gather", "cpu", gather);

}  // namespace
}  // namespace tessera::cpu
