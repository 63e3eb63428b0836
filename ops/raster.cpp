#include "ops/raster.hpp"

#include "core/error.hpp"
#include "core/op_registry.hpp"
#include "ops/raster_cases.hpp"
#include "ops/reference/geometry_raster.hpp"
#include "ops/tolerance.hpp"

namespace tessera::ops {

std::array<Tensor, 3> rasterize(const Tensor& pos, const Tensor& faces, int64_t height, int64_t width) {
  auto o = OpRegistry::get().call("rasterize", {pos, faces}, Attrs().set("height", height).set("width", width));
  return {o[0], o[1], o[2]};
}
std::array<Tensor, 2> rasterize_uv(const Tensor& uv, const Tensor& uv_faces, int64_t height, int64_t width) {
  auto o = OpRegistry::get().call("rasterize_uv", {uv, uv_faces}, Attrs().set("height", height).set("width", width));
  return {o[0], o[1]};
}
Tensor interpolate(const Tensor& attr, const Tensor& faces, const Tensor& id, const Tensor& bary) {
  return OpRegistry::get().call("interpolate", {attr, faces, id, bary})[0];
}

namespace {

// Images up to 2^15 per side (pixel indices stay exact in f32 arithmetic).
constexpr int64_t kMaxSide = 32768;

std::vector<TensorDesc> infer_raster(const char* op, const std::vector<TensorDesc>& in, const Attrs& a, int64_t vdim,
                                     bool depth) {
  TESSERA_CHECK(in.size() == 2, "op '{}' takes 2 inputs (vertices, faces), got {}", op, in.size());
  TESSERA_CHECK(in[0].dtype == DType::f32 && in[0].shape.size() == 2 && in[0].shape[1] == vdim,
                "op '{}': vertices must be f32 [V, {}], got {} {}", op, vdim, dtype_name(in[0].dtype),
                shape_str(in[0].shape));
  TESSERA_CHECK(in[1].dtype == DType::i32 && in[1].shape.size() == 2 && in[1].shape[1] == 3,
                "op '{}': faces must be i32 [F, 3], got {} {}", op, dtype_name(in[1].dtype), shape_str(in[1].shape));
  TESSERA_CHECK(in[1].shape[0] < (int64_t(1) << 31) - 1, "op '{}': {} faces (at most 2^31 - 2)", op, in[1].shape[0]);
  const int64_t H = a.get_int("height", -1), W = a.get_int("width", -1);
  TESSERA_CHECK(H >= 1 && W >= 1 && H <= kMaxSide && W <= kMaxSide,
                "op '{}': height {} and width {} must be in [1, {}]", op, H, W, kMaxSide);
  std::vector<TensorDesc> o{{{H, W}, DType::i32}, {{H, W, 2}, DType::f32}};
  if (depth) o.push_back({{H, W}, DType::f32});
  return o;
}

double tol_raster(DType t, const std::vector<TensorDesc>&, const Attrs&) {
  return t == DType::i32 ? 0.0 : tol::kReduceF32;
}

OpRegistrar reg_rast({"rasterize",
                      "clip-space triangles -> per-pixel (id, perspective-correct bary, z/w); nearest wins, ties to "
                      "the smallest id",
                      [](const std::vector<TensorDesc>& in, const Attrs& a) {
                        return infer_raster("rasterize", in, a, 4, true);
                      },
                      ref::rasterize, raster_detail::rasterize_cases, tol_raster,
                      [](auto& in, auto& got, auto& ref, auto& a) {
                        return raster_detail::check_raster(in, got, ref, a, false);
                      }});

OpRegistrar reg_rast_uv({"rasterize_uv",
                         "UV-space triangles -> per-texel (id, bary) for texture baking; overlaps: smallest id wins",
                         [](const std::vector<TensorDesc>& in, const Attrs& a) {
                           return infer_raster("rasterize_uv", in, a, 2, false);
                         },
                         ref::rasterize_uv, raster_detail::rasterize_uv_cases, tol_raster,
                         [](auto& in, auto& got, auto& ref, auto& a) {
                           return raster_detail::check_raster(in, got, ref, a, true);
                         }});

OpRegistrar reg_interp({"interpolate", "barycentric interpolation of [V, C] vertex attributes over a rasterized image",
                        [](const std::vector<TensorDesc>& in, const Attrs&) -> std::vector<TensorDesc> {
                          TESSERA_CHECK(in.size() == 4, "op 'interpolate' takes attr, faces, id, bary; got {} inputs",
                                        in.size());
                          const auto &at = in[0], &fa = in[1], &id = in[2], &b = in[3];
                          TESSERA_CHECK(at.dtype == DType::f32 && at.shape.size() == 2,
                                        "op 'interpolate': attr must be f32 [V, C], got {} {}", dtype_name(at.dtype),
                                        shape_str(at.shape));
                          TESSERA_CHECK(fa.dtype == DType::i32 && fa.shape.size() == 2 && fa.shape[1] == 3,
                                        "op 'interpolate': faces must be i32 [F, 3], got {} {}", dtype_name(fa.dtype),
                                        shape_str(fa.shape));
                          TESSERA_CHECK(id.dtype == DType::i32 && id.shape.size() == 2,
                                        "op 'interpolate': id must be i32 [H, W], got {} {}", dtype_name(id.dtype),
                                        shape_str(id.shape));
                          TESSERA_CHECK(b.dtype == DType::f32 && b.shape == Shape({id.shape[0], id.shape[1], 2}),
                                        "op 'interpolate': bary must be f32 [{}, {}, 2], got {} {}", id.shape[0],
                                        id.shape[1], dtype_name(b.dtype), shape_str(b.shape));
                          return {{{id.shape[0], id.shape[1], at.shape[1]}, DType::f32}};
                        },
                        ref::interpolate, raster_detail::interpolate_cases,
                        [](DType, const std::vector<TensorDesc>&, const Attrs&) { return tol::kReduceF32; }});

}  // namespace
}  // namespace tessera::ops
