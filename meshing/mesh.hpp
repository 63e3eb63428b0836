// Host triangle meshes: the output of the O-Voxel -> mesh step
// (meshing/flexible_dual_grid.hpp) and the input of the writers
// (meshing/mesh_io.hpp). docs/meshing.md.
#pragma once
#include <array>
#include <cstdint>
#include <vector>

namespace tessera::meshing {

// An axis-aligned box in world space. The default is TRELLIS.2's decoder box
// [-0.5, 0.5]^3 (fdg_vae.py passes aabb=[[-0.5]*3, [0.5]*3]).
struct Aabb {
  std::array<float, 3> min{-0.5f, -0.5f, -0.5f};
  std::array<float, 3> max{0.5f, 0.5f, 0.5f};
};

// Triangles over a shared vertex array. Counter-clockwise triangles (seen from
// outside) have outward normals: n = (p1 - p0) x (p2 - p0).
struct Mesh {
  std::vector<float> positions;  // [V, 3] x, y, z
  std::vector<int32_t> faces;    // [F, 3] vertex indices

  int64_t num_vertices() const { return int64_t(positions.size() / 3); }
  int64_t num_faces() const { return int64_t(faces.size() / 3); }
  // Error unless both arrays hold whole rows and every index is in [0, V).
  void validate() const;
};

// Sum over faces of det(p0, p1, p2) / 6: the enclosed volume of a closed,
// outward-oriented mesh (negative when it is oriented inward). Accumulated in
// double.
double signed_volume(const Mesh& m);

// Drop the vertices no face uses and renumber the faces (relative order of the
// kept vertices and of the faces unchanged). Returns the number removed.
int64_t remove_unreferenced_vertices(Mesh& m);

// Edge statistics over undirected edges (vertex index pairs).
struct EdgeStats {
  int64_t edges = 0;         // distinct undirected edges
  int64_t boundary = 0;      // used by exactly one face
  int64_t non_manifold = 0;  // used by three or more faces
  int64_t misoriented = 0;   // used by exactly two faces that traverse it in the same direction
  bool watertight() const { return edges > 0 && boundary == 0 && non_manifold == 0; }
  bool consistently_oriented() const { return misoriented == 0; }
};
EdgeStats edge_stats(const Mesh& m);

// Make the winding consistent: faces connected through manifold edges (used
// by exactly two faces) get the same orientation (breadth first from the
// lowest face index of each component), then every such component whose
// signed volume is negative is flipped, so closed surfaces end up with outward
// normals. Vertices are untouched. Returns the number of faces flipped.
// The official pipeline does the same after extraction (cumesh
// unify_face_orientations in o_voxel.postprocess.to_glb); the extraction itself
// orients every quad by its axis only (flexible_dual_grid.hpp).
int64_t unify_orientation(Mesh& m);

}  // namespace tessera::meshing
