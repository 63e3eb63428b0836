// Caching allocator per device: freed buffers go back to a size-bucketed pool
// and are reused; current/peak/reserved bytes are tracked for benchmarks and
// out-of-memory messages.
#pragma once
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>

namespace tessera {

class Buffer;
class Device;

struct AllocatorStats {
  uint64_t in_use = 0;      // bytes held by live tensors
  uint64_t peak = 0;        // max of in_use since the last reset_peak()
  uint64_t reserved = 0;    // bytes obtained from the driver (in use + cached)
  uint64_t num_allocs = 0;  // driver allocations performed
  uint64_t cache_hits = 0;
};

class CachingAllocator {
 public:
  explicit CachingAllocator(Device& dev) : device_(dev) {}
  ~CachingAllocator();
  // Requests above the device's max_alloc_bytes become a SegmentedBuffer of
  // segments that are a multiple of row_bytes (and of 256 bytes); those are
  // not cached.
  std::shared_ptr<Buffer> allocate(size_t bytes, size_t row_bytes = 1);
  // Return every cached (unused) block to the driver.
  void empty_cache();
  AllocatorStats stats() const;
  void reset_peak();
  // Block sizes are rounded up so that similar requests share blocks.
  static size_t round_size(size_t bytes);

 private:
  void release(Buffer* b);
  std::unique_ptr<Buffer> raw_alloc_retry(size_t bytes);
  std::shared_ptr<Buffer> allocate_segmented(size_t bytes, size_t row_bytes, uint64_t limit);
  Device& device_;
  mutable std::mutex mu_;
  std::multimap<size_t, std::unique_ptr<Buffer>> free_;
  AllocatorStats stats_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace tessera
