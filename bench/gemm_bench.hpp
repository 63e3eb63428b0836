// GEMM benchmark: time `linear` (y = x·wᵀ) per backend, dtype and size, and
// print time, TFLOP/s and GB/s (bytes = inputs read once + output written once).
#pragma once
#include <string>
#include <vector>

#include "core/device.hpp"
#include "core/dtype.hpp"

namespace tessera::bench {

struct GemmShape {
  int64_t m, n, k;
};

struct GemmResult {
  std::string device, device_name;
  DType dtype;
  GemmShape shape;
  double median_ms = 0, tflops = 0, gbps = 0;
  double nmse = -1;  // correctness pre-check vs the float64 reference on a sampled block (-1: skipped)
  uint64_t driver_allocs = 0;  // allocator misses (driver allocations) inside the timed loop
};

// Each timed sample runs `reps` GEMMs back to back (rotating over 3 input sets
// so caches do not flatter the result) and synchronises once.
GemmResult bench_gemm(Device& dev, DType dtype, GemmShape s, int samples = 7, int reps = 0);

void print_gemm_table(const std::vector<GemmResult>& rs, bool header = true);
void write_gemm_csv(const std::vector<GemmResult>& rs, const std::string& path);

}  // namespace tessera::bench
