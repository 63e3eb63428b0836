// The decode end of the TRELLIS.2 pipeline (decode_shape_slat,
// decode_tex_slat, the cascade's decoder upsample, and the O-Voxel -> mesh
// step), as small functions over a pipeline directory so pipeline.cpp reads
// as the official run(). Each loads its decoder for the call and releases it.
#pragma once
#include <memory>
#include <vector>

#include "core/sparse_tensor.hpp"
#include "models/common/config.hpp"

namespace tessera::models::trellis2 {

// The (x, y, z) rows of a batch-1 coordinate tensor [N, 4] = (0, x, y, z),
// on the host ([N * 3]); a batch other than 0 is an error.
std::vector<int32_t> coords_xyz(const Tensor& coords4);

// F = 2^(levels-1) of the shape decoder: latent grid -> O-Voxel grid (16 for the released one).
int64_t shape_decoder_upsample_factor(const PipelineConfig& p);

// decoder.upsample(slat, upsample_times = levels-1): the coordinates [M, 4]
// after every up-block (the subdivisions the decoder predicts), at the latent
// grid times F.
Tensor shape_decoder_upsample_coords(const PipelineConfig& p, Device& dev, const SparseTensor& slat, DType wdt);

struct ShapeDecodeResult {
  Tensor coords;              // i32 [N, 4] O-Voxel coordinates at `resolution`
  Tensor vertices;            // f32 [N, 3] dual vertices, voxel-local
  Tensor intersected_logits;  // f32 [N, 3]
  Tensor quad_lerp;           // f32 [N, 1]
  std::shared_ptr<void> subs; // the decoder's subdivisions (guide for the texture decoder)
};
ShapeDecodeResult decode_shape(const PipelineConfig& p, Device& dev, const SparseTensor& slat, int64_t resolution,
                               DType wdt);

// tex decoder(slat, guide_subs) * 0.5 + 0.5 -> [N, 6] f32 on the shape decoder's voxels.
Tensor decode_texture(const PipelineConfig& p, Device& dev, const SparseTensor& tex_slat, const ShapeDecodeResult& shape,
                      DType wdt);

// flexible_dual_grid_to_mesh on the host (meshing/flexible_dual_grid.hpp):
// positions [V*3] in [-0.5, 0.5]^3, faces [F*3].
void extract_mesh(const ShapeDecodeResult& shape, int64_t resolution, std::vector<float>& positions,
                  std::vector<int32_t>& faces);

}  // namespace tessera::models::trellis2
