// Typed views of the official config files (docs/checkpoints.md):
//  - pipeline.json (TRELLIS.2 / Pixal3D): {"name": <pipeline class>, "args": {
//      "models": {role: checkpoint path}, "<stage>_sampler": {name, args, params},
//      "<stage>_normalization": {mean, std}, "image_cond_model": {name, args},
//      "rembg_model": {name, args}, "low_vram", "default_pipeline_type"}}
//  - per-model json next to each safetensors: {"name": <class>, "args": {...}}.
// Missing required keys are errors naming the key and the file; unknown keys
// are logged (one warning per object).
#pragma once
#include <array>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/json_config.hpp"

namespace tessera::models {

// One "<stage>_sampler" block.
struct SamplerConfig {
  std::string key;   // "sparse_structure_sampler"
  std::string name;  // "FlowEulerGuidanceIntervalSampler"
  double sigma_min = 0;  // args.sigma_min (required)
  // params (defaults are those of FlowEulerGuidanceIntervalSampler.sample)
  int steps = 50;
  double guidance_strength = 3.0;
  double guidance_rescale = 0.0;
  std::array<double, 2> guidance_interval{0.0, 1.0};
  double rescale_t = 1.0;
  JsonConfig args, params;  // the raw blocks, for anything not typed here
};

struct NormalizationConfig {
  std::vector<double> mean, std;  // same length, std > 0
};

// {"name": ..., "args": {...}} of an auxiliary model (image_cond_model, rembg_model).
struct AuxModelConfig {
  std::string name;
  JsonConfig args;
  std::string model_name() const { return args.get_or<std::string>("model_name", ""); }
};

struct PipelineConfig {
  std::string path;       // the pipeline.json read
  std::string directory;  // its directory (checkpoint paths are relative to it)
  std::string name;       // "Trellis2ImageTo3DPipeline" (optional in the file)
  std::vector<std::pair<std::string, std::string>> models;  // role -> checkpoint path, file order
  std::map<std::string, SamplerConfig> samplers;             // by key ("shape_slat_sampler")
  std::map<std::string, NormalizationConfig> normalizations; // by key ("tex_slat_normalization")
  std::optional<AuxModelConfig> image_cond_model, rembg_model;
  bool low_vram = true;
  std::string default_pipeline_type;  // "" when absent (the TRELLIS.2 code then uses "1024_cascade")
  JsonConfig args;                    // the raw "args" object

  static PipelineConfig load(const std::string& path);
  static PipelineConfig parse(const std::string& text, const std::string& source);

  bool has_model(const std::string& role) const;
  const std::string& model(const std::string& role) const;               // throws naming role and file
  const SamplerConfig& sampler(const std::string& key) const;            // "shape_slat_sampler"
  const NormalizationConfig& normalization(const std::string& key) const;
  // Check that the roles/samplers/normalizations TRELLIS.2's image-to-3D
  // pipeline needs are present (error names the first missing key and file).
  void require_trellis2_image() const;
};

// A per-model json: {"name": class, "args": {...}}.
struct ModelConfig {
  std::string path;
  std::string name;
  JsonConfig args;
  static ModelConfig load(const std::string& path);
  static ModelConfig parse(const std::string& text, const std::string& source);
};

// Where a pipeline.json model entry lives on disk. The official loader tries
// "{pipeline dir}/{entry}.{json,safetensors}" first, then treats the entry as
// a Hugging Face path "owner/repo/sub/path". Tessera never downloads; for the
// second form it looks in, in order: each of `roots` (e.g. from
// TESSERA_MODEL_ROOT) as root/owner/repo/sub/path, the pipeline's sibling
// directory ../repo/sub/path (a `huggingface-cli download --local-dir`
// layout), and the Hugging Face cache (HF_HUB_CACHE, HF_HOME/hub,
// ~/.cache/huggingface/hub: models--owner--repo/snapshots/*/sub/path).
struct ModelFiles {
  std::string json, safetensors;
};
ModelFiles resolve_model_files(const std::string& pipeline_dir, const std::string& entry,
                               const std::vector<std::string>& roots = {});

}  // namespace tessera::models
