// TRELLIS.2 model directories: building a module tree from a checkpoint json,
// loading a pipeline role, and writing complete random-weight directories
// (`tessera make-checkpoint`) in the official layout:
//   DIR/pipeline.json
//   DIR/<entry>.json + DIR/<entry>.safetensors   for every args.models entry
//       (the SS decoder's absolute entry "microsoft/TRELLIS-image-large/ckpts/..."
//        lands under DIR/microsoft/TRELLIS-image-large/ckpts/, which the
//        official resolution rule "{pipeline dir}/{entry}" finds first)
//   DIR/<image_cond_model.args.model_name>/{config.json, model.safetensors}
//       (the DINOv3 encoder in Hugging Face layout)
//
// A preset describes the networks: a JSON object
//   {"models": {role: {"path": entry, "name": class, "args": {...}}, ...},
//    "image_cond_model": {"model_name": ..., "config": {HF config.json}},
//    "<stage>_normalization": {"mean": [...], "std": [...]}   (optional; seeded when absent)}
// Built-in presets: "released" (the official configs, full size) and "tiny"
// (every network a few blocks / channels / heads wide, for tests).
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "models/common/config.hpp"
#include "models/common/module.hpp"
#include "models/trellis2/dinov3.hpp"

namespace tessera::models::trellis2 {

// The module tree a per-model json describes (by its "name"): flow models,
// SparseStructureDecoder, SparseUnetVaeDecoder, FlexiDualGridVaeDecoder.
// wdt: storage dtype of the torso matrices. Unknown class: an error listing the valid ones.
std::unique_ptr<Module> build_module(const ModelConfig& mc, DType wdt = DType::f32);

// The roles of pipeline.json's args.models that Tessera builds.
const std::vector<std::string>& pipeline_roles();

// The per-model json of one role of a pipeline directory.
ModelConfig role_config(const PipelineConfig& p, const std::string& role);

// Load one role of a pipeline directory onto `dev` (strict: extra tensors
// are an error). Throws the loader's one-line errors.
std::unique_ptr<Module> load_role(const PipelineConfig& p, const std::string& role, Device& dev,
                                  DType wdt = DType::f32, ExtraTensorPolicy extra = ExtraTensorPolicy::error);
// load_role as the class a stage needs (error naming the role and the class found).
template <typename T>
std::unique_ptr<T> load_role_as(const PipelineConfig& p, const std::string& role, Device& dev, DType wdt) {
  std::unique_ptr<Module> m = load_role(p, role, dev, wdt);
  T* t = dynamic_cast<T*>(m.get());
  TESSERA_CHECK(t != nullptr, "{}: role '{}' is a {}, not the class this stage needs", p.path, role, m->type_name());
  m.release();
  return std::unique_ptr<T>(t);
}
// The DINOv3 directory of a pipeline: {pipeline dir}/{model_name}, then
// $TESSERA_MODEL_ROOT/{model_name}. Returns the directory holding config.json.
std::string find_image_encoder_dir(const PipelineConfig& p);
std::unique_ptr<Dinov3ViTModel> load_image_encoder(const PipelineConfig& p, Device& dev,
                                                   ExtraTensorPolicy extra = ExtraTensorPolicy::error);

// Built-in preset text ("tiny" | "released"); throws for another name.
std::string preset_json(const std::string& name);

struct MakeCheckpointOptions {
  uint64_t seed = 0;
  std::optional<DType> dtype;  // file dtype of every tensor; default per model: flows BF16, decoders F16, DINOv3 F32
};
struct WrittenModel {
  std::string role, json, safetensors;
  int64_t params = 0;
};
// `preset`: "tiny", "released", or a path to a preset json. Creates `dir`
// (and subdirectories); files are written whole (tmp + rename).
std::vector<WrittenModel> make_checkpoint(const std::string& preset, const std::string& dir,
                                          const MakeCheckpointOptions& opts = {});

// The deterministic random initialisation make_checkpoint uses, for one
// tensor: ~N(0, 1/fan_in) for matrices/kernels, ~1 for norm weights and
// gammas, small values for biases, tokens and layer scales.
std::vector<float> init_values(const std::string& name, const Shape& shape, uint64_t seed);

}  // namespace tessera::models::trellis2
