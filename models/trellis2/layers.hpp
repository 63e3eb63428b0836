// Building blocks shared by the TRELLIS.2 networks, each a models::Module whose
// parameter names are those of the official PyTorch layer (microsoft/TRELLIS.2
// at 5565d24, trellis2/modules/*). Weight storage dtype: the "torso" matrices
// (what the official convert_to()/convert_module_to_f16 turns into bf16/f16:
// every nn.Linear / nn.Conv3d / SparseConv3d inside `blocks`) use the dtype
// the network was built with; biases, norm affines, RMS gammas and the
// `modulation` vectors always stay f32 (the ops take f32 biases and affines).
#pragma once
#include <cstdint>
#include <functional>
#include <string>

#include "core/json_config.hpp"
#include "models/common/module.hpp"

namespace tessera::models::trellis2 {

// Called with (stage name, tensor) after each stage of a forward pass, for
// stage dumps and debugging; may be empty.
using StageHook = std::function<void(const std::string&, const Tensor&)>;

// nn.Linear(in, out, bias): weight [out, in], bias [out].
struct Linear : Module {
  int64_t in, out;
  Parameter* weight;
  Parameter* bias = nullptr;
  Linear(int64_t in, int64_t out, DType wdt, bool with_bias = true);
  std::string type_name() const override { return "Linear"; }
  // y = x·wᵀ + b (ops::linear), result in x's dtype.
  Tensor forward(const Tensor& x) const;
};

// nn.LayerNorm(C, elementwise_affine, eps): weight/bias [C] only when affine.
struct LayerNorm : Module {
  int64_t channels;
  double eps;
  Parameter* weight = nullptr;
  Parameter* bias = nullptr;
  LayerNorm(int64_t channels, bool affine, double eps);
  std::string type_name() const override { return "LayerNorm"; }
  Tensor forward(const Tensor& x) const;  // over the last dim
};

// nn.Conv3d(in, out, k, padding=k/2): weight [out, in, k, k, k], bias [out].
struct Conv3d : Module {
  int64_t in, out, k;
  Parameter* weight;
  Parameter* bias;
  Conv3d(int64_t in, int64_t out, int64_t k, DType wdt);
  std::string type_name() const override { return "Conv3d"; }
  Tensor forward(const Tensor& x) const;  // NCDHW, same size
};

// SparseConv3d (FlexGEMM backend): weight [out, k, k, k, in], bias [out].
struct SparseConv3d : Module {
  int64_t in, out, k;
  Parameter* weight;
  Parameter* bias;
  SparseConv3d(int64_t in, int64_t out, int64_t k, DType wdt);
  std::string type_name() const override { return "SparseConv3d"; }
};

// MultiHeadRMSNorm(dim, heads): gamma [heads, dim]; F.normalize(x) * gamma * sqrt(dim).
struct MultiHeadRMSNorm : Module {
  Parameter* gamma;
  MultiHeadRMSNorm(int64_t dim, int64_t heads);
  std::string type_name() const override { return "MultiHeadRMSNorm"; }
  Tensor forward(const Tensor& x) const;  // x [..., heads, dim]
};

// TimestepEmbedder(hidden, 256): mlp = Sequential(Linear(256, C), SiLU, Linear(C, C)).
struct TimestepEmbedder : Module {
  int64_t freq_dim;
  Linear* fc1;
  Linear* fc2;
  TimestepEmbedder(int64_t hidden, int64_t freq_dim = 256);
  std::string type_name() const override { return "TimestepEmbedder"; }
  // t [B] f32 (already 1000·t) -> [B, hidden] f32.
  Tensor forward(const Tensor& t) const;
};

// The DiT configuration shared by SparseStructureFlowModel and SLatFlowModel
// (constructor arguments of the official classes; defaults are theirs).
struct FlowConfig {
  std::string class_name;  // "SparseStructureFlowModel", "SLatFlowModel", "ElasticSLatFlowModel"
  int64_t resolution = 0, in_channels = 0, model_channels = 0, cond_channels = 0, out_channels = 0, num_blocks = 0;
  int64_t num_heads = 0;           // 0 in the file (None) -> model_channels / num_head_channels
  int64_t num_head_channels = 64;
  double mlp_ratio = 4.0;
  std::string pe_mode = "ape";     // "ape" | "rope"
  double rope_freq[2] = {1.0, 10000.0};
  std::string dtype = "float32";   // the official torso dtype (f16/bf16/f32 spellings)
  bool share_mod = false, qk_rms_norm = false, qk_rms_norm_cross = false;
  // Derived.
  int64_t heads() const { return num_heads; }
  int64_t head_dim() const { return model_channels / num_heads; }
  int64_t mlp_hidden() const;  // int(model_channels * mlp_ratio), Python truncation

  // Required keys are errors; unknown keys are logged (report_unknown_keys).
  static FlowConfig parse(const std::string& class_name, const JsonConfig& args);
};

// MultiHeadAttention / SparseMultiHeadAttention (self or cross, qkv_bias=True).
struct Attention : Module {
  bool cross;
  int64_t channels, heads;
  bool rms;
  Linear* to_qkv = nullptr;  // self
  Linear* to_q = nullptr;    // cross
  Linear* to_kv = nullptr;   // cross
  MultiHeadRMSNorm* q_norm = nullptr;
  MultiHeadRMSNorm* k_norm = nullptr;
  Linear* to_out;
  Attention(int64_t channels, int64_t heads, int64_t ctx_channels, bool cross, bool qk_rms_norm, DType wdt);
  std::string type_name() const override { return cross ? "CrossAttention" : "SelfAttention"; }
  // Self: x [L, C], rope angles [L, head_dim/2] (f32) or undefined. -> [L, C].
  Tensor forward_self(const Tensor& x, const Tensor* rope_angles) const;
  // Cross: x [L, C], context [T, ctx] -> [L, C].
  Tensor forward_cross(const Tensor& x, const Tensor& context) const;
};

// ModulatedTransformerCrossBlock / ModulatedSparseTransformerCrossBlock.
struct ModulatedCrossBlock : Module {
  const FlowConfig& cfg;
  Parameter* modulation = nullptr;  // share_mod
  Linear* ada = nullptr;            // !share_mod: adaLN_modulation.1
  LayerNorm* norm1;
  LayerNorm* norm2;
  LayerNorm* norm3;
  Attention* self_attn;
  Attention* cross_attn;
  Linear* mlp0;
  Linear* mlp2;
  ModulatedCrossBlock(const FlowConfig& cfg, DType wdt);
  std::string type_name() const override { return "ModulatedTransformerCrossBlock"; }
  // h [L, C]; mod [6C] f32 (the shared adaLN output, or t_emb when !share_mod);
  // cond [T, cond_channels]; rope_angles [L, head_dim/2] or nullptr.
  Tensor forward(const Tensor& h, const Tensor& mod, const Tensor& cond, const Tensor* rope_angles) const;
};

// Parse the official dtype spellings ("bfloat16", "bf16", "float16", "fp16", ...).
DType parse_torso_dtype(const std::string& s, const std::string& where);

}  // namespace tessera::models::trellis2
