// The blocks of the SC-VAE decoders (official: trellis2/models/sc_vaes/
// sparse_unet_vae.py at 5565d24), each a Module with the official parameter
// names and a forward composed only from registered ops. Internal to
// sc_vae_decoder.cpp; the public API is models/trellis2/sc_vae_decoder.hpp.
//
// Activations: x.feats in the torso dtype (the dtype the weights were built
// with); LayerNorm32 statistics in f32 (the op), result rounded to the torso
// dtype; every conv/linear accumulates in f32 and rounds once.
// Neighbour maps come from ops::sparse_neighbour_map, cached on the
// coordinate set (built once per level, shared by every block on it).
#pragma once
#include <string>

#include "core/sparse_tensor.hpp"
#include "models/trellis2/layers.hpp"
#include "ops/sparse_nn.hpp"

namespace tessera::models::trellis2::scvae {

// SparseConv3d on `layout`'s voxels applied to `feats` (rows of layout):
// weight [Cout, k, k, k, Cin] (feats' dtype), f32 bias, layout's cached
// k^3 neighbour map.
Tensor sparse_conv(const SparseConv3d& conv, const SparseTensor& layout, const Tensor& feats);

// SparseConvNeXtBlock3d(C, mlp_ratio): h = conv(x); h = norm(h) (affine, eps
// 1e-6); h = mlp.2(silu(mlp.0(h))); return h + x. Registration order norm,
// conv, mlp (the forward runs conv first).
struct ConvNeXtBlock : Module {
  LayerNorm* norm;
  SparseConv3d* conv;
  Linear* mlp0;
  Linear* mlp2;
  ConvNeXtBlock(int64_t c, double mlp_ratio, DType wdt);
  std::string type_name() const override { return "SparseConvNeXtBlock3d"; }
  SparseTensor forward(const SparseTensor& x) const;
};

// SparseResBlock3d(C) (resample_mode 'nearest', no up/down, skip Identity):
// h = conv1(silu(norm1(x))); h = conv2(silu(norm2(h))); return h + x.
struct ResBlock : Module {
  LayerNorm* norm1;  // affine, eps 1e-6
  LayerNorm* norm2;  // no affine, eps 1e-6
  SparseConv3d* conv1;
  SparseConv3d* conv2;
  ResBlock(int64_t c, DType wdt);
  std::string type_name() const override { return "SparseResBlock3d"; }
  SparseTensor forward(const SparseTensor& x) const;
};

// Common part of the two up-blocks (C -> C' channels, one level finer).
// The subdivision decision of parent p is logits[p, k] > 0 for child k at
// 2 (x, y, z) + (k & 1, (k >> 1) & 1, (k >> 2) & 1); children are ordered
// parent by parent, then by increasing k (SparseChannel2Spatial /
// SparseUpsample with a subdivision: repeat_interleave + nonzero).
struct UpBlock : Module {
  int64_t in_ch, out_ch;
  LayerNorm* norm1;  // affine, eps 1e-6
  LayerNorm* norm2;  // no affine, eps 1e-6
  SparseConv3d* conv1;
  SparseConv3d* conv2;
  Linear* to_subdiv = nullptr;  // pred_subdiv only: Linear(C, 8)
  UpBlock(int64_t c, int64_t co) : in_ch(c), out_ch(co) {}
  // to_subdiv(x): logits [N, 8] in x's dtype (pred_subdiv only).
  Tensor predict_subdiv(const SparseTensor& x) const;
  // The block's output on the children that `logits` [N, 8] (> 0) selects.
  // Throws when no child is selected.
  virtual SparseTensor forward(const SparseTensor& x, const Tensor& logits) const = 0;
  // Only the children's coordinates (no features): SparseTensor with
  // undefined feats, spatial shape doubled (decoder.upsample()).
  static SparseTensor children(const SparseTensor& x, const Tensor& logits, const nn::SubdivisionPlan& plan);
};

// SparseResBlockC2S3d(C, C'):
//   h = conv1(silu(norm1(x)))                      [N, 8 C']
//   h = channel2spatial(h, logits > 0)             [Nc, C'] (child k: channels [k C', (k+1) C'))
//   s = channel2spatial(x).repeat_interleave(C' / (C/8))   (child k: x channels [k C/8, (k+1) C/8))
//   return conv2(silu(norm2(h))) + s
struct C2SBlock : UpBlock {
  C2SBlock(int64_t c, int64_t co, bool pred_subdiv, DType wdt);
  std::string type_name() const override { return "SparseResBlockC2S3d"; }
  SparseTensor forward(const SparseTensor& x, const Tensor& logits) const override;
};

// SparseResBlockUpsample3d(C, C'):
//   h = upsample(silu(norm1(x)), logits > 0)       [Nc, C] (each child copies its parent)
//   s = upsample(x); s = skip_connection(s) when C != C' (Linear), else s
//   return conv2(silu(norm2(conv1(h)))) + s
// The child -> parent row map: the children's parent coordinates
// (sparse_downsample_coords) probed in the parent's hash table, then gather.
struct UpsampleBlock : UpBlock {
  Linear* skip = nullptr;
  UpsampleBlock(int64_t c, int64_t co, bool pred_subdiv, DType wdt);
  std::string type_name() const override { return "SparseResBlockUpsample3d"; }
  SparseTensor forward(const SparseTensor& x, const Tensor& logits) const override;
};

}  // namespace tessera::models::trellis2::scvae
