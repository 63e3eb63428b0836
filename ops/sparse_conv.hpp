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
//   Optional last input order [N] i32 (after bias, if any): the row order
//   in which GPU kernels tile the rows, a permutation of [0, N) (normally
//   sparse_conv_order(nbr), computed once per neighbour map). It changes
//   only the speed, never the result; the kernels trust it (an entry outside
//   [0, N) is skipped, so a non-permutation leaves rows unwritten). Without
//   it the GPU backends compute sparse_conv_order per call.
//
// sparse_conv_order: nbr [N, K] i32 -> order [N] i32: the rows stably sorted
//   by their neighbour-mask key (bit v % 32 set when nbr[i, v] is in [0, N);
//   for K <= 32 the mask itself), so that tiles of consecutive rows in that
//   order share their active kernel offsets (docs/sparse-conv.md).
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
#include <algorithm>
#include <cstdint>
#include <vector>

#include "core/tensor.hpp"

namespace tessera::ops {

Tensor sparse_conv3d(const Tensor& feats, const Tensor& nbr, const Tensor& weight, const Tensor* bias = nullptr,
                     const Tensor* order = nullptr);
Tensor sparse_conv_order(const Tensor& nbr);

// Neighbour-mask sort key of one map row (sparse_conv_order).
inline uint32_t sparse_conv_mask_key(const int32_t* row, int64_t K, int64_t N) {
  uint32_t key = 0;
  for (int64_t v = 0; v < K; ++v)
    if (row[v] >= 0 && row[v] < N) key |= uint32_t(1) << (v % 32);
  return key;
}
// sparse_conv_order on the host (reference, CPU backend, test data).
inline std::vector<int32_t> sparse_conv_order_host(const std::vector<int32_t>& nbr, int64_t N) {
  const int64_t K = N ? int64_t(nbr.size()) / N : 0;
  std::vector<uint32_t> key(size_t(N), 0);
  for (int64_t i = 0; i < N; ++i) key[size_t(i)] = sparse_conv_mask_key(&nbr[size_t(i * K)], K, N);
  std::vector<int32_t> o(static_cast<size_t>(N));
  for (int64_t i = 0; i < N; ++i) o[size_t(i)] = int32_t(i);
  std::stable_sort(o.begin(), o.end(), [&](int32_t a, int32_t b) { return key[size_t(a)] < key[size_t(b)]; });
  return o;
}
// Radix passes of 4 bits a sort by that key needs.
inline int sparse_conv_order_passes(int64_t K) { return int((std::min<int64_t>(K, 32) + 3) / 4); }
// Which optional inputs a sparse_conv3d call has: bias = the f32 input 3, order = a last i32 input.
struct SparseConvInputs {
  bool bias = false, order = false;
  SparseConvInputs(size_t n_inputs, DType last) {
    order = n_inputs >= 4 && last == DType::i32;
    bias = n_inputs - (order ? 1 : 0) == 4;
  }
};
Tensor sparse_subdivide_offsets(const Tensor& logits);
// Returns {child coords, child feats}.
std::vector<Tensor> sparse_channel_to_space(const Tensor& coords, const Tensor& feats, const Tensor& logits,
                                            const Tensor& offsets, int64_t num_children, int64_t repeat = 1);
Tensor sparse_space_to_channel(const Tensor& feats, const Tensor& coords, const Tensor& parent, int64_t num_parents);

}  // namespace tessera::ops
