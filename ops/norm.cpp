#include "ops/norm.hpp"
#include "core/split_dispatch.hpp"

#include "core/error.hpp"
#include "core/op_registry.hpp"
#include "ops/reference/reference.hpp"
#include "ops/tolerance.hpp"

namespace tessera::ops {

static std::vector<Tensor> with_optional(const Tensor& x, std::initializer_list<const Tensor*> opt) {
  std::vector<Tensor> in{x};
  for (auto* t : opt)
    if (t) in.push_back(*t);
  return in;
}

Tensor layer_norm(const Tensor& x, const Tensor* w, const Tensor* b, double eps) {
  TESSERA_CHECK(!w == !b, "op 'layer_norm': weight and bias must both be given or both be absent");
  return OpRegistry::get().call("layer_norm", with_optional(x, {w, b}), Attrs().set("eps", eps))[0];
}

Tensor rms_norm(const Tensor& x, const Tensor* w, double eps, const char* mode) {
  return OpRegistry::get().call("rms_norm", with_optional(x, {w}), Attrs().set("eps", eps).set("mode", mode))[0];
}

Tensor group_norm(const Tensor& x, int64_t groups, const Tensor* w, const Tensor* b, double eps) {
  TESSERA_CHECK(!w == !b, "op 'group_norm': weight and bias must both be given or both be absent");
  return OpRegistry::get().call("group_norm", with_optional(x, {w, b}),
                                Attrs().set("groups", groups).set("eps", eps))[0];
}

namespace {

void check_x(const char* op, const TensorDesc& x) {
  TESSERA_CHECK(dtype_is_float(x.dtype), "op '{}': dtype {} is not supported (f32, f16, bf16)", op,
                dtype_name(x.dtype));
  TESSERA_CHECK(!x.shape.empty() && x.shape.back() > 0, "op '{}': x {} needs a non-empty last dimension", op,
                shape_str(x.shape));
}

void check_param(const char* op, const char* what, const TensorDesc& p, const Shape& expect) {
  TESSERA_CHECK(p.dtype == DType::f32 && p.shape == expect, "op '{}': {} must be f32 {}, got {} {}", op, what,
                shape_str(expect), dtype_name(p.dtype), shape_str(p.shape));
}

double tol_reduce(DType out, const std::vector<TensorDesc>&, const Attrs&) {
  return tol::for_output(out, tol::kReduceF32);
}

std::vector<TestCase> row_cases(bool affine_pairs) {
  std::vector<TestCase> cs;
  for (DType t : {DType::f32, DType::f16, DType::bf16}) {
    std::string d = dtype_name(t);
    cs.push_back({"c1/" + d, {{{5, 1}, t}}});
    cs.push_back({"c1536/" + d, {{{37, 1536}, t}}});
    cs.push_back({"c1024_affine/" + d, {{{2, 9, 1024}, t}, {{1024}, DType::f32}}});
    if (affine_pairs) cs.back().inputs.push_back({{1024}, DType::f32});
    cs.push_back({"c33_ragged/" + d, {{{1001, 33}, t}}});
  }
  // Offset mean: catastrophic cancellation check for one-pass variance.
  TestCase off{"offset_mean/f32", {{{64, 4096}, DType::f32}}};
  off.lo = 1000.0;
  off.hi = 1001.0;
  cs.push_back(off);
  return cs;
}

OpRegistrar reg_ln({"layer_norm", "normalise the last dim (mean/var), optional affine; attr eps",
                    [](const std::vector<TensorDesc>& in, const Attrs&) -> std::vector<TensorDesc> {
                      TESSERA_CHECK(in.size() == 1 || in.size() == 3,
                                    "op 'layer_norm' takes x or (x, weight, bias); got {} inputs", in.size());
                      check_x("layer_norm", in[0]);
                      for (size_t i = 1; i < in.size(); ++i)
                        check_param("layer_norm", i == 1 ? "weight" : "bias", in[i], {in[0].shape.back()});
                      return {in[0]};
                    },
                    ref::layer_norm, [] { return row_cases(true); }, tol_reduce});

OpRegistrar reg_rms({"rms_norm", "x / rms(x) (mode rms) or x / ||x|| * sqrt(C) (mode l2), optional weight",
                     [](const std::vector<TensorDesc>& in, const Attrs& a) -> std::vector<TensorDesc> {
                       TESSERA_CHECK(in.size() == 1 || in.size() == 2,
                                     "op 'rms_norm' takes x and an optional weight; got {} inputs", in.size());
                       check_x("rms_norm", in[0]);
                       std::string mode = a.get_str("mode", "rms");
                       TESSERA_CHECK(mode == "rms" || mode == "l2", "op 'rms_norm': mode '{}' is not rms or l2", mode);
                       if (in.size() == 2) {
                         const auto& w = in[1];
                         const auto& xs = in[0].shape;
                         bool trailing = w.shape.size() <= xs.size() && !w.shape.empty() &&
                                         std::equal(w.shape.rbegin(), w.shape.rend(), xs.rbegin());
                         TESSERA_CHECK(w.dtype == DType::f32 && trailing,
                                       "op 'rms_norm': weight must be f32 with the trailing dims of x {} (e.g. [C] "
                                       "or [H, C]), got {} {}",
                                       shape_str(xs), dtype_name(w.dtype), shape_str(w.shape));
                       }
                       return {in[0]};
                     },
                     ref::rms_norm,
                     [] {
                       auto cs = row_cases(false);
                       // TRELLIS.2 q/k norm: [tokens, heads, 128] with gamma [heads, 128], l2 mode.
                       for (DType t : {DType::f32, DType::bf16}) {
                         cs.push_back({std::string("qk_l2/") + dtype_name(t),
                                       {{{77, 12, 128}, t}, {{12, 128}, DType::f32}},
                                       Attrs().set("mode", "l2").set("eps", 1e-12)});
                       }
                       TestCase big{"big_acts_l2/f32", {{{50, 16, 64}, DType::f32}, {{16, 64}, DType::f32}},
                                    Attrs().set("mode", "l2").set("eps", 1e-12)};
                       big.lo = -1e5;
                       big.hi = 1e5;
                       cs.push_back(big);
                       return cs;
                     },
                     tol_reduce});

OpRegistrar reg_gn({"group_norm", "x [N, C, *spatial] normalised per (n, group); optional affine; attrs groups, eps",
                    [](const std::vector<TensorDesc>& in, const Attrs& a) -> std::vector<TensorDesc> {
                      TESSERA_CHECK(in.size() == 1 || in.size() == 3,
                                    "op 'group_norm' takes x or (x, weight, bias); got {} inputs", in.size());
                      check_x("group_norm", in[0]);
                      const auto& s = in[0].shape;
                      int64_t g = a.get_int("groups", 1);
                      TESSERA_CHECK(s.size() >= 2 && g > 0 && s[1] % g == 0,
                                    "op 'group_norm': x {} must be [N, C, ...] with C divisible by groups={}",
                                    shape_str(s), g);
                      for (size_t i = 1; i < in.size(); ++i)
                        check_param("group_norm", i == 1 ? "weight" : "bias", in[i], {s[1]});
                      return {in[0]};
                    },
                    ref::group_norm,
                    [] {
                      std::vector<TestCase> cs;
                      for (DType t : {DType::f32, DType::f16, DType::bf16}) {
                        std::string d = dtype_name(t);
                        cs.push_back({"g32_3d/" + d, {{{2, 64, 5, 6, 7}, t}, {{64}, DType::f32}, {{64}, DType::f32}},
                                      Attrs().set("groups", 32)});
                        cs.push_back({"g1_noaffine/" + d, {{{3, 8, 100}, t}}, Attrs().set("groups", 1)});
                      }
                      return cs;
                    },
                    tol_reduce});

// Row windows for tensors beyond one binding / allocation (core/split_dispatch.hpp);
// the weights and biases of the normalised last dim are read whole.
SplitRegistrar split_ln("layer_norm", split::broadcast(/*keep_last=*/true));
SplitRegistrar split_rms("rms_norm", split::broadcast(/*keep_last=*/true));
}  // namespace
}  // namespace tessera::ops
