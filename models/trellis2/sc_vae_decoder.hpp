// SC-VAE decoders of TRELLIS.2: SparseUnetVaeDecoder (texture: out_channels
// 6, pred_subdiv false) and FlexiDualGridVaeDecoder (shape: out_channels
// fixed at 7, pred_subdiv true, plus resolution / voxel_margin for the mesh
// head). Official code (microsoft/TRELLIS.2 at 5565d24):
// trellis2/models/sc_vaes/{sparse_unet_vae,fdg_vae}.py, the sparse modules in
// trellis2/modules/sparse/, the calls in trellis2/pipelines/trellis2_image_to_3d.py.
//
// Module mapping (official -> Tessera):
//   SparseUnetVaeDecoder.forward(x, guide_subs, return_subs)
//       return_subs=True (pred_subdiv)   -> SparseUnetVaeDecoder::forward       (ScVaeDecoded: out + subs)
//       guide_subs=subs (!pred_subdiv)   -> SparseUnetVaeDecoder::forward_guided
//   SparseUnetVaeDecoder.upsample(x, t) -> SparseUnetVaeDecoder::upsample_coords
//   FlexiDualGridVaeDecoder.forward(x, return_subs=True) + set_resolution(r)
//                                        -> FlexiDualGridVaeDecoder::forward_dual_grid(x, r)
//       (the head only; flexible_dual_grid_to_mesh is the host mesher's job)
//   from_latent / output_layer (SparseLinear, f32)        -> Linear (layers.hpp)
//   SparseConvNeXtBlock3d   -> scvae::ConvNeXtBlock  (sc_vae_blocks.hpp)
//   SparseResBlock3d        -> scvae::ResBlock
//   SparseResBlockC2S3d     -> scvae::C2SBlock       (SparseChannel2Spatial: ops sparse_subdivide_offsets,
//                                                     sparse_channel_to_space via nn::subdivision_plan)
//   SparseResBlockUpsample3d-> scvae::UpsampleBlock  (SparseUpsample: child coords from sparse_channel_to_space,
//                                                     parent rows by sparse_downsample_coords + hash_probe, gather)
//   LayerNorm32 -> ops::layer_norm (f32 statistics); sp.SparseConv3d (FlexGEMM) -> ops::sparse_conv3d over
//   ops::sparse_neighbour_map (built once per coordinate set, cached on it); F.silu -> ops::silu or the
//   linear op's fused "silu"; F.sigmoid / F.softplus -> ops::sigmoid / ops::softplus.
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
//
// Precision (the official use_fp16): from_latent and output_layer in f32;
// the torso (everything under `blocks`) stores its matrices in the dtype the
// decoder was built with (wdt) and runs its activations in it (h.type(dtype)
// after from_latent); norms' statistics and every conv/linear accumulate in
// f32 (the ops). Biases and norm affines are f32. Before output_layer: back
// to f32, F.layer_norm (no affine, eps 1e-5). One deliberate difference: the
// ConvNeXt MLP's SiLU is fused into mlp.0's linear (applied in f32 before the
// one rounding; PyTorch rounds to the torso dtype between the two).
//
// Subdivision: parent p gets child k (at 2 (x,y,z) + (k&1, (k>>1)&1, (k>>2)&1))
// when logits[p, k] > 0; children are ordered parent by parent (input row
// order), then by k. Every up-block needs at least one child (else Error).
// Sync points: one 4-byte read of the child count per up-block, and the
// host validation of each new level's coordinates (SparseTensor).
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "core/sparse_tensor.hpp"
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
  int64_t levels() const { return int64_t(num_blocks.size()); }
  int64_t upsample_factor() const { return int64_t(1) << (levels() - 1); }  // 2^(levels-1)
  static ScVaeDecoderConfig parse(const std::string& class_name, const JsonConfig& args);
};

// What forward() returns: the decoder output and, per up-block i (levels-1
// of them), the subdivision logits it predicted: a SparseTensor on level i's
// voxels (coordinates at level i's grid) with feats [N_i, 8] in the torso
// dtype: the official `subs` (return_subs=True). They guide the texture
// decoder (forward_guided). They hold no neighbour maps or hash tables.
struct ScVaeDecoded {
  SparseTensor out;                // [N_out, out_channels] f32, grid = latent grid * 2^(levels-1)
  std::vector<SparseTensor> subs;  // empty for forward_guided
};

class SparseUnetVaeDecoder : public Module {
 public:
  // wdt: storage dtype of the torso matrices (f32, f16 or bf16) and of the
  // torso activations.
  SparseUnetVaeDecoder(const ScVaeDecoderConfig& cfg, DType wdt = DType::f32);
  std::string type_name() const override { return cfg_.class_name; }
  const ScVaeDecoderConfig& config() const { return cfg_; }
  DType torso_dtype() const { return wdt_; }

  // latent: SparseTensor with feats [N, latent_channels] (any float dtype;
  // from_latent runs in f32), N >= 1, any number of batch items. Needs
  // pred_subdiv (the shape decoder) unless the decoder has a single level.
  // Stages for the hook: "from_latent", "blocks.{i}.{j}", "output_layer".
  ScVaeDecoded forward(const SparseTensor& latent, const StageHook& hook = nullptr) const;

  // The texture decoder's call (pred_subdiv false): up-block i subdivides
  // where guide_subs[i].feats > 0. guide_subs are forward()'s subs of a
  // decoder with the same number of levels, run on a latent with the same
  // coordinates in the same row order (checked: level-0 coordinates equal,
  // row counts per level). Raw output: the official decode_tex_slat then
  // applies * 0.5 + 0.5 (the caller's step).
  SparseTensor forward_guided(const SparseTensor& latent, const std::vector<SparseTensor>& guide_subs,
                              const StageHook& hook = nullptr) const;

  // decoder.upsample(x, upsample_times = times): the coordinates i32 [M, 4]
  // of level `times` (0 <= times < levels; times up-blocks' predictions),
  // i.e. at the latent grid * 2^times. Needs pred_subdiv. Levels >= times
  // are not computed; the last up-block only predicts its subdivision.
  Tensor upsample_coords(const SparseTensor& latent, int64_t times) const;

 protected:
  // Shared walk: stop_level < levels returns after creating level
  // stop_level's coordinates (upsample_coords).
  ScVaeDecoded run(const SparseTensor& latent, const std::vector<SparseTensor>* guide, int64_t stop_level,
                   const StageHook& hook) const;
  void check_latent(const SparseTensor& latent) const;

  ScVaeDecoderConfig cfg_;
  DType wdt_;
  Linear* output_layer_;
  Linear* from_latent_;
  ModuleList* blocks_;
};

// FlexiDualGridVaeDecoder's head on the decoder output h [N, 7] (f32):
struct FlexiDualGridDecoded {
  Tensor coords;              // i32 [N, 4] (batch, x, y, z) voxels of the O-Voxel grid `resolution`^3
  Tensor vertices;            // f32 [N, 3] = (1 + 2 m) sigmoid(h[:, 0:3]) - m, m = voxel_margin (voxel-local)
  Tensor intersected_logits;  // f32 [N, 3] = h[:, 3:6]; intersected where > 0
  Tensor quad_lerp;           // f32 [N, 1] = softplus(h[:, 6:7])
  int64_t resolution = 0;     // grid_size of flexible_dual_grid_to_mesh (aabb [-0.5, 0.5]^3)
  double voxel_margin = 0.5;
  std::array<int32_t, 3> spatial_shape{0, 0, 0};  // the output tensor's spatial shape (latent's * 2^(levels-1))
  std::vector<SparseTensor> subs;                 // guide for the texture decoder (forward_guided)
};

class FlexiDualGridVaeDecoder : public SparseUnetVaeDecoder {
 public:
  using SparseUnetVaeDecoder::SparseUnetVaeDecoder;
  // set_resolution(resolution) + forward(latent, return_subs=True), without
  // the mesher. resolution 0: the config's. resolution must be a multiple of
  // 2^(levels-1) and every latent voxel inside the latent grid
  // (resolution / 2^(levels-1))^3, else Error. Stages: forward()'s, then
  // "vertices" and "quad_lerp".
  FlexiDualGridDecoded forward_dual_grid(const SparseTensor& latent, int64_t resolution = 0,
                                         const StageHook& hook = nullptr) const;
};

// Builds FlexiDualGridVaeDecoder or SparseUnetVaeDecoder by mc.name.
std::unique_ptr<SparseUnetVaeDecoder> make_sc_vae_decoder(const ModelConfig& mc, DType wdt = DType::f32);

}  // namespace tessera::models::trellis2
