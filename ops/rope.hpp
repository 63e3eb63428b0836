// Rotary position embedding with a per-token angle table.
//   x      [T, H, D]  f32 | f16 | bf16 (q or k, token-major)
//   angles [T - skip, D/2] f32: the rotation angle of pair p of token `skip + t`
//   attr style: "interleaved" pairs (x[2p], x[2p+1]) (TRELLIS.2's 3-D RoPE),
//               "half" pairs (x[p], x[p + D/2]) (NeoX / DINOv3, rotate_half)
//   attr skip : leading tokens left unrotated (DINOv3's CLS + 4 registers)
// Each pair (a, b) becomes (a cos θ - b sin θ, a sin θ + b cos θ), in f32.
// rope_ rotates x in place (the kernel reads each pair before writing it).
#pragma once
#include <vector>

#include "core/tensor.hpp"

namespace tessera::ops {

Tensor rope(const Tensor& x, const Tensor& angles, const char* style = "interleaved", int64_t skip = 0);
void rope_(Tensor& x, const Tensor& angles, const char* style = "interleaved", int64_t skip = 0);

// Angle tables (host-side, f32 [N, D/2]):
// TRELLIS.2 3-D axial RoPE: freqs_j = 1/theta^(j/F), F = D/2/3; pairs
// [0,F) use coord x, [F,2F) y, [2F,3F) z, the remaining pairs angle 0.
// coords: N x 3 integer voxel coordinates (x, y, z).
std::vector<float> rope_angles_axial3d(const std::vector<int32_t>& xyz, int64_t head_dim, double theta = 10000.0);

}  // namespace tessera::ops
