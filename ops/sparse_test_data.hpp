// Host-side generators for the sparse ops' test cases (parity cases and
// gtests) and benchmark inputs: unique random voxel coordinates and the submanifold neighbour map
// built from them with a host std::unordered_map (independent of any device
// hash table). Coordinates must lie in [-2^15, 2^15).
#pragma once
#include <array>
#include <cstdint>
#include <random>
#include <vector>

namespace tessera::sparse_test {

using Coord = std::array<int32_t, 4>;  // (batch, x, y, z)

// n unique coordinates, batch-major sorted, spread over `batches` items, each
// item's voxels inside a cube of side ~ (n / batches / density)^(1/3).
std::vector<Coord> random_coords(std::mt19937_64& rng, int64_t n, int batches, double density);

// [n, k^3] neighbour map: entry v = a k^2 + b k + c is the row of the voxel at
// (x + a - k/2, y + b - k/2, z + c - k/2) in the same batch, or -1.
std::vector<int32_t> neighbour_map(const std::vector<Coord>& coords, int k);

// The voxels of a res^3 grid whose centre lies within half_width voxels of
// the sphere of `radius` voxels centred in the grid, as flat rows
// (0, x, y, z) in packed-key order. The sparse-conv benchmark input is
// (res, 0.4 res, 2); the TRELLIS.2 benchmark structure (32, 12.8, 0.5).
std::vector<int32_t> sphere_shell(int64_t res, double radius, double half_width);

}  // namespace tessera::sparse_test
