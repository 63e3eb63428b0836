// Pointwise activations and softmax. f32 arithmetic, result rounded once to
// x's dtype (f32, f16, bf16).
#pragma once
#include "core/tensor.hpp"

namespace tessera::ops {

// gelu: approximate "none" = 0.5 x (1 + erf(x / sqrt 2)) (PyTorch default,
// DINOv3's MLP); "tanh" = 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
// (TRELLIS.2's flow MLPs).
Tensor gelu(const Tensor& x, const char* approximate = "none");
Tensor silu(const Tensor& x);     // x * sigmoid(x)
// sigmoid: 1 / (1 + exp(-x)), evaluated as exp(x) / (1 + exp(x)) for x < 0 so
// that no exp overflows: exact limits 0 and 1, relative accuracy for x << 0.
Tensor sigmoid(const Tensor& x);
// softplus: log(1 + exp(x)) as torch.nn.functional.softplus(x) with beta = 1,
// threshold = 20: x itself for x > 20, else log1p(exp(x)) (relative accuracy
// for x << 0, where softplus(x) ~ exp(x)).
Tensor softplus(const Tensor& x);
Tensor softmax(const Tensor& x);  // over the last dim, max-subtracted

}  // namespace tessera::ops
