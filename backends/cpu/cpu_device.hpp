// CPU backend: host memory, oneTBB parallel loops, OpenBLAS GEMM.
// Thread ownership: OpenBLAS owns its threads for GEMM and is never called
// from inside a TBB parallel region; every other loop runs on TBB. Nesting
// the two has deadlocked elsewhere (oneTBB #1336, OpenBLAS #660).
#pragma once
#include <vector>

#include "core/device.hpp"
#include "core/tensor.hpp"

namespace tessera::cpu {

class HostBuffer : public Buffer {
 public:
  HostBuffer(Device& d, size_t bytes);
  ~HostBuffer() override;
  void* host_ptr() override { return ptr_; }

 private:
  void* ptr_;
};

class CpuDevice : public Device {
 public:
  CpuDevice();
  const DeviceInfo& info() const override { return info_; }
  void upload(Buffer& dst, size_t off, const void* src, size_t n) override;
  void download(Buffer& src, size_t off, void* dst, size_t n) override;
  void copy(Buffer& src, size_t so, Buffer& dst, size_t doff, size_t n) override;
  void fill(Buffer& dst, size_t off, size_t n, uint32_t pattern) override;
  void synchronize() override {}
  std::unique_ptr<Buffer> raw_alloc(size_t bytes) override;

 private:
  DeviceInfo info_;
};

// Typed pointer to a tensor's data on the CPU device.
template <typename T>
T* data(const Tensor& t) {
  return reinterpret_cast<T*>(static_cast<char*>(t.buffer().host_ptr()) + t.offset_bytes());
}

// Element i of a float tensor's data as f32 / store f32 rounded to t.
inline float ld(const void* p, DType t, int64_t i) {
  switch (t) {
    case DType::f32: return static_cast<const float*>(p)[i];
    case DType::f16: return f16_to_f32(static_cast<const uint16_t*>(p)[i]);
    default: return bf16_to_f32(static_cast<const uint16_t*>(p)[i]);
  }
}
inline void st(void* p, DType t, int64_t i, float v) {
  switch (t) {
    case DType::f32: static_cast<float*>(p)[i] = v; break;
    case DType::f16: static_cast<uint16_t*>(p)[i] = f32_to_f16(v); break;
    default: static_cast<uint16_t*>(p)[i] = f32_to_bf16(v); break;
  }
}

// Convert n elements of any float dtype to f32 / from f32 (parallel).
void to_f32(const void* src, DType t, float* dst, int64_t n);
void from_f32(const float* src, void* dst, DType t, int64_t n);
// t's data as f32: in place for an f32 tensor, else widened into `tmp`.
const float* as_f32(const Tensor& t, std::vector<float>& tmp);

}  // namespace tessera::cpu
