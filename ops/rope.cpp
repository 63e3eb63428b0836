#include "ops/rope.hpp"
#include "core/split_dispatch.hpp"

#include <cmath>

#include "core/error.hpp"
#include "core/op_registry.hpp"
#include "ops/reference/reference.hpp"
#include "ops/tolerance.hpp"

namespace tessera::ops {

static Attrs rope_attrs(const char* style, int64_t skip) { return Attrs().set("style", style).set("skip", skip); }

Tensor rope(const Tensor& x, const Tensor& angles, const char* style, int64_t skip) {
  return OpRegistry::get().call("rope", {x, angles}, rope_attrs(style, skip))[0];
}

void rope_(Tensor& x, const Tensor& angles, const char* style, int64_t skip) {
  auto& reg = OpRegistry::get();
  reg.op("rope").infer(descs_of({x, angles}), rope_attrs(style, skip));
  OpArgs a{{x, angles}, {x}, rope_attrs(style, skip)};
  reg.dispatch("rope", a);
}

std::vector<float> rope_angles_axial3d(const std::vector<int32_t>& xyz, int64_t D, double theta) {
  const int64_t P = D / 2, F = P / 3, N = int64_t(xyz.size()) / 3;
  std::vector<float> out(size_t(N * P), 0.f);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t axis = 0; axis < 3; ++axis)
      for (int64_t j = 0; j < F; ++j)
        out[n * P + axis * F + j] = float(xyz[n * 3 + axis] * (1.0 / std::pow(theta, double(j) / double(F))));
  return out;
}

namespace {

std::vector<TensorDesc> infer(const std::vector<TensorDesc>& in, const Attrs& a) {
  TESSERA_CHECK(in.size() == 2, "op 'rope' takes x and angles, got {} inputs", in.size());
  const auto &x = in[0], &t = in[1];
  std::string style = a.get_str("style", "interleaved");
  TESSERA_CHECK(style == "interleaved" || style == "half", "op 'rope': style '{}' is not interleaved or half", style);
  TESSERA_CHECK(dtype_is_float(x.dtype) && x.shape.size() == 3 && x.shape[2] % 2 == 0,
                "op 'rope': x must be [T, H, D] float with even D, got {} {}", dtype_name(x.dtype), shape_str(x.shape));
  int64_t skip = a.get_int("skip", 0);
  TESSERA_CHECK(skip >= 0 && skip <= x.shape[0], "op 'rope': skip {} out of range for {} tokens", skip, x.shape[0]);
  TESSERA_CHECK(t.dtype == DType::f32 && t.shape == (Shape{x.shape[0] - skip, x.shape[2] / 2}),
                "op 'rope': angles must be f32 [{}, {}] (tokens - skip, D/2), got {} {}", x.shape[0] - skip,
                x.shape[2] / 2, dtype_name(t.dtype), shape_str(t.shape));
  return {x};
}

std::vector<TestCase> cases() {
  std::vector<TestCase> cs;
  for (DType t : {DType::f32, DType::f16, DType::bf16})
    for (const char* style : {"interleaved", "half"}) {
      std::string l = std::string(style) + "/" + dtype_name(t);
      TestCase c{"t300_h12_d128_" + l, {{{300, 12, 128}, t}, {{300, 64}, DType::f32}},
                 Attrs().set("style", style)};
      cs.push_back(c);
      TestCase s{"skip5_h16_d64_" + l, {{{1029, 16, 64}, t}, {{1024, 32}, DType::f32}},
                 Attrs().set("style", style).set("skip", 5)};
      cs.push_back(s);
    }
  // Angles as large as 1024^3 coordinates produce (phase up to ~1e3 rad).
  TestCase big{"large_angles/f32", {{{257, 2, 64}, DType::f32}, {{257, 32}, DType::f32}}};
  big.lo = -1000;
  big.hi = 1000;
  cs.push_back(big);
  return cs;
}

OpRegistrar reg({"rope", "rotary embedding from a per-token angle table (interleaved or half pairs)", infer, ref::rope,
                 cases, [](DType out, const std::vector<TensorDesc>&, const Attrs&) {
                   // sin/cos of f32 angles up to ~1e3 rad: f32 argument rounding dominates.
                   return tol::for_output(out, tol::kReduceF32);
                 }});

// Row windows for tensors beyond one binding / allocation (core/split_dispatch.hpp):
// tokens of x, of the angle table and of the output, when no token is skipped
// (with skip > 0 the table is offset from x).
SplitRegistrar split_rope("rope", [](const OpArgs& a) -> std::vector<int> {
  if (a.attrs.get_int("skip", 0) != 0 || a.in.size() != 2 || a.out.size() != 1) return {};
  return {0, 0, 0};
});
}  // namespace
}  // namespace tessera::ops
