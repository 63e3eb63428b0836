#include <vector>

#include "backends/cpu/cpu_device.hpp"
#include "core/op_registry.hpp"

namespace tessera::cpu {
namespace {

// Goes through f32 in blocks: f16 -> f32 and bf16 -> f32 are exact, so the
// only rounding is the final one (f32 -> f16 / bf16, nearest even).
void cast(Device&, OpArgs& a) {
  const Tensor& x = a.in[0];
  Tensor& y = a.out[0];
  const int64_t n = x.numel();
  const int64_t block = 1 << 20;
  std::vector<float> tmp(size_t(std::min(n, block)));
  for (int64_t s = 0; s < n; s += block) {
    int64_t m = std::min(block, n - s);
    to_f32(data<char>(x) + s * dtype_size(x.dtype()), x.dtype(), tmp.data(), m);
    from_f32(tmp.data(), data<char>(y) + s * dtype_size(y.dtype()), y.dtype(), m);
  }
}

TESSERA_REGISTER_KERNEL("cast", "cpu", cast);

}  // namespace
}  // namespace tessera::cpu
