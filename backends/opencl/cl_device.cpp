#include "backends/opencl/cl_device.hpp"
#include "core/segmented_buffer.hpp"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <vector>

#include "backends/opencl/cl_error.hpp"
#include "backends/opencl/cl_program_cache.hpp"
#include "core/error.hpp"
#include "core/log.hpp"

namespace tessera::opencl {

ClBuffer::ClBuffer(ClDevice& dev, size_t bytes, cl_mem mem) : Buffer(dev, bytes), mem_(mem) {}

ClBuffer::~ClBuffer() {
  // OpenCL keeps the memory alive until commands already enqueued on it finish.
  clReleaseMemObject(mem_);
  static_cast<ClDevice&>(device()).on_buffer_freed(size());
}

ClDevice::ClDevice(int index, cl_platform_id platform, cl_device_id device, cl_context ctx, cl_command_queue queue,
                   DeviceInfo info, ClLimits limits)
    : Device("opencl", index),
      platform_(platform),
      device_(device),
      ctx_(ctx),
      queue_(queue),
      info_(std::move(info)),
      limits_(std::move(limits)),
      programs_(std::make_unique<ProgramCache>(*this)) {}

ClDevice::~ClDevice() {
  // Devices live for the whole process (the backend never destroys them);
  // this runs only if one is torn down explicitly.
  programs_.reset();
  clReleaseCommandQueue(queue_);
  clReleaseContext(ctx_);
}

std::string ClDevice::kernel_unsupported_reason() const {
  if (!limits_.compiler_available) return "the device has no OpenCL C compiler (CL_DEVICE_COMPILER_AVAILABLE is false)";
  if (!limits_.int64) return "the device has no 64-bit integers in kernels (EMBEDDED_PROFILE without cl_khr_int64)";
  return "";
}

void ClDevice::check_range(const Buffer& b, size_t offset, size_t bytes, const char* what) const {
  TESSERA_CHECK(offset <= b.size() && bytes <= b.size() - offset,
                "{}: {} of {} bytes at offset {} is outside the buffer of {} bytes", id(), what, bytes, offset,
                b.size());
}

cl_mem mem_of_buffer(Buffer& b, const std::string& dev_id) {
  auto* cb = dynamic_cast<ClBuffer*>(&b);
  TESSERA_CHECK(cb || !as_segmented(b),
                "{}: a kernel was handed a tensor of {:.1f} MiB split into segments (larger than one allocation); "
                "only ops that can run in row windows take such tensors",
                dev_id, b.size() / 1048576.0);
  TESSERA_CHECK(cb, "{}: buffer does not belong to the OpenCL backend", dev_id);
  return cb->mem();
}

std::unique_ptr<Buffer> ClDevice::raw_alloc(size_t bytes) {
  if (bytes > limits_.max_alloc_bytes)
    throw OutOfMemory(fmt::format(
        "{} ({}): one allocation of {:.1f} MiB exceeds the device's largest allowed allocation "
        "(CL_DEVICE_MAX_MEM_ALLOC_SIZE = {:.1f} MiB); use smaller tensors",
        id(), info_.name, bytes / 1048576.0, limits_.max_alloc_bytes / 1048576.0));
  // Drivers such as PoCL overcommit host memory; refuse past the advertised
  // global memory so that the caching allocator can free and retry instead.
  uint64_t held = allocated_.load();
  if (info_.memory_bytes && held + bytes > info_.memory_bytes)
    throw OutOfMemory(fmt::format("{} ({}): {:.1f} MiB requested with {:.1f} MiB already allocated exceeds the "
                                  "device's global memory of {:.1f} MiB",
                                  id(), info_.name, bytes / 1048576.0, held / 1048576.0,
                                  info_.memory_bytes / 1048576.0));
  cl_int err = CL_SUCCESS;
  cl_mem m = clCreateBuffer(ctx_, CL_MEM_READ_WRITE, bytes, nullptr, &err);
  if (err != CL_SUCCESS || !m) {
    std::string what = fmt::format("clCreateBuffer of {} bytes on {} ({})", bytes, id(), info_.name);
    if (err == CL_INVALID_BUFFER_SIZE)
      throw OutOfMemory(fmt::format("OpenCL error {} in {}", cl_error_name(err), what));
    throw_cl_error(err == CL_SUCCESS ? CL_MEM_OBJECT_ALLOCATION_FAILURE : err, what);
  }
  // Drivers allocate lazily; migrating the (undefined) contents to the device
  // makes most of them back the buffer now, so that running out of memory
  // shows up here rather than at some later kernel.
  err = clEnqueueMigrateMemObjects(queue_, 1, &m, CL_MIGRATE_MEM_OBJECT_CONTENT_UNDEFINED, 0, nullptr, nullptr);
  if (err != CL_SUCCESS) {
    if (is_out_of_memory(err)) {
      clReleaseMemObject(m);
      throw_cl_error(err, fmt::format("allocating {} bytes on {} ({})", bytes, id(), info_.name));
    }
    TLOG_DEBUG("{}: clEnqueueMigrateMemObjects returned {} (ignored)", id(), cl_error_name(err));
  }
  allocated_ += bytes;
  return std::make_unique<ClBuffer>(*this, bytes, m);
}

double wait_timeout_s() {
  static const double t = [] {
    const char* v = std::getenv("TESSERA_CL_TIMEOUT_S");
    double s = v ? std::atof(v) : 0.0;
    return s > 0 ? s : 300.0;
  }();
  return t;
}

namespace {
struct WaitState {
  std::mutex m;
  std::condition_variable cv;
  bool done = false;
  cl_int status = CL_COMPLETE;
};

// Runs on a driver thread once the marker completes (status < 0: a command failed).
void CL_CALLBACK on_marker_done(cl_event, cl_int status, void* user) {
  auto* sp = static_cast<std::shared_ptr<WaitState>*>(user);
  {
    std::lock_guard<std::mutex> lock((*sp)->m);
    (*sp)->done = true;
    (*sp)->status = status;
  }
  (*sp)->cv.notify_all();
  delete sp;
}
}  // namespace

void ClDevice::wait_idle(const char* what) {
  cl_event ev = nullptr;
  cl_check(clEnqueueMarkerWithWaitList(queue_, 0, nullptr, &ev),
           fmt::format("clEnqueueMarkerWithWaitList ({}) on {}", what, id()));
  auto state = std::make_shared<WaitState>();
  auto* user = new std::shared_ptr<WaitState>(state);
  cl_int err = clSetEventCallback(ev, CL_COMPLETE, on_marker_done, user);
  if (err != CL_SUCCESS) {  // no callbacks: an unbounded wait is all that is left
    delete user;
    cl_int e2 = clWaitForEvents(1, &ev);
    clReleaseEvent(ev);
    cl_check(e2, fmt::format("clWaitForEvents ({}) on {}", what, id()));
    return;
  }
  clFlush(queue_);
  const double limit = wait_timeout_s();
  bool done;
  cl_int status;
  {
    std::unique_lock<std::mutex> lock(state->m);
    done = state->cv.wait_for(lock, std::chrono::duration<double>(limit), [&] { return state->done; });
    status = state->status;
  }
  clReleaseEvent(ev);  // the callback still runs if the device ever finishes
  if (!done)
    fail("{} ({}): {} did not finish within {:.0f} s; the device may be hung (raise TESSERA_CL_TIMEOUT_S for "
         "very long work)",
         id(), info_.name, what, limit);
  if (status < 0) throw_cl_error(status, fmt::format("{} on {}: a queued command failed", what, id()));
}

void ClDevice::upload(Buffer& dst, size_t off, const void* src, size_t n) {
  if (n == 0) return;
  if (auto* s = as_segmented(dst)) return upload_segments(*this, *s, off, src, n);
  check_range(dst, off, n, "upload");
  wait_idle("upload");
  // Blocking: the caller may free `src` as soon as we return.
  cl_check(clEnqueueWriteBuffer(queue_, mem_of_buffer(dst, id()), CL_TRUE, off, n, src, 0, nullptr, nullptr),
           fmt::format("clEnqueueWriteBuffer ({} bytes) on {}", n, id()));
}

void ClDevice::download(Buffer& src, size_t off, void* dst, size_t n) {
  if (n == 0) return;
  if (auto* s = as_segmented(src)) return download_segments(*this, *s, off, dst, n);
  check_range(src, off, n, "download");
  wait_idle("download");
  cl_check(clEnqueueReadBuffer(queue_, mem_of_buffer(src, id()), CL_TRUE, off, n, dst, 0, nullptr, nullptr),
           fmt::format("clEnqueueReadBuffer ({} bytes) on {}", n, id()));
}

void ClDevice::copy(Buffer& src, size_t so, Buffer& dst, size_t doff, size_t n) {
  if (n == 0) return;
  if (as_segmented(src) || as_segmented(dst)) return copy_segments(*this, src, so, dst, doff, n);
  check_range(src, so, n, "copy source");
  check_range(dst, doff, n, "copy destination");
  cl_mem s = mem_of_buffer(src, id()), d = mem_of_buffer(dst, id());
  std::string what = fmt::format("clEnqueueCopyBuffer ({} bytes) on {}", n, id());
  if (s == d && so == doff) return;
  if (s == d && so < doff + n && doff < so + n) {
    // Overlapping ranges (CL_MEM_COPY_OVERLAP): go through a temporary, like memmove.
    cl_int err = CL_SUCCESS;
    cl_mem tmp = clCreateBuffer(ctx_, CL_MEM_READ_WRITE, n, nullptr, &err);
    cl_check(err, "clCreateBuffer (overlapping copy) on " + id());
    cl_int e1 = clEnqueueCopyBuffer(queue_, s, tmp, so, 0, n, 0, nullptr, nullptr);
    cl_int e2 = e1 == CL_SUCCESS ? clEnqueueCopyBuffer(queue_, tmp, d, 0, doff, n, 0, nullptr, nullptr) : e1;
    clReleaseMemObject(tmp);  // freed once the copies are done
    cl_check(e2, what);
    return;
  }
  cl_check(clEnqueueCopyBuffer(queue_, s, d, so, doff, n, 0, nullptr, nullptr), what);
}

void ClDevice::fill(Buffer& dst, size_t off, size_t n, uint32_t pattern) {
  TESSERA_CHECK(n % 4 == 0, "{}: fill of {} bytes is not a multiple of 4", id(), n);
  if (n == 0) return;
  if (auto* s = as_segmented(dst)) return fill_segments(*this, *s, off, n, pattern);
  check_range(dst, off, n, "fill");
  cl_mem m = mem_of_buffer(dst, id());
  if (off % 4 == 0) {
    cl_check(clEnqueueFillBuffer(queue_, m, &pattern, sizeof(pattern), off, n, 0, nullptr, nullptr),
             fmt::format("clEnqueueFillBuffer ({} bytes) on {}", n, id()));
    return;
  }
  // clEnqueueFillBuffer needs the offset to be a multiple of the pattern size
  // (an f16 tensor may start at 2 mod 4): write the pattern from the host.
  wait_idle("fill");
  const size_t chunk_words = std::min<size_t>(n / 4, size_t(1) << 18);
  std::vector<uint32_t> staging(chunk_words, pattern);
  for (size_t done = 0; done < n;) {
    size_t len = std::min(n - done, chunk_words * 4);
    cl_check(clEnqueueWriteBuffer(queue_, m, CL_TRUE, off + done, len, staging.data(), 0, nullptr, nullptr),
             fmt::format("clEnqueueWriteBuffer (fill, {} bytes) on {}", len, id()));
    done += len;
  }
}

void ClDevice::synchronize() { wait_idle("synchronize"); }

ClDevice& as_cl(Device& d) {
  auto* c = dynamic_cast<ClDevice*>(&d);
  TESSERA_CHECK(c, "device {} is not an OpenCL device", d.id());
  return *c;
}

const ClDevice& as_cl(const Device& d) {
  auto* c = dynamic_cast<const ClDevice*>(&d);
  TESSERA_CHECK(c, "device {} is not an OpenCL device", d.id());
  return *c;
}

cl_mem mem_of(const Tensor& t) {
  auto* cb = dynamic_cast<ClBuffer*>(&t.buffer());
  TESSERA_CHECK(cb || !as_segmented(t.buffer()),
                "tensor {} lies in a buffer split into segments (larger than one allocation); only ops that can "
                "run in row windows take such tensors",
                t.desc());
  TESSERA_CHECK(cb, "tensor {} is not on an OpenCL device", t.desc());
  return cb->mem();
}

}  // namespace tessera::opencl
