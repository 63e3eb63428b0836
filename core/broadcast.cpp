#include "core/broadcast.hpp"

#include <algorithm>

#include "core/error.hpp"

namespace tessera {

BroadcastPlan broadcast_plan(const std::string& op, const std::vector<Shape>& inputs) {
  size_t rank = 0;
  for (auto& s : inputs) rank = std::max(rank, s.size());
  TESSERA_CHECK(rank <= size_t(kMaxDims), "op '{}': rank {} exceeds {}", op, rank, kMaxDims);
  BroadcastPlan p;
  p.out_shape.assign(rank, 1);
  std::vector<Shape> padded;
  for (auto& s : inputs) {
    Shape q(rank - s.size(), 1);
    q.insert(q.end(), s.begin(), s.end());
    padded.push_back(q);
  }
  for (size_t d = 0; d < rank; ++d) {
    for (auto& q : padded) {
      if (q[d] == 1) continue;
      if (p.out_shape[d] == 1) p.out_shape[d] = q[d];
      else if (p.out_shape[d] != q[d]) {
        std::string all;
        for (auto& s : inputs) all += (all.empty() ? "" : " and ") + shape_str(s);
        fail("op '{}': shapes {} do not broadcast (dimension {} is {} vs {}; each must be equal or 1)", op, all, d,
             p.out_shape[d], q[d]);
      }
    }
  }
  // Per-input full strides (0 where broadcast).
  std::vector<Shape> st;
  for (auto& q : padded) {
    Shape cs = contiguous_strides(q);
    for (size_t d = 0; d < rank; ++d)
      if (q[d] == 1 && p.out_shape[d] != 1) cs[d] = 0;
    st.push_back(cs);
  }
  // Collapse: drop size-1 output dims, merge d into d+1 when every input is contiguous across them.
  Shape dims;
  std::vector<Shape> cst(inputs.size());
  for (size_t d = 0; d < rank; ++d) {
    if (p.out_shape[d] == 1) continue;
    bool merge = !dims.empty();
    if (merge)
      for (size_t i = 0; i < inputs.size(); ++i)
        if (cst[i].back() != st[i][d] * p.out_shape[d]) merge = false;
    if (merge) {
      dims.back() *= p.out_shape[d];
      for (size_t i = 0; i < inputs.size(); ++i) cst[i].back() = st[i][d];
    } else {
      dims.push_back(p.out_shape[d]);
      for (size_t i = 0; i < inputs.size(); ++i) cst[i].push_back(st[i][d]);
    }
  }
  if (dims.empty()) {
    dims.push_back(1);
    for (auto& c : cst) c.push_back(0);
  }
  p.dims = dims;
  p.strides = cst;
  return p;
}

}  // namespace tessera
