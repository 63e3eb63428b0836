// BVH ops beyond the parity cases: a device build chained into device
// queries (checked against brute force), and the error paths (invalid face
// indices, a tree deeper than the kernels' stack, a depth input smaller than
// the tree's real depth, a malformed tree), on every requested backend.
#include <gtest/gtest.h>

#include <random>

#include "core/error.hpp"
#include "core/tensor.hpp"
#include "ops/geometry_bvh.hpp"
#include "ops/reference/geometry_bvh.hpp"
#include "tests/expect_error.hpp"
#include "tests/test_env.hpp"

using namespace tessera;
using test::expect_error;

namespace {

HostTensor host(const Tensor& t) { return {t.shape(), t.dtype(), t.to_double()}; }

struct DevMesh {
  Tensor v, f;
};
DevMesh upload(const ref::Mesh& m, Device& d) {
  const int64_t V = int64_t(m.v.size() / 3), F = int64_t(m.f.size() / 3);
  return {Tensor::from_vector(m.v, {V, 3}, DType::f32, d), Tensor::from_vector(m.f, {F, 3}, DType::i32, d)};
}

ops::Bvh upload_tree(const ref::HostBvh& b, int32_t depth, Device& d) {
  const int64_t N = int64_t(b.boxes.size() / 6), F = int64_t(b.leaf_face.size());
  return {Tensor::from_vector(b.boxes, {N, 6}, DType::f32, d), Tensor::from_vector(b.nodes, {N, 4}, DType::i32, d),
          Tensor::from_vector(b.leaf_face, {F}, DType::i32, d),
          Tensor::from_vector(std::vector<int32_t>{depth}, {1}, DType::i32, d)};
}

}  // namespace

TEST(RuntimeBvh, DeviceBuildThenQueries) {
  for (Device* dev : test::test_devices()) {
    SCOPED_TRACE(dev->id());
    std::mt19937_64 rng(test::base_seed() ^ 0xb4b4);
    for (const ref::Mesh& m : {ref::mesh_sphere(rng, 48, 24), ref::mesh_coincident(rng, 700), ref::mesh_exponential(rng, 150)}) {
      DevMesh dm = upload(m, *dev);
      ops::Bvh b = ops::bvh_build(dm.v, dm.f);
      std::vector<HostTensor> in{host(dm.v), host(dm.f)};
      const std::vector<HostTensor> got{host(b.boxes), host(b.nodes), host(b.leaf_face), host(b.depth)};
      ASSERT_EQ(ref::bvh_build_check(in, got, got, {}), "");
      // Queries through the device-built tree vs brute force.
      std::uniform_real_distribution<double> u(-1.5, 1.5);
      const int64_t P = 999;
      std::vector<float> pts(size_t(3 * P)), dirs(size_t(3 * P));
      for (int64_t i = 0; i < 3 * P; ++i) pts[size_t(i)] = float(u(rng)), dirs[size_t(i)] = float(u(rng));
      Tensor tp = Tensor::from_vector(pts, {P, 3}, DType::f32, *dev), td = Tensor::from_vector(dirs, {P, 3}, DType::f32, *dev);
      auto q = ops::bvh_query(dm.v, dm.f, b, tp);
      std::vector<HostTensor> qin{host(dm.v), host(dm.f), host(b.boxes), host(b.nodes), host(b.depth), host(tp)};
      std::vector<HostTensor> qref{{{P}, DType::i32, std::vector<double>(P)}, {{P, 3}, DType::f32, std::vector<double>(3 * P)},
                                   {{P, 3}, DType::f32, std::vector<double>(3 * P)}, {{P}, DType::f32, std::vector<double>(P)}};
      ref::bvh_query(qin, qref, {});
      EXPECT_EQ(ref::bvh_query_check(qin, {host(q.face), host(q.point), host(q.bary), host(q.distance)}, qref, {}), "");
      auto r = ops::bvh_raycast(dm.v, dm.f, b, tp, td);
      qin.push_back(host(td));
      std::vector<HostTensor> rref{{{P}, DType::f32, std::vector<double>(P)}, {{P}, DType::i32, std::vector<double>(P)},
                                   {{P, 3}, DType::f32, std::vector<double>(3 * P)}};
      ref::bvh_raycast(qin, rref, Attrs().set("tmin", 0.0).set("tmax", double(INFINITY)));
      EXPECT_EQ(ref::bvh_raycast_check(qin, {host(r.t), host(r.face), host(r.bary)}, rref,
                                       Attrs().set("tmin", 0.0).set("tmax", double(INFINITY))),
                "");
    }
  }
}

TEST(RuntimeBvh, InvalidFaceIndexIsAnError) {
  for (Device* dev : test::test_devices()) {
    SCOPED_TRACE(dev->id());
    ref::Mesh m = ref::mesh_cube();
    m.f[3 * 7 + 1] = 8;  // one past the last vertex
    DevMesh dm = upload(m, *dev);
    expect_error([&] { ops::bvh_build(dm.v, dm.f); }, "face 7 = (");
    m.f[3 * 7 + 1] = -1;
    dm = upload(m, *dev);
    expect_error([&] { ops::bvh_build(dm.v, dm.f); }, "indexes outside the 8 vertices");
  }
}

TEST(RuntimeBvh, DeepTreesAndBadDepthsAreErrors) {
  for (Device* dev : test::test_devices()) {
    SCOPED_TRACE(dev->id());
    std::mt19937_64 rng(7);
    Tensor pts = Tensor::from_vector(std::vector<float>{0.1f, 0.2f, 0.3f, 5.f, 5.f, 5.f}, {2, 3}, DType::f32, *dev);
    // A caterpillar of depth 199 exceeds the 128-entry stack: a clear Error.
    ref::Mesh deep = ref::mesh_soup(rng, 200);
    ref::HostBvh cat = ref::build_caterpillar(deep.v, deep.f);
    ASSERT_EQ(cat.depth, 199);
    DevMesh dm = upload(deep, *dev);
    expect_error([&] { ops::bvh_query(dm.v, dm.f, upload_tree(cat, cat.depth, *dev), pts); }, "exceeds the supported 128");
    // A depth input below the tree's real depth: the traversal stack would
    // overflow; reported, never a dropped subtree. Triangles in the planes
    // x = 1 - k/100 in a caterpillar (leaf k at depth k): from x = -10 every
    // level's inner subtree is nearer than its leaf, so every level pushes.
    ref::Mesh mid;
    for (int k = 0; k < 100; ++k) {
      const float x = 1.0f - float(k) / 100;
      mid.v.insert(mid.v.end(), {x, -1.f, -1.f, x, 1.f, -1.f, x, 0.f, 1.f});
      mid.f.insert(mid.f.end(), {3 * k, 3 * k + 1, 3 * k + 2});
    }
    ref::HostBvh cat2 = ref::build_caterpillar(mid.v, mid.f);
    DevMesh dm2 = upload(mid, *dev);
    Tensor far = Tensor::from_vector(std::vector<float>{-10.f, 0.1f, 0.2f}, {1, 3}, DType::f32, *dev);
    expect_error([&] { ops::bvh_query(dm2.v, dm2.f, upload_tree(cat2, 3, *dev), far); }, "stack entries");
    Tensor dir = Tensor::from_vector(std::vector<float>{1.f, 0.f, 0.f}, {1, 3}, DType::f32, *dev);
    expect_error([&] { ops::bvh_raycast(dm2.v, dm2.f, upload_tree(cat2, 3, *dev), far, dir); }, "stack entries");
    // The real depth works (99 levels, 99 pending entries: deeper than the
    // 24-entry stacks that dropped work): nearest face 99 at x = 0.01, hit 99.
    auto q = ops::bvh_query(dm2.v, dm2.f, upload_tree(cat2, cat2.depth, *dev), far);
    EXPECT_EQ(q.face.to_vector<int32_t>()[0], 99);
    EXPECT_NEAR(q.distance.to_vector<float>()[0], 10.01f, 1e-4);
    auto r = ops::bvh_raycast(dm2.v, dm2.f, upload_tree(cat2, cat2.depth, *dev), far, dir);
    EXPECT_EQ(r.face.to_vector<int32_t>()[0], 99);
    EXPECT_NEAR(r.t.to_vector<float>()[0], 10.01f, 1e-4);
    // A child index out of range: malformed tree.
    ref::HostBvh bad = ref::build_lbvh(mid.v, mid.f);
    bad.nodes[1] = 100000;  // the root's right child
    expect_error([&] { ops::bvh_query(dm2.v, dm2.f, upload_tree(bad, bad.depth, *dev), far); }, "malformed BVH");
  }
}
