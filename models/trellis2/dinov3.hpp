// DINOv3 ViT image encoder as TRELLIS.2 uses it (DinoV3FeatureExtractor in
// trellis2/modules/image_feature_extractor.py over Hugging Face
// transformers' DINOv3ViTModel, modeling_dinov3_vit.py). Built from the HF
// config.json; parameter names are the HF state_dict names:
//   embeddings.{cls_token [1,1,D], mask_token [1,1,D], register_tokens [1,R,D]}
//   embeddings.patch_embeddings.{weight [D,3,p,p], bias}
//   layer.{i}.norm1.{weight,bias}
//   layer.{i}.attention.{k_proj, v_proj, q_proj, o_proj}.{weight [D,D], bias}
//       (bias per key_bias / value_bias / query_bias / proj_bias; released: no k bias)
//   layer.{i}.layer_scale1.lambda1 [D]
//   layer.{i}.norm2.{weight,bias}
//   layer.{i}.mlp.{up_proj [I,D], down_proj [D,I]}  (use_gated_mlp: gate_proj, up_proj, down_proj)
//   layer.{i}.layer_scale2.lambda1 [D]
//   norm.{weight,bias}        (loaded, unused by TRELLIS.2: it applies a parameter-free layer_norm)
// rope_embeddings.inv_freq is a non-persistent buffer (not in the file).
#pragma once
#include <functional>
#include <memory>
#include <vector>
#include <string>

#include "core/json_config.hpp"
#include "core/tensor.hpp"
#include "models/common/module.hpp"

namespace tessera::models::trellis2 {

struct Dinov3Config {
  int64_t hidden_size = 384, intermediate_size = 1536, num_hidden_layers = 12, num_attention_heads = 6;
  int64_t patch_size = 16, num_channels = 3, num_register_tokens = 0;
  std::string hidden_act = "gelu";
  double layer_norm_eps = 1e-5, rope_theta = 100.0, layerscale_value = 1.0;
  bool query_bias = true, key_bias = false, value_bias = true, proj_bias = true, mlp_bias = true;
  bool use_gated_mlp = false;  // also read from the older spelling use_swiglu_ffn
  // Defaults are DINOv3ViTConfig's; keys are those of the HF config.json.
  static Dinov3Config parse(const JsonConfig& cfg);
};

class Dinov3ViTModel : public Module {
 public:
  explicit Dinov3ViTModel(const Dinov3Config& cfg);
  std::string type_name() const override { return "DINOv3ViTModel"; }
  const Dinov3Config& config() const { return cfg_; }

  // DinoV3FeatureExtractor.extract_features: pixels [1, C, S, S] or [C, S, S]
  // (normalised, S a multiple of patch_size; see models::dinov3_input) ->
  // tokens [1 + registers + (S/p)^2, hidden] f32: CLS, registers, then patches
  // row-major; every layer, then a parameter-free layer_norm (eps 1e-5). The
  // model's own `norm` is not applied, as in TRELLIS.2. f32 throughout.
  // Stages: "embeddings", "layer.{i}", "output".
  Tensor extract_features(const Tensor& pixels, const std::function<void(const std::string&, const Tensor&)>& hook =
                                                    nullptr) const;
  // The 2-D RoPE angle table for a grid of hp x wp patches: [hp*wp, head_dim/2]
  // f32 (y angles then x angles; applied in "half" style to the patch tokens).
  std::vector<float> rope_angles(int64_t hp, int64_t wp) const;

 private:
  Dinov3Config cfg_;
};

std::unique_ptr<Dinov3ViTModel> make_dinov3(const std::string& config_json_path);

}  // namespace tessera::models::trellis2
