#include "backends/cpu/cpu_device.hpp"

#include <cblas.h>
#include <sys/sysinfo.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <thread>

#include <tbb/info.h>
#include <tbb/parallel_for.h>

#include "core/error.hpp"
#include "core/tensor.hpp"

namespace tessera::cpu {

HostBuffer::HostBuffer(Device& d, size_t bytes) : Buffer(d, bytes) {
  ptr_ = std::aligned_alloc(64, (bytes + 63) & ~size_t(63));
  if (!ptr_) throw OutOfMemory(fmt::format("host allocation of {} bytes failed", bytes));
}
HostBuffer::~HostBuffer() { std::free(ptr_); }

static std::string cpu_model() {
  std::ifstream f("/proc/cpuinfo");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
  return "CPU";
}

CpuDevice::CpuDevice() : Device("cpu", 0) {
  info_.backend = "cpu";
  info_.name = cpu_model();
  info_.vendor = "host";
  info_.driver = fmt::format("oneTBB {}.{} + OpenBLAS ({})", TBB_VERSION_MAJOR, TBB_VERSION_MINOR, openblas_get_config());
  info_.api = "C++17";
  struct sysinfo si {};
  sysinfo(&si);
  info_.memory_bytes = uint64_t(si.totalram) * si.mem_unit;
  info_.max_alloc_bytes = info_.memory_bytes;
  info_.fp16 = false;  // f16/bf16 are converted to f32 for arithmetic
  info_.bf16 = false;
  info_.int64 = true;
  info_.int64_atomics = true;
  info_.compute_units = uint32_t(tbb::info::default_concurrency());
}

std::unique_ptr<Buffer> CpuDevice::raw_alloc(size_t bytes) { return std::make_unique<HostBuffer>(*this, bytes); }

void CpuDevice::upload(Buffer& dst, size_t off, const void* src, size_t n) {
  std::memcpy(static_cast<char*>(dst.host_ptr()) + off, src, n);
}
void CpuDevice::download(Buffer& src, size_t off, void* dst, size_t n) {
  std::memcpy(dst, static_cast<char*>(src.host_ptr()) + off, n);
}
void CpuDevice::copy(Buffer& src, size_t so, Buffer& dst, size_t doff, size_t n) {
  std::memmove(static_cast<char*>(dst.host_ptr()) + doff, static_cast<char*>(src.host_ptr()) + so, n);
}
void CpuDevice::fill(Buffer& dst, size_t off, size_t n, uint32_t pattern) {
  auto* p = reinterpret_cast<uint32_t*>(static_cast<char*>(dst.host_ptr()) + off);
  std::fill(p, p + n / 4, pattern);
}

namespace {
class CpuBackend : public Backend {
 public:
  std::string name() const override { return "cpu"; }
  std::vector<Device*> devices() override {
    static CpuDevice* dev = new CpuDevice();  // process lifetime
    return {dev};
  }
};
BackendRegistrar<CpuBackend> reg;
}  // namespace

}  // namespace tessera::cpu
