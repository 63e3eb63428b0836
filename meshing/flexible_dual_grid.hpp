// Flexible dual grid -> triangle mesh: the step that turns the TRELLIS.2
// shape decoder's O-Voxel output into a mesh. Same result as the official
// o_voxel.convert.flexible_dual_grid_to_mesh(coords, dual_vertices,
// intersected_flag, split_weight, aabb, grid_size=..., train=False)
// (o-voxel/o_voxel/convert/flexible_dual_grid.py), as called by
// FlexiDualGridVaeDecoder (trellis2/models/sc_vaes/fdg_vae.py). Host code
// (oneTBB); device tensors are read back first. docs/meshing.md.
//
// Conventions
//   Grid. Voxel (x, y, z) covers [x, x+1] x [y, y+1] x [z, z+1] in grid units;
//   coordinates lie in [0, grid_size) per axis. Each voxel carries one dual
//   vertex v in voxel-local units (0..1 spans the voxel; the decoder's
//   vertices are (1 + 2 margin) sigmoid(h) - margin, so they may leave it by
//   `margin` = 0.5 voxels).
//
//   World mapping. voxel_size = (aabb.max - aabb.min) / grid_size (float, per
//   axis); position = (float(coord) + v) * voxel_size + aabb.min, in float in
//   exactly that order (no fused multiply-add), like the official torch code.
//
//   Edges. intersected[i][a] flags one primal edge of voxel i: the edge along
//   axis a at the voxel's far (+1) corner in the two other axes, e.g. for
//   a = x the segment (x, y+1, z+1) -> (x+1, y+1, z+1). The four voxels
//   around that edge, in quad order q0..q3 (offsets from voxel i = q0):
//     a = x:  (0,0,0) (0,0,1) (0,1,1) (0,1,0)
//     a = y:  (0,0,0) (1,0,0) (1,0,1) (0,0,1)
//     a = z:  (0,0,0) (0,1,0) (1,1,0) (1,0,0)
//   A flagged edge becomes a quad iff all four voxels are present; others
//   are skipped (neighbours outside the grid are never present).
//
//   Orientation. The quad winds q0 -> q1 -> q2 -> q3; with voxel-centred
//   vertices its normal is -axis, whichever side of the surface is inside:
//   the flexible dual grid stores no inside/outside, so the official output
//   is not consistently oriented. TRELLIS.2 unifies the orientation later
//   (cumesh unify_face_orientations in o_voxel.postprocess.to_glb); here
//   that is meshing::unify_orientation (mesh.hpp).
//
//   Split. With split weights w: if w[q0] * w[q2] > w[q1] * w[q3] (float,
//   strict) the quad becomes (q0, q1, q2), (q0, q2, q3) (diagonal q0-q2),
//   else (q0, q1, q3), (q3, q1, q2) (diagonal q1-q3). Both keep the quad's
//   winding. Without weights the official geometric branch runs as written:
//   its two "normals" for the q1-q3 split are taken from the first triangle
//   and a degenerate one, so it picks diagonal q0-q2 unless triangle
//   (q0, q1, q2) has zero area or non-finite positions.
//
//   Output. positions: one vertex per input voxel, in input order (V = N,
//   including voxels no quad uses, as the official code returns them; see
//   remove_unreferenced_vertices). faces: voxel by voxel in input order, axes
//   x, y, z within a voxel, two triangles per quad. Permuting the input voxels
//   permutes the vertices and the face order, not the set of triangles.
//
// Errors (tessera::Error): array lengths that disagree, coordinates outside
// the grid, duplicate coordinates, grid sizes outside [1, 2^20], an aabb with
// max <= min or non-finite bounds. train=True (the differentiable 4-triangle
// split with a midpoint vertex) and the voxel_size form are not provided.
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/tensor.hpp"
#include "meshing/mesh.hpp"

namespace tessera::meshing {

// A read-only host array (pointer + element count), from a pointer or a vector.
template <typename T>
struct HostSpan {
  const T* data = nullptr;
  size_t size = 0;
  HostSpan() = default;
  HostSpan(const T* d, size_t n) : data(d), size(n) {}
  HostSpan(const std::vector<T>& v) : data(v.data()), size(v.size()) {}  // NOLINT: implicit on purpose
  bool empty() const { return size == 0; }
};

// The flexible dual grid of one shape, as host arrays (row-major).
struct FdgInput {
  HostSpan<int32_t> coords;    // [N, 3] voxel x, y, z in [0, grid_size)
  HostSpan<float> vertices;    // [N, 3] dual vertices, voxel-local units
  // Exactly one of these two: [N, 3] flags (nonzero = edge crossed) or the
  // decoder's raw intersection logits (crossed when > 0, as fdg_vae.py).
  HostSpan<uint8_t> intersected;
  HostSpan<float> intersected_logits;
  HostSpan<float> split_weight;  // [N] (the decoder's softplus quad_lerp), or empty
};

using GridSize = std::array<int32_t, 3>;

Mesh flexible_dual_grid_to_mesh(const FdgInput& in, const Aabb& aabb, const GridSize& grid_size);
inline Mesh flexible_dual_grid_to_mesh(const FdgInput& in, const Aabb& aabb, int32_t grid_size) {
  return flexible_dual_grid_to_mesh(in, aabb, GridSize{grid_size, grid_size, grid_size});
}

// Tensors on any device (read back to the host). coords: i32 or i64 [N, 3]
// (drop the batch column of a SparseTensor's [N, 4] coords first); vertices:
// f32/f16/bf16 [N, 3]; intersected: u8 [N, 3] flags, or f32/f16/bf16 [N, 3]
// logits (> 0 = crossed); split_weight: f32/f16/bf16 [N] or [N, 1], or an
// undefined Tensor for none.
Mesh flexible_dual_grid_to_mesh(const Tensor& coords, const Tensor& vertices, const Tensor& intersected,
                                const Tensor& split_weight, const Aabb& aabb, const GridSize& grid_size);

}  // namespace tessera::meshing
