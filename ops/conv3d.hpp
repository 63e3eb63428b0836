// Dense 3-D convolution and voxel-grid resampling, NCDHW layout.
// conv3d: x [N, Cin, D, H, W], w [Cout, Cin, k, k, k] (k odd), bias [Cout]
//   optional (f32); stride 1, zero padding k/2 (same size), as the sparse
//   structure decoder needs. x and w share a float dtype; f32 accumulation;
//   out [N, Cout, D, H, W] in x's dtype.
// pixel_shuffle_3d: [N, C r^3, D, H, W] -> [N, C, rD, rH, rW]; input channel
//   c r^3 + (s1 r + s2) r + s3 goes to (c, r d + s1, r h + s2, r w + s3): the
//   first spatial axis is the most significant (TRELLIS.2 modules/spatial.py).
// upsample_nearest_3d: [N, C, D, H, W] -> [N, C, rD, rH, rW], nearest.
#pragma once
#include "core/tensor.hpp"

namespace tessera::ops {
Tensor conv3d(const Tensor& x, const Tensor& w, const Tensor* bias = nullptr);
Tensor pixel_shuffle_3d(const Tensor& x, int64_t r = 2);
Tensor upsample_nearest_3d(const Tensor& x, int64_t r = 2);
}  // namespace tessera::ops
