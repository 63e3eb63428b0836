#include "core/allocator.hpp"

#include "core/device.hpp"
#include "core/error.hpp"
#include "core/log.hpp"
#include "core/segmented_buffer.hpp"

#include <algorithm>
#include <numeric>

namespace tessera {

CachingAllocator::~CachingAllocator() { *alive_ = false; }

size_t CachingAllocator::round_size(size_t bytes) {
  if (bytes == 0) bytes = 1;
  if (bytes <= (1u << 20)) return (bytes + 511) & ~size_t(511);        // 512 B granules up to 1 MiB
  return (bytes + (size_t(1) << 20) - 1) & ~((size_t(1) << 20) - 1);  // 1 MiB granules above
}

std::unique_ptr<Buffer> CachingAllocator::raw_alloc_retry(size_t want) {
  try {
    return device_.raw_alloc(want);
  } catch (const OutOfMemory&) {
    TLOG_INFO("{}: allocation of {} bytes failed, emptying cache and retrying", device_.id(), want);
    empty_cache();
    try {
      return device_.raw_alloc(want);
    } catch (const OutOfMemory& e) {
      auto s = stats();
      throw OutOfMemory(fmt::format(
          "out of memory on {} allocating {:.1f} MiB (in use {:.1f} MiB, peak {:.1f} MiB, device {:.1f} MiB): {}. "
          "Free tensors, lower the resolution/batch, or pick a device with more memory.",
          device_.id(), want / 1048576.0, s.in_use / 1048576.0, s.peak / 1048576.0,
          device_.info().memory_bytes / 1048576.0, e.what()));
    }
  }
}

std::shared_ptr<Buffer> CachingAllocator::allocate(size_t bytes, size_t row_bytes) {
  const uint64_t limit = device_.info().max_alloc_bytes;
  // The CPU backend's kernels address host memory directly: never segmented.
  if (limit > 0 && bytes > limit && device_.backend() != "cpu") return allocate_segmented(bytes, row_bytes, limit);
  size_t want = round_size(bytes);
  if (limit > 0 && want > limit) want = size_t(limit);
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
    block = raw_alloc_retry(want);
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

std::shared_ptr<Buffer> CachingAllocator::allocate_segmented(size_t bytes, size_t row_bytes, uint64_t limit) {
  // Segments are a multiple of the row (so row windows never straddle two)
  // and of 256 bytes (every binding-offset alignment a driver asks for).
  const size_t unit = std::lcm(std::max<size_t>(row_bytes, 1), size_t(256));
  const size_t seg = size_t(limit / unit * unit);
  TESSERA_CHECK(seg > 0,
                "{}: a tensor of {:.1f} MiB exceeds one allocation ({:.1f} MiB) and its rows of {} bytes cannot be "
                "split into segments that fit one",
                device_.id(), bytes / 1048576.0, limit / 1048576.0, row_bytes);
  bytes = (bytes + 255) & ~size_t(255);  // whole 32-bit words for fills (seg is a multiple of 256)
  // Drivers on host memory (lavapipe, PoCL) overcommit: refuse past the device's memory up front.
  const uint64_t mem = device_.info().memory_bytes;
  if (mem && bytes > mem)
    throw OutOfMemory(fmt::format("out of memory on {}: a tensor of {:.1f} MiB exceeds the device's memory ({:.1f} MiB)",
                                  device_.id(), bytes / 1048576.0, mem / 1048576.0));
  std::vector<std::unique_ptr<Buffer>> parts;
  for (size_t at = 0; at < bytes; at += seg) parts.push_back(raw_alloc_retry(std::min(seg, bytes - at)));
  auto* raw = new SegmentedBuffer(device_, bytes, seg, std::move(parts));
  {
    std::lock_guard<std::mutex> lock(mu_);
    stats_.reserved += bytes;
    stats_.num_allocs++;
    stats_.in_use += bytes;
    if (stats_.in_use > stats_.peak) stats_.peak = stats_.in_use;
  }
  TLOG_DEBUG("{}: {:.1f} MiB in {} segments of {:.1f} MiB (allocation limit {:.1f} MiB)", device_.id(),
             bytes / 1048576.0, raw->segment_count(), seg / 1048576.0, limit / 1048576.0);
  std::weak_ptr<bool> alive = alive_;
  return std::shared_ptr<Buffer>(raw, [this, alive](Buffer* b) {
    if (!alive.expired() && *alive.lock()) {
      std::lock_guard<std::mutex> lock(mu_);
      stats_.in_use -= b->size();
      stats_.reserved -= b->size();
    }
    delete b;
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
