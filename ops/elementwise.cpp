#include "ops/elementwise.hpp"
#include "core/split_dispatch.hpp"

#include "core/broadcast.hpp"
#include "core/error.hpp"
#include "core/op_registry.hpp"
#include "ops/reference/reference.hpp"
#include "ops/tolerance.hpp"

namespace tessera::ops {

Tensor add(const Tensor& a, const Tensor& b) { return OpRegistry::get().call("add", {a, b})[0]; }
Tensor mul(const Tensor& a, const Tensor& b) { return OpRegistry::get().call("mul", {a, b})[0]; }
Tensor scale(const Tensor& x, double alpha) {
  return OpRegistry::get().call("scale", {x}, Attrs().set("alpha", alpha))[0];
}

Tensor axpby(const Tensor& a, const Tensor& b, double alpha, double beta) {
  return OpRegistry::get().call("axpby", {a, b}, Attrs().set("alpha", alpha).set("beta", beta))[0];
}

namespace {

void check_float(const std::string& op, const TensorDesc& d) {
  TESSERA_CHECK(dtype_is_float(d.dtype), "op '{}': dtype {} is not supported (f32, f16, bf16)", op,
                dtype_name(d.dtype));
}

std::vector<TensorDesc> infer_binary(const std::string& op, const std::vector<TensorDesc>& in) {
  TESSERA_CHECK(in.size() == 2, "op '{}' takes 2 inputs, got {}", op, in.size());
  check_float(op, in[0]);
  TESSERA_CHECK(in[0].dtype == in[1].dtype, "op '{}': inputs have dtypes {} and {}; cast one first", op,
                dtype_name(in[0].dtype), dtype_name(in[1].dtype));
  return {{broadcast_plan(op, {in[0].shape, in[1].shape}).out_shape, in[0].dtype}};
}

std::vector<TestCase> binary_cases() {
  std::vector<TestCase> cs;
  for (DType t : {DType::f32, DType::f16, DType::bf16}) {
    auto c = [&](std::string l, Shape a, Shape b) { cs.push_back({l + "/" + dtype_name(t), {{a, t}, {b, t}}}); };
    c("same_1", {1}, {1});
    c("same_ragged", {1000003}, {1000003});
    c("bcast_row", {37, 129}, {129});
    c("bcast_col", {37, 129}, {37, 1});
    c("bcast_both", {4, 1, 33}, {5, 1});
    c("bcast_scalar", {3, 7, 11, 13}, {1});
    c("rank6", {2, 1, 3, 1, 5, 7}, {1, 4, 3, 6, 1, 7});
    c("empty", {0, 3}, {3});
  }
  // Values above the f16 range stay finite in f32/bf16.
  cs.push_back({"large_values/f32", {{{4097}, DType::f32}, {{4097}, DType::f32}}, {}, -1e6, 1e6});
  cs.push_back({"large_values/bf16", {{{4097}, DType::bf16}, {{4097}, DType::bf16}}, {}, -1e6, 1e6});
  return cs;
}

double tol_exact(DType out, const std::vector<TensorDesc>&, const Attrs&) { return tol::for_output(out, tol::kExactF32); }

OpRegistrar reg_add({"add", "a + b with broadcasting", [](auto& in, auto&) { return infer_binary("add", in); },
                     ref::add, binary_cases, tol_exact});
OpRegistrar reg_mul({"mul", "a * b with broadcasting", [](auto& in, auto&) { return infer_binary("mul", in); },
                     ref::mul, binary_cases, tol_exact});

OpRegistrar reg_scale({"scale", "alpha * x (attr alpha)",
                       [](const std::vector<TensorDesc>& in, const Attrs&) -> std::vector<TensorDesc> {
                         TESSERA_CHECK(in.size() == 1, "op 'scale' takes 1 input, got {}", in.size());
                         check_float("scale", in[0]);
                         return {in[0]};
                       },
                       ref::scale,
                       [] {
                         std::vector<TestCase> cs;
                         for (DType t : {DType::f32, DType::f16, DType::bf16}) {
                           cs.push_back({std::string("n1/") + dtype_name(t), {{{1}, t}}, Attrs().set("alpha", -2.5)});
                           cs.push_back({std::string("ragged/") + dtype_name(t), {{{3, 333333}, t}},
                                         Attrs().set("alpha", 0.37)});
                         }
                         return cs;
                       },
                       tol_exact});

OpRegistrar reg_axpby({"axpby", "alpha * a + beta * b (attrs alpha, beta), same shapes, result in a's dtype",
                       [](const std::vector<TensorDesc>& in, const Attrs&) -> std::vector<TensorDesc> {
                         TESSERA_CHECK(in.size() == 2, "op 'axpby' takes 2 inputs (a, b), got {}", in.size());
                         check_float("axpby", in[0]);
                         check_float("axpby", in[1]);
                         TESSERA_CHECK(in[0].shape == in[1].shape,
                                       "op 'axpby': a {} and b {} differ in shape; axpby does not broadcast",
                                       shape_str(in[0].shape), shape_str(in[1].shape));
                         return {in[0]};
                       },
                       ref::axpby,
                       [] {
                         std::vector<TestCase> cs;
                         auto c = [&](std::string l, Shape s, DType ta, DType tb, double alpha, double beta) {
                           cs.push_back({l + "/" + dtype_name(ta) + "_" + dtype_name(tb), {{s, ta}, {s, tb}},
                                         Attrs().set("alpha", alpha).set("beta", beta)});
                         };
                         for (DType t : {DType::f32, DType::f16, DType::bf16}) {
                           c("n1", {1}, t, t, 0.5, -2.0);
                           c("ragged_euler", {1000003}, t, t, 1.0, -0.0123);  // x - dt v
                           c("cfg", {3, 77, 129}, t, t, 3.0, -2.0);            // s v_pos + (1 - s) v_neg
                           c("empty", {0, 5}, t, t, 1.0, 1.0);
                         }
                         // b in another dtype than a (the result keeps a's).
                         c("mixed", {4097}, DType::f32, DType::bf16, 1.0, -0.37);
                         c("mixed", {4097}, DType::f32, DType::f16, 0.25, 1.5);
                         c("mixed", {4097}, DType::bf16, DType::f32, -1.0, 2.0);
                         c("mixed", {4097}, DType::f16, DType::bf16, 1.0, 1.0);
                         // Values above the f16 range stay finite in f32/bf16.
                         cs.push_back({"large_values/f32_f32", {{{4097}, DType::f32}, {{4097}, DType::f32}},
                                       Attrs().set("alpha", 0.5).set("beta", 0.25), -1e6, 1e6});
                         cs.push_back({"large_values/bf16_bf16", {{{4097}, DType::bf16}, {{4097}, DType::bf16}},
                                       Attrs().set("alpha", 0.5).set("beta", 0.25), -1e6, 1e6});
                         return cs;
                       },
                       tol_exact});

// Row windows for tensors beyond one binding / allocation (core/split_dispatch.hpp).
SplitRegistrar split_add("add", split::broadcast());
SplitRegistrar split_mul("mul", split::broadcast());
SplitRegistrar split_scale("scale", split::broadcast());
SplitRegistrar split_axpby("axpby", split::broadcast());
}  // namespace
}  // namespace tessera::ops
