#include "ops/geometry_bvh.hpp"

#include "core/error.hpp"
#include "core/op_registry.hpp"
#include "ops/reference/geometry_bvh.hpp"

namespace tessera::ops {

Bvh bvh_build(const Tensor& vertices, const Tensor& faces) {
  auto o = OpRegistry::get().call("bvh_build", {vertices, faces});
  return {o[0], o[1], o[2], o[3]};
}
BvhClosest bvh_query(const Tensor& vertices, const Tensor& faces, const Bvh& b, const Tensor& points, double r) {
  auto o = OpRegistry::get().call("bvh_query", {vertices, faces, b.boxes, b.nodes, b.depth, points},
                                  Attrs().set("max_radius", r));
  return {o[0], o[1], o[2], o[3]};
}
BvhHits bvh_raycast(const Tensor& vertices, const Tensor& faces, const Bvh& b, const Tensor& origins,
                    const Tensor& directions, double tmin, double tmax) {
  auto o = OpRegistry::get().call("bvh_raycast", {vertices, faces, b.boxes, b.nodes, b.depth, origins, directions},
                                  Attrs().set("tmin", tmin).set("tmax", tmax));
  return {o[0], o[1], o[2]};
}

namespace {

using ref::Mesh;

void check_mesh(const char* op, const std::vector<TensorDesc>& in) {
  const auto &v = in[0], &f = in[1];
  TESSERA_CHECK(v.dtype == DType::f32 && v.shape.size() == 2 && v.shape[1] == 3 && v.shape[0] >= 1,
                "op '{}': vertices must be f32 [V >= 1, 3], got {} {}", op, dtype_name(v.dtype), shape_str(v.shape));
  TESSERA_CHECK(f.dtype == DType::i32 && f.shape.size() == 2 && f.shape[1] == 3 && f.shape[0] >= 1 &&
                    f.shape[0] < (int64_t(1) << 30),
                "op '{}': faces must be i32 [F, 3] with 1 <= F < 2^30, got {} {}", op, dtype_name(f.dtype),
                shape_str(f.shape));
  TESSERA_CHECK(v.shape[0] < (int64_t(1) << 31), "op '{}': {} vertices (at most 2^31 - 1)", op, v.shape[0]);
}

void check_tree(const char* op, const std::vector<TensorDesc>& in) {
  const int64_t N = 2 * in[1].shape[0] - 1;
  TESSERA_CHECK(in[2].dtype == DType::f32 && in[2].shape == Shape({N, 6}), "op '{}': boxes must be f32 [{}, 6], got {} {}",
                op, N, dtype_name(in[2].dtype), shape_str(in[2].shape));
  TESSERA_CHECK(in[3].dtype == DType::i32 && in[3].shape == Shape({N, 4}), "op '{}': nodes must be i32 [{}, 4], got {} {}",
                op, N, dtype_name(in[3].dtype), shape_str(in[3].shape));
  TESSERA_CHECK(in[4].dtype == DType::i32 && in[4].shape == Shape({1}), "op '{}': depth must be i32 [1], got {} {}", op,
                dtype_name(in[4].dtype), shape_str(in[4].shape));
}

void check_points(const char* op, const char* what, const TensorDesc& p) {
  TESSERA_CHECK(p.dtype == DType::f32 && p.shape.size() == 2 && p.shape[1] == 3, "op '{}': {} must be f32 [n, 3], got {} {}",
                op, what, dtype_name(p.dtype), shape_str(p.shape));
}

// Query points around a mesh: exact vertices, points on faces, near the
// surface (offsets up to half the face's size), inside the expanded bounding
// box, and far away.
void gen_points(std::mt19937_64& rng, const Mesh& m, HostTensor& out, int64_t P) {
  std::uniform_real_distribution<double> u(0, 1), s(-1, 1);
  const int64_t V = int64_t(m.v.size() / 3), F = int64_t(m.f.size() / 3);
  double lo[3], hi[3];
  for (int d = 0; d < 3; ++d) lo[d] = hi[d] = m.v[size_t(d)];
  for (int64_t i = 0; i < V; ++i)
    for (int d = 0; d < 3; ++d) lo[d] = std::min(lo[d], double(m.v[size_t(3 * i + d)])), hi[d] = std::max(hi[d], double(m.v[size_t(3 * i + d)]));
  out.shape = {P, 3};
  out.data.resize(size_t(3 * P));
  for (int64_t i = 0; i < P; ++i) {
    double* p = &out.data[size_t(3 * i)];
    const int64_t f = std::uniform_int_distribution<int64_t>(0, F - 1)(rng);
    const float* a = &m.v[size_t(3 * m.f[size_t(3 * f)])];
    const float* b = &m.v[size_t(3 * m.f[size_t(3 * f + 1)])];
    const float* c = &m.v[size_t(3 * m.f[size_t(3 * f + 2)])];
    double w1 = u(rng), w2 = u(rng);
    if (w1 + w2 > 1) w1 = 1 - w1, w2 = 1 - w2;
    double size = 0;
    for (int d = 0; d < 3; ++d) size = std::max({size, std::abs(double(b[d]) - a[d]), std::abs(double(c[d]) - a[d])});
    switch (i % 5) {
      case 0: for (int d = 0; d < 3; ++d) p[d] = a[d]; break;
      case 1: for (int d = 0; d < 3; ++d) p[d] = a[d] + w1 * (b[d] - a[d]) + w2 * (c[d] - a[d]); break;
      case 2: for (int d = 0; d < 3; ++d) p[d] = a[d] + w1 * (b[d] - a[d]) + w2 * (c[d] - a[d]) + 0.5 * size * s(rng); break;
      case 3:  // in the box; on large meshes near the surface instead (deep interior points visit most of a sphere's tree)
        for (int d = 0; d < 3; ++d)
          p[d] = F <= 100000 ? lo[d] + (hi[d] - lo[d]) * (1.2 * u(rng) - 0.1) : a[d] + 4 * size * s(rng);
        break;
      default: for (int d = 0; d < 3; ++d) p[d] = 0.5 * (lo[d] + hi[d]) + 1.5 * (hi[d] - lo[d] + 1e-3) * s(rng); break;
    }
  }
}

// Rays: towards a point on a random face, towards a vertex exactly (edge and
// vertex hits), and in random directions; origins in the expanded box.
void gen_rays(std::mt19937_64& rng, const Mesh& m, HostTensor& o, HostTensor& dir, int64_t R) {
  std::uniform_real_distribution<double> u(0, 1), s(-1, 1);
  const int64_t V = int64_t(m.v.size() / 3), F = int64_t(m.f.size() / 3);
  double lo[3], hi[3];
  for (int d = 0; d < 3; ++d) lo[d] = hi[d] = m.v[size_t(d)];
  for (int64_t i = 0; i < V; ++i)
    for (int d = 0; d < 3; ++d) lo[d] = std::min(lo[d], double(m.v[size_t(3 * i + d)])), hi[d] = std::max(hi[d], double(m.v[size_t(3 * i + d)]));
  double ext = 0;
  for (int d = 0; d < 3; ++d) ext = std::max(ext, hi[d] - lo[d]);
  for (int d = 0; d < 3; ++d) {  // origins off flat meshes' planes: no rays in the plane of a strip
    const double pad = std::max(0.0, 0.1 * ext - (hi[d] - lo[d])) / 2;
    lo[d] -= pad, hi[d] += pad;
  }
  o.shape = dir.shape = {R, 3};
  o.data.resize(size_t(3 * R));
  dir.data.resize(size_t(3 * R));
  for (int64_t i = 0; i < R; ++i) {
    const int64_t f = std::uniform_int_distribution<int64_t>(0, F - 1)(rng);
    const float* a = &m.v[size_t(3 * m.f[size_t(3 * f)])];
    const float* b = &m.v[size_t(3 * m.f[size_t(3 * f + 1)])];
    const float* c = &m.v[size_t(3 * m.f[size_t(3 * f + 2)])];
    double w1 = u(rng), w2 = u(rng);
    if (w1 + w2 > 1) w1 = 1 - w1, w2 = 1 - w2;
    const double len = 0.5 + 1.5 * u(rng);
    double tgt[3];
    for (int d = 0; d < 3; ++d) {
      o.data[size_t(3 * i + d)] = float(lo[d] + (hi[d] - lo[d]) * (1.5 * u(rng) - 0.25));
      tgt[d] = i % 3 == 1 ? a[d] : a[d] + w1 * (b[d] - a[d]) + w2 * (c[d] - a[d]);
    }
    double n2 = 0, dd[3];
    for (int d = 0; d < 3; ++d) {
      dd[d] = i % 3 == 2 ? s(rng) : tgt[d] - double(float(o.data[size_t(3 * i + d)]));
      n2 += dd[d] * dd[d];
    }
    const double nn = n2 > 0 ? std::sqrt(n2) : 1.0;
    for (int d = 0; d < 3; ++d) dir.data[size_t(3 * i + d)] = n2 > 0 ? dd[d] / nn * len : (d == 0 ? 1.0 : 0.0);
  }
}

using MeshGen = std::function<Mesh(std::mt19937_64&)>;

std::vector<std::pair<std::string, MeshGen>> meshes(bool scale) {
  if (scale)
    return {{"soup_1M", [](auto& r) { return ref::mesh_soup(r, 1000003, 0.01); }},
            {"sphere_1M", [](auto& r) { return ref::mesh_sphere(r, 1000, 501); }}};
  return {{"cube_12", [](auto&) { return ref::mesh_cube(); }},
          {"single_1", [](auto& r) { return ref::mesh_soup(r, 1); }},
          {"sphere_3968", [](auto& r) { return ref::mesh_sphere(r, 64, 32); }},
          {"soup_20011", [](auto& r) { return ref::mesh_soup(r, 20011); }},
          {"strip_5001", [](auto& r) { return ref::mesh_strip(r, 5001); }},
          {"coincident_1500", [](auto& r) { return ref::mesh_coincident(r, 1500); }},
          {"exponential_200", [](auto& r) { return ref::mesh_exponential(r, 200); }}};
}

void set_mesh_inputs(std::vector<HostTensor>& in, const Mesh& m) {
  in[0].shape = {int64_t(m.v.size() / 3), 3};
  in[0].data.assign(m.v.begin(), m.v.end());
  in[1].shape = {int64_t(m.f.size() / 3), 3};
  in[1].data.assign(m.f.begin(), m.f.end());
}

std::vector<TestCase> build_cases() {
  std::vector<TestCase> cs;
  for (bool scale : {false, true})
    for (auto& [name, gen] : meshes(scale)) {
      TestCase c{name, {{{1, 3}, DType::f32}, {{1, 3}, DType::i32}}};
      c.scale = scale;
      c.generate = [gen = gen](std::mt19937_64& rng, std::vector<HostTensor>& in) { set_mesh_inputs(in, gen(rng)); };
      cs.push_back(c);
    }
  TestCase big{"soup_65537", {{{1, 3}, DType::f32}, {{1, 3}, DType::i32}}};
  big.generate = [](std::mt19937_64& rng, std::vector<HostTensor>& in) { set_mesh_inputs(in, ref::mesh_soup(rng, 65537)); };
  cs.push_back(big);
  return cs;
}

std::vector<TensorDesc> tree_inputs() {
  return {{{1, 3}, DType::f32}, {{1, 3}, DType::i32}, {{1, 6}, DType::f32}, {{1, 4}, DType::i32}, {{1}, DType::i32}};
}

// Query / raycast cases: every mesh (LBVH from the reference builder), a
// caterpillar tree of depth 99 (the stack must hold depth entries), radius /
// tmin-tmax limits, and 1M-face meshes under scale (sampled rows).
template <typename Fill>
std::vector<TestCase> query_cases(int n_extra, Fill fill, const std::string& limit_attr, double limit) {
  std::vector<TestCase> cs;
  auto add = [&](const std::string& label, MeshGen gen, int64_t P, bool cat, Attrs at, bool scale, int64_t sample) {
    TestCase c{label, tree_inputs(), at};
    for (int i = 0; i < n_extra; ++i) c.inputs.push_back({{1, 3}, DType::f32});
    c.scale = scale;
    c.sample_rows = sample;
    c.generate = [gen, P, cat, fill](std::mt19937_64& rng, std::vector<HostTensor>& in) {
      Mesh m = gen(rng);
      ref::set_bvh_inputs(in, m, cat);
      fill(rng, m, in, P);
    };
    cs.push_back(c);
  };
  for (auto& [name, gen] : meshes(false)) {
    const bool big = name.rfind("soup", 0) == 0 || name.rfind("strip", 0) == 0;
    add(name, gen, big ? 4001 : 1000, false, {}, false, big ? 300 : 0);
  }
  add("caterpillar_100", [](auto& r) { return ref::mesh_soup(r, 100); }, 700, true, {}, false, 0);
  add("sphere_3968/" + limit_attr, [](auto& r) { return ref::mesh_sphere(r, 64, 32); }, 2000, false,
      Attrs().set(limit_attr, limit), false, 0);
  for (auto& [name, gen] : meshes(true)) add(name, gen, 20000, false, {}, true, 48);
  return cs;
}

double no_tol(DType, const std::vector<TensorDesc>&, const Attrs&) { return 0.0; }

OpRegistrar reg_build({"bvh_build", "linear BVH (Morton codes, radix sort, Karras hierarchy, refit) over a triangle mesh",
                       [](const std::vector<TensorDesc>& in, const Attrs&) -> std::vector<TensorDesc> {
                         TESSERA_CHECK(in.size() == 2, "op 'bvh_build' takes vertices, faces; got {} inputs", in.size());
                         check_mesh("bvh_build", in);
                         const int64_t F = in[1].shape[0], N = 2 * F - 1;
                         return {{{N, 6}, DType::f32}, {{N, 4}, DType::i32}, {{F}, DType::i32}, {{1}, DType::i32}};
                       },
                       ref::bvh_build, build_cases, no_tol, ref::bvh_build_check});

OpRegistrar reg_query(
    {"bvh_query", "closest point on a triangle mesh through its BVH",
     [](const std::vector<TensorDesc>& in, const Attrs& a) -> std::vector<TensorDesc> {
       TESSERA_CHECK(in.size() == 6, "op 'bvh_query' takes vertices, faces, boxes, nodes, depth, points; got {} inputs",
                     in.size());
       check_mesh("bvh_query", in);
       check_tree("bvh_query", in);
       check_points("bvh_query", "points", in[5]);
       const double r = a.get_float("max_radius", INFINITY);
       TESSERA_CHECK(r >= 0, "op 'bvh_query': max_radius {} must be >= 0", r);
       const int64_t P = in[5].shape[0];
       return {{{P}, DType::i32}, {{P, 3}, DType::f32}, {{P, 3}, DType::f32}, {{P}, DType::f32}};
     },
     ref::bvh_query,
     [] {
       return query_cases(
           1, [](std::mt19937_64& rng, const Mesh& m, std::vector<HostTensor>& in, int64_t P) { gen_points(rng, m, in[5], P); },
           "max_radius", 0.05);
     },
     no_tol, ref::bvh_query_check});

OpRegistrar reg_ray(
    {"bvh_raycast", "closest ray hit on a triangle mesh through its BVH",
     [](const std::vector<TensorDesc>& in, const Attrs& a) -> std::vector<TensorDesc> {
       TESSERA_CHECK(in.size() == 7,
                     "op 'bvh_raycast' takes vertices, faces, boxes, nodes, depth, origins, directions; got {} inputs",
                     in.size());
       check_mesh("bvh_raycast", in);
       check_tree("bvh_raycast", in);
       check_points("bvh_raycast", "origins", in[5]);
       check_points("bvh_raycast", "directions", in[6]);
       TESSERA_CHECK(in[5].shape == in[6].shape, "op 'bvh_raycast': origins {} and directions {} differ",
                     shape_str(in[5].shape), shape_str(in[6].shape));
       const double t0 = a.get_float("tmin", 0.0), t1 = a.get_float("tmax", INFINITY);
       TESSERA_CHECK(t0 <= t1 && std::isfinite(t0), "op 'bvh_raycast': need finite tmin <= tmax, got [{}, {}]", t0, t1);
       const int64_t R = in[5].shape[0];
       return {{{R}, DType::f32}, {{R}, DType::i32}, {{R, 3}, DType::f32}};
     },
     ref::bvh_raycast,
     [] {
       auto cs = query_cases(
           2,
           [](std::mt19937_64& rng, const Mesh& m, std::vector<HostTensor>& in, int64_t R) {
             gen_rays(rng, m, in[5], in[6], R);
           },
           "tmax", 0.7);
       cs[cs.size() - 3].attrs.set("tmin", 0.2);  // the tmax case also clips tmin
       return cs;
     },
     no_tol, ref::bvh_raycast_check});

}  // namespace
}  // namespace tessera::ops
