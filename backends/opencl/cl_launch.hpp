// Kernel launches: set a shared kernel's arguments and enqueue it on the
// device's in-order queue, under the device's launch mutex.
#pragma once
#include <CL/cl.h>

#include <cstdint>
#include <mutex>
#include <string>

#include "backends/opencl/cl_device.hpp"
#include "core/op_registry.hpp"
#include "core/tensor.hpp"

namespace tessera::opencl {

// Work-items per enqueue at most (2^30); larger 1-D launches are split into
// chunks. TESSERA_CL_MAX_LAUNCH_ITEMS=k lowers it (debug: exercises chunking).
uint64_t max_launch_items();
// Preferred work-group size (clamped to the kernel's and device's limits).
inline constexpr size_t kPreferredLocalSize = 256;

class Launch {
 public:
  // Kernel `name` of program `module` (kernels/<module>.cl).
  Launch(ClDevice& dev, const std::string& module, const std::string& name);

  // Appends one argument (a cl_mem, or a scalar/vector of a cl_* type).
  template <typename T>
  Launch& arg(const T& v) {
    set(sizeof(T), &v);
    return *this;
  }
  // Appends a tensor as two arguments: its cl_mem and its element offset (ulong).
  Launch& tensor(const Tensor& t);
  // Appends a raw buffer + element offset.
  Launch& buffer(cl_mem m, uint64_t elem_offset);

  // Appends (ulong base, ulong n) and enqueues ceil(n / local) work-groups in
  // chunks of at most max_launch_items() items; the kernel handles elements
  // base + get_global_id(0) < n. n == 0 enqueues nothing.
  void run_1d(uint64_t n);

 private:
  void set(size_t size, const void* value);

  ClDevice& dev_;
  std::unique_lock<std::recursive_mutex> lock_;
  cl_kernel kernel_;
  std::string name_;
  cl_uint next_ = 0;
};

// Element offset of a tensor inside its buffer.
uint64_t elem_offset(const Tensor& t);

// Checks shared by the supports() predicates: the device can run our kernels,
// every tensor is contiguous and its byte offset is a multiple of its element size.
std::string supports_common(const Device& dev, const OpArgs& a);

// y[y_off + i] = convert(x[x_off + i]) for i < n (float dtypes, round to
// nearest even; same dtype = buffer copy). Offsets are in elements.
void enqueue_cast(ClDevice& dev, cl_mem x, uint64_t x_off, DType from, cl_mem y, uint64_t y_off, DType to,
                  uint64_t n);

}  // namespace tessera::opencl
