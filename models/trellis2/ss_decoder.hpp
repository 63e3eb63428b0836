// SparseStructureDecoder (TRELLIS v1's ss_dec_conv3d_16l8, reused by
// TRELLIS.2): a dense 3-D CNN from the [latent, R, R, R] structure latent to
// occupancy logits at 4R. Official code: trellis2/models/sparse_structure_vae.py.
//
// Parameter tree (state_dict order):
//   input_layer.{weight [ch0, latent, 3,3,3], bias}
//   middle_block.{i}.{norm1, norm2, conv1, conv2}.{weight, bias}      ResBlock3d(ch0)
//   blocks.{k}: num_res_blocks x ResBlock3d(ch_i), then (except after the
//               last level) UpsampleBlock3d: conv.{weight [8 ch_{i+1}, ch_i, 3,3,3], bias}
//   out_layer.0.{weight, bias}  (ChannelLayerNorm32 / GroupNorm32 of ch_last)
//   out_layer.2.{weight [out, ch_last, 3,3,3], bias}
#pragma once
#include <memory>
#include <vector>

#include "models/common/config.hpp"
#include "models/trellis2/layers.hpp"

namespace tessera::models::trellis2 {

struct SSDecoderConfig {
  int64_t out_channels = 0, latent_channels = 0, num_res_blocks = 0, num_res_blocks_middle = 2;
  std::vector<int64_t> channels;
  std::string norm_type = "layer";  // "layer" (ChannelLayerNorm32) | "group" (GroupNorm32, 32 groups)
  bool use_fp16 = false;
  static SSDecoderConfig parse(const JsonConfig& args);
};

// ChannelLayerNorm32 (LayerNorm over channels at each voxel, eps 1e-5) or
// GroupNorm32(32, C): both hold weight/bias [C].
struct ChannelNorm : Module {
  bool group;
  int64_t channels;
  Parameter* weight;
  Parameter* bias;
  ChannelNorm(int64_t channels, bool group);
  std::string type_name() const override { return group ? "GroupNorm32" : "ChannelLayerNorm32"; }
  Tensor forward(const Tensor& x) const;  // x [1, C, D, H, W] -> same, f32 statistics
};

struct ResBlock3d : Module {
  ChannelNorm* norm1;
  ChannelNorm* norm2;
  Conv3d* conv1;
  Conv3d* conv2;
  ResBlock3d(int64_t channels, bool group, DType wdt);
  std::string type_name() const override { return "ResBlock3d"; }
  Tensor forward(const Tensor& x) const;
};

struct UpsampleBlock3d : Module {
  Conv3d* conv;
  UpsampleBlock3d(int64_t in, int64_t out, DType wdt);
  std::string type_name() const override { return "UpsampleBlock3d"; }
  Tensor forward(const Tensor& x) const;  // conv to 8·out channels, then pixel_shuffle_3d(2)
};

class SparseStructureDecoder : public Module {
 public:
  // wdt: storage dtype of the torso convolutions (middle_block, blocks).
  SparseStructureDecoder(const SSDecoderConfig& cfg, DType wdt = DType::f32);
  std::string type_name() const override { return "SparseStructureDecoder"; }
  const SSDecoderConfig& config() const { return cfg_; }
  // z [1, latent, R, R, R] -> logits [1, out, 4R, 4R, 4R] (for 3 channel levels) f32.
  // The torso runs in the torso dtype (the official use_fp16 cast); input and
  // output layers in f32. Stages: "input_layer", "middle_block", "blocks.{k}", "out_layer".
  Tensor forward(const Tensor& z, const StageHook& hook = nullptr) const;

 private:
  SSDecoderConfig cfg_;
  DType wdt_;
  Conv3d* input_layer_;
  ModuleList* middle_;
  ModuleList* blocks_;
  ChannelNorm* out_norm_;
  Conv3d* out_conv_;
};

std::unique_ptr<SparseStructureDecoder> make_ss_decoder(const ModelConfig& mc, DType wdt = DType::f32);

}  // namespace tessera::models::trellis2
