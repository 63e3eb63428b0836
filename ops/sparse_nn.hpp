// SparseTensor-level layers for the model code, on top of the sparse ops
// (ops/sparse_conv.hpp) and the varlen sdpa op (ops/attention.hpp).
#pragma once
#include <optional>

#include "core/sparse_tensor.hpp"

namespace tessera::nn {

// Submanifold conv on x's voxels: weight [Cout, k, k, k, Cin] (x's feats
// dtype), bias [Cout] f32 or null, nbr [N, k^3] i32 built for x's coordinates
// (the neighbour-map op; cache it on x). Same coordinates, new features.
SparseTensor sparse_conv3d(const SparseTensor& x, const Tensor& weight, const Tensor* bias, const Tensor& nbr);

// Channel -> space (SparseResBlockC2S3d): a subdivision plan is computed once
// from the logits [Np, 8] (sparse_subdivide_offsets + one 4-byte read of the
// child count: a sync point), then used for the h path (repeat 1) and the skip
// path (x's channels, repeat = C' / (C / 8)).
struct SubdivisionPlan {
  Tensor offsets;  // i32 [Np + 1]
  int64_t num_children = 0;
};
SubdivisionPlan subdivision_plan(const Tensor& logits);
// Children of `parent` (spatial shape doubled; coords validated on the host by
// the SparseTensor constructor) with features [Nc, C/8 * repeat].
SparseTensor sparse_channel_to_space(const SparseTensor& parent, const Tensor& logits, const SubdivisionPlan& plan,
                                     int64_t repeat = 1);
// Only the child features (for a second feature set on the same children).
Tensor sparse_channel_to_space_feats(const SparseTensor& parent, const Tensor& logits, const SubdivisionPlan& plan,
                                     int64_t repeat = 1);

// Space -> channel: child features into [Np, 8 C] (parent index from the
// coordinate unique op; num_parents its count).
Tensor sparse_space_to_channel(const SparseTensor& child, const Tensor& parent_index, int64_t num_parents);

// Full attention within each batch item of `layout` (varlen sdpa, cu_seqlens
// from layout.batch_offsets()): q [N, H, D], k [N, Hk, D], v [N, Hk, Dv] with
// N = layout.num_voxels() -> [N, H, Dv].
Tensor sparse_sdpa(const SparseTensor& layout, const Tensor& q, const Tensor& k, const Tensor& v,
                   std::optional<double> scale = std::nullopt);

}  // namespace tessera::nn
