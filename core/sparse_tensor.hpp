// SparseTensor: active voxels of a batch of grids. coords is int32 [N, 4] =
// (batch, x, y, z), rows of one batch item contiguous and batches in
// increasing order; feats is [N, C]. Derived structures (hash tables,
// neighbour maps) are cached on the coordinate set and shared by every
// SparseTensor made with with_feats(), i.e. every layer on the same coords.
#pragma once
#include <array>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/tensor.hpp"

namespace tessera {

class SparseTensor {
 public:
  SparseTensor() = default;
  // Validates coords (shape, dtype, batch order, coordinates inside the
  // spatial shape) on the host; batch offsets are computed here.
  SparseTensor(Tensor coords, Tensor feats, std::array<int32_t, 3> spatial_shape);

  const Tensor& coords() const { return coords_; }
  const Tensor& feats() const { return feats_; }
  const std::array<int32_t, 3>& spatial_shape() const { return spatial_; }
  int64_t num_voxels() const { return coords_.defined() ? coords_.dim(0) : 0; }
  int64_t channels() const { return feats_.defined() ? feats_.dim(1) : 0; }
  int batch_size() const { return int(shared_->offsets.size()) - 1; }
  // Row offsets per batch item: batch b owns rows [offsets[b], offsets[b+1]).
  const std::vector<int64_t>& batch_offsets() const { return shared_->offsets; }

  // Same coordinates (and cache), new features (e.g. the output of a layer).
  SparseTensor with_feats(Tensor feats) const;

  // Cache of derived structures keyed by what produced them
  // (e.g. "hash", "nbr:k3:d1"). Thread-safe.
  std::shared_ptr<void> cached(const std::string& key) const;
  void set_cached(const std::string& key, std::shared_ptr<void> value) const;

 private:
  struct Shared {
    std::vector<int64_t> offsets{0};
    std::mutex mu;
    std::map<std::string, std::shared_ptr<void>> cache;
  };
  Tensor coords_, feats_;
  std::array<int32_t, 3> spatial_{0, 0, 0};
  std::shared_ptr<Shared> shared_ = std::make_shared<Shared>();
};

}  // namespace tessera
