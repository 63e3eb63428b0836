#include "models/trellis2/dinov3.hpp"

#include "core/error.hpp"
#include "models/trellis2/layers.hpp"

namespace tessera::models::trellis2 {

Dinov3Config Dinov3Config::parse(const JsonConfig& a) {
  Dinov3Config c;
  c.hidden_size = a.get_or<int64_t>("hidden_size", c.hidden_size);
  c.intermediate_size = a.get_or<int64_t>("intermediate_size", c.intermediate_size);
  c.num_hidden_layers = a.get_or<int64_t>("num_hidden_layers", c.num_hidden_layers);
  c.num_attention_heads = a.get_or<int64_t>("num_attention_heads", c.num_attention_heads);
  c.patch_size = a.get_or<int64_t>("patch_size", c.patch_size);
  c.num_channels = a.get_or<int64_t>("num_channels", c.num_channels);
  c.num_register_tokens = a.get_or<int64_t>("num_register_tokens", c.num_register_tokens);
  c.hidden_act = a.get_or<std::string>("hidden_act", c.hidden_act);
  c.layer_norm_eps = a.get_or<double>("layer_norm_eps", c.layer_norm_eps);
  c.rope_theta = a.get_or<double>("rope_theta", c.rope_theta);
  c.layerscale_value = a.get_or<double>("layerscale_value", c.layerscale_value);
  c.query_bias = a.get_or<bool>("query_bias", c.query_bias);
  c.key_bias = a.get_or<bool>("key_bias", c.key_bias);
  c.value_bias = a.get_or<bool>("value_bias", c.value_bias);
  c.proj_bias = a.get_or<bool>("proj_bias", c.proj_bias);
  c.mlp_bias = a.get_or<bool>("mlp_bias", c.mlp_bias);
  c.use_gated_mlp = a.get_or<bool>("use_gated_mlp", a.get_or<bool>("use_swiglu_ffn", false));
  // Generic HF keys and training-only settings: known, not used for inference.
  for (const char* k : {"architectures", "model_type", "torch_dtype", "dtype", "transformers_version", "image_size",
                        "initializer_range", "attention_dropout", "hidden_dropout_prob", "drop_path_rate",
                        "pos_embed_shift", "pos_embed_jitter", "pos_embed_rescale", "apply_layernorm", "out_features",
                        "out_indices", "stage_names", "_name_or_path"})
    a.mark_used(k);
  a.report_unknown_keys("DINOv3ViTModel config");
  const std::string w = a.source();
  for (auto [k, v] : {std::pair<const char*, int64_t>{"hidden_size", c.hidden_size},
                      {"intermediate_size", c.intermediate_size},
                      {"num_hidden_layers", c.num_hidden_layers},
                      {"num_attention_heads", c.num_attention_heads},
                      {"patch_size", c.patch_size},
                      {"num_channels", c.num_channels}})
    if (v <= 0) fail("{}: key '{}' must be > 0, found {}", w, k, v);
  if (c.num_register_tokens < 0) fail("{}: key 'num_register_tokens' must be >= 0", w);
  if (c.hidden_size % c.num_attention_heads != 0)
    fail("{}: hidden_size {} is not divisible by num_attention_heads {}", w, c.hidden_size, c.num_attention_heads);
  // The 2-D RoPE splits head_dim into 4 quarters (y/x angles, each tiled twice).
  if ((c.hidden_size / c.num_attention_heads) % 4 != 0)
    fail("{}: DINOv3 RoPE needs head_dim % 4 == 0, found {}", w, c.hidden_size / c.num_attention_heads);
  return c;
}

namespace {

struct LayerScale : Module {
  LayerScale(int64_t d) { register_parameter("lambda1", {d}, DType::f32); }
  std::string type_name() const override { return "DINOv3ViTLayerScale"; }
};

struct DinoLayer : Module {
  DinoLayer(const Dinov3Config& c) {
    const int64_t D = c.hidden_size, I = c.intermediate_size;
    emplace_module<LayerNorm>("norm1", D, true, c.layer_norm_eps);
    auto& at = emplace_module<Module>("attention");
    // HF registers k, v, q, o in that order.
    at.emplace_module<Linear>("k_proj", D, D, DType::f32, c.key_bias);
    at.emplace_module<Linear>("v_proj", D, D, DType::f32, c.value_bias);
    at.emplace_module<Linear>("q_proj", D, D, DType::f32, c.query_bias);
    at.emplace_module<Linear>("o_proj", D, D, DType::f32, c.proj_bias);
    emplace_module<LayerScale>("layer_scale1", D);
    emplace_module<LayerNorm>("norm2", D, true, c.layer_norm_eps);
    auto& mlp = emplace_module<Module>("mlp");
    if (c.use_gated_mlp) mlp.emplace_module<Linear>("gate_proj", D, I, DType::f32, c.mlp_bias);
    mlp.emplace_module<Linear>("up_proj", D, I, DType::f32, c.mlp_bias);
    mlp.emplace_module<Linear>("down_proj", I, D, DType::f32, c.mlp_bias);
    emplace_module<LayerScale>("layer_scale2", D);
  }
  std::string type_name() const override { return "DINOv3ViTLayer"; }
};

}  // namespace

Dinov3ViTModel::Dinov3ViTModel(const Dinov3Config& cfg) : cfg_(cfg) {
  const int64_t D = cfg_.hidden_size, p = cfg_.patch_size;
  auto& emb = emplace_module<Module>("embeddings");
  emb.register_parameter("cls_token", {1, 1, D}, DType::f32);
  emb.register_parameter("mask_token", {1, 1, D}, DType::f32);
  emb.register_parameter("register_tokens", {1, cfg_.num_register_tokens, D}, DType::f32);
  auto& pe = emb.emplace_module<Module>("patch_embeddings");  // nn.Conv2d(3, D, p, stride p)
  pe.register_parameter("weight", {D, cfg_.num_channels, p, p}, DType::f32);
  pe.register_parameter("bias", {D}, DType::f32);
  auto& layers = emplace_module<ModuleList>("layer");
  for (int64_t i = 0; i < cfg_.num_hidden_layers; ++i) layers.append(std::make_unique<DinoLayer>(cfg_));
  emplace_module<LayerNorm>("norm", D, true, cfg_.layer_norm_eps);
}

std::unique_ptr<Dinov3ViTModel> make_dinov3(const std::string& path) {
  return std::make_unique<Dinov3ViTModel>(Dinov3Config::parse(JsonConfig::load_file(path)));
}

}  // namespace tessera::models::trellis2
