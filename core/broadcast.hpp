// Numpy-style broadcasting: shapes are aligned at their last dimension; each
// dimension must be equal or 1 (a 1 is repeated). BroadcastPlan collapses
// adjacent dimensions that broadcast the same way, so kernels see a small
// rank (<= kMaxDims) with per-input element strides (0 on repeated dims).
#pragma once
#include <vector>

#include "core/shape.hpp"

namespace tessera {

struct BroadcastPlan {
  Shape out_shape;                 // full (uncollapsed) output shape
  Shape dims;                      // collapsed output dims
  std::vector<Shape> strides;      // per input, collapsed, in elements (0 = broadcast)
};

// Throws Error ("op 'add': shapes [2,3] and [4] do not broadcast") when incompatible.
BroadcastPlan broadcast_plan(const std::string& op, const std::vector<Shape>& inputs);

}  // namespace tessera
