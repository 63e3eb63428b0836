// SC-VAE decoders: SparseUnetVaeDecoder (texture, out_channels 6,
// pred_subdiv false) and FlexiDualGridVaeDecoder (shape: out_channels fixed
// at 7, pred_subdiv true, plus resolution / voxel_margin for the mesh head).
// Official code: trellis2/models/sc_vaes/{sparse_unet_vae,fdg_vae}.py.
// Module tree only (the forward needs the sparse ops).
//
// Parameter tree (state_dict order; the official __init__ registers
// output_layer before from_latent):
//   output_layer.{weight [out, ch_last], bias}
//   from_latent.{weight [ch0, latent], bias}
//   blocks.{i}.{j}  j < num_blocks[i]: block_type[i](ch_i)
//     SparseConvNeXtBlock3d: norm.{weight,bias}, conv.{weight [C,3,3,3,C], bias},
//                            mlp.0.{weight [4C, C], bias}, mlp.2.{weight [C, 4C], bias}
//     SparseResBlock3d:      norm1.{weight,bias}, conv1.*, conv2.* ([C,3,3,3,C])
//   blocks.{i}.{num_blocks[i]}  (i < levels-1): up_block_type[i](ch_i, ch_{i+1})
//     SparseResBlockC2S3d:      norm1.*, conv1.{weight [8 ch', 3,3,3, ch], bias},
//                               conv2.{weight [ch',3,3,3,ch'], bias}, to_subdiv.* [8, ch] (pred_subdiv)
//     SparseResBlockUpsample3d: norm1.*, conv1 [ch',3,3,3,ch], conv2, skip_connection [ch', ch]
//                               (ch != ch'), to_subdiv.* (pred_subdiv)
// Sparse conv weights use FlexGEMM's [Cout, Kx, Ky, Kz, Cin] layout.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "models/common/config.hpp"
#include "models/trellis2/layers.hpp"

namespace tessera::models::trellis2 {

struct ScVaeDecoderConfig {
  std::string class_name;  // "SparseUnetVaeDecoder" | "FlexiDualGridVaeDecoder"
  int64_t out_channels = 0, latent_channels = 0;
  std::vector<int64_t> model_channels, num_blocks;
  std::vector<std::string> block_type, up_block_type;
  std::vector<double> mlp_ratio;  // per level, from block_args (SparseConvNeXtBlock3d, default 4)
  bool use_fp16 = false, pred_subdiv = true;
  int64_t resolution = 0;     // FlexiDualGridVaeDecoder only
  double voxel_margin = 0.5;  // FlexiDualGridVaeDecoder only
  static ScVaeDecoderConfig parse(const std::string& class_name, const JsonConfig& args);
};

class SparseUnetVaeDecoder : public Module {
 public:
  SparseUnetVaeDecoder(const ScVaeDecoderConfig& cfg, DType wdt = DType::f32);
  std::string type_name() const override { return cfg_.class_name; }
  const ScVaeDecoderConfig& config() const { return cfg_; }

 private:
  ScVaeDecoderConfig cfg_;
};

std::unique_ptr<SparseUnetVaeDecoder> make_sc_vae_decoder(const ModelConfig& mc, DType wdt = DType::f32);

}  // namespace tessera::models::trellis2
