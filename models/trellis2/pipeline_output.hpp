// What `tessera generate` writes and what the demo feeds it.
#pragma once
#include <string>
#include <vector>

#include "core/image.hpp"
#include "models/common/stage_dump.hpp"
#include "models/trellis2/pipeline.hpp"

namespace tessera::models::trellis2 {

// Writes into `dir` (created): mesh.ply and mesh.obj (the extracted mesh,
// world space, Z up), ovoxel_shape.ply (O-Voxel geometry attributes per
// voxel), ovoxel_pbr.ply (base colour, metallic, roughness, alpha per voxel).
// Returns the paths written.
std::vector<std::string> write_pipeline_outputs(const Trellis2Output& out, const std::string& dir);

// Cross-backend NMSE bounds per stage (docs/numerics.md, "Pipelines").
StageTolerance default_stage_tolerance();

// A deterministic RGBA test picture: a shaded, two-coloured blob on a
// transparent background (size x size).
Image demo_image(int size);

}  // namespace tessera::models::trellis2
