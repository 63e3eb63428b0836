// Tensor: a typed, shaped view of a Buffer on a Device. Copying a Tensor
// copies the handle, not the data. Host <-> device copies are explicit.
#pragma once
#include <memory>
#include <vector>

#include "core/device.hpp"
#include "core/dtype.hpp"
#include "core/shape.hpp"

namespace tessera {

class Tensor {
 public:
  Tensor() = default;
  // Uninitialised tensor (memory comes from the device's caching allocator).
  static Tensor empty(const Shape& shape, DType dtype, Device& dev);
  // Copy `data` (contiguous, numel*dtype_size bytes) to a new tensor on `dev`.
  static Tensor from_host(const void* data, const Shape& shape, DType dtype, Device& dev);
  template <typename T>
  static Tensor from_vector(const std::vector<T>& v, const Shape& shape, DType dtype, Device& dev) {
    return from_host(v.data(), shape, dtype, dev);
  }

  // A contiguous tensor over bytes [offset, offset + nbytes) of `buf` (which
  // must hold them): row windows and segment views (core/split_dispatch.hpp).
  static Tensor view(std::shared_ptr<Buffer> buf, size_t offset_bytes, const Shape& shape, DType dtype);

  bool defined() const { return buffer_ != nullptr; }
  Device& device() const;
  Buffer& buffer() const;
  const std::shared_ptr<Buffer>& buffer_ptr() const { return buffer_; }
  size_t offset_bytes() const { return offset_; }
  DType dtype() const { return dtype_; }
  const Shape& shape() const { return shape_; }
  const Shape& strides() const { return strides_; }  // in elements
  int ndim() const { return int(shape_.size()); }
  int64_t dim(int i) const;  // negative i counts from the end
  int64_t numel() const { return shape_numel(shape_); }
  size_t nbytes() const { return size_t(numel()) * dtype_size(dtype_); }
  bool is_contiguous() const;
  std::string desc() const;  // "f16[2, 3] on vulkan:0"

  // Same data, new shape (contiguous tensors only).
  Tensor reshape(const Shape& shape) const;
  // Copy to another device (or a fresh copy on the same one).
  Tensor to(Device& dev) const;
  // Contiguous copy of the data to host memory (dst must hold nbytes()).
  void copy_to_host(void* dst) const;
  void copy_from_host(const void* src);
  template <typename T>
  std::vector<T> to_vector() const {
    std::vector<T> v(nbytes() / sizeof(T));
    copy_to_host(v.data());
    return v;
  }
  // Values as doubles (any dtype), for tests and tools.
  std::vector<double> to_double() const;

 private:
  std::shared_ptr<Buffer> buffer_;
  size_t offset_ = 0;
  Shape shape_, strides_;
  DType dtype_ = DType::f32;
};

}  // namespace tessera
