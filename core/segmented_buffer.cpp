#include "core/segmented_buffer.hpp"

#include <algorithm>

#include "core/error.hpp"

namespace tessera {

SegmentedBuffer::SegmentedBuffer(Device& dev, size_t bytes, size_t segment_bytes,
                                 std::vector<std::unique_ptr<Buffer>> segments)
    : Buffer(dev, bytes), segment_bytes_(segment_bytes), segments_(std::move(segments)) {
  TESSERA_CHECK(segment_bytes_ > 0 && !segments_.empty(), "segmented buffer without segments");
}

void SegmentedBuffer::for_each_piece(size_t offset, size_t bytes,
                                     const std::function<void(Buffer&, size_t, size_t, size_t)>& fn) {
  TESSERA_CHECK(offset + bytes <= size(), "range [{}, {}) outside a segmented buffer of {} bytes", offset,
                offset + bytes, size());
  size_t done = 0;
  while (done < bytes) {
    const size_t at = offset + done;
    const size_t seg = at / segment_bytes_, local = at % segment_bytes_;
    const size_t n = std::min(bytes - done, segment_bytes_ - local);
    fn(*segments_.at(seg), local, n, done);
    done += n;
  }
}

SegmentedBuffer* as_segmented(Buffer& b) { return dynamic_cast<SegmentedBuffer*>(&b); }
const SegmentedBuffer* as_segmented(const Buffer& b) { return dynamic_cast<const SegmentedBuffer*>(&b); }

namespace {
// The piece of `b` at `off`: the buffer, the offset in it, the bytes left in it.
struct Piece {
  Buffer* buf;
  size_t off, left;
};
Piece piece_at(Buffer& b, size_t off) {
  if (auto* s = as_segmented(b)) {
    const size_t seg = off / s->segment_bytes(), local = off % s->segment_bytes();
    return {&s->segment(seg), local, s->segment_bytes() - local};
  }
  return {&b, off, SIZE_MAX};
}
}  // namespace

void for_each_copy_piece(Buffer& src, size_t so, Buffer& dst, size_t doff, size_t bytes,
                         const std::function<void(Buffer&, size_t, Buffer&, size_t, size_t)>& fn) {
  size_t done = 0;
  while (done < bytes) {
    Piece a = piece_at(src, so + done), b = piece_at(dst, doff + done);
    const size_t n = std::min({bytes - done, a.left, b.left});
    fn(*a.buf, a.off, *b.buf, b.off, n);
    done += n;
  }
}

void upload_segments(Device& dev, SegmentedBuffer& dst, size_t off, const void* src, size_t bytes) {
  dst.for_each_piece(off, bytes, [&](Buffer& b, size_t o, size_t n, size_t done) {
    dev.upload(b, o, static_cast<const char*>(src) + done, n);
  });
}

void download_segments(Device& dev, SegmentedBuffer& src, size_t off, void* dst, size_t bytes) {
  src.for_each_piece(off, bytes, [&](Buffer& b, size_t o, size_t n, size_t done) {
    dev.download(b, o, static_cast<char*>(dst) + done, n);
  });
}

void copy_segments(Device& dev, Buffer& src, size_t so, Buffer& dst, size_t doff, size_t bytes) {
  // Overlapping ranges of one segmented buffer would need memmove order; no
  // caller copies within one tensor.
  TESSERA_CHECK(&src != &dst || so + bytes <= doff || doff + bytes <= so,
                "overlapping copy within a segmented buffer ([{}, {}) to [{}, {}))", so, so + bytes, doff,
                doff + bytes);
  for_each_copy_piece(src, so, dst, doff, bytes,
                      [&](Buffer& a, size_t ao, Buffer& b, size_t bo, size_t n) { dev.copy(a, ao, b, bo, n); });
}

void fill_segments(Device& dev, SegmentedBuffer& dst, size_t off, size_t bytes, uint32_t pattern) {
  dst.for_each_piece(off, bytes, [&](Buffer& b, size_t o, size_t n, size_t done) {
    const unsigned r = unsigned(done % 4) * 8;  // byte phase of the pattern at this piece
    const uint32_t p = r ? (pattern >> r) | (pattern << (32 - r)) : pattern;
    if (o % 4 == 0 && n % 4 == 0) {
      dev.fill(b, o, n, p);
      return;
    }
    std::vector<unsigned char> host(n);
    for (size_t i = 0; i < n; ++i) host[i] = (unsigned char)(p >> (8 * (i % 4)));
    dev.upload(b, o, host.data(), n);
  });
}

std::pair<std::shared_ptr<Buffer>, size_t> segment_for(const std::shared_ptr<Buffer>& buf, size_t offset,
                                                       size_t bytes) {
  auto* s = as_segmented(*buf);
  if (!s) return {buf, offset};
  const size_t seg = offset / s->segment_bytes(), local = offset % s->segment_bytes();
  TESSERA_CHECK(local + bytes <= s->segment_bytes() || bytes == 0,
                "bytes [{}, {}) straddle two segments of {} bytes of a buffer split for the device's allocation "
                "limit",
                offset, offset + bytes, s->segment_bytes());
  // Aliasing constructor: the segment keeps the whole segmented buffer alive.
  return {std::shared_ptr<Buffer>(buf, &s->segment(seg)), local};
}

}  // namespace tessera
