// Backend / Device / Buffer: the small interface every backend implements
// (in the spirit of ggml-backend's reg -> device -> buffer vtables).
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/allocator.hpp"

namespace tessera {

class Device;

// One allocation on a device. Backends subclass it (host pointer, cl_mem,
// VkBuffer...). Buffers are handed out by the device's CachingAllocator.
class Buffer {
 public:
  Buffer(Device& dev, size_t bytes) : device_(&dev), size_(bytes) {}
  virtual ~Buffer() = default;
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  Device& device() const { return *device_; }
  size_t size() const { return size_; }
  // Host address of the data, or nullptr when the memory is not host-addressable.
  virtual void* host_ptr() { return nullptr; }

 private:
  Device* device_;
  size_t size_;
};

// What `tessera devices` prints and what kernels consult to pick a code path.
struct DeviceInfo {
  std::string backend;         // "cpu", "opencl", "vulkan"
  std::string name;            // "NVIDIA H100 80GB HBM3", "llvmpipe (LLVM 15...)"
  std::string vendor;
  std::string driver;          // driver version string
  std::string api;             // "OpenCL 3.0", "Vulkan 1.3.239", "oneTBB+OpenBLAS"
  uint64_t memory_bytes = 0;   // global memory
  uint64_t max_alloc_bytes = 0;  // largest single allocation the driver allows (larger tensors are segmented)
  uint64_t max_binding_bytes = UINT64_MAX;  // largest tensor one kernel sees (maxStorageBufferRange); larger ones
                                            // run in row windows (core/split_dispatch.hpp)
  bool fp16 = false;           // f16 arithmetic in kernels
  bool bf16 = false;
  bool int64 = false;          // 64-bit integers in kernels
  bool int64_atomics = false;
  uint32_t subgroup_size = 0;  // 0 = unknown / not applicable
  bool coopmat = false;        // VK_KHR_cooperative_matrix (f16 in, f32 acc)
  bool coopmat2 = false;       // VK_NV_cooperative_matrix2
  uint32_t compute_units = 0;
  bool software = false;       // a CPU implementation of a GPU API (PoCL, lavapipe)
  std::string notes;
};

class Device {
 public:
  Device(std::string backend, int index) : backend_(std::move(backend)), index_(index), allocator_(*this) {}
  virtual ~Device() = default;
  Device(const Device&) = delete;
  Device& operator=(const Device&) = delete;

  const std::string& backend() const { return backend_; }
  int index() const { return index_; }
  std::string id() const { return backend_ + ":" + std::to_string(index_); }
  virtual const DeviceInfo& info() const = 0;

  // Allocate through the caching allocator (use this, not raw_alloc).
  // `row_bytes`: the allocation above max_alloc_bytes is split into segments
  // of a multiple of this (see core/segmented_buffer.hpp).
  std::shared_ptr<Buffer> allocate(size_t bytes, size_t row_bytes = 1) { return allocator_.allocate(bytes, row_bytes); }
  CachingAllocator& allocator() { return allocator_; }

  // Host <-> device transfers. They are ordered after all work already
  // submitted to this device; download() waits for its data.
  virtual void upload(Buffer& dst, size_t dst_offset, const void* src, size_t bytes) = 0;
  virtual void download(Buffer& src, size_t src_offset, void* dst, size_t bytes) = 0;
  virtual void copy(Buffer& src, size_t src_offset, Buffer& dst, size_t dst_offset, size_t bytes) = 0;
  // Fill `bytes` (multiple of 4) with a repeated 32-bit pattern (used to poison outputs).
  virtual void fill(Buffer& dst, size_t offset, size_t bytes, uint32_t pattern) = 0;
  // Wait until all submitted work finished.
  virtual void synchronize() = 0;

  // Called by CachingAllocator only. Throws OutOfMemory on failure.
  virtual std::unique_ptr<Buffer> raw_alloc(size_t bytes) = 0;

 private:
  std::string backend_;
  int index_;
  CachingAllocator allocator_;
};

// A backend: a named family of devices. Devices are enumerated lazily and
// live for the whole process.
class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::string name() const = 0;
  // Enumerate (once) and return the devices; empty when the API has no driver.
  virtual std::vector<Device*> devices() = 0;
  // Why devices() is empty (no ICD, no Vulkan loader, ...); "" when available.
  virtual std::string unavailable_reason() { return ""; }
};

// Process-wide list of compiled-in backends.
class BackendRegistry {
 public:
  static BackendRegistry& get();
  void add(std::unique_ptr<Backend> b);
  std::vector<Backend*> backends();
  Backend* find(const std::string& name);  // nullptr if not compiled in
  // "cpu", "vulkan", "vulkan:1", "opencl:NVIDIA" (index or case-insensitive
  // substring of the device name). Throws Error listing valid choices.
  Device& device(const std::string& spec);
  Device& cpu();

 private:
  std::vector<std::unique_ptr<Backend>> backends_;
};

// Static registration helper: `static BackendRegistrar<MyBackend> reg;`
template <typename B>
struct BackendRegistrar {
  BackendRegistrar() { BackendRegistry::get().add(std::make_unique<B>()); }
};

}  // namespace tessera
