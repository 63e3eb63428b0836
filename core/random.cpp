#include "core/random.hpp"

#include <cmath>

namespace tessera {

uint64_t mix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

std::vector<float> randn(uint64_t seed, uint64_t stream, size_t n) {
  std::vector<float> out(n);
  const uint64_t base = mix64(mix64(seed) ^ (stream * 0xD1B54A32D192ED03ull));
  const double two_pi = 6.283185307179586476925286766559;
  // Pair p gives values 2p and 2p+1 (cos and sin branches).
  for (size_t p = 0; 2 * p < n; ++p) {
    const uint64_t a = mix64(base ^ (2 * uint64_t(p))), b = mix64(base ^ (2 * uint64_t(p) + 1));
    const double u1 = (double(a >> 11) + 0.5) * (1.0 / 9007199254740992.0);  // (0, 1): log is finite
    const double u2 = double(b >> 11) * (1.0 / 9007199254740992.0);
    const double r = std::sqrt(-2.0 * std::log(u1));
    out[2 * p] = float(r * std::cos(two_pi * u2));
    if (2 * p + 1 < n) out[2 * p + 1] = float(r * std::sin(two_pi * u2));
  }
  return out;
}

}  // namespace tessera
