// float64 references, structure checks and test-mesh generators of the BVH
// ops (docs/geometry-bvh.md).
#pragma once
#include <random>

#include "ops/reference/reference.hpp"

namespace tessera::ref {

// A BVH in the flat layout of bvh_build (see ops/geometry_bvh.hpp).
struct HostBvh {
  std::vector<float> boxes;      // [2F-1, 6]
  std::vector<int32_t> nodes;    // [2F-1, 4] left, right, parent, face
  std::vector<int32_t> leaf_face;  // [F]
  int32_t depth = 0;
};
// Sequential LBVH (30-bit Morton codes of the centroids, sort by (code,
// index), Karras hierarchy, exact refit). Faces must be valid.
HostBvh build_lbvh(const std::vector<float>& verts, const std::vector<int32_t>& faces);
// A valid but maximally unbalanced tree over the same faces (a caterpillar:
// depth F - 1), to exercise deep traversal stacks.
HostBvh build_caterpillar(const std::vector<float>& verts, const std::vector<int32_t>& faces);

void bvh_build(const Ins& in, Outs& out, const Attrs& a);
void bvh_query(const Ins& in, Outs& out, const Attrs& a);
void bvh_raycast(const Ins& in, Outs& out, const Attrs& a);

// OpDef::check of each op: "" when `got` is a valid result.
std::string bvh_build_check(const Ins& in, const Outs& got, const Outs& ref, const Attrs& a);
std::string bvh_query_check(const Ins& in, const Outs& got, const Outs& ref, const Attrs& a);
std::string bvh_raycast_check(const Ins& in, const Outs& got, const Outs& ref, const Attrs& a);

// Test meshes (vertices [V,3] flat, faces [F,3] flat).
struct Mesh {
  std::vector<float> v;
  std::vector<int32_t> f;
};
Mesh mesh_cube();                                       // 12 triangles
Mesh mesh_sphere(std::mt19937_64& rng, int nu, int nv);  // jittered UV sphere, 2 nu (nv - 1) triangles
// random triangles of size ~`size` in [-1, 1]^3 (a few degenerate)
Mesh mesh_soup(std::mt19937_64& rng, int64_t n, double size = 0.1);
Mesh mesh_strip(std::mt19937_64& rng, int64_t n);       // a long thin strip (length 1000, width 1e-3)
Mesh mesh_coincident(std::mt19937_64& rng, int64_t n);  // n copies of a few triangles
Mesh mesh_exponential(std::mt19937_64& rng, int64_t n); // triangles at distances 1.1^k

// Fills the BVH-op inputs: vertices, faces, boxes, nodes, depth (the first
// five inputs of bvh_query / bvh_raycast) from a mesh.
void set_bvh_inputs(std::vector<HostTensor>& in, const Mesh& m, bool caterpillar);

}  // namespace tessera::ref
