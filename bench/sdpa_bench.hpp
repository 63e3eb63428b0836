// SDPA benchmark: time `sdpa` (varlen layout, one sequence of N tokens) per
// backend, dtype, N, heads and head dim; FLOPs counted as 4 N^2 d heads
// (the convention of the FlashAttention papers), no causal mask.
#pragma once
#include <string>
#include <vector>

#include "core/device.hpp"
#include "core/dtype.hpp"

namespace tessera::bench {

struct SdpaResult {
  std::string device, device_name;
  DType dtype;
  int64_t n, heads, head_dim;
  double median_ms = 0, tflops = 0;
  double peak_mib = 0;  // device allocator peak during the run
  double nmse = -1;     // sampled rows vs the float64 reference
};

SdpaResult bench_sdpa(Device& dev, DType dtype, int64_t n, int64_t heads, int64_t head_dim, int samples = 5);
void print_sdpa_table(const std::vector<SdpaResult>& rs, bool header = true);
void write_sdpa_csv(const std::vector<SdpaResult>& rs, const std::string& path);

}  // namespace tessera::bench
