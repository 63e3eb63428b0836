#include "ops/modulate.hpp"
#include "core/split_dispatch.hpp"

#include "core/broadcast.hpp"
#include "core/error.hpp"
#include "core/op_registry.hpp"
#include "ops/reference/reference.hpp"
#include "ops/tolerance.hpp"

namespace tessera::ops {

Tensor modulate(const Tensor& x, const Tensor& shift, const Tensor& scale) {
  return OpRegistry::get().call("modulate", {x, shift, scale})[0];
}
Tensor gated_residual(const Tensor& h, const Tensor& x, const Tensor& gate) {
  return OpRegistry::get().call("gated_residual", {h, x, gate})[0];
}

namespace {

std::vector<TensorDesc> infer3(const char* op, const std::vector<TensorDesc>& in) {
  TESSERA_CHECK(in.size() == 3, "op '{}' takes 3 inputs, got {}", op, in.size());
  for (auto& t : in)
    TESSERA_CHECK(t.dtype == in[0].dtype && dtype_is_float(t.dtype),
                  "op '{}': all inputs must share one float dtype; got {}, {}, {}", op, dtype_name(in[0].dtype),
                  dtype_name(in[1].dtype), dtype_name(in[2].dtype));
  auto p = broadcast_plan(op, {in[0].shape, in[1].shape, in[2].shape});
  TESSERA_CHECK(p.out_shape == in[0].shape, "op '{}': the result {} must have the first input's shape {}", op,
                shape_str(p.out_shape), shape_str(in[0].shape));
  return {in[0]};
}

std::vector<TestCase> cases3() {
  std::vector<TestCase> cs;
  for (DType t : {DType::f32, DType::f16, DType::bf16}) {
    std::string d = dtype_name(t);
    // [batch, tokens, C] modulated by per-batch [batch, 1, C] vectors (the DiT shape).
    cs.push_back({"dit/" + d, {{{2, 333, 96}, t}, {{2, 1, 96}, t}, {{2, 1, 96}, t}}});
    cs.push_back({"rows/" + d, {{{1001, 64}, t}, {{64}, t}, {{64}, t}}});
    cs.push_back({"same/" + d, {{{4, 5}, t}, {{4, 5}, t}, {{4, 5}, t}}});
  }
  return cs;
}

double tol3(DType out, const std::vector<TensorDesc>&, const Attrs&) { return tol::for_output(out, tol::kExactF32); }

OpRegistrar reg_mod({"modulate", "x * (1 + scale) + shift, broadcasting",
                     [](auto& in, auto&) { return infer3("modulate", in); }, ref::modulate, cases3, tol3});
OpRegistrar reg_gate({"gated_residual", "h + gate * x, broadcasting",
                      [](auto& in, auto&) { return infer3("gated_residual", in); }, ref::gated_residual, cases3,
                      tol3});

// Row windows for tensors beyond one binding / allocation (core/split_dispatch.hpp).
SplitRegistrar split_mod("modulate", split::broadcast());
SplitRegistrar split_gate("gated_residual", split::broadcast());
}  // namespace
}  // namespace tessera::ops
