#include "core/tensor.hpp"

#include "core/error.hpp"

namespace tessera {

std::string shape_str(const Shape& s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + "]";
}

Shape contiguous_strides(const Shape& s) {
  Shape st(s.size());
  int64_t acc = 1;
  for (int i = int(s.size()) - 1; i >= 0; --i) {
    st[i] = acc;
    acc *= s[i];
  }
  return st;
}

Tensor Tensor::empty(const Shape& shape, DType dtype, Device& dev) {
  TESSERA_CHECK(shape.size() <= size_t(kMaxDims), "tensor of rank {} exceeds the maximum rank {}", shape.size(), kMaxDims);
  for (auto d : shape) TESSERA_CHECK(d >= 0, "negative dimension in shape {}", shape_str(shape));
  Tensor t;
  t.shape_ = shape;
  t.strides_ = contiguous_strides(shape);
  t.dtype_ = dtype;
  // Rows for segmenting (core/segmented_buffer.hpp): slices along the first
  // dimension of extent > 1, the dimension split_dispatch cuts.
  size_t row = dtype_size(dtype);
  for (size_t i = 0; i < shape.size(); ++i)
    if (shape[i] > 1) {
      row = size_t(t.strides_[i]) * dtype_size(dtype);
      break;
    }
  t.buffer_ = dev.allocate(t.nbytes(), row);
  return t;
}

Tensor Tensor::view(std::shared_ptr<Buffer> buf, size_t offset_bytes, const Shape& shape, DType dtype) {
  TESSERA_CHECK(buf != nullptr, "Tensor::view of no buffer");
  Tensor t;
  t.shape_ = shape;
  t.strides_ = contiguous_strides(shape);
  t.dtype_ = dtype;
  TESSERA_CHECK(offset_bytes + t.nbytes() <= buf->size(), "view of bytes [{}, {}) outside a buffer of {} bytes",
                offset_bytes, offset_bytes + t.nbytes(), buf->size());
  t.buffer_ = std::move(buf);
  t.offset_ = offset_bytes;
  return t;
}

Tensor Tensor::from_host(const void* data, const Shape& shape, DType dtype, Device& dev) {
  Tensor t = empty(shape, dtype, dev);
  t.copy_from_host(data);
  return t;
}

Device& Tensor::device() const {
  TESSERA_CHECK(buffer_, "use of an undefined tensor");
  return buffer_->device();
}

Buffer& Tensor::buffer() const {
  TESSERA_CHECK(buffer_, "use of an undefined tensor");
  return *buffer_;
}

int64_t Tensor::dim(int i) const {
  int n = ndim();
  int j = i < 0 ? i + n : i;
  TESSERA_CHECK(j >= 0 && j < n, "dimension {} out of range for a rank-{} tensor", i, n);
  return shape_[j];
}

bool Tensor::is_contiguous() const { return strides_ == contiguous_strides(shape_); }

std::string Tensor::desc() const {
  if (!defined()) return "<undefined>";
  return fmt::format("{}{} on {}", dtype_name(dtype_), shape_str(shape_), device().id());
}

Tensor Tensor::reshape(const Shape& shape) const {
  TESSERA_CHECK(is_contiguous(), "reshape of a non-contiguous tensor {}", desc());
  TESSERA_CHECK(shape_numel(shape) == numel(), "cannot reshape {} to {}", desc(), shape_str(shape));
  Tensor t = *this;
  t.shape_ = shape;
  t.strides_ = contiguous_strides(shape);
  return t;
}

Tensor Tensor::to(Device& dev) const {
  TESSERA_CHECK(is_contiguous(), "to(): tensor {} is not contiguous", desc());
  Tensor t = empty(shape_, dtype_, dev);
  if (nbytes() == 0) return t;
  if (&dev == &device()) {
    dev.copy(*buffer_, offset_, *t.buffer_, 0, nbytes());
  } else if (void* p = buffer_->host_ptr()) {
    dev.upload(*t.buffer_, 0, static_cast<char*>(p) + offset_, nbytes());
  } else if (void* q = t.buffer_->host_ptr()) {
    device().download(*buffer_, offset_, q, nbytes());
  } else {
    std::vector<char> staging(nbytes());
    copy_to_host(staging.data());
    t.copy_from_host(staging.data());
  }
  return t;
}

void Tensor::copy_to_host(void* dst) const {
  TESSERA_CHECK(is_contiguous(), "copy_to_host(): tensor {} is not contiguous", desc());
  if (nbytes()) device().download(*buffer_, offset_, dst, nbytes());
}

void Tensor::copy_from_host(const void* src) {
  TESSERA_CHECK(is_contiguous(), "copy_from_host(): tensor {} is not contiguous", desc());
  if (nbytes()) device().upload(*buffer_, offset_, src, nbytes());
}

std::vector<double> Tensor::to_double() const {
  std::vector<char> raw(nbytes());
  copy_to_host(raw.data());
  std::vector<double> out(static_cast<size_t>(numel()));
  for (size_t i = 0; i < out.size(); ++i) out[i] = load_as_double(raw.data(), dtype_, i);
  return out;
}

}  // namespace tessera
