// References of the voxel hash map and coordinate utilities (ops/sparse_hash.hpp),
// plus the sequential host table the parity generators and checks use.
#pragma once
#include <string>
#include <vector>

#include "ops/reference/reference.hpp"
#include "ops/sparse_hash_math.hpp"

namespace tessera::ref {

// Grid from attrs "shape" = [W, H, D] and "batch" = B.
sparse::Grid grid_of(const Attrs& a);

// Sequential linear-probing build: rows inserted in order 0..N-1, a duplicate
// key keeps its first (= smallest) row. Returns the status bits
// (sparse::kStatusFull / kStatusBadCoord); the table is valid only when 0.
int32_t host_hash_build(const std::vector<int32_t>& coords, const sparse::Grid& g, int64_t cap,
                        std::vector<int64_t>& keys, std::vector<int32_t>& vals);
// Row of `key` (-1 when missing or key < 0); at most cap probes.
int32_t host_hash_probe(const std::vector<int64_t>& keys, const std::vector<int32_t>& vals, const sparse::Grid& g,
                        int64_t key);
// "" when (keys, vals) is a valid table of `coords` (every stored key is an
// input key with the smallest row of that key as value, every distinct input
// key stored once and reachable from its home slot before an empty slot,
// empty slots are (-1, -1)), else what is wrong.
std::string check_hash_table(const std::vector<int32_t>& coords, const sparse::Grid& g,
                             const std::vector<int64_t>& keys, const std::vector<int32_t>& vals);

void hash_build(const Ins& in, Outs& out, const Attrs& a);
void hash_probe(const Ins& in, Outs& out, const Attrs& a);
void neighbour_map(const Ins& in, Outs& out, const Attrs& a);
void sparse_unique(const Ins& in, Outs& out, const Attrs& a);
void sparse_downsample_coords(const Ins& in, Outs& out, const Attrs& a);
void occupancy_to_coords(const Ins& in, Outs& out, const Attrs& a);
void batch_offsets(const Ins& in, Outs& out, const Attrs& a);

}  // namespace tessera::ref
