#include "core/allocator.hpp"

#include "core/device.hpp"
#include "core/error.hpp"
#include "core/log.hpp"

namespace tessera {

CachingAllocator::~CachingAllocator() { *alive_ = false; }

size_t CachingAllocator::round_size(size_t bytes) {
  if (bytes == 0) bytes = 1;
  if (bytes <= (1u << 20)) return (bytes + 511) & ~size_t(511);        // 512 B granules up to 1 MiB
  return (bytes + (size_t(1) << 20) - 1) & ~((size_t(1) << 20) - 1);  // 1 MiB granules above
}

std::shared_ptr<Buffer> CachingAllocator::allocate(size_t bytes) {
  size_t want = round_size(bytes);
  std::unique_ptr<Buffer> block;
  {
    std::lock_guard<std::mutex> lock(mu_);
    // Reuse a cached block of the same size, or up to 2x larger.
    auto it = free_.lower_bound(want);
    if (it != free_.end() && it->first <= want * 2) {
      block = std::move(it->second);
      free_.erase(it);
      stats_.cache_hits++;
    }
  }
  if (!block) {
    try {
      block = device_.raw_alloc(want);
    } catch (const OutOfMemory&) {
      TLOG_INFO("{}: allocation of {} bytes failed, emptying cache and retrying", device_.id(), want);
      empty_cache();
      try {
        block = device_.raw_alloc(want);
      } catch (const OutOfMemory& e) {
        auto s = stats();
        throw OutOfMemory(fmt::format(
            "out of memory on {} allocating {:.1f} MiB (in use {:.1f} MiB, peak {:.1f} MiB, device {:.1f} MiB): {}. "
            "Free tensors, lower the resolution/batch, or pick a device with more memory.",
            device_.id(), want / 1048576.0, s.in_use / 1048576.0, s.peak / 1048576.0,
            device_.info().memory_bytes / 1048576.0, e.what()));
      }
    }
    std::lock_guard<std::mutex> lock(mu_);
    stats_.reserved += block->size();
    stats_.num_allocs++;
  }
  Buffer* raw = block.release();
  {
    std::lock_guard<std::mutex> lock(mu_);
    stats_.in_use += raw->size();
    if (stats_.in_use > stats_.peak) stats_.peak = stats_.in_use;
  }
  std::weak_ptr<bool> alive = alive_;
  return std::shared_ptr<Buffer>(raw, [this, alive](Buffer* b) {
    if (alive.expired() || !*alive.lock()) {
      delete b;
      return;
    }
    release(b);
  });
}

void CachingAllocator::release(Buffer* b) {
  std::lock_guard<std::mutex> lock(mu_);
  stats_.in_use -= b->size();
  free_.emplace(b->size(), std::unique_ptr<Buffer>(b));
}

void CachingAllocator::empty_cache() {
  std::multimap<size_t, std::unique_ptr<Buffer>> drop;
  {
    std::lock_guard<std::mutex> lock(mu_);
    drop.swap(free_);
    for (auto& kv : drop) stats_.reserved -= kv.first;
  }
  if (!drop.empty()) device_.synchronize();  // never free memory the device may still read
}

AllocatorStats CachingAllocator::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

void CachingAllocator::reset_peak() {
  std::lock_guard<std::mutex> lock(mu_);
  stats_.peak = stats_.in_use;
}

}  // namespace tessera
