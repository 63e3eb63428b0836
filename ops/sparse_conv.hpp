// Sparse convolution and space<->channel resampling on active voxels, as the
// SC-VAE decoders/encoders of TRELLIS.2 use them (docs/sparse-conv.md).
//
// sparse_conv3d (submanifold, FlexGEMM layout):
//   feats [N, Cin] (f32/f16/bf16), nbr [N, K] i32 with K = k^3 (entry v = the
//   row of the neighbour at kernel offset v = a k^2 + b k + c, a along
//   coords[:,1], centre (K-1)/2; -1 = no neighbour), weight [Cout, k, k, k, Cin]
//   (feats' dtype), optional bias [Cout] f32 ->
//   out [N, Cout] = bias + sum_v sum_ci W[co, v, ci] feats[nbr[i, v], ci],
//   f32 accumulation, rounded once to feats' dtype. Every backend reads an
//   entry outside [0, N) as "no neighbour" (never an out-of-bounds read).
//
// sparse_subdivide_offsets: logits [Np, 8] (float) -> offsets [Np + 1] i32,
//   offsets[0] = 0, offsets[p + 1] = offsets[p] + #{k : logits[p, k] > 0}.
//   offsets[Np] is the child count the host reads before the fill pass.
// sparse_channel_to_space: coords [Np, 4] i32, feats [Np, 8 Cc], logits
//   [Np, 8], offsets [Np + 1] i32 (from sparse_subdivide_offsets), attrs
//   num_children = offsets[Np], repeat (default 1) -> child coords [Nc, 4] i32
//   and child feats [Nc, Cc * repeat]. Children are ordered by parent, then by
//   increasing k; child k of parent p sits at 2 p + (k & 1, (k >> 1) & 1,
//   (k >> 2) & 1) on (x, y, z) = coords[:, 1..3] (batch kept) and has features
//   out[c, j] = feats[p, k Cc + j / repeat] (repeat > 1: the skip path of
//   SparseResBlockC2S3d, repeat_interleave of the parent's x).
// sparse_space_to_channel: feats [Nc, C], coords [Nc, 4] i32, parent [Nc] i32,
//   attr num_parents Np -> out [Np, 8 C], zero except slot k = (x & 1) + 2 (y & 1)
//   + 4 (z & 1) of each child's parent, which holds its features. Two children
//   in one (parent, slot), or a parent index outside [0, Np), is an Error
//   (detected on the device, reported after the call).
#pragma once
#include "core/tensor.hpp"

namespace tessera::ops {

Tensor sparse_conv3d(const Tensor& feats, const Tensor& nbr, const Tensor& weight, const Tensor* bias = nullptr);
Tensor sparse_subdivide_offsets(const Tensor& logits);
// Returns {child coords, child feats}.
std::vector<Tensor> sparse_channel_to_space(const Tensor& coords, const Tensor& feats, const Tensor& logits,
                                            const Tensor& offsets, int64_t num_children, int64_t repeat = 1);
Tensor sparse_space_to_channel(const Tensor& feats, const Tensor& coords, const Tensor& parent, int64_t num_parents);

}  // namespace tessera::ops
