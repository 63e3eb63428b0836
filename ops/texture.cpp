#include "ops/texture.hpp"

#include "core/error.hpp"
#include "core/op_registry.hpp"
#include "ops/reference/geometry_raster.hpp"
#include "ops/tolerance.hpp"

namespace tessera::ops {

Tensor texture_sample_2d(const Tensor& tex, const Tensor& uv, const std::string& boundary) {
  return OpRegistry::get().call("texture_sample_2d", {tex, uv}, Attrs().set("boundary", boundary))[0];
}
Tensor texture_sample_3d(const Tensor& grid, const Tensor& pts, const std::string& boundary) {
  return OpRegistry::get().call("texture_sample_3d", {grid, pts}, Attrs().set("boundary", boundary))[0];
}

namespace {

std::vector<TensorDesc> infer_tex(const char* op, const std::vector<TensorDesc>& in, const Attrs& a, size_t dims) {
  TESSERA_CHECK(in.size() == 2, "op '{}' takes 2 inputs (texture, coordinates), got {}", op, in.size());
  const auto &t = in[0], &c = in[1];
  TESSERA_CHECK(t.dtype == DType::f32 && t.shape.size() == dims + 1, "op '{}': texture must be f32 with {} dims "
                "([{}C]), got {} {}", op, dims + 1, dims == 2 ? "H, W, " : "D, H, W, ", dtype_name(t.dtype),
                shape_str(t.shape));
  for (size_t k = 0; k < dims; ++k)
    TESSERA_CHECK(t.shape[k] >= 1 && t.shape[k] < (int64_t(1) << 24), "op '{}': texture size {} must be in [1, 2^24)",
                  op, shape_str(t.shape));
  TESSERA_CHECK(c.dtype == DType::f32 && c.shape.size() == 2 && c.shape[1] == int64_t(dims),
                "op '{}': coordinates must be f32 [P, {}], got {} {}", op, dims, dtype_name(c.dtype),
                shape_str(c.shape));
  const std::string b = a.get_str("boundary", "wrap");
  TESSERA_CHECK(b == "wrap" || b == "clamp" || b == "zero", "op '{}': boundary '{}' (wrap, clamp or zero)", op, b);
  return {{{c.shape[0], t.shape[dims]}, DType::f32}};
}

TestCase tex_case(const std::string& label, Shape tex, int64_t P, const std::string& boundary, bool scale = false) {
  const int64_t dims = int64_t(tex.size()) - 1;
  TestCase c{label + "/" + boundary, {{tex, DType::f32}, {{P, dims}, DType::f32}}, Attrs().set("boundary", boundary)};
  c.scale = scale;
  // Coordinates in [-0.5, 1.5] (every boundary path), a few exact texel
  // centres and edges, and non-finite ones.
  c.generate = [dims](std::mt19937_64& r, std::vector<HostTensor>& in) {
    std::uniform_real_distribution<double> u(-0.5, 1.5), pick(0, 1);
    auto& co = in[1].data;
    for (size_t k = 0; k < co.size(); ++k) {
      const double q = pick(r);
      const int64_t n = in[0].shape[size_t(dims - 1 - int64_t(k % size_t(dims)))];
      if (q < 0.05) co[k] = double(float((std::floor(pick(r) * double(n)) + 0.5) / double(n)));
      else if (q < 0.08) co[k] = double(float(std::floor(pick(r) * double(n + 1)) / double(n)));
      else co[k] = double(float(u(r)));
    }
    if (co.size() >= size_t(3 * dims)) {
      co[0] = std::nan("");
      co[size_t(dims) + 1 - 1] = INFINITY;
    }
  };
  return c;
}

OpRegistrar reg_t2({"texture_sample_2d", "bilinear sampling of an [H, W, C] texture at uv [P, 2] (texel centres at "
                                         "(i + 0.5) / size; wrap, clamp or zero boundary)",
                    [](const std::vector<TensorDesc>& in, const Attrs& a) {
                      return infer_tex("texture_sample_2d", in, a, 2);
                    },
                    ref::texture_sample_2d,
                    [] {
                      std::vector<TestCase> cs;
                      for (std::string b : {"wrap", "clamp", "zero"}) {
                        cs.push_back(tex_case("1x1_c1_p5", {1, 1, 1}, 5, b));
                        cs.push_back(tex_case("5x7_c3_p1000", {5, 7, 3}, 1000, b));
                        cs.push_back(tex_case("64x33_c4_p100k", {64, 33, 4}, 100000, b));
                      }
                      cs.push_back(tex_case("300x200_c7_p4097", {300, 200, 7}, 4097, "wrap"));
                      cs.push_back(tex_case("4096x4096_c3_p1M", {4096, 4096, 3}, 1000000, "clamp", true));
                      return cs;
                    },
                    [](DType, const std::vector<TensorDesc>&, const Attrs&) { return tol::kReduceF32; }});

OpRegistrar reg_t3({"texture_sample_3d", "trilinear sampling of a dense [D, H, W, C] grid at points [P, 3] (x, y, z "
                                         "along W, H, D; texel centres at (i + 0.5) / size)",
                    [](const std::vector<TensorDesc>& in, const Attrs& a) {
                      return infer_tex("texture_sample_3d", in, a, 3);
                    },
                    ref::texture_sample_3d,
                    [] {
                      std::vector<TestCase> cs;
                      for (std::string b : {"wrap", "clamp", "zero"}) {
                        cs.push_back(tex_case("1x1x1_c1_p5", {1, 1, 1, 1}, 5, b));
                        cs.push_back(tex_case("4x5x6_c3_p1000", {4, 5, 6, 3}, 1000, b));
                        cs.push_back(tex_case("32cube_c8_p50k", {32, 32, 32, 8}, 50000, b));
                      }
                      cs.push_back(tex_case("17x9x65_c1_p3001", {17, 9, 65, 1}, 3001, "clamp"));
                      cs.push_back(tex_case("256cube_c4_p1M", {256, 256, 256, 4}, 1000000, "zero", true));
                      return cs;
                    },
                    [](DType, const std::vector<TensorDesc>&, const Attrs&) { return tol::kReduceF32; }});

}  // namespace
}  // namespace tessera::ops
