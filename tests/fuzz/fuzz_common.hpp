// Shared by the fuzz targets: a host-memory Device (no backend needed) and the
// one-line-error check (a tessera::Error message with a newline is a bug).
#pragma once
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

#include "core/device.hpp"
#include "core/error.hpp"
#include "core/log.hpp"

namespace tessera::fuzz {

class HostBuffer : public Buffer {
 public:
  HostBuffer(Device& d, size_t n) : Buffer(d, n), mem_(new uint8_t[n ? n : 1]) {}
  void* host_ptr() override { return mem_.get(); }

 private:
  std::unique_ptr<uint8_t[]> mem_;
};

class HostDevice : public Device {
 public:
  HostDevice() : Device("fuzzhost", 0) {
    info_.backend = "fuzzhost";
    info_.name = "fuzz host memory";
  }
  const DeviceInfo& info() const override { return info_; }
  void upload(Buffer& dst, size_t off, const void* src, size_t n) override {
    check(dst, off, n);
    if (n) std::memcpy(static_cast<uint8_t*>(dst.host_ptr()) + off, src, n);
  }
  void download(Buffer& src, size_t off, void* dst, size_t n) override {
    check(src, off, n);
    if (n) std::memcpy(dst, static_cast<uint8_t*>(src.host_ptr()) + off, n);
  }
  void copy(Buffer& s, size_t so, Buffer& d, size_t doff, size_t n) override {
    check(s, so, n);
    check(d, doff, n);
    if (n) std::memmove(static_cast<uint8_t*>(d.host_ptr()) + doff, static_cast<uint8_t*>(s.host_ptr()) + so, n);
  }
  void fill(Buffer& d, size_t off, size_t n, uint32_t pattern) override {
    check(d, off, n);
    for (size_t i = 0; i + 4 <= n; i += 4) std::memcpy(static_cast<uint8_t*>(d.host_ptr()) + off + i, &pattern, 4);
  }
  void synchronize() override {}
  std::unique_ptr<Buffer> raw_alloc(size_t n) override { return std::make_unique<HostBuffer>(*this, n); }

 private:
  static void check(Buffer& b, size_t off, size_t n) {
    if (off > b.size() || n > b.size() - off) {
      std::fprintf(stderr, "out-of-range device access: offset %zu + %zu > %zu\n", off, n, b.size());
      std::abort();
    }
  }
  DeviceInfo info_;
};

inline HostDevice& host_device() {
  static HostDevice* d = new HostDevice();
  return *d;
}

// A tessera::Error must be one line: anything else is a finding.
inline void check_error(const Error& e) {
  if (std::strchr(e.what(), '\n')) {
    std::fprintf(stderr, "multi-line error message: %s\n", e.what());
    std::abort();
  }
}

inline void quiet_logs() { log().set_level(spdlog::level::off); }

}  // namespace tessera::fuzz
