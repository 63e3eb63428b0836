// Shared scalar definitions of the voxel hash map (docs/sparse-hash.md):
// key packing, the murmur3 finalisers and the slot of a key. The reference,
// the CPU backend and the C++ convenience layer use these; the OpenCL and
// Vulkan kernels repeat them (kernels/sparse_hash.cl, shaders/sparse_hash.comp).
#pragma once
#include <cmath>
#include <cstdint>
#include <string>

namespace tessera::sparse {

inline constexpr int64_t kEmptyKey = -1;  // keys[slot] of an empty slot
inline constexpr int32_t kEmptyVal = -1;  // vals[slot] of an empty slot / "missing"
// Largest B·W·H·D accepted: packed keys stay exact in float64 (the reference harness).
inline constexpr int64_t kMaxKeySpace = int64_t(1) << 53;

// Status bits written by the device builds (read back by the host).
inline constexpr int32_t kStatusFull = 1;      // a key found no free slot within `capacity` probes
inline constexpr int32_t kStatusBadCoord = 2;  // a coordinate outside [0,B) x [0,W) x [0,H) x [0,D)
// A probe loop stopped before its bound without finishing: CPU Vulkan
// implementations (lavapipe) cut shader loops after 65,535 iterations.
inline constexpr int32_t kStatusLoopLimit = 4;

struct Grid {
  int64_t B = 1, W = 1, H = 1, D = 1;  // batch count, extents of coords[:,1], [:,2], [:,3]
  int64_t space() const { return B * W * H * D; }
  // The 32-bit hash is used when every key fits in 32 bits (as FlexGEMM / o_voxel).
  bool small() const { return space() <= (int64_t(1) << 32); }
  bool inside(int64_t b, int64_t x, int64_t y, int64_t z) const {
    return b >= 0 && b < B && x >= 0 && x < W && y >= 0 && y < H && z >= 0 && z < D;
  }
  // b·W·H·D + x·H·D + y·D + z, or -1 when outside the grid.
  int64_t pack(int64_t b, int64_t x, int64_t y, int64_t z) const {
    return inside(b, x, y, z) ? ((b * W + x) * H + y) * D + z : -1;
  }
  void unpack(int64_t k, int32_t* c) const {
    c[3] = int32_t(k % D);
    k /= D;
    c[2] = int32_t(k % H);
    k /= H;
    c[1] = int32_t(k % W);
    c[0] = int32_t(k / W);
  }
};

inline uint32_t fmix32(uint32_t k) {
  k ^= k >> 16;
  k *= 0x85ebca6bu;
  k ^= k >> 13;
  k *= 0xc2b2ae35u;
  k ^= k >> 16;
  return k;
}
inline uint64_t fmix64(uint64_t k) {
  k ^= k >> 33;
  k *= 0xff51afd7ed558ccdull;
  k ^= k >> 33;
  k *= 0xc4ceb9fe1a85ec53ull;
  k ^= k >> 33;
  return k;
}
// Home slot of a (non-negative) key in a table of `cap` slots.
inline int64_t home_slot(int64_t key, bool small, int64_t cap) {
  return small ? int64_t(fmix32(uint32_t(key)) % uint64_t(cap)) : int64_t(fmix64(uint64_t(key)) % uint64_t(cap));
}

// The f32 threshold t with (x > t) == (double(x) > thr) for every f32 x:
// thr rounded toward -inf (kernels compare in f32).
inline float threshold_f32(double thr) {
  float t = float(thr);
  if (double(t) > thr) t = std::nextafter(t, -INFINITY);
  return t;
}

// Error text for device status bits (empty when status == 0).
inline std::string status_message(const char* op, const std::string& backend, int32_t status, int64_t rows,
                                  int64_t capacity, const Grid& g) {
  std::string m;
  const std::string where = std::string("op '") + op + "' (" + backend + "): ";
  if (status & kStatusBadCoord)
    m += where + "a coordinate row lies outside the grid (batch " + std::to_string(g.B) + ", shape [" +
         std::to_string(g.W) + ", " + std::to_string(g.H) + ", " + std::to_string(g.D) + "]) among " +
         std::to_string(rows) + " rows. ";
  if (status & kStatusFull)
    m += where + "hash table full: " + std::to_string(rows) + " rows have more distinct keys than capacity " +
         std::to_string(capacity) + " (use a larger capacity, e.g. 2N). ";
  if (status & kStatusLoopLimit)
    m += where + "a probe loop was cut short by the implementation's shader loop limit (CPU Vulkan implementations "
         "stop a loop after 65,535 iterations): the table is too full for this device; use a lower load factor "
         "or another backend. ";
  if (status & ~(kStatusBadCoord | kStatusFull | kStatusLoopLimit)) m += where + "unexpected device status " + std::to_string(status);
  return m;
}

}  // namespace tessera::sparse
