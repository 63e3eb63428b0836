// Bounding-volume hierarchy over a triangle mesh and its queries
// (docs/geometry-bvh.md has the full contract).
//
// bvh_build(vertices f32 [V,3], faces i32 [F,3]) -> a linear BVH (Karras
//   2012) of N = 2F - 1 nodes; node 0 is the root, nodes 0..F-2 are internal,
//   node F-1+k is leaf k (so for F = 1 the root is the only leaf):
//   boxes     f32 [N,6]  min xyz, max xyz; tight (exact f32 min/max of the
//                        leaf's triangle / of the two children's boxes)
//   nodes     i32 [N,4]  left, right, parent, face (internal: face = -1;
//                        leaf: left = right = -1; root: parent = -1)
//   leaf_face i32 [F]    face of leaf k (the Morton-sorted permutation)
//   depth     i32 [1]    edges on the longest root-to-leaf path
//   Leaves follow 30-bit Morton codes of the triangle centroids (10 bits per
//   axis over the centroids' bounding box), ties broken by face index; the
//   build is deterministic. A face index outside [0, V) is an Error.
// bvh_query(vertices, faces, boxes, nodes, depth, points f32 [P,3];
//   attr max_radius = inf) -> closest point on the mesh of every point:
//   face i32 [P] (-1 when no face is within max_radius, inclusive),
//   point f32 [P,3], bary f32 [P,3] (weights of faces[f][0], [1], [2]),
//   distance f32 [P] (unsigned; inf and zero point/bary for -1).
// bvh_raycast(vertices, faces, boxes, nodes, depth, origins f32 [R,3],
//   directions f32 [R,3]; attrs tmin = 0, tmax = inf) -> closest hit with
//   tmin <= t <= tmax: t f32 [R] (in units of |direction|, inf on a miss),
//   face i32 [R] (-1), bary f32 [R,3] (0 on a miss). Watertight triangle test
//   (Woop et al. 2013), edges inclusive, no back-face culling.
// The traversal stack holds depth entries; a depth above the kernels' limit
// (kBvhMaxDepth) or a malformed tree is an Error, never a dropped subtree.
#pragma once
#include <cmath>

#include "core/tensor.hpp"

namespace tessera::ops {

inline constexpr int kBvhMaxDepth = 128;

struct Bvh {
  Tensor boxes, nodes, leaf_face, depth;
};
Bvh bvh_build(const Tensor& vertices, const Tensor& faces);

struct BvhClosest {
  Tensor face, point, bary, distance;
};
BvhClosest bvh_query(const Tensor& vertices, const Tensor& faces, const Bvh& bvh, const Tensor& points,
                     double max_radius = INFINITY);

struct BvhHits {
  Tensor t, face, bary;
};
BvhHits bvh_raycast(const Tensor& vertices, const Tensor& faces, const Bvh& bvh, const Tensor& origins,
                    const Tensor& directions, double tmin = 0.0, double tmax = INFINITY);

}  // namespace tessera::ops
