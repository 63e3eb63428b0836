#include "models/trellis2/sc_vae_blocks.hpp"

#include "core/error.hpp"
#include "ops/activation.hpp"
#include "ops/elementwise.hpp"
#include "ops/embedding.hpp"
#include "ops/linear.hpp"
#include "ops/sparse_conv.hpp"
#include "ops/sparse_hash.hpp"

namespace tessera::models::trellis2::scvae {

Tensor sparse_conv(const SparseConv3d& conv, const SparseTensor& layout, const Tensor& feats) {
  const Tensor& w = conv.weight->value;
  TESSERA_CHECK(feats.dtype() == w.dtype(), "SparseConv3d: input is {} but the weight is {} (cast the input first)",
                dtype_name(feats.dtype()), dtype_name(w.dtype()));
  return ops::sparse_conv3d(feats, ops::sparse_neighbour_map(layout, conv.k), w, &conv.bias->value);
}

// ---- SparseConvNeXtBlock3d ---------------------------------------------------------------

ConvNeXtBlock::ConvNeXtBlock(int64_t c, double mlp_ratio, DType wdt) {
  norm = &emplace_module<LayerNorm>("norm", c, true, 1e-6);
  conv = &emplace_module<SparseConv3d>("conv", c, c, 3, wdt);
  auto& mlp = emplace_module<Module>("mlp");  // Sequential(Linear, SiLU, Linear): indices 0 and 2
  const int64_t hidden = int64_t(double(c) * mlp_ratio);  // int(channels * mlp_ratio)
  mlp0 = &mlp.emplace_module<Linear>("0", c, hidden, wdt);
  mlp2 = &mlp.emplace_module<Linear>("2", hidden, c, wdt);
}

SparseTensor ConvNeXtBlock::forward(const SparseTensor& x) const {
  Tensor h = sparse_conv(*conv, x, x.feats());
  h = norm->forward(h);
  h = ops::linear(h, mlp0->weight->value, &mlp0->bias->value, std::nullopt, "silu");
  h = mlp2->forward(h);
  return x.with_feats(ops::add(h, x.feats()));
}

// ---- SparseResBlock3d --------------------------------------------------------------------

ResBlock::ResBlock(int64_t c, DType wdt) {
  norm1 = &emplace_module<LayerNorm>("norm1", c, true, 1e-6);
  norm2 = &emplace_module<LayerNorm>("norm2", c, false, 1e-6);
  conv1 = &emplace_module<SparseConv3d>("conv1", c, c, 3, wdt);
  conv2 = &emplace_module<SparseConv3d>("conv2", c, c, 3, wdt);
}

SparseTensor ResBlock::forward(const SparseTensor& x) const {
  Tensor h = sparse_conv(*conv1, x, ops::silu(norm1->forward(x.feats())));
  h = sparse_conv(*conv2, x, ops::silu(norm2->forward(h)));
  return x.with_feats(ops::add(h, x.feats()));
}

// ---- up-blocks ---------------------------------------------------------------------------

Tensor UpBlock::predict_subdiv(const SparseTensor& x) const {
  TESSERA_CHECK(to_subdiv, "{}: no to_subdiv layer (built with pred_subdiv = false); pass guide subdivisions",
                type_name());
  return to_subdiv->forward(x.feats());
}

namespace {

nn::SubdivisionPlan plan_children(const char* block, const SparseTensor& x, const Tensor& logits) {
  TESSERA_CHECK(logits.defined() && logits.ndim() == 2 && logits.dim(0) == x.num_voxels() && logits.dim(1) == 8,
                "{}: subdivision logits must be [{}, 8] (one row per voxel), got {}", block, x.num_voxels(),
                logits.defined() ? logits.desc() : std::string("nothing"));
  nn::SubdivisionPlan plan = nn::subdivision_plan(logits);
  TESSERA_CHECK(plan.num_children > 0,
                "{}: no voxel is subdivided (every logit of the {} voxels is <= 0): the decoder output would be empty",
                block, x.num_voxels());
  const auto& s = x.spatial_shape();
  for (int a = 0; a < 3; ++a)
    TESSERA_CHECK(int64_t(s[a]) * 2 < (int64_t(1) << 31), "{}: spatial shape {} doubled overflows int32", block, s[a]);
  return plan;
}

}  // namespace

SparseTensor UpBlock::children(const SparseTensor& x, const Tensor& logits, const nn::SubdivisionPlan& plan) {
  // The logits themselves serve as the (8-channel) features to move: only
  // the coordinates are kept.
  auto out = ops::sparse_channel_to_space(x.coords(), logits, logits, plan.offsets, plan.num_children, 1);
  const auto& s = x.spatial_shape();
  return SparseTensor(out[0], Tensor(), {2 * s[0], 2 * s[1], 2 * s[2]});
}

C2SBlock::C2SBlock(int64_t c, int64_t co, bool pred_subdiv, DType wdt) : UpBlock(c, co) {
  norm1 = &emplace_module<LayerNorm>("norm1", c, true, 1e-6);
  norm2 = &emplace_module<LayerNorm>("norm2", co, false, 1e-6);
  conv1 = &emplace_module<SparseConv3d>("conv1", c, co * 8, 3, wdt);
  conv2 = &emplace_module<SparseConv3d>("conv2", co, co, 3, wdt);
  if (pred_subdiv) to_subdiv = &emplace_module<Linear>("to_subdiv", c, 8, wdt);
}

SparseTensor C2SBlock::forward(const SparseTensor& x, const Tensor& logits) const {
  nn::SubdivisionPlan plan = plan_children("SparseResBlockC2S3d", x, logits);
  Tensor h = sparse_conv(*conv1, x, ops::silu(norm1->forward(x.feats())));  // [N, 8 C']
  SparseTensor child = nn::sparse_channel_to_space(x.with_feats(h), logits, plan, 1);
  // Skip: x's C channels as 8 groups of C/8, each repeated C' / (C/8) times.
  Tensor skip = nn::sparse_channel_to_space_feats(x, logits, plan, out_ch / (in_ch / 8));
  h = sparse_conv(*conv2, child, ops::silu(norm2->forward(child.feats())));
  return child.with_feats(ops::add(h, skip));
}

UpsampleBlock::UpsampleBlock(int64_t c, int64_t co, bool pred_subdiv, DType wdt) : UpBlock(c, co) {
  norm1 = &emplace_module<LayerNorm>("norm1", c, true, 1e-6);
  norm2 = &emplace_module<LayerNorm>("norm2", co, false, 1e-6);
  conv1 = &emplace_module<SparseConv3d>("conv1", c, co, 3, wdt);
  conv2 = &emplace_module<SparseConv3d>("conv2", co, co, 3, wdt);
  if (c != co) skip = &emplace_module<Linear>("skip_connection", c, co, wdt);
  if (pred_subdiv) to_subdiv = &emplace_module<Linear>("to_subdiv", c, 8, wdt);
}

SparseTensor UpsampleBlock::forward(const SparseTensor& x, const Tensor& logits) const {
  nn::SubdivisionPlan plan = plan_children("SparseResBlockUpsample3d", x, logits);
  SparseTensor child = children(x, logits, plan);
  // Parent row of every child: the unique parent coordinates of the children
  // (sorted, with the inverse index), probed in the parent's hash table.
  auto par = ops::sparse_downsample(child, 2);
  Tensor prow = ops::hash_probe(*ops::sparse_hash(x), par->coords);  // [P] rows of x
  Tensor idx = ops::gather(prow.reshape({prow.dim(0), 1}), par->inverse);
  idx = idx.reshape({idx.dim(0)});  // [Nc] i32
  Tensor h = ops::gather(ops::silu(norm1->forward(x.feats())), idx);
  Tensor s = ops::gather(x.feats(), idx);
  if (skip) s = skip->forward(s);
  h = sparse_conv(*conv1, child, h);
  h = sparse_conv(*conv2, child, ops::silu(norm2->forward(h)));
  return child.with_feats(ops::add(h, s));
}

}  // namespace tessera::models::trellis2::scvae
