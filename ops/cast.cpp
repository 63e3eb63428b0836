#include "ops/cast.hpp"
#include "core/split_dispatch.hpp"

#include "core/error.hpp"
#include "core/op_registry.hpp"
#include "ops/reference/reference.hpp"
#include "ops/tolerance.hpp"

namespace tessera::ops {

Tensor cast(const Tensor& x, DType to) { return OpRegistry::get().call("cast", {x}, Attrs().set("dtype", to))[0]; }

namespace {

OpRegistrar reg({"cast", "convert float dtypes (attr dtype), round to nearest even",
                 [](const std::vector<TensorDesc>& in, const Attrs& a) -> std::vector<TensorDesc> {
                   TESSERA_CHECK(in.size() == 1, "op 'cast' takes 1 input, got {}", in.size());
                   DType to = a.get_dtype("dtype", DType::f32);
                   TESSERA_CHECK(dtype_is_float(in[0].dtype) && dtype_is_float(to),
                                 "op 'cast': {} -> {} is not supported (f32, f16, bf16)", dtype_name(in[0].dtype),
                                 dtype_name(to));
                   return {{in[0].shape, to}};
                 },
                 ref::cast,
                 [] {
                   std::vector<TestCase> cs;
                   DType ts[] = {DType::f32, DType::f16, DType::bf16};
                   for (DType a : ts)
                     for (DType b : ts) {
                       std::string l = std::string(dtype_name(a)) + "->" + dtype_name(b);
                       cs.push_back({l + "/n1", {{{1}, a}}, Attrs().set("dtype", b)});
                       cs.push_back({l + "/ragged", {{{1234567}, a}}, Attrs().set("dtype", b), -300.0, 300.0});
                     }
                   // Subnormal-range and large values (f32 -> bf16 keeps 1e30, f32->f16 near 6e4).
                   cs.push_back({"f32->f16/edge", {{{65536}, DType::f32}}, Attrs().set("dtype", DType::f16), -6.5e4, 6.5e4});
                   cs.push_back({"f32->f16/tiny", {{{65536}, DType::f32}}, Attrs().set("dtype", DType::f16), -1e-4, 1e-4});
                   cs.push_back({"f32->bf16/huge", {{{65536}, DType::f32}}, Attrs().set("dtype", DType::bf16), -1e30, 1e30});
                   return cs;
                 },
                 [](DType out, const std::vector<TensorDesc>&, const Attrs&) {
                   return tol::for_output(out, tol::kExactF32);
                 }});

// Row windows for tensors beyond one binding / allocation (core/split_dispatch.hpp).
SplitRegistrar split_cast("cast", split::broadcast());
}  // namespace
}  // namespace tessera::ops
