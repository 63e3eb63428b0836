// Elementwise ops with numpy broadcasting (core/broadcast.hpp). Both inputs
// must have the same float dtype (f32, f16, bf16): there is no implicit type
// promotion, cast first. Arithmetic is f32, the result is rounded to the dtype.
#pragma once
#include "core/tensor.hpp"

namespace tessera::ops {

Tensor add(const Tensor& a, const Tensor& b);    // a + b
Tensor mul(const Tensor& a, const Tensor& b);    // a * b
Tensor scale(const Tensor& x, double alpha);     // alpha * x

}  // namespace tessera::ops
