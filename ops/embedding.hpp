// timestep_embedding: sinusoidal embedding of DiT timesteps.
//   t [B] f32 -> [B, dim] f32, half = dim/2, f_k = exp(-ln(max_period) k / half),
//   e = [cos(t f), sin(t f)] (cos first, as TRELLIS.2's TimestepEmbedder),
//   a zero column appended when dim is odd. attrs dim (256), max_period (10000).
// gather: rows of a table. table [V, C] (any dtype), index i32|i64 [N] -> [N, C];
//   an index outside [0, V) yields a row of zeros (never an out-of-bounds read).
#pragma once
#include "core/tensor.hpp"

namespace tessera::ops {
Tensor timestep_embedding(const Tensor& t, int64_t dim = 256, double max_period = 10000.0);
Tensor gather(const Tensor& table, const Tensor& index);
}  // namespace tessera::ops
