// Sparse convolution benchmark (issue 5): a voxelised sphere shell (voxels
// whose centre lies within 2 voxels of the sphere of radius 0.4 res centred in
// the res^3 grid), rows in packed-key (x, y, z) order, f16 features, k = 3,
// submanifold, Cin = Cout = C, no bias. Times hash_build, neighbour_map,
// sparse_conv_order (once per map) and sparse_conv3d with the map and order
// reused; TFLOP/s = 2 active_pairs Cin Cout / time (active_pairs = map entries
// with a neighbour). Sampled rows are checked against float64.
#pragma once
#include <string>
#include <vector>

#include "core/device.hpp"
#include "core/dtype.hpp"

namespace tessera::bench {

struct SparseConvResult {
  std::string device, device_name, order;
  DType dtype;
  int64_t res, channels, voxels = 0, active_pairs = 0;
  double median_ms = 0, tflops = 0;
  double hash_ms = 0, hash_keys_per_s = 0, nbr_ms = 0, order_ms = 0;
  double nmse = -1;
};

// Sphere-shell coordinates (b = 0, x, y, z) in packed-key order.
std::vector<int32_t> sphere_shell_coords(int64_t res);

// order: "planned" (sparse_conv_order), "storage" (identity: tiles in storage order), "none" (op computes it per call)
SparseConvResult bench_sparse_conv(Device& dev, DType dtype, int64_t res, int64_t channels,
                                   const std::string& order = "planned", int samples = 7);
void print_sparse_conv_table(const std::vector<SparseConvResult>& rs, bool header = true);
void write_sparse_conv_csv(const std::vector<SparseConvResult>& rs, const std::string& path);

}  // namespace tessera::bench
