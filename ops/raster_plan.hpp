// Host-side planning shared by the GPU rasterizers (OpenCL, Vulkan): the
// triangles are split into batches whose (triangle, tile) entries fit a cap,
// so the per-tile lists stay bounded whatever the scene; the per-pixel best
// (depth, id) carries over from batch to batch.
#pragma once
#include <algorithm>
#include <cstdint>
#include <vector>

#include "core/tensor.hpp"

namespace tessera::raster_plan {

constexpr int kTile = 16;                   // tile side (pixels); resolve work-group = kTile^2
constexpr uint32_t kSegment = 8192;         // list entries per resolve dispatch (lavapipe's loop budget)
constexpr uint64_t kEntryCap = 8u << 20;    // entries per batch (32 MiB of list)

struct Batch {
  uint32_t f0 = 0, nb = 0;
  std::vector<uint32_t> off;  // nb + 1 exclusive prefix of tile counts
  uint32_t entries() const { return off.back(); }
};

inline std::vector<Batch> plan(const std::vector<uint32_t>& tri_tiles, uint64_t tiles) {
  const uint64_t cap = std::max<uint64_t>(kEntryCap, tiles);
  std::vector<Batch> bs;
  Batch b;
  b.off.push_back(0);
  for (size_t f = 0; f < tri_tiles.size(); ++f) {
    if (uint64_t(b.off.back()) + tri_tiles[f] > cap && b.nb > 0) {
      bs.push_back(b);
      b = Batch();
      b.f0 = uint32_t(f);
      b.off.push_back(0);
    }
    b.off.push_back(b.off.back() + tri_tiles[f]);
    b.nb++;
  }
  if (b.nb > 0 && b.entries() > 0) bs.push_back(b);
  bs.erase(std::remove_if(bs.begin(), bs.end(), [](const Batch& x) { return x.entries() == 0; }), bs.end());
  return bs;
}

// Exclusive prefix of per-tile counts; returns the largest count.
inline uint32_t tile_offsets(const std::vector<uint32_t>& cnt, std::vector<uint32_t>& off) {
  off.resize(cnt.size());
  uint32_t s = 0, mx = 0;
  for (size_t t = 0; t < cnt.size(); ++t) {
    off[t] = s;
    s += cnt[t];
    mx = std::max(mx, cnt[t]);
  }
  return mx;
}

// u32 scratch on the device (never empty), read back / uploaded by the host
// between the rasterizers' passes.
inline Tensor temp_u32(Device& d, int64_t n) { return Tensor::empty({std::max<int64_t>(n, 1)}, DType::i32, d); }
inline std::vector<uint32_t> read_u32(const Tensor& t, int64_t n) {
  std::vector<uint32_t> v(size_t(std::max<int64_t>(n, 1)));
  t.copy_to_host(v.data());
  v.resize(size_t(n));
  return v;
}
inline Tensor upload_u32(Device& d, const std::vector<uint32_t>& v) {
  return Tensor::from_host(v.data(), {int64_t(v.size())}, DType::i32, d);
}

}  // namespace tessera::raster_plan
