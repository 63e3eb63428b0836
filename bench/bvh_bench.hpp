// BVH benchmark: bvh_build time for a jittered sphere of ~F triangles and
// closest-point throughput (bvh_query) for P points near its surface (radius
// 0.9..1.1), per backend; 32 sampled queries are checked against brute force.
#pragma once
#include <string>
#include <vector>

#include "core/device.hpp"

namespace tessera::bench {

struct BvhResult {
  std::string device, device_name;
  int64_t faces = 0, points = 0;
  int depth = 0;
  double build_ms = 0, query_ms = 0, mqueries_per_s = 0;
  std::string check;  // "ok" or what the brute-force check found
};

BvhResult bench_bvh(Device& dev, int64_t faces, int64_t points, int samples = 3);
void print_bvh_table(const std::vector<BvhResult>& rs, bool header = true);
void write_bvh_csv(const std::vector<BvhResult>& rs, const std::string& path);

}  // namespace tessera::bench
