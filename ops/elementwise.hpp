// Elementwise ops with numpy broadcasting (core/broadcast.hpp). Both inputs
// must have the same float dtype (f32, f16, bf16): there is no implicit type
// promotion, cast first (axpby's b is the one exception, see there).
// Arithmetic is f32, the result is rounded to the dtype.
#pragma once
#include "core/tensor.hpp"

namespace tessera::ops {

Tensor add(const Tensor& a, const Tensor& b);    // a + b
Tensor mul(const Tensor& a, const Tensor& b);    // a * b
Tensor scale(const Tensor& x, double alpha);     // alpha * x

// alpha * a + beta * b in one pass (an Euler step x - dt v, a CFG mix
// s v_pos + (1 - s) v_neg). a and b have the same shape (no broadcasting).
// b may have any float dtype (an f32 latent plus a bf16 velocity): it is
// widened exactly, and the result has a's dtype. alpha and beta are rounded
// to f32; the arithmetic is f32, rounded once.
Tensor axpby(const Tensor& a, const Tensor& b, double alpha, double beta);

}  // namespace tessera::ops
