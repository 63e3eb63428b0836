// Kernel launches: set a shared kernel's arguments and enqueue it on the
// device's in-order queue, under the device's launch mutex.
#pragma once
#include <CL/cl.h>

#include <cstdint>
#include <mutex>
#include <memory>
#include <string>
#include <vector>

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

  // Appends (ulong group_base) and enqueues groups0 x groups1 work-groups of
  // `local` items each (a 2-D NDRange of local x 1 groups; groups1 may be 1).
  // The kernel's group index along dim 0 is group_base + get_group_id(0);
  // dim 0 is split into chunks of at most max(1, max_launch_items() /
  // (local * groups1)) groups. Throws when `local` exceeds what the kernel or
  // device allows. groups0 == 0 or groups1 == 0 enqueues nothing.
  void run_groups(uint64_t groups0, uint64_t groups1, size_t local);

  // Largest work-group size this kernel can be launched with on this device.
  size_t max_local() const;
  // Largest power of two <= min(cap, max_local()).
  size_t pow2_local(size_t cap) const;

 private:
  void set(size_t size, const void* value);

  ClDevice& dev_;
  std::unique_lock<std::recursive_mutex> lock_;
  cl_kernel kernel_;
  std::string name_;
  cl_uint next_ = 0;
};

// Work-group size for a kernel reducing rows of length `len` with one group
// per row: the smallest power of two >= len, at most `cap` (and what the
// kernel allows).
size_t row_local(const Launch& l, uint64_t len, size_t cap = 256);

// Element offset of a tensor inside its buffer.
uint64_t elem_offset(const Tensor& t);

// Checks shared by the supports() predicates: the device can run our kernels,
// every tensor is contiguous and its byte offset is a multiple of its element size.
std::string supports_common(const Device& dev, const OpArgs& a);

// y[y_off + i] = convert(x[x_off + i]) for i < n (float dtypes, round to
// nearest even; same dtype = buffer copy). Offsets are in elements.
void enqueue_cast(ClDevice& dev, cl_mem x, uint64_t x_off, DType from, cl_mem y, uint64_t y_off, DType to,
                  uint64_t n);

// A temporary device buffer of at least `bytes` (>= 4) from the caching
// allocator; keep the pointer alive until the work using it is enqueued.
struct TempBuffer {
  std::shared_ptr<Buffer> buf;
  cl_mem mem = nullptr;
};
TempBuffer temp_buffer(ClDevice& dev, size_t bytes);

// Strided copy of an N-d block (rank <= 8 after collapsing): for every index
// (i_0..i_{r-1}) < dims, dst[dst_off + sum i_k dst_strides[k]] =
// src[src_off + sum i_k src_strides[k]]. Offsets and strides in elements of
// `elem_size` bytes (any dtype: the copy moves bytes). Dims of size 1 are
// dropped and adjacent dims merged; contiguous runs are moved in units of up
// to 16 bytes; transposing plans (the destination's innermost dim strided in
// the source) go through 32 x 32 local-memory tiles. A zero stride repeats a
// source element (broadcast).
void enqueue_strided_copy(ClDevice& dev, cl_mem src, uint64_t src_off, cl_mem dst, uint64_t dst_off,
                          size_t elem_size, std::vector<int64_t> dims, std::vector<int64_t> src_strides,
                          std::vector<int64_t> dst_strides);
// "" when enqueue_strided_copy can do it (rank after collapsing <= 8), else why not.
std::string strided_copy_unsupported(std::vector<int64_t> dims, std::vector<int64_t> src_strides,
                                     std::vector<int64_t> dst_strides);

}  // namespace tessera::opencl
