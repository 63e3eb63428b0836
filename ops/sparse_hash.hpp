// Voxel hash map, neighbour (kernel) maps and coordinate utilities for sparse
// tensors (docs/sparse-hash.md has the full contract). Coordinates are i32
// [N, 4] rows (b, x, y, z) on a grid of B batches x W x H x D (attrs "shape" =
// [W, H, D], "batch" = B); the packed key of a row is b·W·H·D + x·H·D + y·D + z
// (B·W·H·D <= 2^53).
//
// Registered ops (all integer outputs, exact):
//   hash_build(coords [N,4]) -> keys i64 [cap], vals i32 [cap]
//       attrs shape, batch, capacity (0: ceil(N / load_factor) when the attr
//       load_factor in (0, 1] is given, else 2N). Open addressing, linear
//       probing from murmur3-finaliser(key) % cap (32-bit finaliser when
//       B·W·H·D <= 2^32, else 64-bit). Empty slot = (-1, -1). A duplicate key
//       stores its smallest row. Table full (more distinct keys than cap) or a
//       coordinate outside the grid: tessera::Error. The slot layout depends
//       on the insertion order (checked with OpDef::check, not slot by slot).
//   hash_probe(keys, vals, queries [M,4]) -> i32 [M]: row or -1 (missing or
//       outside the grid). attrs shape, batch.
//   neighbour_map(coords [N,4], keys, vals) -> i32 [N, k^3]: submanifold map,
//       entry v = a·k² + b·k + c is the row at (x + (a-k/2)·d, y + (b-k/2)·d,
//       z + (c-k/2)·d) in the same batch, or -1; the centre v = (k³-1)/2 is the
//       row itself. attrs shape, batch, kernel_size k (odd >= 1), dilation d >= 1.
//   sparse_unique(coords [N,4]) -> unique [N,4], inverse i32 [N], count i32 [1]:
//       the distinct rows sorted by packed key in rows [0, count), rows
//       [count, N) = -1; unique[inverse[i]] == coords[i]. attrs shape, batch.
//   sparse_downsample_coords(coords [N,4]) -> parent [N,4], inverse [N],
//       subidx [N], count [1]: as sparse_unique of (b, x/f, y/f, z/f) on the
//       grid ceil([W,H,D]/f); subidx = x%f + (y%f)·f + (z%f)·f² (TRELLIS.2
//       SparseSpatial2Channel). attrs shape, batch, factor f (default 2).
//   occupancy_to_coords(grid [B,1,X,Y,Z] float) -> coords [B·X·Y·Z, 4],
//       count [1]: rows (b, x, y, z) of the cells > threshold in row-major
//       (= packed key) order, as torch.argwhere; rows [count, ..) = -1.
//       attr threshold (default 0).
//   batch_offsets(coords [N,4]) -> i32 [B+1]: offsets[b] = number of rows
//       with batch < b (the row ranges of a batch-sorted set). attr batch; a
//       batch outside [0, B) is an Error.
#pragma once
#include <array>
#include <memory>

#include "core/sparse_tensor.hpp"
#include "core/tensor.hpp"
#include "ops/sparse_hash_math.hpp"

namespace tessera::ops {

struct HashTable {
  Tensor keys;  // i64 [cap], -1 = empty
  Tensor vals;  // i32 [cap], -1 = empty
  sparse::Grid grid;
  int64_t capacity() const { return keys.defined() ? keys.dim(0) : 0; }
};

// shape = {W, H, D}; capacity 0 = 2N.
HashTable hash_build(const Tensor& coords, std::array<int64_t, 3> shape, int64_t batch, int64_t capacity = 0);
Tensor hash_probe(const HashTable& table, const Tensor& queries);
Tensor neighbour_map(const Tensor& coords, const HashTable& table, int64_t kernel_size = 3, int64_t dilation = 1);

struct UniqueCoords {
  Tensor coords;   // i32 [count, 4], sorted by packed key
  Tensor inverse;  // i32 [N]: row of each input row in `coords`
  Tensor subidx;   // i32 [N] (sparse_downsample_coords only)
  int64_t count = 0;
};
UniqueCoords sparse_unique(const Tensor& coords, std::array<int64_t, 3> shape, int64_t batch);
UniqueCoords sparse_downsample_coords(const Tensor& coords, std::array<int64_t, 3> shape, int64_t batch,
                                      int64_t factor = 2);
// [count, 4] i32 coordinates of grid > threshold (grid [B, 1, X, Y, Z]).
Tensor occupancy_to_coords(const Tensor& grid, double threshold = 0.0);
Tensor batch_offsets(const Tensor& coords, int64_t batch);

// Convenience layer on a SparseTensor: built once per coordinate set and
// cached on it (keys "hash", "nbr:k<k>:d<d>", "down:f<f>"), shared by every layer made
// with with_feats(). The grid is (batch_size, spatial_shape).
std::shared_ptr<const HashTable> sparse_hash(const SparseTensor& x);
Tensor sparse_neighbour_map(const SparseTensor& x, int64_t kernel_size = 3, int64_t dilation = 1);
// Parent coordinates of the space -> channel downsample (sparse_downsample_coords
// on x's grid), cached under "down:f<factor>".
std::shared_ptr<const UniqueCoords> sparse_downsample(const SparseTensor& x, int64_t factor = 2);

}  // namespace tessera::ops
