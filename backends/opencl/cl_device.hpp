// OpenCL runtime: every device of every platform (any ICD) is one Tessera
// Device of backend "opencl", with its own context and in-order command queue.
// All transfers and kernels of a device go through that one queue, so they
// run in submission order; download() and synchronize() wait for it.
#pragma once
#include <CL/cl.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <string>

#include "core/device.hpp"
#include "core/tensor.hpp"

namespace tessera::opencl {

class ProgramCache;
class ClDevice;

// A cl_mem from clCreateBuffer.
class ClBuffer : public Buffer {
 public:
  ClBuffer(ClDevice& dev, size_t bytes, cl_mem mem);
  ~ClBuffer() override;
  cl_mem mem() const { return mem_; }

 private:
  cl_mem mem_;
};

// What the rest of the backend needs beyond DeviceInfo.
struct ClLimits {
  uint64_t max_alloc_bytes = 0;
  size_t max_work_group_size = 1;
  uint64_t local_mem_bytes = 0;   // CL_DEVICE_LOCAL_MEM_SIZE
  bool compiler_available = true;
  bool int64 = true;              // 64-bit integers in kernels (FULL_PROFILE or cl_khr_int64)
  std::string platform_name;
  std::string platform_version;
  std::string device_version;     // CL_DEVICE_VERSION
};

class ClDevice : public Device {
 public:
  // Takes ownership of (retains nothing extra for) context and queue.
  ClDevice(int index, cl_platform_id platform, cl_device_id device, cl_context ctx, cl_command_queue queue,
           DeviceInfo info, ClLimits limits);
  ~ClDevice() override;

  const DeviceInfo& info() const override { return info_; }
  void upload(Buffer& dst, size_t dst_offset, const void* src, size_t bytes) override;
  void download(Buffer& src, size_t src_offset, void* dst, size_t bytes) override;
  void copy(Buffer& src, size_t src_offset, Buffer& dst, size_t dst_offset, size_t bytes) override;
  void fill(Buffer& dst, size_t offset, size_t bytes, uint32_t pattern) override;
  // Waits (bounded: TESSERA_CL_TIMEOUT_S, default 300 s) for all queued work.
  void synchronize() override;
  std::unique_ptr<Buffer> raw_alloc(size_t bytes) override;

  cl_platform_id cl_platform() const { return platform_; }
  cl_device_id cl_device() const { return device_; }
  cl_context context() const { return ctx_; }
  cl_command_queue queue() const { return queue_; }
  // CLBlast takes the queue by pointer.
  cl_command_queue* queue_ptr() { return &queue_; }
  const ClLimits& limits() const { return limits_; }

  // Programs and kernels of this device, built on first use (disk-cached).
  ProgramCache& programs() { return *programs_; }
  // Held while a shared cl_kernel's arguments are set and it is enqueued.
  std::recursive_mutex& launch_mutex() { return launch_mu_; }
  // "" when this device can run Tessera's kernels, else why not.
  std::string kernel_unsupported_reason() const;

  // Bytes currently held by ClBuffers of this device (for the global-memory guard).
  void on_buffer_freed(size_t bytes) { allocated_ -= bytes; }

 private:
  void check_range(const Buffer& b, size_t offset, size_t bytes, const char* what) const;
  // Waits until everything queued so far finished; throws Error when that
  // takes longer than the timeout (a hung device) or a command failed.
  void wait_idle(const char* what);

  cl_platform_id platform_;
  cl_device_id device_;
  cl_context ctx_;
  cl_command_queue queue_;
  DeviceInfo info_;
  ClLimits limits_;
  std::unique_ptr<ProgramCache> programs_;
  std::recursive_mutex launch_mu_;
  std::atomic<uint64_t> allocated_{0};
};

// Seconds a wait for the device may take before it throws (TESSERA_CL_TIMEOUT_S, default 300:
// software drivers such as PoCL compile kernels while the first launch runs).
double wait_timeout_s();

// The OpenCL device of `d` (throws if it belongs to another backend).
ClDevice& as_cl(Device& d);
const ClDevice& as_cl(const Device& d);
// The cl_mem behind a tensor on an OpenCL device.
cl_mem mem_of(const Tensor& t);
// The cl_mem of a buffer of this backend (Error for a segmented or foreign one).
cl_mem mem_of_buffer(Buffer& b, const std::string& dev_id);

}  // namespace tessera::opencl
