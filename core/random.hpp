// Deterministic Gaussian noise for the samplers: the same values on every
// platform, backend and thread count (std::normal_distribution is
// implementation-defined). Counter based, so element i never depends on how
// many values were drawn before it: value i of (seed, stream) is Box-Muller on
// two splitmix64 outputs of a key mixed from (seed, stream, i).
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace tessera {

// n standard normal values (f32) of stream `stream` under `seed`.
std::vector<float> randn(uint64_t seed, uint64_t stream, size_t n);

// splitmix64 finaliser (Steele, Lea, Flood 2014): a bijective 64-bit mix.
uint64_t mix64(uint64_t x);

}  // namespace tessera
