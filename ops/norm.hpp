// Normalisations. Statistics are computed in f32 (two passes: mean, then
// variance) on every backend; the result is rounded once to x's dtype.
#pragma once
#include "core/tensor.hpp"

namespace tessera::ops {

// layer_norm over the last dim C of x [..., C]. weight and bias [C] (f32) are
// both given or both absent (PyTorch elementwise_affine). attr eps (1e-5).
Tensor layer_norm(const Tensor& x, const Tensor* weight, const Tensor* bias, double eps = 1e-5);

// rms_norm over the last dim C. mode "rms": x / sqrt(mean(x^2) + eps) (eps 1e-6).
// mode "l2": x / max(||x||_2, eps) * sqrt(C), TRELLIS.2's MultiHeadRMSNorm
// (F.normalize then * gamma * sqrt(C), eps 1e-12). weight (f32) is [C] or
// trailing dims of x such as [H, C] for per-head q/k norms, repeated over
// the leading dims.
Tensor rms_norm(const Tensor& x, const Tensor* weight, double eps = 1e-6, const char* mode = "rms");

// group_norm of x [N, C, *spatial] with `groups` groups (C % groups == 0),
// optional weight/bias [C] (f32). attr eps (1e-5).
Tensor group_norm(const Tensor& x, int64_t groups, const Tensor* weight, const Tensor* bias, double eps = 1e-5);

}  // namespace tessera::ops
