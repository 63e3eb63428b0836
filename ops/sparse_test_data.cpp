#include "ops/sparse_test_data.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <unordered_map>
#include <unordered_set>

namespace tessera::sparse_test {

// Packs (batch, x, y, z) with coordinates in [-2^15, 2^15) (the test grids are small).
static uint64_t key(const Coord& c) {
  return (uint64_t(uint16_t(c[0])) << 48) | (uint64_t(uint16_t(c[1])) << 32) | (uint64_t(uint16_t(c[2])) << 16) |
         uint64_t(uint16_t(c[3]));
}

std::vector<Coord> random_coords(std::mt19937_64& rng, int64_t n, int batches, double density) {
  std::vector<Coord> out;
  for (int b = 0; b < batches; ++b) {
    const int64_t nb = n / batches + (b < n % batches ? 1 : 0);
    const int32_t side = std::max<int32_t>(1, int32_t(std::ceil(std::cbrt(double(nb) / density))));
    std::uniform_int_distribution<int32_t> d(0, side - 1);
    std::unordered_set<uint64_t> seen;
    std::vector<Coord> v;
    while (int64_t(v.size()) < nb) {
      Coord c{b, d(rng), d(rng), d(rng)};
      if (seen.insert(key(c)).second) v.push_back(c);
    }
    std::shuffle(v.begin(), v.end(), rng);  // rows need not be spatially sorted
    out.insert(out.end(), v.begin(), v.end());
  }
  return out;
}

std::vector<int32_t> neighbour_map(const std::vector<Coord>& coords, int k) {
  std::unordered_map<uint64_t, int32_t> row;  // a plain host map: independent of any device hash table
  row.reserve(coords.size() * 2);
  for (size_t i = 0; i < coords.size(); ++i) row[key(coords[i])] = int32_t(i);
  const int K = k * k * k, h = k / 2;
  std::vector<int32_t> nbr(coords.size() * size_t(K), -1);
  for (size_t i = 0; i < coords.size(); ++i)
    for (int v = 0; v < K; ++v) {
      const Coord& c = coords[i];
      Coord q{c[0], c[1] + v / (k * k) - h, c[2] + (v / k) % k - h, c[3] + v % k - h};
      auto it = row.find(key(q));
      if (it != row.end()) nbr[i * size_t(K) + size_t(v)] = it->second;
    }
  return nbr;
}

std::vector<int32_t> sphere_shell(int64_t res, double radius, double half_width) {
  const double c = double(res) / 2, hi = radius + half_width;
  std::vector<int32_t> out;
  for (int64_t x = 0; x < res; ++x)
    for (int64_t y = 0; y < res; ++y) {
      const double dx = double(x) + 0.5 - c, dy = double(y) + 0.5 - c, dxy = dx * dx + dy * dy;
      if (dxy > hi * hi) continue;
      // |dz| <= sqrt(hi^2 - dxy): scan that range (+1 voxel), exact test per voxel.
      const double dz_hi = std::sqrt(hi * hi - dxy);
      const int64_t z0 = std::max<int64_t>(0, int64_t(std::floor(c - dz_hi - 1)));
      const int64_t z1 = std::min<int64_t>(res - 1, int64_t(std::ceil(c + dz_hi + 1)));
      for (int64_t z = z0; z <= z1; ++z) {
        const double dz = double(z) + 0.5 - c, d = std::sqrt(dxy + dz * dz);
        if (std::fabs(d - radius) <= half_width) out.insert(out.end(), {0, int32_t(x), int32_t(y), int32_t(z)});
      }
    }
  return out;
}

}  // namespace tessera::sparse_test
