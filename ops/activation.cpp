#include "ops/activation.hpp"
#include "core/split_dispatch.hpp"

#include "core/error.hpp"
#include "core/op_registry.hpp"
#include "ops/reference/reference.hpp"
#include "ops/tolerance.hpp"

namespace tessera::ops {

Tensor gelu(const Tensor& x, const char* approximate) {
  return OpRegistry::get().call("gelu", {x}, Attrs().set("approximate", approximate))[0];
}
Tensor silu(const Tensor& x) { return OpRegistry::get().call("silu", {x})[0]; }
Tensor sigmoid(const Tensor& x) { return OpRegistry::get().call("sigmoid", {x})[0]; }
Tensor softplus(const Tensor& x) { return OpRegistry::get().call("softplus", {x})[0]; }
Tensor softmax(const Tensor& x) { return OpRegistry::get().call("softmax", {x})[0]; }

namespace {

std::vector<TensorDesc> infer_unary(const char* op, const std::vector<TensorDesc>& in) {
  TESSERA_CHECK(in.size() == 1, "op '{}' takes 1 input, got {}", op, in.size());
  TESSERA_CHECK(dtype_is_float(in[0].dtype), "op '{}': dtype {} is not supported (f32, f16, bf16)", op,
                dtype_name(in[0].dtype));
  return {in[0]};
}

std::vector<TestCase> unary_cases(const Attrs& a) {
  std::vector<TestCase> cs;
  for (DType t : {DType::f32, DType::f16, DType::bf16}) {
    std::string d = dtype_name(t);
    cs.push_back({"n1/" + d, {{{1}, t}}, a});
    TestCase wide{"ragged_wide/" + d, {{{1000003}, t}}, a};
    wide.lo = -12;
    wide.hi = 12;
    cs.push_back(wide);
  }
  return cs;
}

// unary_cases plus the ranges where sigmoid/softplus need care: |x| up to 100
// (exp overflows f32 beyond 88.7), x in [-80, -20] where both are ~exp(x)
// (f32/bf16 only: the results are below f16's smallest subnormal), and x
// around softplus's threshold 20.
std::vector<TestCase> saturating_cases() {
  auto cs = unary_cases({});
  for (DType t : {DType::f32, DType::f16, DType::bf16}) {
    std::string d = dtype_name(t);
    cs.push_back({"large/" + d, {{{65537}, t}}, {}, -100, 100});
    cs.push_back({"threshold/" + d, {{{4099}, t}}, {}, 15, 25});
    if (t != DType::f16) cs.push_back({"very_negative/" + d, {{{4099}, t}}, {}, -80, -20});
  }
  return cs;
}

double tol_pointwise(DType out, const std::vector<TensorDesc>&, const Attrs&) {
  // erf/tanh/exp in f32: a few ulp, still far below 1e-10 in NMSE.
  return tol::for_output(out, tol::kExactF32);
}

OpRegistrar reg_gelu({"gelu", "GELU, attr approximate = none (erf) | tanh",
                      [](const std::vector<TensorDesc>& in, const Attrs& a) {
                        std::string m = a.get_str("approximate", "none");
                        TESSERA_CHECK(m == "none" || m == "tanh", "op 'gelu': approximate='{}' is not none or tanh", m);
                        return infer_unary("gelu", in);
                      },
                      ref::gelu,
                      [] {
                        auto cs = unary_cases(Attrs().set("approximate", "none"));
                        for (auto& c : unary_cases(Attrs().set("approximate", "tanh"))) {
                          c.label = "tanh_" + c.label;
                          cs.push_back(c);
                        }
                        return cs;
                      },
                      tol_pointwise});

OpRegistrar reg_silu({"silu", "x * sigmoid(x)", [](auto& in, auto&) { return infer_unary("silu", in); }, ref::silu,
                      [] { return unary_cases({}); }, tol_pointwise});

OpRegistrar reg_sigmoid({"sigmoid", "1 / (1 + exp(-x)), overflow-free",
                         [](auto& in, auto&) { return infer_unary("sigmoid", in); }, ref::sigmoid, saturating_cases,
                         tol_pointwise});

OpRegistrar reg_softplus({"softplus", "log(1 + exp(x)); x for x > 20 (torch beta 1, threshold 20)",
                          [](auto& in, auto&) { return infer_unary("softplus", in); }, ref::softplus,
                          saturating_cases, tol_pointwise});

OpRegistrar reg_softmax({"softmax", "softmax over the last dim",
                         [](auto& in, auto&) { return infer_unary("softmax", in); }, ref::softmax,
                         [] {
                           std::vector<TestCase> cs;
                           for (DType t : {DType::f32, DType::f16, DType::bf16}) {
                             std::string d = dtype_name(t);
                             cs.push_back({"c1/" + d, {{{7, 1}, t}}});
                             cs.push_back({"c4097/" + d, {{{13, 4097}, t}}});
                             TestCase big{"c77_large_logits/" + d, {{{300, 77}, t}}};
                             big.lo = -3e4;
                             big.hi = 3e4;
                             cs.push_back(big);
                           }
                           return cs;
                         },
                         [](DType out, const std::vector<TensorDesc>&, const Attrs&) {
                           return tol::for_output(out, tol::kReduceF32);
                         }});

// Row windows for tensors beyond one binding / allocation (core/split_dispatch.hpp).
SplitRegistrar split_gelu("gelu", split::broadcast());
SplitRegistrar split_silu("silu", split::broadcast());
SplitRegistrar split_sigmoid("sigmoid", split::broadcast());
SplitRegistrar split_softplus("softplus", split::broadcast());
SplitRegistrar split_softmax("softmax", split::broadcast(/*keep_last=*/true));
}  // namespace
}  // namespace tessera::ops
