// Rasterizer throughput: `tessera bench raster`. A random soup of small
// triangles (clip space, w in [0.5, 2], about `tri_px` pixels each) is
// rasterized at size x size; reports triangles per second and pixels per second
// (median of the timed runs, after one warm-up that also compiles kernels).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/device.hpp"

namespace tessera::bench {

struct RasterResult {
  std::string device;
  int64_t size = 0, triangles = 0;
  double seconds = 0;  // median
  double covered = 0;  // fraction of pixels covered
};

RasterResult bench_raster(Device& dev, int64_t size, int64_t triangles, double tri_px, int runs = 5);
void print_raster_table(const std::vector<RasterResult>& rs, bool header = true);

}  // namespace tessera::bench
