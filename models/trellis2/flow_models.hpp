// The TRELLIS.2 flow DiTs: SparseStructureFlowModel (dense, 16^3 tokens) and
// SLatFlowModel / ElasticSLatFlowModel (sparse tokens; the Elastic mixin only
// adds training-time checkpointing and changes no parameter). Official code:
// trellis2/models/{sparse_structure_flow,structured_latent_flow}.py.
//
// Parameter tree (state_dict order), with C = model_channels:
//   t_embedder.mlp.{0,2}.{weight,bias}
//   adaLN_modulation.1.{weight,bias}            (share_mod)
//   input_layer.{weight,bias}                   [C, in_channels]
//   blocks.{i}.modulation                       [6C] (share_mod; else blocks.{i}.adaLN_modulation.1.*)
//   blocks.{i}.norm2.{weight,bias}
//   blocks.{i}.self_attn.{to_qkv, q_rms_norm.gamma, k_rms_norm.gamma, to_out}
//   blocks.{i}.cross_attn.{to_q, to_kv, q_rms_norm.gamma, k_rms_norm.gamma, to_out}
//   blocks.{i}.mlp.mlp.{0,2}.{weight,bias}
//   out_layer.{weight,bias}
// Not loaded: SparseStructureFlowModel's buffer `rope_phases` (complex64
// [res^3, head_dim/2], recomputed here; safetensors cannot hold complex) and,
// for pe_mode "ape", its buffer `pos_emb` [res^3, C] (registered as optional).
#pragma once
#include <memory>

#include "models/common/config.hpp"
#include "models/trellis2/layers.hpp"

namespace tessera::models::trellis2 {

class FlowModelBase : public Module {
 public:
  FlowModelBase(const FlowConfig& cfg, DType wdt);
  const FlowConfig& config() const { return cfg_; }
  std::string type_name() const override { return cfg_.class_name; }

  // The DiT on a token sequence (batch 1): x [L, in_channels], timestep the
  // value the official forward() receives (the sampler passes 1000·t), cond
  // [T, cond_channels],
  // coords [L, 3] integer grid coordinates for RoPE. Returns [L, out_channels]
  // f32. Activations run in `act` (f32, or the torso dtype where the device
  // supports it); norms, RoPE and attention statistics are f32 inside the ops.
  // `hook`, when set, sees every stage ("input_layer", "t_emb", "mod",
  // "blocks.{i}", "out_layer") for stage dumps.
  Tensor forward_tokens(const Tensor& x, double timestep, const Tensor& cond, const std::vector<int32_t>& coords,
                        DType act = DType::f32, const StageHook& hook = nullptr) const;
  // RoPE angle table [L, head_dim/2] f32 on `dev` (the official phases' angles).
  Tensor rope_angles(const std::vector<int32_t>& coords, Device& dev) const;

 protected:
  FlowConfig cfg_;
  TimestepEmbedder* t_embedder_;
  Linear* ada_ = nullptr;
  Linear* input_layer_;
  ModuleList* blocks_;
  Linear* out_layer_;
  Parameter* pos_emb_ = nullptr;
};

class SparseStructureFlowModel : public FlowModelBase {
 public:
  SparseStructureFlowModel(const FlowConfig& cfg, DType wdt = DType::f32);
  // x [1, in_channels, R, R, R] (R = resolution), timestep scalar, cond
  // [1, T, cond] or [T, cond] -> [1, out_channels, R, R, R] f32. Token
  // i·R² + j·R + k is voxel (i, j, k), as the official view/permute.
  Tensor forward(const Tensor& x, double timestep, const Tensor& cond, DType act = DType::f32,
                 const StageHook& hook = nullptr) const;
};

class SLatFlowModel : public FlowModelBase {
 public:
  SLatFlowModel(const FlowConfig& cfg, DType wdt = DType::f32);
  // One sparse object (batch 1): feats [N, C], coords N x (x, y, z) latent
  // grid coordinates (the batch column dropped), timestep as the official
  // forward receives it, cond [T, cond] or [1, T, cond]. concat_cond
  // [N, Cc] (the texture flow's normalised shape latent) is appended to the
  // channels first, as the official sparse_cat; then C (+ Cc) must equal
  // in_channels. Attention runs over all N tokens (the varlen case with one
  // sequence). Returns [N, out_channels] f32.
  Tensor forward(const Tensor& feats, const std::vector<int32_t>& coords, double timestep, const Tensor& cond,
                 const Tensor* concat_cond = nullptr, DType act = DType::f32, const StageHook& hook = nullptr) const;
};

std::unique_ptr<FlowModelBase> make_flow_model(const ModelConfig& mc, DType wdt = DType::f32);

}  // namespace tessera::models::trellis2
