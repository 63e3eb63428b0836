// float64 references of the rasterization / texture ops (ops/raster.hpp,
// ops/texture.hpp), and the float64 triangle evaluation the rasterize checks
// use to judge ties and pixels on edges.
#pragma once
#include <vector>

#include "core/op_registry.hpp"

namespace tessera::ref {

void rasterize(const std::vector<HostTensor>& in, std::vector<HostTensor>& out, const Attrs& a);
void rasterize_uv(const std::vector<HostTensor>& in, std::vector<HostTensor>& out, const Attrs& a);
void interpolate(const std::vector<HostTensor>& in, std::vector<HostTensor>& out, const Attrs& a);
void texture_sample_2d(const std::vector<HostTensor>& in, std::vector<HostTensor>& out, const Attrs& a);
void texture_sample_3d(const std::vector<HostTensor>& in, std::vector<HostTensor>& out, const Attrs& a);

// One triangle in 2-D homogeneous form: P[k] = (x, y, w) of vertex k,
// E[k] = P[k+1] x P[k+2] (edge function of the edge opposite vertex k),
// det = P[0] . E[0]. For a pixel ray p = (px, py, 1), e_k = E[k].p / det are
// proportional to the perspective-correct barycentrics; the ray meets the
// triangle at w > 0 iff every e_k >= 0 and sum e_k > 0; z/w = sum e_k z_k.
struct RasterTri {
  bool valid = false;  // finite vertices and det != 0
  double P[3][3], E[3][3], z[3], det = 0;
};
RasterTri raster_tri(const double* v0, const double* v1, const double* v2);  // clip (x, y, z, w) each

struct RasterHit {
  bool covered = false;  // exact float64 coverage (edges inclusive, depth in [-1, 1])
  double u = 0, v = 0, depth = 0;
  // Robustness data for checks: min over edges of (E[k].p / det) scaled by
  // |det| / (|P[k+1]| |P[k+2]| |p|) (the angle of the pixel ray to the edge
  // plane, in radians, signed: < 0 outside), and an error bound of depth
  // computed in f32 from the same formulas.
  double edge_margin = 0, depth_err = 0;
};
RasterHit raster_eval(const RasterTri& t, double px, double py);

}  // namespace tessera::ref
