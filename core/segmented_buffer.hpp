// A buffer larger than one driver allocation, made of equal segments.
//
// Drivers cap one allocation (maxMemoryAllocationSize, CL_DEVICE_MAX_MEM_ALLOC_SIZE:
// often 2 or 4 GiB, 1/4 of memory on others) and one shader binding
// (maxStorageBufferRange). The CachingAllocator builds a tensor larger than
// the allocation cap from segments of `segment_bytes`, a multiple of the
// tensor's row bytes (Tensor::empty passes them), so that row windows never
// straddle two segments. Transfers (upload/download/copy/fill) split at the
// segment boundaries; kernels never see a SegmentedBuffer: the dispatcher
// cuts splittable ops into row windows and hands each window to the kernel as
// a view of one segment (core/split_dispatch.hpp).
#pragma once
#include <functional>
#include <memory>
#include <vector>

#include "core/device.hpp"

namespace tessera {

class SegmentedBuffer : public Buffer {
 public:
  SegmentedBuffer(Device& dev, size_t bytes, size_t segment_bytes, std::vector<std::unique_ptr<Buffer>> segments);
  size_t segment_bytes() const { return segment_bytes_; }
  size_t segment_count() const { return segments_.size(); }
  Buffer& segment(size_t i) { return *segments_.at(i); }

  // Calls fn(segment, offset in the segment, bytes, offset from `offset`) for
  // each piece of [offset, offset + bytes), in order.
  void for_each_piece(size_t offset, size_t bytes,
                      const std::function<void(Buffer&, size_t, size_t, size_t)>& fn);

 private:
  size_t segment_bytes_;
  std::vector<std::unique_ptr<Buffer>> segments_;
};

// nullptr unless b is segmented.
SegmentedBuffer* as_segmented(Buffer& b);
const SegmentedBuffer* as_segmented(const Buffer& b);

// Splits a copy of `bytes` from (src, so) to (dst, doff) into pieces that lie
// within one segment of each side (a plain buffer is one segment) and calls
// fn(src piece buffer, offset, dst piece buffer, offset, bytes) for each.
void for_each_copy_piece(Buffer& src, size_t so, Buffer& dst, size_t doff, size_t bytes,
                         const std::function<void(Buffer&, size_t, Buffer&, size_t, size_t)>& fn);

// Device transfers on segmented buffers, piece by piece through the device's
// own upload / download / copy / fill on the segments (backends call these
// first thing when a buffer is segmented).
void upload_segments(Device& dev, SegmentedBuffer& dst, size_t off, const void* src, size_t bytes);
void download_segments(Device& dev, SegmentedBuffer& src, size_t off, void* dst, size_t bytes);
void copy_segments(Device& dev, Buffer& src, size_t so, Buffer& dst, size_t doff, size_t bytes);
// The 32-bit pattern keeps its phase relative to `off` across pieces.
void fill_segments(Device& dev, SegmentedBuffer& dst, size_t off, size_t bytes, uint32_t pattern);

// The segment holding bytes [offset, offset + bytes) of `buf` as a buffer of its
// own (sharing ownership with `buf`), and the offset inside it; `buf` itself
// when it is not segmented. Throws Error when the range straddles segments.
std::pair<std::shared_ptr<Buffer>, size_t> segment_for(const std::shared_ptr<Buffer>& buf, size_t offset,
                                                       size_t bytes);

}  // namespace tessera
