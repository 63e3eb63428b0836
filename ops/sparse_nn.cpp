#include "ops/sparse_nn.hpp"

#include "core/error.hpp"
#include "ops/attention.hpp"
#include "ops/sparse_conv.hpp"

namespace tessera::nn {

SparseTensor sparse_conv3d(const SparseTensor& x, const Tensor& weight, const Tensor* bias, const Tensor& nbr) {
  TESSERA_CHECK(nbr.ndim() == 2 && nbr.dim(0) == x.num_voxels(),
                "nn::sparse_conv3d: neighbour map {} does not match the tensor's {} voxels", nbr.desc(),
                x.num_voxels());
  // The row order of the GPU kernels (ops::sparse_conv_order), computed once per
  // map and cached on the coordinate set with the map it belongs to (kept
  // alive there, so its buffer cannot be reused by another map).
  if (x.feats().device().backend() == "cpu") return x.with_feats(ops::sparse_conv3d(x.feats(), nbr, weight, bias));
  struct Planned {
    Tensor nbr, order;
  };
  const std::string key = fmt::format("conv_order:{}:{}:{}", static_cast<const void*>(&nbr.buffer()),
                                      nbr.offset_bytes(), nbr.dim(1));
  std::shared_ptr<Planned> p = std::static_pointer_cast<Planned>(x.cached(key));
  if (!p || &p->nbr.buffer() != &nbr.buffer()) {
    p = std::make_shared<Planned>(Planned{nbr, ops::sparse_conv_order(nbr)});
    x.set_cached(key, p);
  }
  return x.with_feats(ops::sparse_conv3d(x.feats(), nbr, weight, bias, &p->order));
}

SubdivisionPlan subdivision_plan(const Tensor& logits) {
  SubdivisionPlan p;
  p.offsets = ops::sparse_subdivide_offsets(logits);
  int32_t n = 0;
  const int64_t Np = logits.dim(0);
  p.offsets.device().download(p.offsets.buffer(), p.offsets.offset_bytes() + size_t(Np) * 4, &n, 4);
  TESSERA_CHECK(n >= 0 && n <= 8 * Np, "nn::subdivision_plan: child count {} outside [0, {}]", n, 8 * Np);
  p.num_children = n;
  return p;
}

static std::vector<Tensor> c2s(const SparseTensor& parent, const Tensor& logits, const SubdivisionPlan& plan,
                               int64_t repeat) {
  return ops::sparse_channel_to_space(parent.coords(), parent.feats(), logits, plan.offsets, plan.num_children,
                                      repeat);
}

SparseTensor sparse_channel_to_space(const SparseTensor& parent, const Tensor& logits, const SubdivisionPlan& plan,
                                     int64_t repeat) {
  auto out = c2s(parent, logits, plan, repeat);
  const auto& s = parent.spatial_shape();
  return SparseTensor(out[0], out[1], {2 * s[0], 2 * s[1], 2 * s[2]});
}

Tensor sparse_channel_to_space_feats(const SparseTensor& parent, const Tensor& logits, const SubdivisionPlan& plan,
                                     int64_t repeat) {
  return c2s(parent, logits, plan, repeat)[1];
}

Tensor sparse_space_to_channel(const SparseTensor& child, const Tensor& parent_index, int64_t num_parents) {
  return ops::sparse_space_to_channel(child.feats(), child.coords(), parent_index, num_parents);
}

Tensor sparse_sdpa(const SparseTensor& layout, const Tensor& q, const Tensor& k, const Tensor& v,
                   std::optional<double> scale) {
  TESSERA_CHECK(q.ndim() == 3 && q.dim(0) == layout.num_voxels(),
                "nn::sparse_sdpa: q must be [{}, H, D] (one row per voxel), got {}", layout.num_voxels(), q.desc());
  std::vector<int32_t> cu;
  for (int64_t o : layout.batch_offsets()) cu.push_back(int32_t(o));
  Tensor cut = Tensor::from_vector(cu, {int64_t(cu.size())}, DType::i32, q.device());
  return ops::sdpa_varlen(q, k, v, cut, cut, scale);
}

}  // namespace tessera::nn
