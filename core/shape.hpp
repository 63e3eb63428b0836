#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace tessera {

using Shape = std::vector<int64_t>;
inline constexpr int kMaxDims = 8;

inline int64_t shape_numel(const Shape& s) {
  int64_t n = 1;
  for (auto d : s) n *= d;
  return n;
}
std::string shape_str(const Shape& s);  // "[2, 3, 4]"
Shape contiguous_strides(const Shape& s);  // row-major, in elements

}  // namespace tessera
