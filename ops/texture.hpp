// Texture sampling with nvdiffrast / torch grid_sample(align_corners=False)
// conventions (docs/geometry-raster.md).
//
// texture_sample_2d(tex [H,W,C] f32, uv [P,2] f32; attr "boundary") -> [P,C]:
//   bilinear; u runs along W, v along H, texel (i, j) has its centre at
//   uv ((j+0.5)/W, (i+0.5)/H) (x = u W - 0.5, y = v H - 0.5 in texel units).
// texture_sample_3d(grid [D,H,W,C] f32, pts [P,3] f32; attr "boundary") -> [P,C]:
//   trilinear; (x, y, z) run along (W, H, D), same centre convention.
// boundary: "wrap" (default, nvdiffrast's default: taps index mod size),
//   "clamp" (taps clamped to the edge = grid_sample padding_mode="border"),
//   "zero" (taps outside contribute 0 = grid_sample padding_mode="zeros").
// A non-finite coordinate gives 0 for every channel.
#pragma once
#include <string>

#include "core/tensor.hpp"

namespace tessera::ops {
Tensor texture_sample_2d(const Tensor& tex, const Tensor& uv, const std::string& boundary = "wrap");
Tensor texture_sample_3d(const Tensor& grid, const Tensor& pts, const std::string& boundary = "wrap");
}  // namespace tessera::ops
