// Rasterization in clip space and UV space, and barycentric attribute
// interpolation, with nvdiffrast's semantics (docs/geometry-raster.md).
//
// rasterize(pos [V,4] f32 clip-space (x,y,z,w), faces [F,3] i32, H, W) ->
//   {id [H,W] i32, bary [H,W,2] f32, depth [H,W] f32}.
//   Pixel (row i, col j) has its centre at NDC ((2j+1)/W - 1, (2i+1)/H - 1):
//   row 0 is y = -1 (OpenGL / nvdiffrast: the image is bottom-up).
//   id: the covering triangle with the smallest depth z/w, ties to the
//   smallest id; -1 where none. bary = (u, v): perspective-correct weights of
//   faces[id][0] and faces[id][1] (faces[id][2] has 1-u-v). Coverage is
//   tested with homogeneous edge functions (no clipping step): a pixel is
//   covered when its ray meets the triangle at a point with w > 0 and
//   -1 <= z/w <= 1 (nvdiffrast/OpenGL near and far clipping); edges are
//   inclusive; both windings rasterize; zero-area triangles never do.
//   Where id = -1, bary and depth are 0.
// rasterize_uv(uv [V,2] f32, uv_faces [F,3] i32, H, W) -> {id, bary}: the same
//   with vertex k at clip (2u-1, 2v-1, 0, 1): texel (i, j) samples
//   uv ((j+0.5)/W, (i+0.5)/H); overlapping triangles: the smallest id wins.
// interpolate(attr [V,C] f32, faces [F,3] i32, id [H,W] i32, bary [H,W,2] f32)
//   -> [H,W,C] = u a[f0] + v a[f1] + (1-u-v) a[f2]; 0 where id is not in [0,F).
//   A face index outside [0,V) is an Error.
#pragma once
#include <array>

#include "core/tensor.hpp"

namespace tessera::ops {
std::array<Tensor, 3> rasterize(const Tensor& pos, const Tensor& faces, int64_t height, int64_t width);
std::array<Tensor, 2> rasterize_uv(const Tensor& uv, const Tensor& uv_faces, int64_t height, int64_t width);
Tensor interpolate(const Tensor& attr, const Tensor& faces, const Tensor& id, const Tensor& bary);
}  // namespace tessera::ops
