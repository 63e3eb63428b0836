// TRELLIS.2 image -> 3D (Trellis2ImageTo3DPipeline.run in
// trellis2/pipelines/trellis2_image_to_3d.py), composed from Tessera's
// networks and registered ops on one device:
//
//   image --preprocess--> RGB on black --DINOv3--> cond_512 [, cond_1024]
//   SS flow (dense 16^3 latent, sampler) --SS decoder--> occupancy logits
//     --(> 0, max-pool to the stage grid)--> sparse structure coords
//   shape SLat flow (512, or the 512 -> 1024/1536 cascade) --> shape latent
//   texture SLat flow (concat: normalised shape latent) --> texture latent
//   shape decoder (FlexiDualGrid SC-VAE, returns its subdivisions)
//     --> O-Voxel geometry (dual vertices, edge flags, split weights) --> mesh
//   texture decoder (guided by the shape subdivisions) --> PBR voxels
//
// Grids. The official constants assume the released decoders (16x upsampling
// from latent to O-Voxel). They are written here in terms of F = 2^(levels-1)
// of the shape decoder so a smaller test checkpoint runs the same code:
//   stage grid of the sparse structure: 32 ('512', cascades) or 64 ('1024');
//   O-Voxel resolution: stage grid · F ('512', '1024');
//   cascade: LR coords upsampled (levels-1) times to lr_res = 32·F, requantised
//   as floor((c + 0.5) / lr_res · (hr_res / F)) with hr_res = 1024 or 1536
//   scaled by F/16, lowered by 128·F/16 while the token count >= max_num_tokens
//   (never below 1024·F/16).
// Noise: core/random.hpp streams (1: SS, 2: shape LR, 3: shape, 4: texture),
// identical on every backend, so runs on two backends compare stage by stage.
// (Bit parity with torch.randn is not attempted.)
#pragma once
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/image.hpp"
#include "core/sparse_tensor.hpp"
#include "models/common/config.hpp"
#include "models/common/image_preprocess.hpp"

namespace tessera::models::trellis2 {

struct GenerateOptions {
  std::string pipeline_type;  // "512" | "1024" | "1024_cascade" | "1536_cascade"; "" = pipeline.json default
  uint64_t seed = 42;
  int64_t max_num_tokens = 49152;
  int steps = 0;                     // > 0: override every sampler's step count (quick runs)
  std::optional<DType> precision;    // flow/decoder torso dtype; default: each checkpoint's own (bf16 / f16)
  bool preprocess = true;            // false: use the image as given (RGB, object on black)
  PreprocessOptions preprocess_options;
  // Benchmarks with random weights: after the sparse-structure stage has run
  // (so it is timed), use these coordinates instead of its output: i32 rows
  // (0, x, y, z) on the stage grid, e.g. sphere_shell_structure(). Logged.
  std::vector<int32_t> structure_override;
};

// A realistic sparse structure for benchmarks: the voxels of a res^3 grid whose
// centre lies within half a voxel of the sphere of radius 0.4·res centred in
// the grid (about 6% occupancy at 32^3), rows (0, x, y, z) in packed-key order.
std::vector<int32_t> sphere_shell_structure(int64_t res);

// "512" -> "512", "1024" -> "1024_cascade", "1536" -> "1536_cascade" (what the
// official app offers for each output resolution).
std::string pipeline_type_for_resolution(int resolution);

struct ProgressEvent {
  std::string stage;   // "cond_512", "sparse_structure", "shape_slat", ...
  int step = 0, steps = 0;  // 0/0 for stages without sampling steps; step 1..steps otherwise
  double stage_elapsed_s = 0, eta_s = -1;  // eta of the stage (-1 unknown)
  bool done = false;   // the stage finished (stage_elapsed_s is its time)
};
using ProgressFn = std::function<void(const ProgressEvent&)>;

// Stage boundary tensors, in pipeline order, for --dump and compare.
using StageTensors = std::vector<std::pair<std::string, Tensor>>;
using DumpFn = std::function<void(const std::string& stage, const StageTensors&, double seconds)>;

struct StageTiming {
  std::string stage;
  double seconds = 0;
  uint64_t peak_bytes = 0;  // device allocator peak during the stage
};

struct Trellis2Output {
  std::string pipeline_type;
  int64_t resolution = 0;         // O-Voxel grid (512 / 1024 / 1536 for the released decoders)
  SparseTensor shape_slat, tex_slat;  // de-normalised latents
  // O-Voxel geometry on the shape decoder's output voxels: dual vertices
  // [N, 3] (voxel-local, in [-m, 1+m]), edge intersection logits [N, 3]
  // (> 0: intersected), quad split weights [N, 1].
  Tensor voxel_coords, vertices, intersected_logits, quad_lerp;
  Tensor pbr;                     // [N, 6] f32: base colour (3), metallic, roughness, alpha in [0, 1]
  std::vector<float> mesh_positions;  // [V, 3] world space, Z up, inside [-0.5, 0.5]^3
  std::vector<int32_t> mesh_faces;    // [F, 3]
  std::vector<StageTiming> timings;
};

class Trellis2ImageTo3D {
 public:
  // Reads DIR/pipeline.json and checks every role, sampler and
  // normalisation it needs; networks are loaded per stage and released after
  // it (the official low_vram behaviour).
  Trellis2ImageTo3D(const std::string& dir, Device& dev);
  const PipelineConfig& config() const { return cfg_; }
  Device& device() const { return dev_; }

  Trellis2Output run(const Image& image, const GenerateOptions& opt, const ProgressFn& progress = nullptr,
                     const DumpFn& dump = nullptr) const;

 private:
  PipelineConfig cfg_;
  Device& dev_;
};

}  // namespace tessera::models::trellis2
