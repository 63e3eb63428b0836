#include "ops/linear.hpp"
#include "core/split_dispatch.hpp"

#include "core/error.hpp"
#include "core/op_registry.hpp"
#include "ops/reference/reference.hpp"
#include "ops/tolerance.hpp"

namespace tessera::ops {

LinearDims linear_dims(const Shape& x, const Shape& w) {
  int64_t M = 1;
  for (size_t i = 0; i + 1 < x.size(); ++i) M *= x[i];
  return {M, w[0], x.back()};
}

LinearAct linear_activation(const Attrs& a) {
  const std::string act = a.get_str("activation", "none");
  if (act == "none") return LinearAct::none;
  if (act == "gelu") return LinearAct::gelu;
  if (act == "gelu_tanh") return LinearAct::gelu_tanh;
  if (act == "silu") return LinearAct::silu;
  throw Error(fmt::format("op 'linear': activation '{}' is not one of none, gelu, gelu_tanh, silu", act));
}

Tensor linear(const Tensor& x, const Tensor& w, const Tensor* bias, std::optional<DType> out,
              const std::string& activation) {
  Attrs a;
  if (out) a.set("dtype", *out);
  if (activation != "none") a.set("activation", activation);
  std::vector<Tensor> in{x, w};
  if (bias) in.push_back(*bias);
  return OpRegistry::get().call("linear", in, a)[0];
}

namespace {

std::vector<TensorDesc> infer(const std::vector<TensorDesc>& in, const Attrs& a) {
  TESSERA_CHECK(in.size() == 2 || in.size() == 3, "op 'linear' takes x, w and an optional bias; got {} inputs",
                in.size());
  const auto& x = in[0];
  const auto& w = in[1];
  TESSERA_CHECK(dtype_is_float(x.dtype) && dtype_is_float(w.dtype),
                "op 'linear': x {} and w {} must be f32, f16 or bf16", dtype_name(x.dtype), dtype_name(w.dtype));
  TESSERA_CHECK(x.shape.size() >= 1 && w.shape.size() == 2 && x.shape.back() == w.shape[1],
                "op 'linear': x {} and w {} do not match (expected x [..., K], w [N, K])", shape_str(x.shape),
                shape_str(w.shape));
  if (in.size() == 3)
    TESSERA_CHECK(in[2].shape == Shape{w.shape[0]} && (in[2].dtype == DType::f32 || in[2].dtype == w.dtype),
                  "op 'linear': bias must be [{}] in f32 or {}, got {} {}", w.shape[0], dtype_name(w.dtype),
                  dtype_name(in[2].dtype), shape_str(in[2].shape));
  TESSERA_CHECK(a.get_str("acc", "f32") == "f32", "op 'linear': accumulation '{}' is not offered; only f32",
                a.get_str("acc"));
  linear_activation(a);  // validates the name
  Shape y = x.shape;
  y.back() = w.shape[0];
  return {{y, a.get_dtype("dtype", x.dtype)}};
}

std::vector<TestCase> cases() {
  std::vector<TestCase> cs;
  struct MNK {
    int64_t m, n, k;
  };
  const MNK sizes[] = {{1, 1, 1}, {7, 13, 5}, {64, 64, 64}, {129, 257, 65}, {300, 96, 1024}, {512, 512, 512}};
  for (DType t : {DType::f32, DType::f16, DType::bf16})
    for (auto s : sizes)
      for (bool bias : {false, true}) {
        TestCase c;
        c.label = fmt::format("{}x{}x{}{}/{}", s.m, s.n, s.k, bias ? "+b" : "", dtype_name(t));
        c.inputs = {{{s.m, s.k}, t}, {{s.n, s.k}, t}};
        if (bias) c.inputs.push_back({{s.n}, DType::f32});
        cs.push_back(c);
      }
  // Batched leading dims; f16 weights with f32 activations; f16 inputs -> f32 output.
  cs.push_back({"k0_bias/f32", {{{3, 0}, DType::f32}, {{5, 0}, DType::f32}, {{5}, DType::f32}}});
  cs.push_back({"batched/f32", {{{2, 3, 17, 40}, DType::f32}, {{24, 40}, DType::f32}, {{24}, DType::f32}}});
  cs.push_back({"f32x_f16w", {{{33, 200}, DType::f32}, {{70, 200}, DType::f16}, {{70}, DType::f32}}});
  cs.push_back({"f32x_bf16w", {{{33, 200}, DType::f32}, {{70, 200}, DType::bf16}}});
  cs.push_back({"f16->f32out", {{{65, 130}, DType::f16}, {{66, 130}, DType::f16}}, Attrs().set("dtype", DType::f32)});
  // Activations above the f16 range with bf16 storage, f32 accumulation.
  cs.push_back({"big_acts/bf16", {{{40, 256}, DType::bf16}, {{48, 256}, DType::bf16}}, {}, -3e3, 3e3});
  // bf16 values outside f16's range and rows of very different magnitudes: x rows alternate ~3e5 and ~1e-3,
  // w rows ~3e-6 (f16-subnormal) and ~30; no path may narrow such data to f16 as it stands (the Vulkan
  // scaled-f16 path scales every row by its own power of two).
  {
    TestCase c{"rows_beyond_f16+b/bf16", {{{40, 264}, DType::bf16}, {{48, 264}, DType::bf16}, {{48}, DType::bf16}}};
    c.generate = [](std::mt19937_64&, std::vector<HostTensor>& in) {
      for (size_t i = 0; i < in[0].data.size(); ++i) in[0].data[i] *= (i / 264) % 2 ? 1e-3 : 3e5;
      for (size_t i = 0; i < in[1].data.size(); ++i) in[1].data[i] *= (i / 264) % 2 ? 30.0 : 3e-6;
    };
    cs.push_back(c);
  }
  // Fused activation epilogues (after the bias, before rounding), incl. values
  // where gelu's erf/tanh tails and silu's exp matter.
  for (const char* act : {"gelu", "gelu_tanh", "silu"})
    for (DType t : {DType::f32, DType::f16, DType::bf16}) {
      TestCase c{fmt::format("act_{}_129x257x65+b/{}", act, dtype_name(t)),
                 {{{129, 65}, t}, {{257, 65}, t}, {{257}, DType::f32}},
                 Attrs().set("activation", std::string(act)), -1.5, 1.5};
      cs.push_back(c);
    }
  cs.push_back({"act_silu_batched_nobias/f32", {{{2, 33, 48}, DType::f32}, {{80, 48}, DType::f32}},
                Attrs().set("activation", std::string("silu"))});
  cs.push_back({"act_gelu_tanh_f16w/f32", {{{64, 256}, DType::f32}, {{200, 256}, DType::f16}, {{200}, DType::f16}},
                Attrs().set("activation", std::string("gelu_tanh"))});
  // Scale: a model-sized GEMM.
  TestCase big{"2048x2048x2048/f16", {{{2048, 2048}, DType::f16}, {{2048, 2048}, DType::f16}}};
  big.scale = true;
  cs.push_back(big);
  return cs;
}

OpRegistrar reg({"linear", "y = x·wᵀ + bias, f32 accumulation", infer, ref::linear, cases,
                 [](DType out, const std::vector<TensorDesc>&, const Attrs&) {
                   return tol::for_output(out, tol::kReduceF32);
                 }});

// Row windows for tensors beyond one binding / allocation (core/split_dispatch.hpp):
// rows of x and y; w and the bias are read whole.
SplitRegistrar split_linear("linear", split::rows({0}));
}  // namespace
}  // namespace tessera::ops
