#include "ops/conv3d.hpp"

#include "core/error.hpp"
#include "core/op_registry.hpp"
#include "ops/reference/reference.hpp"
#include "ops/tolerance.hpp"

namespace tessera::ops {

Tensor conv3d(const Tensor& x, const Tensor& w, const Tensor* bias) {
  std::vector<Tensor> in{x, w};
  if (bias) in.push_back(*bias);
  return OpRegistry::get().call("conv3d", in)[0];
}
Tensor pixel_shuffle_3d(const Tensor& x, int64_t r) {
  return OpRegistry::get().call("pixel_shuffle_3d", {x}, Attrs().set("factor", r))[0];
}
Tensor upsample_nearest_3d(const Tensor& x, int64_t r) {
  return OpRegistry::get().call("upsample_nearest_3d", {x}, Attrs().set("factor", r))[0];
}

namespace {

void check5(const char* op, const TensorDesc& x, bool any_dtype = false) {
  TESSERA_CHECK((any_dtype || dtype_is_float(x.dtype)) && x.shape.size() == 5, "op '{}': x must be a float [N, C, D, H, W], got {} {}",
                op, dtype_name(x.dtype), shape_str(x.shape));
}

OpRegistrar reg_conv({"conv3d", "dense 3-D convolution, stride 1, same padding, f32 accumulation",
                      [](const std::vector<TensorDesc>& in, const Attrs&) -> std::vector<TensorDesc> {
                        TESSERA_CHECK(in.size() == 2 || in.size() == 3, "op 'conv3d' takes x, w, optional bias");
                        check5("conv3d", in[0]);
                        const auto &x = in[0].shape, &w = in[1].shape;
                        TESSERA_CHECK(in[1].dtype == in[0].dtype && w.size() == 5 && w[1] == x[1] && w[2] % 2 == 1 &&
                                          w[2] == w[3] && w[3] == w[4],
                                      "op 'conv3d': w must be {} [Cout, {}, k, k, k] with odd k, got {} {}",
                                      dtype_name(in[0].dtype), x[1], dtype_name(in[1].dtype), shape_str(w));
                        if (in.size() == 3)
                          TESSERA_CHECK(in[2].dtype == DType::f32 && in[2].shape == Shape{w[0]},
                                        "op 'conv3d': bias must be f32 [{}], got {}", w[0], shape_str(in[2].shape));
                        return {{{x[0], w[0], x[2], x[3], x[4]}, in[0].dtype}};
                      },
                      ref::conv3d,
                      [] {
                        std::vector<TestCase> cs;
                        for (DType t : {DType::f32, DType::f16, DType::bf16}) {
                          std::string d = dtype_name(t);
                          cs.push_back({"c8to16_6x7x5/" + d,
                                        {{{1, 8, 6, 7, 5}, t}, {{16, 8, 3, 3, 3}, t}, {{16}, DType::f32}}});
                          cs.push_back({"n2_c32to8_8cube/" + d, {{{2, 32, 8, 8, 8}, t}, {{8, 32, 3, 3, 3}, t}}});
                        }
                        cs.push_back({"k1/f32", {{{1, 5, 4, 4, 4}, DType::f32}, {{3, 5, 1, 1, 1}, DType::f32}}});
                        cs.push_back({"k5/f32", {{{1, 2, 9, 3, 6}, DType::f32}, {{4, 2, 5, 5, 5}, DType::f32}}});
                        TestCase big{"c64to64_16cube/f16", {{{1, 64, 16, 16, 16}, DType::f16},
                                                            {{64, 64, 3, 3, 3}, DType::f16}, {{64}, DType::f32}}};
                        big.scale = true;
                        cs.push_back(big);
                        return cs;
                      },
                      [](DType out, const std::vector<TensorDesc>&, const Attrs&) {
                        return tol::for_output(out, tol::kReduceF32);
                      }});

std::vector<TensorDesc> infer_resample(const char* op, const std::vector<TensorDesc>& in, const Attrs& a, bool shuffle) {
  TESSERA_CHECK(in.size() == 1, "op '{}' takes 1 input", op);
  check5(op, in[0], true);
  int64_t r = a.get_int("factor", 2);
  auto s = in[0].shape;
  TESSERA_CHECK(r >= 1, "op '{}': factor {} < 1", op, r);
  if (shuffle) {
    TESSERA_CHECK(s[1] % (r * r * r) == 0, "op '{}': channels {} not divisible by factor^3 = {}", op, s[1], r * r * r);
    s[1] /= r * r * r;
  }
  s[2] *= r;
  s[3] *= r;
  s[4] *= r;
  return {{s, in[0].dtype}};
}

std::vector<TestCase> resample_cases(int64_t cmul) {
  std::vector<TestCase> cs;
  for (DType t : {DType::f32, DType::f16, DType::bf16, DType::i32})
    cs.push_back({std::string("r2/") + dtype_name(t), {{{2, 3 * cmul, 3, 4, 5}, t}}, Attrs().set("factor", 2)});
  cs.push_back({"r3/f32", {{{1, 2 * (cmul == 1 ? 1 : 27), 2, 3, 2}, DType::f32}}, Attrs().set("factor", 3)});
  return cs;
}

double tol_exact_copy(DType, const std::vector<TensorDesc>&, const Attrs&) { return 0.0; }

OpRegistrar reg_ps({"pixel_shuffle_3d", "[N, C r^3, D, H, W] -> [N, C, rD, rH, rW] (first axis most significant)",
                    [](auto& in, auto& a) { return infer_resample("pixel_shuffle_3d", in, a, true); },
                    ref::pixel_shuffle_3d, [] { return resample_cases(8); }, tol_exact_copy});
OpRegistrar reg_up({"upsample_nearest_3d", "nearest-neighbour 3-D upsampling by an integer factor",
                    [](auto& in, auto& a) { return infer_resample("upsample_nearest_3d", in, a, false); },
                    ref::upsample_nearest_3d, [] { return resample_cases(1); }, tol_exact_copy});

}  // namespace
}  // namespace tessera::ops
