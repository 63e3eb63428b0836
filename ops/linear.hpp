// linear: y = x · wᵀ + bias, the PyTorch nn.Linear convention.
//   x    [..., K]  f32 | f16 | bf16
//   w    [N, K]    f32 | f16 | bf16  (may differ from x: f16/bf16 weights with f32 activations)
//   bias [N]       optional, f32 or w's dtype
//   y    [..., N]  dtype attr "dtype" (default: x's dtype)
// Fused epilogue, attr "activation": "none" (default) | "gelu" (erf form) |
// "gelu_tanh" | "silu", applied in f32 to x·wᵀ + bias before the one rounding
// to y's dtype (the DiT MLPs: Linear -> GELU(tanh); the VAE blocks: SiLU).
// Precision contract: products and sums are accumulated in f32 on every
// backend (attr "acc" = "f32", the only value accepted); the result is rounded
// once to y's dtype. No backend accumulates in f16.
#pragma once
#include <optional>
#include <string>

#include "core/attrs.hpp"

#include "core/tensor.hpp"

namespace tessera::ops {

Tensor linear(const Tensor& x, const Tensor& w, const Tensor* bias = nullptr, std::optional<DType> out = std::nullopt,
              const std::string& activation = "none");

// The epilogue activations, as codes shared by kernels (0 none, 1 gelu erf,
// 2 gelu tanh, 3 silu). Throws for an unknown name.
enum class LinearAct : uint32_t { none = 0, gelu = 1, gelu_tanh = 2, silu = 3 };
LinearAct linear_activation(const Attrs& a);

// Shared by kernels: M (rows of x), N, K of a linear call.
struct LinearDims {
  int64_t M, N, K;
};
LinearDims linear_dims(const Shape& x, const Shape& w);

}  // namespace tessera::ops
