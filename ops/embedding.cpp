#include "ops/embedding.hpp"
#include "core/split_dispatch.hpp"

#include "core/error.hpp"
#include "core/op_registry.hpp"
#include "ops/reference/reference.hpp"
#include "ops/tolerance.hpp"

namespace tessera::ops {

Tensor timestep_embedding(const Tensor& t, int64_t dim, double max_period) {
  return OpRegistry::get().call("timestep_embedding", {t}, Attrs().set("dim", dim).set("max_period", max_period))[0];
}
Tensor gather(const Tensor& table, const Tensor& index) { return OpRegistry::get().call("gather", {table, index})[0]; }

namespace {

OpRegistrar reg_t(
    {"timestep_embedding", "sinusoidal [cos, sin] embedding of timesteps; attrs dim, max_period",
     [](const std::vector<TensorDesc>& in, const Attrs& a) -> std::vector<TensorDesc> {
       TESSERA_CHECK(in.size() == 1 && in[0].dtype == DType::f32 && in[0].shape.size() == 1,
                     "op 'timestep_embedding': t must be f32 [B], got {}", in.empty() ? "nothing" : shape_str(in[0].shape));
       int64_t dim = a.get_int("dim", 256);
       TESSERA_CHECK(dim >= 2, "op 'timestep_embedding': dim {} < 2", dim);
       return {{{in[0].shape[0], dim}, DType::f32}};
     },
     ref::timestep_embedding,
     [] {
       std::vector<TestCase> cs;
       TestCase a{"b4_d256", {{{4}, DType::f32}}, Attrs().set("dim", 256)};
       a.lo = 0;
       a.hi = 1000;  // the flows receive 1000 t
       cs.push_back(a);
       TestCase b{"b3_d33_odd", {{{3}, DType::f32}}, Attrs().set("dim", 33).set("max_period", 100.0)};
       cs.push_back(b);
       return cs;
     },
     // f32 phases reach 1000 rad: one ulp of the f32 frequency moves the phase by ~1e-4,
     // in every implementation including PyTorch's. Hence 1e-6, not 1e-8.
     [](DType out, const std::vector<TensorDesc>&, const Attrs&) { return tol::for_output(out, 1e-6); }});

OpRegistrar reg_g({"gather", "rows of table [V, C] at index [N] (zero rows for out-of-range indices)",
                   [](const std::vector<TensorDesc>& in, const Attrs&) -> std::vector<TensorDesc> {
                     TESSERA_CHECK(in.size() == 2 && in[0].shape.size() == 2 && in[1].shape.size() == 1 &&
                                       (in[1].dtype == DType::i32 || in[1].dtype == DType::i64),
                                   "op 'gather': expected table [V, C] and i32/i64 index [N], got {} and {} {}",
                                   in.empty() ? "" : shape_str(in[0].shape), in.size() > 1 ? shape_str(in[1].shape) : "",
                                   in.size() > 1 ? dtype_name(in[1].dtype) : "");
                     return {{{in[1].shape[0], in[0].shape[1]}, in[0].dtype}};
                   },
                   ref::gather,
                   [] {
                     std::vector<TestCase> cs;
                     for (DType t : {DType::f32, DType::f16, DType::bf16, DType::i32}) {
                       TestCase c{std::string("v1000_c96/") + dtype_name(t), {{{1000, 96}, t}, {{5000}, DType::i64}}};
                       // indices in [-3, 1003]: a few out of range on both sides
                       c.lo = -3;
                       c.hi = 1003;
                       cs.push_back(c);
                     }
                     TestCase c{"i32_index/f32", {{{7, 5}, DType::f32}, {{11}, DType::i32}}};
                     c.lo = 0;
                     c.hi = 6;
                     cs.push_back(c);
                     return cs;
                   },
                   [](DType out, const std::vector<TensorDesc>&, const Attrs&) { return tol::for_output(out, 0.0); }});

// Row windows for tensors beyond one binding / allocation (core/split_dispatch.hpp):
// index and output rows; the table is read whole.
SplitRegistrar split_gather("gather", [](const OpArgs& a) -> std::vector<int> {
  if (a.in.size() != 2 || a.out.size() != 1) return {};
  return {-1, 0, 0};
});
}  // namespace
}  // namespace tessera::ops
