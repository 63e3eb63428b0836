// Data-movement ops. Each returns a new contiguous tensor of any dtype.
//   permute(x, dims)          out.shape[i] = x.shape[dims[i]]
//   slice(x, dim, start, end) rows [start, end) of dimension dim (negative
//                             start/end count from the end, as Python)
//   concat(xs, dim)           along dim; other dims must match; one dtype
//   contiguous(x)             x itself when already contiguous
#pragma once
#include <vector>

#include "core/tensor.hpp"

namespace tessera::ops {
Tensor permute(const Tensor& x, const std::vector<int64_t>& dims);
Tensor slice(const Tensor& x, int64_t dim, int64_t start, int64_t end);
Tensor concat(const std::vector<Tensor>& xs, int64_t dim);
Tensor contiguous(const Tensor& x);
}  // namespace tessera::ops
