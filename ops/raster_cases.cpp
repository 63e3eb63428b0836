// Parity cases of rasterize / rasterize_uv / interpolate and the rasterize
// result check. Scenes are generated per seed: random triangle soups, the
// exam's overlapping triangles in both submission orders, coplanar duplicates,
// near-plane and depth-range crossings, border crossings, sub-pixel triangles.
#include "ops/raster_cases.hpp"

#include <algorithm>
#include <cmath>
#include <array>
#include <functional>

#include "core/error.hpp"
#include "ops/parity.hpp"
#include "ops/reference/geometry_raster.hpp"

namespace tessera::ops::raster_detail {
namespace {

using Rng = std::mt19937_64;
double uni(Rng& r, double lo, double hi) { return std::uniform_real_distribution<double>(lo, hi)(r); }

struct Soup {
  std::vector<double> pos;    // [V, 4]
  std::vector<double> faces;  // [F, 3]
  void add_vertex(double x, double y, double z, double w) {  // NDC (x, y, z) at clip w
    for (double c : {x * w, y * w, z * w, w}) pos.push_back(double(float(c)));
  }
  int64_t nv() const { return int64_t(pos.size() / 4); }
  void add_face(int64_t a, int64_t b, int64_t c) {
    for (int64_t k : {a, b, c}) faces.push_back(double(k));
  }
  void store(std::vector<HostTensor>& in) const {
    in[0].shape = {nv(), 4};
    in[0].data = pos;
    in[1].shape = {int64_t(faces.size() / 3), 3};
    in[1].data = faces;
  }
};

// Triangle with centre in [-cr, cr]^2 (NDC), half-size up to `size`, NDC depth
// around zc +- dz, every vertex at a random w in [w0, w1].
void random_tri(Rng& r, Soup& s, double cr, double size, double zlo, double zhi, double dz, double w0, double w1) {
  const double cx = uni(r, -cr, cr), cy = uni(r, -cr, cr), zc = uni(r, zlo, zhi), sz = uni(r, 0.05, 1.0) * size;
  const int64_t b = s.nv();
  for (int k = 0; k < 3; ++k)
    s.add_vertex(cx + uni(r, -sz, sz), cy + uni(r, -sz, sz), zc + uni(r, -dz, dz), uni(r, w0, w1));
  s.add_face(b, b + 1, b + 2);
}

TestCase raster_case(const std::string& label, int64_t H, int64_t W, std::function<void(Rng&, Soup&)> build,
                     bool scale = false) {
  TestCase c{label, {{{3, 4}, DType::f32}, {{1, 3}, DType::i32}}, Attrs().set("height", H).set("width", W)};
  c.scale = scale;
  c.generate = [build](Rng& r, std::vector<HostTensor>& in) {
    Soup s;
    build(r, s);
    s.store(in);
  };
  return c;
}

std::function<void(Rng&, Soup&)> soup(int64_t F, double size) {
  return [F, size](Rng& r, Soup& s) {
    for (int64_t f = 0; f < F; ++f) random_tri(r, s, 1.1, size, -0.95, 0.95, 0.04, 0.5, 2.0);
  };
}

// Two large triangles over the centre; `near_first` submits the nearer first.
std::function<void(Rng&, Soup&)> overlap(bool near_first) {
  return [near_first](Rng& r, Soup& s) {
    const double zn = uni(r, -0.9, -0.1), zf = uni(r, 0.1, 0.9);
    for (double z : near_first ? std::vector<double>{zn, zf} : std::vector<double>{zf, zn}) {
      const int64_t b = s.nv();
      s.add_vertex(-0.9 + uni(r, 0, 0.05), -0.8, z, uni(r, 0.5, 2));
      s.add_vertex(0.9, -0.9 + uni(r, 0, 0.05), z, uni(r, 0.5, 2));
      s.add_vertex(uni(r, -0.1, 0.1), 0.95, z, uni(r, 0.5, 2));
      s.add_face(b, b + 1, b + 2);
    }
  };
}

// A grid mesh (shared vertices and edges) at one tilted plane, every face
// also submitted twice more (same vertices, same order): exact ties.
std::function<void(Rng&, Soup&)> coplanar_grid(int n) {
  return [n](Rng& r, Soup& s) {
    const double a = uni(r, -0.3, 0.3), b = uni(r, -0.3, 0.3);
    for (int i = 0; i <= n; ++i)
      for (int j = 0; j <= n; ++j) {
        const double x = -1.05 + 2.1 * j / n + uni(r, -0.02, 0.02), y = -1.05 + 2.1 * i / n + uni(r, -0.02, 0.02);
        s.add_vertex(x, y, a * x + b * y, uni(r, 0.7, 1.5));
      }
    std::vector<std::array<int64_t, 3>> tris;
    for (int i = 0; i < n; ++i)
      for (int j = 0; j < n; ++j) {
        const int64_t v = i * (n + 1) + j;
        tris.push_back({v, v + 1, v + n + 2});
        tris.push_back({v, v + n + 2, v + n + 1});
      }
    const size_t T = tris.size();
    for (int rep = 0; rep < 3; ++rep)
      for (size_t t = 0; t < T; ++t) {
        auto f = tris[(t * 7 + size_t(rep) * 3) % T];
        s.add_face(f[0], f[1], f[2]);
      }
  };
}

// Perspective camera at the origin looking down -z (near 0.1, far 10):
// triangles around it, many with vertices behind the eye (w <= 0).
std::function<void(Rng&, Soup&)> near_plane(int64_t F) {
  return [F](Rng& r, Soup& s) {
    const double n = 0.1, f = 10, A = -(f + n) / (f - n), B = -2 * f * n / (f - n);
    for (int64_t t = 0; t < F; ++t) {
      const double cx = uni(r, -1.5, 1.5), cy = uni(r, -1.5, 1.5), cz = uni(r, -3, 0.5);
      const int64_t b = s.nv();
      for (int k = 0; k < 3; ++k) {
        const double x = cx + uni(r, -1, 1), y = cy + uni(r, -1, 1), z = cz + uni(r, -1.5, 1.5);
        for (double c : {x, y, A * z + B, -z}) s.pos.push_back(double(float(c)));
      }
      s.add_face(b, b + 1, b + 2);
    }
  };
}

// Sub-pixel triangles: half-size 0.4 px of an n x n image.
std::function<void(Rng&, Soup&)> subpixel(int64_t F, int64_t n) {
  return [F, n](Rng& r, Soup& s) {
    for (int64_t t = 0; t < F; ++t) random_tri(r, s, 1.0, 0.8 / double(n), -0.9, 0.9, 0.01, 0.9, 1.1);
  };
}

// ---- check ----

struct Tri {
  ref::RasterTri t;
  int64_t v[3];
};

}  // namespace

std::vector<TestCase> rasterize_cases() {
  std::vector<TestCase> cs;
  cs.push_back(raster_case("soup1_1x1", 1, 1, soup(1, 3.0)));
  cs.push_back(raster_case("soup7_3x5", 3, 5, soup(7, 1.5)));
  cs.push_back(raster_case("soup1000_64x48", 64, 48, soup(1000, 0.2)));
  cs.push_back(raster_case("soup1000_257x129", 257, 129, soup(1000, 0.1)));
  cs.push_back(raster_case("soup100k_1x1", 1, 1, soup(100000, 0.5)));
  cs.push_back(raster_case("soup100k_1024x1024", 1024, 1024, soup(100000, 0.02)));
  cs.push_back(raster_case("overlap_near_first_64x64", 64, 64, overlap(true)));
  cs.push_back(raster_case("overlap_far_first_64x64", 64, 64, overlap(false)));
  cs.push_back(raster_case("coplanar_dup_grid_61x47", 61, 47, coplanar_grid(7)));
  cs.push_back(raster_case("near_plane_96x80", 96, 80, near_plane(40)));
  cs.push_back(raster_case("depth_range_64x64", 64, 64, [](Rng& r, Soup& s) {
    for (int t = 0; t < 60; ++t) random_tri(r, s, 1.0, 0.6, -1.3, 1.3, 0.6, 0.5, 2.0);
  }));
  cs.push_back(raster_case("border_80x60", 80, 60, [](Rng& r, Soup& s) {
    for (int t = 0; t < 30; ++t) random_tri(r, s, 2.0, 3.0, -0.9, 0.9, 0.05, 0.5, 2.0);
  }));
  cs.push_back(raster_case("subpixel_128x128", 128, 128, subpixel(3000, 128)));
  cs.push_back(raster_case("soup300k_2048x1536", 2048, 1536, soup(300000, 0.01), true));
  cs.push_back(raster_case("soup1M_4096x4096", 4096, 4096, soup(1000000, 0.006), true));
  cs.push_back(raster_case("big_tris_4096x4096", 4096, 4096, soup(64, 1.5), true));
  return cs;
}

std::vector<TestCase> rasterize_uv_cases() {
  auto uv_case = [](const std::string& label, int64_t H, int64_t W, int64_t F, double size, bool scale = false) {
    TestCase c{label, {{{3, 2}, DType::f32}, {{1, 3}, DType::i32}}, Attrs().set("height", H).set("width", W)};
    c.scale = scale;
    c.generate = [F, size](Rng& r, std::vector<HostTensor>& in) {
      // A chart grid (shared uv vertices) plus F random, overlapping triangles.
      std::vector<double> uv, faces;
      const int n = 6;
      for (int i = 0; i <= n; ++i)
        for (int j = 0; j <= n; ++j)
          for (double c : {double(j) / n + uni(r, -0.01, 0.01), double(i) / n + uni(r, -0.01, 0.01)})
            uv.push_back(double(float(c)));
      for (int i = 0; i < n; ++i)
        for (int j = 0; j < n; ++j) {
          const double v = i * (n + 1) + j;
          for (double k : {v, v + 1, v + n + 2, v, v + n + 2, v + n + 1}) faces.push_back(k);
        }
      for (int64_t t = 0; t < F; ++t) {
        const double cx = uni(r, 0, 1), cy = uni(r, 0, 1), sz = size * uni(r, 0.05, 1);
        const double b = double(uv.size() / 2);
        for (int k = 0; k < 3; ++k)
          for (double c : {cx + uni(r, -sz, sz), cy + uni(r, -sz, sz)}) uv.push_back(double(float(c)));
        for (double k : {b, b + 1, b + 2}) faces.push_back(k);
      }
      in[0].shape = {int64_t(uv.size() / 2), 2};
      in[0].data = uv;
      in[1].shape = {int64_t(faces.size() / 3), 3};
      in[1].data = faces;
    };
    return c;
  };
  return {uv_case("grid_1x1", 1, 1, 0, 0), uv_case("grid_soup20_33x17", 33, 17, 20, 0.3),
          uv_case("grid_soup5000_256x256", 256, 256, 5000, 0.05), uv_case("grid_soup100k_1024x1024", 1024, 1024, 100000, 0.01),
          uv_case("grid_soup1M_4096x4096", 4096, 4096, 1000000, 0.004, true)};
}

std::vector<TestCase> interpolate_cases() {
  auto ic = [](const std::string& label, int64_t V, int64_t C, int64_t F, int64_t H, int64_t W) {
    TestCase c{label, {{{V, C}, DType::f32}, {{F, 3}, DType::i32}, {{H, W}, DType::i32}, {{H, W, 2}, DType::f32}}};
    c.lo = -2;
    c.hi = 2;
    c.generate = [V, F](Rng& r, std::vector<HostTensor>& in) {
      for (auto& x : in[1].data) x = double(std::uniform_int_distribution<int64_t>(0, V - 1)(r));
      // ids: mostly valid, some background (-1), a few past the end (0 out).
      for (auto& x : in[2].data) {
        const double u = uni(r, 0, 1);
        x = u < 0.15 ? -1.0 : u < 0.18 ? double(F + int64_t(uni(r, 0, 3))) : double(int64_t(uni(r, 0, double(F))) % F);
      }
      for (size_t p = 0; p < in[3].data.size(); p += 2) {
        const double a = uni(r, 0, 1), b = uni(r, 0, 1 - a);
        in[3].data[p] = double(float(a));
        in[3].data[p + 1] = double(float(b));
      }
    };
    return c;
  };
  return {ic("v3_c1_1x1", 3, 1, 1, 1, 1), ic("v50_c3_17x23", 50, 3, 40, 17, 23), ic("v1000_c13_64x48", 1000, 13, 700, 64, 48),
          ic("v100k_c4_512x512", 100000, 4, 200000, 512, 512), ic("v7_c67_9x5", 7, 67, 5, 9, 5)};
}

std::string check_raster(const std::vector<HostTensor>& in, const std::vector<HostTensor>& got,
                         const std::vector<HostTensor>& ref, const Attrs& a, bool uv_mode) {
  const int64_t H = a.get_int("height"), W = a.get_int("width"), F = in[1].shape[0];
  const int64_t V = in[0].shape[0];
  // Clip-space vertices (rasterize_uv: (2u-1, 2v-1, 0, 1)).
  std::vector<double> clip(size_t(V * 4));
  for (int64_t k = 0; k < V; ++k)
    for (int c = 0; c < 4; ++c)
      clip[size_t(4 * k + c)] = uv_mode ? (c < 2 ? 2 * in[0].data[size_t(2 * k + c)] - 1 : c == 2 ? 0.0 : 1.0)
                                        : in[0].data[size_t(4 * k + c)];
  auto tri = [&](int64_t f) {
    Tri t;
    for (int k = 0; k < 3; ++k) t.v[k] = int64_t(in[1].data[size_t(3 * f + k)]);
    t.t = ref::raster_tri(&clip[size_t(4 * t.v[0])], &clip[size_t(4 * t.v[1])], &clip[size_t(4 * t.v[2])]);
    return t;
  };
  auto same_vertices = [&](const Tri& x, const Tri& y) {
    for (int k = 0; k < 3; ++k)
      for (int c = 0; c < 4; ++c)
        if (clip[size_t(4 * x.v[k] + c)] != clip[size_t(4 * y.v[k] + c)]) return false;
    return true;
  };
  constexpr double kEdgeTol = 2e-6;  // radians between the pixel ray and an edge plane
  // 0: clearly outside, 1: marginal (an edge or the near/far plane within the f32 error), 2: clearly inside.
  auto status = [&](const ref::RasterHit& h) {
    if (h.edge_margin < -kEdgeTol || h.depth < -1 - h.depth_err || h.depth > 1 + h.depth_err) return 0;
    if (h.edge_margin <= kEdgeTol || h.depth < -1 + h.depth_err || h.depth > 1 - h.depth_err) return 1;
    return 2;
  };
  int64_t bad = 0, ties = 0, marginal = 0;
  std::string first;
  std::vector<double> g_vals, r_vals;
  for (int64_t i = 0; i < H; ++i)
    for (int64_t j = 0; j < W; ++j) {
      const size_t p = size_t(i * W + j);
      const double px = (2.0 * double(j) + 1.0) / double(W) - 1.0, py = (2.0 * double(i) + 1.0) / double(H) - 1.0;
      const double gd = got[0].data[p];
      const int64_t g = int64_t(gd), r = int64_t(ref[0].data[p]);
      auto fail = [&](const std::string& why) {
        if (!bad++) first = fmt::format("pixel (row {}, col {}): {}", i, j, why);
      };
      if (!(gd == double(g)) || g < -1 || g >= F) {
        fail(fmt::format("id {} is not -1 or a face in [0, {})", gd, F));
        continue;
      }
      if (g < 0) {
        const bool zeros = got[1].data[2 * p] == 0 && got[1].data[2 * p + 1] == 0 && (uv_mode || got[2].data[p] == 0);
        if (!zeros) fail("background pixel with non-zero bary/depth");
        if (r >= 0) {
          if (status(ref::raster_eval(tri(r).t, px, py)) == 2) fail(fmt::format("no triangle, reference has {}", r));
          else marginal++;
        }
        continue;
      }
      Tri tg = tri(g);
      ref::RasterHit hg = ref::raster_eval(tg.t, px, py);
      const int sg = tg.t.valid ? status(hg) : 0;
      if (g != r) {
        if (sg == 0) {
          fail(fmt::format("triangle {} does not cover it (edge margin {:.3g}, depth {:.9g}); reference {}", g,
                           hg.edge_margin, hg.depth, r));
          continue;
        }
        if (r >= 0) {
          Tri tr = tri(r);
          ref::RasterHit hr = ref::raster_eval(tr.t, px, py);
          const double err = hg.depth_err + hr.depth_err;
          if (status(hr) == 2) {
            if (hg.depth > hr.depth + err) {
              fail(fmt::format("triangle {} (depth {:.9g}) hides nearer {} (depth {:.9g})", g, hg.depth, r, hr.depth));
              continue;
            }
            // Exact ties (UV space, or identical triangles) go to the smallest id.
            if (g > r && (uv_mode || same_vertices(tg, tr))) {
              fail(fmt::format("tie between {} and {} resolved to the larger id", g, r));
              continue;
            }
            if (sg == 2) ties++;
            else marginal++;
          } else {
            marginal++;
          }
        } else {
          marginal++;
        }
      }
      // Values against the f64 evaluation of the chosen triangle.
      g_vals.insert(g_vals.end(), {got[1].data[2 * p], got[1].data[2 * p + 1]});
      r_vals.insert(r_vals.end(), {hg.u, hg.v});
      if (!uv_mode) {
        g_vals.push_back(got[2].data[p]);
        r_vals.push_back(hg.depth);
      }
    }
  for (size_t k = 0; k < g_vals.size(); ++k)
    if (!std::isfinite(g_vals[k])) {
      if (!bad++) first = "non-finite bary/depth";
    }
  const double e = nmse(g_vals, r_vals);
  if (bad) return fmt::format("{} bad pixels; first: {}", bad, first);
  if (e > 1e-8) return fmt::format("bary/depth nmse {:.3g} > 1e-8", e);
  (void)ties;
  (void)marginal;
  return "";
}

}  // namespace tessera::ops::raster_detail
