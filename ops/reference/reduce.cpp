#include <cmath>

#include "ops/reference/reference.hpp"

namespace tessera::ref {

// Two passes in double: mean, then the centred sum of squares.
void moments(const Ins& in, Outs& out, const Attrs& a) {
  const auto& x = in[0].data;
  const double n = double(x.size()), c = double(a.get_int("correction", 1));
  double s = 0;
  for (double v : x) s += v;
  const double mean = s / n;
  double q = 0;
  for (double v : x) q += (v - mean) * (v - mean);
  out[0].data[0] = mean;
  out[0].data[1] = std::sqrt(q / (n - c));
}

}  // namespace tessera::ref
