#include "core/sparse_tensor.hpp"

#include "core/error.hpp"

namespace tessera {

SparseTensor::SparseTensor(Tensor coords, Tensor feats, std::array<int32_t, 3> spatial)
    : coords_(std::move(coords)), feats_(std::move(feats)), spatial_(spatial) {
  TESSERA_CHECK(coords_.defined() && coords_.ndim() == 2 && coords_.dim(1) == 4 && coords_.dtype() == DType::i32,
                "SparseTensor: coords must be i32 [N, 4] (batch, x, y, z), got {}", coords_.desc());
  TESSERA_CHECK(!feats_.defined() || (feats_.ndim() == 2 && feats_.dim(0) == coords_.dim(0)),
                "SparseTensor: feats must be [N, C] with N = {} rows of coords, got {}", coords_.dim(0), feats_.desc());
  auto c = coords_.to_vector<int32_t>();
  int64_t n = coords_.dim(0);
  std::vector<int64_t> off{0};
  int32_t cur = 0;
  for (int64_t i = 0; i < n; ++i) {
    int32_t b = c[4 * i];
    TESSERA_CHECK(b >= cur, "SparseTensor: coords are not sorted by batch (row {} has batch {} after batch {})", i, b,
                  cur);
    for (int a = 0; a < 3; ++a)
      TESSERA_CHECK(c[4 * i + 1 + a] >= 0 && c[4 * i + 1 + a] < spatial_[a],
                    "SparseTensor: row {} coordinate {} is outside the spatial shape [{}, {}, {}]", i, c[4 * i + 1 + a],
                    spatial_[0], spatial_[1], spatial_[2]);
    while (cur < b) {
      off.push_back(i);
      cur++;
    }
  }
  off.push_back(n);
  shared_->offsets = off;
}

SparseTensor SparseTensor::with_feats(Tensor feats) const {
  TESSERA_CHECK(feats.ndim() == 2 && feats.dim(0) == num_voxels(),
                "SparseTensor::with_feats: expected [{}, C], got {}", num_voxels(), feats.desc());
  SparseTensor s = *this;
  s.feats_ = std::move(feats);
  return s;
}

std::shared_ptr<void> SparseTensor::cached(const std::string& key) const {
  std::lock_guard<std::mutex> lock(shared_->mu);
  auto it = shared_->cache.find(key);
  return it == shared_->cache.end() ? nullptr : it->second;
}

void SparseTensor::set_cached(const std::string& key, std::shared_ptr<void> value) const {
  std::lock_guard<std::mutex> lock(shared_->mu);
  shared_->cache[key] = std::move(value);
}

}  // namespace tessera
