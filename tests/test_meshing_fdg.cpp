// meshing/: flexible dual grid -> mesh (meshing/flexible_dual_grid.hpp) on
// dual grids built from analytic surfaces and on random inputs against a
// straightforward second implementation; mesh utilities; the PLY / OBJ
// writers and readers. Host code only (suites Meshing*).
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <functional>
#include <map>
#include <numeric>
#include <random>
#include <set>
#include <sstream>

#include "core/device.hpp"
#include "core/error.hpp"
#include "core/tensor.hpp"
#include "meshing/flexible_dual_grid.hpp"
#include "meshing/mesh.hpp"
#include "meshing/mesh_io.hpp"
#include "tests/expect_error.hpp"
#include "tests/test_env.hpp"

using namespace tessera;
using test::expect_error;
using namespace tessera::meshing;

namespace {

using Vec3 = std::array<double, 3>;
using Sdf = std::function<double(const Vec3&)>;  // < 0 inside

// A flexible dual grid built from an analytic surface, as host arrays.
struct DualGrid {
  std::vector<int32_t> coords;
  std::vector<float> vertices;
  std::vector<uint8_t> intersected;
  std::vector<float> split_weight;
  int64_t crossed_edges = 0;
  FdgInput input() const {
    FdgInput in;
    in.coords = coords, in.vertices = vertices, in.intersected = intersected, in.split_weight = split_weight;
    return in;
  }
  size_t n() const { return coords.size() / 3; }
  // The same voxels in the order perm (voxel k of the result is voxel perm[k]).
  DualGrid permuted(const std::vector<size_t>& perm) const {
    DualGrid p;
    for (size_t i : perm) {
      for (int a = 0; a < 3; ++a) {
        p.coords.push_back(coords[3 * i + a]);
        p.vertices.push_back(vertices[3 * i + a]);
        p.intersected.push_back(intersected[3 * i + a]);
      }
      p.split_weight.push_back(split_weight[i]);
    }
    return p;
  }
};

Vec3 corner_world(const Aabb& b, int g, int i, int j, int k) {
  const int c[3] = {i, j, k};
  Vec3 p;
  for (int a = 0; a < 3; ++a) p[a] = b.min[a] + (double(b.max[a]) - b.min[a]) * c[a] / g;
  return p;
}

// Mark every primal edge whose end corners differ in sign as intersected (on
// the voxel that owns it: the edge lies at that voxel's +1 corner in the two
// other axes), put the four voxels around it in the grid, and give every voxel
// the mean of the crossings on its edges as its dual vertex.
DualGrid dual_grid_from_sdf(const Sdf& sdf, const Aabb& b, int g, uint64_t seed) {
  const int c1 = g + 1;
  std::vector<double> val(size_t(c1) * c1 * c1);
  auto at = [&](int i, int j, int k) -> double& { return val[(size_t(i) * c1 + j) * c1 + k]; };
  for (int i = 0; i <= g; ++i)
    for (int j = 0; j <= g; ++j)
      for (int k = 0; k <= g; ++k) at(i, j, k) = sdf(corner_world(b, g, i, j, k));
  std::map<std::array<int, 3>, size_t> index;
  std::vector<std::array<double, 3>> sum;
  std::vector<int> count;
  std::vector<std::array<uint8_t, 3>> flags;
  auto voxel = [&](const std::array<int, 3>& c) {
    auto [it, fresh] = index.emplace(c, sum.size());
    if (fresh) sum.push_back({0, 0, 0}), count.push_back(0), flags.push_back({0, 0, 0});
    return it->second;
  };
  DualGrid d;
  for (int a = 0; a < 3; ++a) {
    const int b1 = (a + 1) % 3, b2 = (a + 2) % 3;
    for (int i = 0; i <= g; ++i)
      for (int j = 0; j <= g; ++j)
        for (int k = 0; k <= g; ++k) {
          std::array<int, 3> p{i, j, k};
          if (p[a] == g) continue;
          std::array<int, 3> q = p;
          q[a] += 1;
          const double s0 = at(p[0], p[1], p[2]), s1 = at(q[0], q[1], q[2]);
          if ((s0 < 0) == (s1 < 0)) continue;
          // The crossing: bisection along the edge (in grid units).
          double lo = 0, hi = 1;
          for (int it = 0; it < 60; ++it) {
            const double mid = 0.5 * (lo + hi);
            Vec3 w = corner_world(b, g, p[0], p[1], p[2]);
            w[a] += mid * (double(b.max[a]) - b.min[a]) / g;
            ((sdf(w) < 0) == (s0 < 0) ? lo : hi) = mid;
          }
          Vec3 x{double(p[0]), double(p[1]), double(p[2])};
          x[a] += 0.5 * (lo + hi);
          // The four voxels around the edge; the owner is the one at -1 in both other axes.
          EXPECT_TRUE(p[b1] >= 1 && p[b1] < g && p[b2] >= 1 && p[b2] < g) << "surface too close to the grid border";
          for (int u = 0; u < 2; ++u)
            for (int v = 0; v < 2; ++v) {
              std::array<int, 3> c = p;
              c[b1] += u - 1, c[b2] += v - 1;
              const size_t vi = voxel(c);
              for (int k2 = 0; k2 < 3; ++k2) sum[vi][k2] += x[k2];
              ++count[vi];
              if (u == 0 && v == 0) flags[vi][a] = 1;
            }
          ++d.crossed_edges;
        }
  }
  std::vector<std::pair<std::array<int, 3>, size_t>> order(index.begin(), index.end());
  std::mt19937_64 rng(seed);
  std::shuffle(order.begin(), order.end(), rng);  // the decoder gives no particular order
  std::uniform_real_distribution<float> w(0.05f, 3.f);
  for (const auto& [c, vi] : order) {
    for (int a = 0; a < 3; ++a) {
      d.coords.push_back(c[a]);
      d.vertices.push_back(float(sum[vi][a] / count[vi] - c[a]));
      d.intersected.push_back(flags[vi][a]);
    }
    d.split_weight.push_back(w(rng));
  }
  return d;
}

Sdf sphere(Vec3 c, double r) {
  return [=](const Vec3& p) { return std::sqrt((p[0] - c[0]) * (p[0] - c[0]) + (p[1] - c[1]) * (p[1] - c[1]) + (p[2] - c[2]) * (p[2] - c[2])) - r; };
}
Sdf box(Vec3 lo, Vec3 hi) {
  return [=](const Vec3& p) {
    double out = 0, in = -1e30;
    for (int a = 0; a < 3; ++a) {
      const double d = std::max(lo[a] - p[a], p[a] - hi[a]);
      out += std::max(d, 0.0) * std::max(d, 0.0);
      in = std::max(in, d);
    }
    return out > 0 ? std::sqrt(out) : in;
  };
}

// Oriented triangles as position triples, rotated so the smallest vertex
// comes first (keeps the winding), sorted: equal iff the same set of
// oriented triangles, whatever the vertex and face order.
using Tri = std::array<std::array<float, 3>, 3>;
std::vector<Tri> triangle_set(const Mesh& m) {
  std::vector<Tri> t(size_t(m.num_faces()));
  for (size_t f = 0; f < t.size(); ++f) {
    for (int k = 0; k < 3; ++k)
      for (int a = 0; a < 3; ++a) t[f][k][a] = m.positions[3 * size_t(m.faces[3 * f + k]) + a];
    const int s = int(std::min_element(t[f].begin(), t[f].end()) - t[f].begin());
    std::rotate(t[f].begin(), t[f].begin() + s, t[f].end());
  }
  std::sort(t.begin(), t.end());
  return t;
}

// The second implementation: the official algorithm written out directly
// (std::map lookups, the per-axis offset table of flexible_dual_grid.py).
Mesh reference_fdg(const DualGrid& d, const Aabb& b, std::array<int, 3> g, bool use_weights) {
  static const int off[3][4][3] = {{{0, 0, 0}, {0, 0, 1}, {0, 1, 1}, {0, 1, 0}},
                                   {{0, 0, 0}, {1, 0, 0}, {1, 0, 1}, {0, 0, 1}},
                                   {{0, 0, 0}, {0, 1, 0}, {1, 1, 0}, {1, 0, 0}}};
  const size_t n = d.n();
  std::map<std::array<int, 3>, int> idx;
  for (size_t i = 0; i < n; ++i) idx[{d.coords[3 * i], d.coords[3 * i + 1], d.coords[3 * i + 2]}] = int(i);
  Mesh m;
  for (size_t i = 0; i < n; ++i)
    for (int a = 0; a < 3; ++a) {
      volatile float local = float(d.coords[3 * i + a]) + d.vertices[3 * i + a];
      m.positions.push_back(local * ((b.max[a] - b.min[a]) / float(g[a])) + b.min[a]);
    }
  for (size_t i = 0; i < n; ++i)
    for (int a = 0; a < 3; ++a) {
      if (!d.intersected[3 * i + a]) continue;
      int q[4];
      bool ok = true;
      for (int k = 0; k < 4 && ok; ++k) {
        auto it = idx.find({d.coords[3 * i] + off[a][k][0], d.coords[3 * i + 1] + off[a][k][1], d.coords[3 * i + 2] + off[a][k][2]});
        ok = it != idx.end();
        if (ok) q[k] = it->second;
      }
      if (!ok) continue;
      bool split1;
      if (use_weights) {
        const auto& w = d.split_weight;
        split1 = w[q[0]] * w[q[2]] > w[q[1]] * w[q[3]];
      } else {  // the official branch reduces to: triangle (q0, q1, q2) has a nonzero normal
        const float* p0 = &m.positions[3 * q[0]];
        const float* p1 = &m.positions[3 * q[1]];
        const float* p2 = &m.positions[3 * q[2]];
        float u[3], v[3];
        for (int k = 0; k < 3; ++k) u[k] = p1[k] - p0[k], v[k] = p2[k] - p0[k];
        const float nx = u[1] * v[2] - u[2] * v[1], ny = u[2] * v[0] - u[0] * v[2], nz = u[0] * v[1] - u[1] * v[0];
        split1 = nx != 0 || ny != 0 || nz != 0;
      }
      const int s1[6] = {0, 1, 2, 0, 2, 3}, s2[6] = {0, 1, 3, 3, 1, 2};
      for (int k = 0; k < 6; ++k) m.faces.push_back(q[split1 ? s1[k] : s2[k]]);
    }
  return m;
}

std::string tmp_file(const std::string& name) {
  return ::testing::TempDir() + "tessera_mesh_" + std::to_string(::getpid()) + "_" + name;
}

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

void write_text(const std::string& path, const std::string& s) {
  std::ofstream out(path, std::ios::binary);
  out << s;
}

struct TestShape {
  const char* name;
  Sdf sdf;
  double volume;
  double vol_tol;  // relative, at grid 32 (halved at 64)
};

}  // namespace

// ------------------------------------------------------------- analytic surfaces

TEST(MeshingFdg, AnalyticSurfacesClosedAndAccurate) {
  const Aabb aabb;  // [-0.5, 0.5]^3
  const double pi = std::acos(-1.0);
  const std::vector<TestShape> shapes = {
      {"sphere", sphere({0.013, -0.021, 0.007}, 0.31), 4.0 / 3.0 * pi * 0.31 * 0.31 * 0.31, 0.02},
      {"box", box({-0.33, -0.27, -0.18}, {0.29, 0.24, 0.21}), 0.62 * 0.51 * 0.39, 0.02},
  };
  for (int g : {32, 64}) {
    for (const TestShape& s : shapes) {
      SCOPED_TRACE(std::string(s.name) + " at grid " + std::to_string(g));
      const DualGrid d = dual_grid_from_sdf(s.sdf, aabb, g, test::base_seed() + uint64_t(g));
      const double vs = 1.0 / g;
      Mesh m = flexible_dual_grid_to_mesh(d.input(), aabb, g);
      ASSERT_EQ(m.num_vertices(), int64_t(d.n()));  // one vertex per voxel, as the official code
      // Every crossed edge has its four voxels here, so every one is a quad.
      ASSERT_EQ(m.num_faces(), 2 * d.crossed_edges);

      // Each consecutive triangle pair is one quad: its four voxels surround
      // an edge flagged on the quad's lowest voxel.
      std::map<std::array<int, 3>, size_t> idx;
      for (size_t i = 0; i < d.n(); ++i) idx[{d.coords[3 * i], d.coords[3 * i + 1], d.coords[3 * i + 2]}] = i;
      for (int64_t q = 0; q < m.num_faces() / 2; ++q) {
        std::set<int32_t> vs4(m.faces.begin() + 6 * q, m.faces.begin() + 6 * q + 6);
        ASSERT_EQ(vs4.size(), 4u) << "quad " << q;
        std::array<int, 3> lo{INT32_MAX, INT32_MAX, INT32_MAX}, hi{INT32_MIN, INT32_MIN, INT32_MIN};
        for (int32_t v : vs4)
          for (int a = 0; a < 3; ++a) lo[a] = std::min(lo[a], d.coords[3 * v + a]), hi[a] = std::max(hi[a], d.coords[3 * v + a]);
        int axis = -1, spread = 0;
        for (int a = 0; a < 3; ++a) {
          spread += hi[a] - lo[a];
          if (hi[a] == lo[a]) axis = a;
        }
        ASSERT_TRUE(axis >= 0 && spread == 2) << "quad " << q << " is not a 2x2 voxel ring";
        ASSERT_TRUE(idx.count(lo));
        EXPECT_EQ(d.intersected[3 * idx[lo] + axis], 1) << "quad " << q << " from an edge that is not flagged";
        EXPECT_EQ(m.faces[6 * q], int32_t(idx[lo])) << "quad " << q << " does not start at its owner voxel";
      }

      // Closed: every edge used by exactly two faces. The official winding is
      // by axis only, so a sphere comes out inconsistently oriented...
      EdgeStats raw = edge_stats(m);
      EXPECT_TRUE(raw.watertight()) << raw.boundary << " boundary, " << raw.non_manifold << " non-manifold edges";
      EXPECT_GT(raw.misoriented, 0);
      // ...until unify_orientation, which makes it consistent and outward.
      Mesh o = m;
      const int64_t flipped = unify_orientation(o);
      EXPECT_GT(flipped, 0);
      EXPECT_LT(flipped, o.num_faces());
      EdgeStats st = edge_stats(o);
      EXPECT_TRUE(st.watertight());
      EXPECT_TRUE(st.consistently_oriented()) << st.misoriented << " misoriented edges";
      const double vol = signed_volume(o);
      EXPECT_GT(vol, 0);
      EXPECT_NEAR(vol / s.volume, 1.0, s.vol_tol * 32 / g) << "volume " << vol << " vs analytic " << s.volume;
      // Unifying again changes nothing.
      Mesh o2 = o;
      EXPECT_EQ(unify_orientation(o2), 0);
      EXPECT_EQ(o2.faces, o.faces);

      // Vertices: inside the aabb and near the surface (a mean of crossings
      // inside one voxel; the box's edges and corners pull it furthest off).
      double worst = 0;
      for (int64_t v = 0; v < m.num_vertices(); ++v) {
        Vec3 p{m.positions[3 * v], m.positions[3 * v + 1], m.positions[3 * v + 2]};
        for (int a = 0; a < 3; ++a) {
          EXPECT_GE(p[a], aabb.min[a]);
          EXPECT_LE(p[a], aabb.max[a]);
        }
        worst = std::max(worst, std::fabs(s.sdf(p)));
      }
      EXPECT_LT(worst, 0.5 * vs) << "farthest vertex from the surface, in voxels: " << worst / vs;
      if (std::string(s.name) == "sphere") {
        EXPECT_LT(worst, 0.1 * vs);
      }

      // Every vertex is used (each voxel touches a crossed edge).
      Mesh c = o;
      EXPECT_EQ(remove_unreferenced_vertices(c), 0);
    }
  }
}

TEST(MeshingFdg, IndependentOfVoxelOrder) {
  const Aabb aabb;
  const DualGrid d = dual_grid_from_sdf(sphere({0.02, 0.01, -0.03}, 0.27), aabb, 32, test::base_seed());
  const Mesh m = flexible_dual_grid_to_mesh(d.input(), aabb, 32);
  for (uint64_t seed : {1u, 2u, 3u}) {
    std::vector<size_t> perm(d.n());
    std::iota(perm.begin(), perm.end(), 0);
    std::mt19937_64 rng(test::base_seed() ^ seed);
    std::shuffle(perm.begin(), perm.end(), rng);
    const DualGrid p = d.permuted(perm);
    const Mesh pm = flexible_dual_grid_to_mesh(p.input(), aabb, 32);
    ASSERT_EQ(pm.num_faces(), m.num_faces());
    for (size_t k = 0; k < perm.size(); ++k)
      for (int a = 0; a < 3; ++a) ASSERT_EQ(pm.positions[3 * k + a], m.positions[3 * perm[k] + a]);
    EXPECT_EQ(triangle_set(pm), triangle_set(m));
  }
}

// ------------------------------------------------------------- random inputs vs the second implementation

TEST(MeshingFdg, RandomInputsMatchStraightforwardImplementation) {
  std::mt19937_64 rng(test::base_seed() ^ 0xfd6);
  for (int trial = 0; trial < 6; ++trial) {
    SCOPED_TRACE("trial " + std::to_string(trial));
    const std::array<int, 3> g{5 + trial, 7, 4 + 2 * trial};
    const Aabb aabb{{-1.f, 0.25f, -0.5f}, {0.5f, 1.75f, 3.f}};
    std::bernoulli_distribution occupied(0.6), flag(0.5);
    std::uniform_real_distribution<float> vert(-0.5f, 1.5f);
    std::uniform_int_distribution<int> small(0, 3);  // weights from a tiny set: many ties
    DualGrid d;
    for (int x = 0; x < g[0]; ++x)
      for (int y = 0; y < g[1]; ++y)
        for (int z = 0; z < g[2]; ++z) {
          if (!occupied(rng)) continue;
          d.coords.insert(d.coords.end(), {x, y, z});
          for (int a = 0; a < 3; ++a) d.vertices.push_back(vert(rng)), d.intersected.push_back(flag(rng));
          d.split_weight.push_back(trial % 2 ? 0.5f * float(small(rng)) : std::exp(vert(rng)));
        }
    // Degenerate triangles for the geometric split: around a few primal
    // corners P, every voxel's vertex snaps onto P (coincident positions).
    std::map<std::array<int, 3>, size_t> idx;
    for (size_t i = 0; i < d.n(); ++i) idx[{d.coords[3 * i], d.coords[3 * i + 1], d.coords[3 * i + 2]}] = i;
    for (size_t i = 0; i < d.n(); i += 9)
      for (int dx = 0; dx < 2; ++dx)
        for (int dy = 0; dy < 2; ++dy)
          for (int dz = 0; dz < 2; ++dz) {
            auto it = idx.find({d.coords[3 * i] + dx, d.coords[3 * i + 1] + dy, d.coords[3 * i + 2] + dz});
            if (it == idx.end()) continue;
            d.vertices[3 * it->second] = float(1 - dx), d.vertices[3 * it->second + 1] = float(1 - dy),
                                   d.vertices[3 * it->second + 2] = float(1 - dz);
          }
    // Random voxel order.
    std::vector<size_t> perm(d.n());
    std::iota(perm.begin(), perm.end(), 0);
    std::shuffle(perm.begin(), perm.end(), rng);
    const DualGrid s = d.permuted(perm);
    for (bool weights : {true, false}) {
      SCOPED_TRACE(weights ? "split weights" : "no split weights");
      FdgInput in = s.input();
      if (!weights) in.split_weight = {};
      const Mesh got = flexible_dual_grid_to_mesh(in, aabb, GridSize{g[0], g[1], g[2]});
      const Mesh want = reference_fdg(s, aabb, g, weights);
      ASSERT_GT(want.num_faces(), 0);
      EXPECT_EQ(got.positions, want.positions);
      EXPECT_EQ(triangle_set(got), triangle_set(want));
      EXPECT_EQ(got.faces, want.faces);  // same order too (voxel, then axis)
      int64_t diag13 = 0;  // both diagonals occur (t13 repeats q3 as its 3rd and 4th index)
      for (int64_t q = 0; q < got.num_faces() / 2; ++q) diag13 += got.faces[6 * q + 2] == got.faces[6 * q + 3];
      EXPECT_GT(diag13, 0);
      EXPECT_LT(diag13, got.num_faces() / 2);
    }
    // Logits instead of flags: crossed iff > 0.
    std::vector<float> logits(s.intersected.size());
    std::uniform_real_distribution<float> mag(0.01f, 4.f);
    for (size_t k = 0; k < logits.size(); ++k) logits[k] = s.intersected[k] ? mag(rng) : (k % 5 == 0 ? 0.f : -mag(rng));
    FdgInput in = s.input();
    in.intersected = {};
    in.intersected_logits = logits;
    EXPECT_EQ(flexible_dual_grid_to_mesh(in, aabb, GridSize{g[0], g[1], g[2]}).faces,
              reference_fdg(s, aabb, g, true).faces);
  }
}

// ------------------------------------------------------------- conventions on small cases

TEST(MeshingFdg, QuadWindingAndSplitFollowTheOfficialTables) {
  // A 2x2x2 block of voxels with centred vertices: voxel (0,0,0) owns one
  // edge per axis, each surrounded by four voxels of the block.
  const Aabb aabb{{0, 0, 0}, {4, 4, 4}};  // voxel size 1 at grid 4
  DualGrid d;
  for (int x = 0; x < 2; ++x)
    for (int y = 0; y < 2; ++y)
      for (int z = 0; z < 2; ++z) {
        d.coords.insert(d.coords.end(), {x, y, z});
        d.vertices.insert(d.vertices.end(), {0.5f, 0.5f, 0.5f});
        const uint8_t f = (x | y | z) ? 0 : 1;
        d.intersected.insert(d.intersected.end(), {f, f, f});
        d.split_weight.push_back(1.f);
      }
  auto id = [](int x, int y, int z) { return int32_t(x * 4 + y * 2 + z); };
  // Weights equal: not strictly greater, so diagonal q1-q3.
  Mesh m = flexible_dual_grid_to_mesh(d.input(), aabb, 4);
  const std::vector<int32_t> quads[3] = {{id(0, 0, 0), id(0, 0, 1), id(0, 1, 1), id(0, 1, 0)},
                                         {id(0, 0, 0), id(1, 0, 0), id(1, 0, 1), id(0, 0, 1)},
                                         {id(0, 0, 0), id(0, 1, 0), id(1, 1, 0), id(1, 0, 0)}};
  ASSERT_EQ(m.num_faces(), 6);
  for (int a = 0; a < 3; ++a) {
    const auto& q = quads[a];
    EXPECT_EQ(std::vector<int32_t>(m.faces.begin() + 6 * a, m.faces.begin() + 6 * a + 6),
              (std::vector<int32_t>{q[0], q[1], q[3], q[3], q[1], q[2]}))
        << "axis " << a;
    // Normal of both triangles: -axis.
    for (int t = 0; t < 2; ++t) {
      const int32_t* f = &m.faces[6 * a + 3 * t];
      float u[3], v[3];
      for (int k = 0; k < 3; ++k)
        u[k] = m.positions[3 * f[1] + k] - m.positions[3 * f[0] + k], v[k] = m.positions[3 * f[2] + k] - m.positions[3 * f[0] + k];
      const float n[3] = {u[1] * v[2] - u[2] * v[1], u[2] * v[0] - u[0] * v[2], u[0] * v[1] - u[1] * v[0]};
      for (int k = 0; k < 3; ++k) EXPECT_EQ(n[k], k == a ? -1.f : 0.f) << "axis " << a << " triangle " << t;
    }
  }
  // w[q0] * w[q2] > w[q1] * w[q3]: diagonal q0-q2.
  d.split_weight[size_t(id(0, 0, 0))] = 2.f;
  m = flexible_dual_grid_to_mesh(d.input(), aabb, 4);
  for (int a = 0; a < 3; ++a) {
    const auto& q = quads[a];
    EXPECT_EQ(std::vector<int32_t>(m.faces.begin() + 6 * a, m.faces.begin() + 6 * a + 6),
              (std::vector<int32_t>{q[0], q[1], q[2], q[0], q[2], q[3]}));
  }
  // A missing neighbour drops the quads that need it (here x and z need (0,1,0)).
  DualGrid e = d;
  const size_t drop = size_t(id(0, 1, 0));
  e.coords.erase(e.coords.begin() + 3 * drop, e.coords.begin() + 3 * drop + 3);
  e.vertices.erase(e.vertices.begin() + 3 * drop, e.vertices.begin() + 3 * drop + 3);
  e.intersected.erase(e.intersected.begin() + 3 * drop, e.intersected.begin() + 3 * drop + 3);
  e.split_weight.erase(e.split_weight.begin() + drop);
  EXPECT_EQ(flexible_dual_grid_to_mesh(e.input(), aabb, 4).num_faces(), 2);
  // Edges at the far grid border have no quad (their neighbours would be outside).
  DualGrid b;
  b.coords = {1, 1, 1};
  b.vertices = {0.5f, 0.5f, 0.5f};
  b.intersected = {1, 1, 1};
  EXPECT_EQ(flexible_dual_grid_to_mesh(b.input(), aabb, 2).num_faces(), 0);
  // Past the far z face, (0, 0, 4) and (0, 1, 4) would alias (0, 1, 0) and
  // (0, 2, 0) in a packed x/y/z index: still no quad.
  DualGrid z;
  z.coords = {0, 0, 3, 0, 1, 0, 0, 2, 0, 0, 1, 3};
  z.vertices.assign(12, 0.5f);
  z.intersected = {1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
  EXPECT_EQ(flexible_dual_grid_to_mesh(z.input(), aabb, 4).num_faces(), 0);
  z.coords = {0, 0, 2, 0, 0, 3, 0, 1, 3, 0, 1, 2};  // the same quad one step inside: present
  EXPECT_EQ(flexible_dual_grid_to_mesh(z.input(), aabb, 4).num_faces(), 2);
}

TEST(MeshingFdg, WorldMapping) {
  // position = (float(coord) + v) * ((max - min) / grid) + min, in float.
  const Aabb aabb{{-0.5f, -0.25f, 0.1f}, {0.5f, 0.75f, 0.4f}};
  const GridSize g{64, 32, 3};
  DualGrid d;
  d.coords = {0, 0, 0, 63, 31, 2, 17, 5, 1};
  d.vertices = {-0.5f, 0.f, 1.5f, 1.f, 1.f, 1.f, 0.3f, 0.7f, 0.123f};
  d.intersected.assign(9, 0);
  const Mesh m = flexible_dual_grid_to_mesh(d.input(), aabb, g);
  ASSERT_EQ(m.num_vertices(), 3);
  EXPECT_EQ(m.num_faces(), 0);
  for (int i = 0; i < 3; ++i)
    for (int a = 0; a < 3; ++a) {
      volatile float vs = (aabb.max[a] - aabb.min[a]) / float(g[a]);
      volatile float local = float(d.coords[3 * i + a]) + d.vertices[3 * i + a];
      volatile float scaled = local * vs;
      const float want = scaled + aabb.min[a];
      EXPECT_EQ(m.positions[3 * i + a], want) << "voxel " << i << " axis " << a;
    }
  EXPECT_FLOAT_EQ(m.positions[3], 0.5f);  // voxel (63, 31, 2) + 1: the box's max corner
  EXPECT_FLOAT_EQ(m.positions[4], 0.75f);
  EXPECT_FLOAT_EQ(m.positions[5], 0.4f);
  // Empty input: empty mesh.
  EXPECT_EQ(flexible_dual_grid_to_mesh(FdgInput{}, aabb, g).num_vertices(), 0);
}

TEST(MeshingFdg, TensorInputs) {
  Device& cpu = BackendRegistry::get().cpu();
  const Aabb aabb;
  DualGrid d = dual_grid_from_sdf(sphere({0, 0, 0}, 0.3), aabb, 32, test::base_seed());
  const int64_t n = int64_t(d.n());
  // Vertices and weights that f16 holds exactly, so both forms see the same values.
  for (float& v : d.vertices) v = f16_to_f32(f32_to_f16(v));
  for (float& w : d.split_weight) w = f16_to_f32(f32_to_f16(w));
  const Mesh want = flexible_dual_grid_to_mesh(d.input(), aabb, 32);

  Tensor coords = Tensor::from_vector(d.coords, {n, 3}, DType::i32, cpu);
  Tensor verts = Tensor::from_vector(d.vertices, {n, 3}, DType::f32, cpu);
  Tensor flags = Tensor::from_vector(d.intersected, {n, 3}, DType::u8, cpu);
  Tensor w = Tensor::from_vector(d.split_weight, {n, 1}, DType::f32, cpu);
  Mesh got = flexible_dual_grid_to_mesh(coords, verts, flags, w, aabb, {32, 32, 32});
  EXPECT_EQ(got.positions, want.positions);
  EXPECT_EQ(got.faces, want.faces);

  // i64 coords, f16 vertices, f32 logits, [N] f16 weights.
  std::vector<int64_t> c64(d.coords.begin(), d.coords.end());
  std::vector<uint16_t> v16, w16;
  for (float v : d.vertices) v16.push_back(f32_to_f16(v));
  for (float v : d.split_weight) w16.push_back(f32_to_f16(v));
  std::vector<float> logits;
  for (uint8_t f : d.intersected) logits.push_back(f ? 2.5f : -1.f);
  got = flexible_dual_grid_to_mesh(Tensor::from_vector(c64, {n, 3}, DType::i64, cpu),
                                   Tensor::from_vector(v16, {n, 3}, DType::f16, cpu),
                                   Tensor::from_vector(logits, {n, 3}, DType::f32, cpu),
                                   Tensor::from_vector(w16, {n}, DType::f16, cpu), aabb, {32, 32, 32});
  EXPECT_EQ(got.positions, want.positions);
  EXPECT_EQ(got.faces, want.faces);

  // No split weight (undefined tensor): the geometric split.
  FdgInput nw = d.input();
  nw.split_weight = {};
  EXPECT_EQ(flexible_dual_grid_to_mesh(coords, verts, flags, Tensor(), aabb, {32, 32, 32}).faces,
            flexible_dual_grid_to_mesh(nw, aabb, 32).faces);

  // Shape / dtype errors.
  Tensor c4 = Tensor::from_vector(std::vector<int32_t>(size_t(4 * n), 0), {n, 4}, DType::i32, cpu);
  expect_error([&] { flexible_dual_grid_to_mesh(c4, verts, flags, w, aabb, {32, 32, 32}); }, {"coords", "batch column"});
  Tensor short_v = Tensor::from_vector(std::vector<float>(size_t(3 * (n - 1)), 0.f), {n - 1, 3}, DType::f32, cpu);
  expect_error([&] { flexible_dual_grid_to_mesh(coords, short_v, flags, w, aabb, {32, 32, 32}); }, {"vertices", "expected"});
  Tensor fc = Tensor::from_vector(d.coords, {n, 3}, DType::i32, cpu);
  Tensor vi = Tensor::from_vector(d.coords, {n, 3}, DType::i32, cpu);
  expect_error([&] { flexible_dual_grid_to_mesh(fc, vi, flags, w, aabb, {32, 32, 32}); }, {"vertices", "f32"});
  Tensor w2 = Tensor::from_vector(std::vector<float>(size_t(2 * n), 1.f), {n, 2}, DType::f32, cpu);
  expect_error([&] { flexible_dual_grid_to_mesh(coords, verts, flags, w2, aabb, {32, 32, 32}); }, {"split_weight"});
}

TEST(MeshingFdg, BadInputsAreClearErrors) {
  const Aabb aabb;
  DualGrid d;
  d.coords = {0, 0, 0, 1, 2, 3, 3, 3, 3};
  d.vertices.assign(9, 0.5f);
  d.intersected.assign(9, 1);
  d.split_weight.assign(3, 1.f);
  EXPECT_NO_THROW(flexible_dual_grid_to_mesh(d.input(), aabb, 4));

  auto with = [&](const std::function<void(DualGrid&)>& edit) {
    DualGrid e = d;
    edit(e);
    return e;
  };
  auto run = [&](const DualGrid& e, GridSize g = {4, 4, 4}, Aabb b = Aabb{}) {
    return [e, g, b] { flexible_dual_grid_to_mesh(e.input(), b, g); };
  };
  expect_error(run(with([](DualGrid& e) { e.vertices.pop_back(); })), {"vertices has 8 values", "3 rows"});
  expect_error(run(with([](DualGrid& e) { e.coords.pop_back(); })), {"coords has 8 values", "multiple of 3"});
  expect_error(run(with([](DualGrid& e) { e.intersected.push_back(0); })), {"intersected has 10 values"});
  expect_error(run(with([](DualGrid& e) { e.split_weight.pop_back(); })), {"split_weight has 2 values"});
  expect_error(run(with([](DualGrid& e) { e.coords[4] = 4; })), {"coords row 1", "(1, 4, 3)", "outside the grid"});
  expect_error(run(with([](DualGrid& e) { e.coords[0] = -1; })), {"coords row 0", "(-1, 0, 0)"});
  expect_error(run(d, {4, 3, 4}), {"coords row 2", "(3, 3, 3)", "[0, 3)"});
  expect_error(run(with([](DualGrid& e) { e.coords[6] = 1, e.coords[7] = 2, e.coords[8] = 3; })),
               {"rows 1 and 2", "(1, 2, 3)"});
  expect_error(run(d, {0, 4, 4}), {"grid_size"});
  expect_error(run(d, {4, 4, 4}, Aabb{{0, 0, 0}, {1, 0, 1}}), {"aabb"});
  DualGrid both = d;
  std::vector<float> logits(9, 1.f);
  expect_error(
      [&] {
        FdgInput in = both.input();
        in.intersected_logits = logits;
        flexible_dual_grid_to_mesh(in, aabb, 4);
      },
      {"exactly one of intersected", "both"});
  expect_error(
      [&] {
        FdgInput in = both.input();
        in.intersected = {};
        flexible_dual_grid_to_mesh(in, aabb, 4);
      },
      {"exactly one of intersected", "neither"});
}

// ------------------------------------------------------------- mesh utilities

TEST(MeshingMesh, ValidateAndCompact) {
  Mesh m;
  m.positions = {0, 0, 0, 9, 9, 9, 1, 0, 0, 0, 1, 0, 0, 0, 1};
  m.faces = {0, 3, 2, 0, 2, 4, 0, 4, 3, 2, 3, 4};  // tetrahedron over vertices 0, 2, 3, 4
  EXPECT_NO_THROW(m.validate());
  EXPECT_NEAR(signed_volume(m), 1.0 / 6.0, 1e-12);
  EdgeStats s = edge_stats(m);
  EXPECT_EQ(s.edges, 6);
  EXPECT_TRUE(s.watertight() && s.consistently_oriented());
  EXPECT_EQ(remove_unreferenced_vertices(m), 1);
  EXPECT_EQ(m.num_vertices(), 4);
  EXPECT_EQ(m.faces, (std::vector<int32_t>{0, 2, 1, 0, 1, 3, 0, 3, 2, 1, 2, 3}));
  EXPECT_NEAR(signed_volume(m), 1.0 / 6.0, 1e-12);
  // Inverted + one face flipped: unify restores the outward orientation.
  Mesh bad = m;
  for (size_t f = 0; f < bad.faces.size(); f += 3) std::swap(bad.faces[f + 1], bad.faces[f + 2]);
  std::swap(bad.faces[1], bad.faces[2]);
  EXPECT_FALSE(edge_stats(bad).consistently_oriented());
  EXPECT_EQ(unify_orientation(bad), 3);
  EXPECT_EQ(bad.faces, m.faces);
  // Errors.
  Mesh e = m;
  e.faces.push_back(0);
  expect_error([&] { e.validate(); }, {"faces has 13 values"});
  e = m;
  e.faces[5] = 4;
  expect_error([&] { e.validate(); }, {"face 1 uses vertex 4"});
}

// ------------------------------------------------------------- files

TEST(MeshingIo, MeshPlyAndObjRoundTrip) {
  const Aabb aabb;
  const DualGrid d = dual_grid_from_sdf(box({-0.2, -0.3, -0.1}, {0.3, 0.1, 0.25}), aabb, 32, test::base_seed());
  Mesh m = flexible_dual_grid_to_mesh(d.input(), aabb, 32);
  unify_orientation(m);
  const std::string ply = tmp_file("mesh.ply"), obj = tmp_file("mesh.obj");
  write_mesh_ply(ply, m);
  const std::string bytes = read_text(ply);
  const std::string header =
      "ply\nformat binary_little_endian 1.0\ncomment written by tessera\nelement vertex " +
      std::to_string(m.num_vertices()) + "\nproperty float x\nproperty float y\nproperty float z\nelement face " +
      std::to_string(m.num_faces()) + "\nproperty list uchar int vertex_indices\nend_header\n";
  ASSERT_EQ(bytes.substr(0, header.size()), header);
  EXPECT_EQ(bytes.size(), header.size() + 12 * size_t(m.num_vertices()) + 13 * size_t(m.num_faces()));
  const Mesh r = read_mesh_ply(ply);
  EXPECT_EQ(r.positions, m.positions);
  EXPECT_EQ(r.faces, m.faces);

  write_mesh_obj(obj, m);
  std::istringstream in(read_text(obj));
  Mesh o;
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream ls(line);
    std::string kw;
    ls >> kw;
    if (kw == "v") {
      float x, y, z;
      ls >> x >> y >> z;
      o.positions.insert(o.positions.end(), {x, y, z});
    } else if (kw == "f") {
      int a, b, c;
      ls >> a >> b >> c;
      o.faces.insert(o.faces.end(), {a - 1, b - 1, c - 1});
    }
  }
  EXPECT_EQ(o.positions, m.positions);  // shortest round-trip text
  EXPECT_EQ(o.faces, m.faces);
  std::remove(ply.c_str());
  std::remove(obj.c_str());

  // Big-endian files with quads, double coordinates and extra properties read too.
  std::string be = "ply\r\nformat binary_big_endian 1.0\r\nelement vertex 4\r\nproperty double x\r\nproperty double y\r\n"
                   "property double z\r\nproperty uchar red\r\nelement face 1\r\nproperty list uchar uint vertex_index\r\n"
                   "property float quality\r\nend_header\r\n";
  auto put_be = [&](const void* p, size_t n) {
    const char* c = static_cast<const char*>(p);
    for (size_t k = n; k-- > 0;) be.push_back(c[k]);
  };
  const double pts[4][3] = {{0, 0, 0}, {1, 0, 0}, {1, 1, 0}, {0, 1, 0.5}};
  for (auto& p : pts) {
    for (double x : p) put_be(&x, 8);
    be.push_back(char(200));
  }
  be.push_back(4);
  for (uint32_t i : {0u, 1u, 2u, 3u}) put_be(&i, 4);
  const float quality = 0.5f;
  put_be(&quality, 4);
  const std::string bep = tmp_file("be.ply");
  write_text(bep, be);
  const Mesh q = read_mesh_ply(bep);
  EXPECT_EQ(q.positions, (std::vector<float>{0, 0, 0, 1, 0, 0, 1, 1, 0, 0, 1, 0.5f}));
  EXPECT_EQ(q.faces, (std::vector<int32_t>{0, 1, 2, 0, 2, 3}));
  std::remove(bep.c_str());
}

TEST(MeshingIo, OVoxelPlyRoundTrip) {
  std::mt19937_64 rng(test::base_seed() ^ 0x0f0f);
  std::uniform_real_distribution<float> u(-2.f, 2.f);
  OVoxel v;
  v.resolution = {64, 64, 32};
  v.aabb = Aabb{{-0.5f, -0.5f, -0.25f}, {0.5f, 0.5f, 0.25f}};
  const int n = 777;
  for (int i = 0; i < n; ++i) v.coords.insert(v.coords.end(), {i % 64, (i * 7) % 64, (i * 13) % 32});
  for (auto [name, ch] : std::vector<std::pair<const char*, int>>{{"vertices", 3}, {"intersected", 3}, {"quad_lerp", 1},
                                                                  {"base_color", 3}, {"metallic", 1}}) {
    VoxelAttribute a{name, ch, {}};
    for (int k = 0; k < n * ch; ++k) a.data.push_back(u(rng));
    v.attributes.push_back(std::move(a));
  }
  const std::string path = tmp_file("ovoxel.ply");
  write_ovoxel_ply(path, v);
  const std::string bytes = read_text(path);
  // The official o_voxel.io.ply layout: x, y, z then NAME_j floats.
  const std::string header =
      "ply\nformat binary_little_endian 1.0\ncomment o-voxel written by tessera\ncomment resolution 64 64 32\n"
      "comment aabb -0.5 -0.5 -0.25 0.5 0.5 0.25\nelement vertex 777\nproperty float x\nproperty float y\n"
      "property float z\nproperty float vertices_0\nproperty float vertices_1\nproperty float vertices_2\n"
      "property float intersected_0\nproperty float intersected_1\nproperty float intersected_2\n"
      "property float quad_lerp_0\nproperty float base_color_0\nproperty float base_color_1\n"
      "property float base_color_2\nproperty float metallic_0\nend_header\n";
  ASSERT_EQ(bytes.substr(0, header.size()), header);
  EXPECT_EQ(bytes.size(), header.size() + size_t(n) * 14 * 4);

  const OVoxel r = read_ovoxel_ply(path);
  EXPECT_EQ(r.resolution, v.resolution);
  ASSERT_TRUE(r.aabb.has_value());
  EXPECT_EQ(r.aabb->min, v.aabb->min);
  EXPECT_EQ(r.aabb->max, v.aabb->max);
  EXPECT_EQ(r.coords, v.coords);
  ASSERT_EQ(r.attributes.size(), v.attributes.size());
  for (size_t k = 0; k < v.attributes.size(); ++k) {
    EXPECT_EQ(r.attributes[k].name, v.attributes[k].name);
    EXPECT_EQ(r.attributes[k].channels, v.attributes[k].channels);
    EXPECT_EQ(r.attributes[k].data, v.attributes[k].data);
  }
  ASSERT_NE(r.find("quad_lerp"), nullptr);
  EXPECT_EQ(r.find("alpha"), nullptr);
  std::remove(path.c_str());

  // No resolution known, no aabb, no attributes, no voxels.
  OVoxel empty;
  write_ovoxel_ply(path, empty);
  const OVoxel re = read_ovoxel_ply(path);
  EXPECT_EQ(re.num_voxels(), 0);
  EXPECT_EQ(re.resolution, (std::array<int32_t, 3>{0, 0, 0}));
  EXPECT_FALSE(re.aabb.has_value());
  std::remove(path.c_str());

  // A file as the official writer makes it (plyfile: no comments; uchar and
  // int attributes are possible) and a property without a channel suffix.
  std::string off = "ply\nformat binary_little_endian 1.0\nelement vertex 2\nproperty float x\nproperty float y\n"
                    "property float z\nproperty uchar base_color_0\nproperty uchar base_color_1\nproperty uchar base_color_2\n"
                    "property int label\nend_header\n";
  auto put = [&](const auto& x) { off.append(reinterpret_cast<const char*>(&x), sizeof(x)); };
  for (int i = 0; i < 2; ++i) {
    put(float(3 + i)), put(float(4.0000001f)), put(float(5 * i));
    put(uint8_t(10 * i)), put(uint8_t(255)), put(uint8_t(7));
    put(int32_t(-3 + i));
  }
  write_text(path, off);
  const OVoxel o = read_ovoxel_ply(path);
  EXPECT_EQ(o.coords, (std::vector<int32_t>{3, 4, 0, 4, 4, 5}));
  ASSERT_EQ(o.attributes.size(), 2u);
  EXPECT_EQ(o.attributes[0].name, "base_color");
  EXPECT_EQ(o.attributes[0].channels, 3);
  EXPECT_EQ(o.attributes[0].data, (std::vector<float>{0, 255, 7, 10, 255, 7}));
  EXPECT_EQ(o.attributes[1].name, "label");
  EXPECT_EQ(o.attributes[1].data, (std::vector<float>{-3, -2}));
  std::remove(path.c_str());
}

TEST(MeshingIo, ErrorsNameThePath) {
  Mesh m;
  m.positions = {0, 0, 0, 1, 0, 0, 0, 1, 0};
  m.faces = {0, 1, 2};
  const std::string nodir = ::testing::TempDir() + "tessera_no_such_dir_" + std::to_string(::getpid()) + "/out.ply";
  expect_error([&] { write_mesh_ply(nodir, m); }, {"write_mesh_ply", nodir, "cannot create"});
  expect_error([&] { write_mesh_obj(nodir, m); }, {"write_mesh_obj", nodir});
  const std::string path = tmp_file("err.ply");
  Mesh bad = m;
  bad.faces[2] = 3;
  expect_error([&] { write_mesh_ply(path, bad); }, {"write_mesh_ply", path, "face 0 uses vertex 3"});

  OVoxel v;
  v.coords = {0, 0, 0, 1, 1, 1};
  v.attributes.push_back({"alpha", 1, {0.5f}});
  expect_error([&] { write_ovoxel_ply(path, v); }, {"write_ovoxel_ply", path, "'alpha' has 1 values", "2 voxels"});
  v.attributes[0].data.push_back(1.f);
  v.resolution = {1, 2, 2};
  expect_error([&] { write_ovoxel_ply(path, v); }, {path, "voxel 1", "outside the grid"});
  v.resolution = {2, 2, 2};
  v.attributes.push_back({"bad name", 1, {0, 0}});
  expect_error([&] { write_ovoxel_ply(path, v); }, {path, "invalid attribute name"});
  v.attributes.back().name = "alpha";
  expect_error([&] { write_ovoxel_ply(path, v); }, {path, "'alpha' appears twice"});
  v.attributes.pop_back();
  expect_error([&] { write_ovoxel_ply(nodir, v); }, {"write_ovoxel_ply", nodir});
  std::ifstream none(path);
  EXPECT_FALSE(none.good()) << "a failed write left a file behind";

  // Reading: missing, not a PLY, ascii, truncated, inconsistent.
  expect_error([&] { read_ovoxel_ply(nodir); }, {"read_ovoxel_ply", nodir, "cannot open"});
  write_text(path, "hello\nworld\n");
  expect_error([&] { read_mesh_ply(path); }, {"read_mesh_ply", path, "not a PLY file"});
  write_text(path, "ply\nformat ascii 1.0\nelement vertex 0\nproperty float x\nend_header\n");
  expect_error([&] { read_ovoxel_ply(path); }, {path, "ascii"});
  write_ovoxel_ply(path, v);
  std::string full = read_text(path);
  write_text(path, full.substr(0, full.size() - 3));
  expect_error([&] { read_ovoxel_ply(path); }, {path, "truncated"});
  write_text(path, "ply\nformat binary_little_endian 1.0\ncomment resolution 1 1 1\nelement vertex 1\nproperty float x\n"
                   "property float y\nproperty float z\nend_header\n" + std::string("\0\0\0\0\0\0\0\0\0\0\x80\x3f", 12));
  expect_error([&] { read_ovoxel_ply(path); }, {path, "(0, 0, 1)", "outside the grid"});
  write_text(path, "ply\nformat binary_little_endian 1.0\nelement vertex 1\nproperty float x\nproperty float y\n"
                   "property float z\nproperty float c_0\nproperty float c_2\nend_header\n" + std::string(20, '\0'));
  expect_error([&] { read_ovoxel_ply(path); }, {path, "'c'", "c_0 .. c_1"});
  Mesh tri = m;
  write_mesh_ply(path, tri);
  full = read_text(path);
  full[full.size() - 4] = 9;  // last index -> 9
  write_text(path, full);
  expect_error([&] { read_mesh_ply(path); }, {path, "face 0 uses vertex 9"});
  std::remove(path.c_str());
}
