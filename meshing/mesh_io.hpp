// Writing meshes (binary PLY, OBJ) and O-Voxels (binary PLY point clouds),
// and reading both PLY kinds back. docs/meshing.md.
//
// Files are written to "<path>.tmp" and renamed into place, so a failed write
// never leaves a truncated file under the final name. Every error is a
// tessera::Error that names the function and the path.
#pragma once
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "meshing/mesh.hpp"

namespace tessera::meshing {

// Binary little-endian PLY:
//   element vertex V: property float x, y, z
//   element face F:   property list uchar int vertex_indices
void write_mesh_ply(const std::string& path, const Mesh& m);
// Binary PLY (little or big endian; ascii is refused): the vertex element's
// x, y, z (any scalar type) and the face element's vertex_indices (or
// vertex_index) lists; polygons with more than three vertices are fanned into
// triangles. Other elements and properties are skipped.
Mesh read_mesh_ply(const std::string& path);

// Wavefront OBJ: "v x y z" lines (shortest text that reads back to the same
// float) then "f a b c" lines (1-based indices). Positions only.
void write_mesh_obj(const std::string& path, const Mesh& m);

// An O-Voxel: sparse voxels with named per-voxel float attributes, e.g. the
// shape decoder's vertices (3) / intersected (3) / quad_lerp (1), or the
// texture decoder's base_color (3) / metallic (1) / roughness (1) / alpha (1).
struct VoxelAttribute {
  std::string name;        // [A-Za-z0-9_]+, not x, y or z
  int channels = 1;        // >= 1
  std::vector<float> data;  // [N, channels] row-major
};

struct OVoxel {
  std::array<int32_t, 3> resolution{0, 0, 0};  // grid size per axis; all 0 = unknown
  std::optional<Aabb> aabb;                    // world box of the grid, if known
  std::vector<int32_t> coords;                 // [N, 3] x, y, z
  std::vector<VoxelAttribute> attributes;

  int64_t num_voxels() const { return int64_t(coords.size() / 3); }
  const VoxelAttribute* find(const std::string& name) const;  // nullptr when absent
  // Error on rows that do not add up, bad or repeated names, a resolution
  // that is neither all 0 nor all >= 1, coordinates outside the resolution.
  void validate() const;
};

// Binary little-endian PLY point cloud in the official o_voxel.io.ply layout
// (one "vertex" element; x, y, z as float voxel coordinates; channel j of
// attribute NAME as "property float NAME_j"), so o_voxel.io.read_ply reads
// it. The grid goes into header comments, which the official reader ignores:
//   comment resolution RX RY RZ
//   comment aabb MINX MINY MINZ MAXX MAXY MAXZ      (only when aabb is set)
void write_ovoxel_ply(const std::string& path, const OVoxel& v);
// Reads what write_ovoxel_ply writes and the official files (binary, little
// or big endian; properties of any scalar type, converted to float).
// Coordinates are rounded to integers like the official reader; properties
// named NAME_j (j = 0, 1, ...) become attribute NAME with one channel each, in
// file order; a property without a numeric suffix becomes a 1-channel
// attribute of its own name.
OVoxel read_ovoxel_ply(const std::string& path);

}  // namespace tessera::meshing
