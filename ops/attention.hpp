// sdpa: scaled dot-product attention, softmax(q·kᵀ · scale) · v, never
// materialising the N x N score matrix on any backend (flash-style tiling
// with an online softmax).
//
// Layouts (token-major, as flash-attn):
//   dense : q [B, Nq, H, D], k [B, Nk, Hk, D], v [B, Nk, Hk, Dv] -> out [B, Nq, H, Dv]
//   varlen: q [Tq, H, D],   k [Tk, Hk, D],   v [Tk, Hk, Dv], cu_seqlens_q [S+1],
//           cu_seqlens_k [S+1] (i32, cumulative offsets, first 0, last Tq / Tk)
//           -> out [Tq, H, Dv]; sequence s attends q rows [cu_q[s], cu_q[s+1])
//           to k/v rows [cu_k[s], cu_k[s+1]) (flash_attn_varlen_func).
// H must be a multiple of Hk (grouped-query attention). No mask, no dropout.
// Precision contract: q, k, v share one storage dtype (f32, f16 or bf16);
// scores, softmax statistics and the output accumulator are f32 on every
// backend (attr acc = "f32", the only value); out has q's dtype. Store K/V in
// bf16 or f32 where activations can exceed 65,504 (the 1024^3 cascades).
// attr scale: default 1/sqrt(D).
#pragma once
#include <optional>

#include "core/attrs.hpp"
#include "core/tensor.hpp"

namespace tessera::ops {

Tensor sdpa(const Tensor& q, const Tensor& k, const Tensor& v, std::optional<double> scale = std::nullopt);
Tensor sdpa_varlen(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& cu_seqlens_q,
                   const Tensor& cu_seqlens_k, std::optional<double> scale = std::nullopt);

// Shared by kernels: the geometry of an sdpa call.
struct SdpaDims {
  bool varlen;
  int64_t B, Nq, Nk;  // dense: batch and lengths; varlen: B = sequences, Nq/Nk = total rows
  int64_t H, Hk, D, Dv;
  double scale;
};
SdpaDims sdpa_dims(const std::vector<Shape>& in, const Attrs& a);

}  // namespace tessera::ops
