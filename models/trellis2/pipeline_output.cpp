#include "models/trellis2/pipeline_output.hpp"

#include <cmath>
#include <filesystem>

#include "core/error.hpp"
#include "meshing/mesh.hpp"
#include "meshing/mesh_io.hpp"
#include "models/trellis2/pipeline_decode.hpp"

namespace fs = std::filesystem;

namespace tessera::models::trellis2 {

namespace {

std::vector<float> floats(const Tensor& t) {
  std::vector<double> d = t.to_double();
  return std::vector<float>(d.begin(), d.end());
}

}  // namespace

std::vector<std::string> write_pipeline_outputs(const Trellis2Output& out, const std::string& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  TESSERA_CHECK(fs::is_directory(dir, ec), "generate: cannot create output directory '{}': {}", dir, ec.message());
  std::vector<std::string> written;
  // The mesh as exported: unreferenced dual vertices dropped and face
  // orientation unified (the raw extraction winds each quad by its axis, as
  // o_voxel does; the official GLB export unifies it later).
  meshing::Mesh m;
  m.positions = out.mesh_positions;
  m.faces = out.mesh_faces;
  meshing::remove_unreferenced_vertices(m);
  meshing::unify_orientation(m);
  for (const char* ext : {"ply", "obj"}) {
    const std::string path = dir + "/mesh." + ext;
    if (std::string(ext) == "ply") meshing::write_mesh_ply(path, m);
    else meshing::write_mesh_obj(path, m);
    written.push_back(path);
  }
  // O-Voxels in the official o_voxel.io PLY layout.
  const std::vector<int32_t> xyz = coords_xyz(out.voxel_coords);
  const int32_t r = int32_t(out.resolution);
  auto base = [&] {
    meshing::OVoxel v;
    v.resolution = {r, r, r};
    v.aabb = meshing::Aabb{};
    v.coords = xyz;
    return v;
  };
  meshing::OVoxel shape = base();
  shape.attributes = {{"vertices", 3, floats(out.vertices)},
                      {"intersected", 3, floats(out.intersected_logits)},
                      {"quad_lerp", 1, floats(out.quad_lerp)}};
  written.push_back(dir + "/ovoxel_shape.ply");
  meshing::write_ovoxel_ply(written.back(), shape);
  meshing::OVoxel pbr = base();
  std::vector<float> p = floats(out.pbr);
  auto cols = [&](int first, int n) {
    std::vector<float> v(p.size() / 6 * size_t(n));
    for (size_t i = 0; i < p.size() / 6; ++i)
      for (int k = 0; k < n; ++k) v[i * size_t(n) + size_t(k)] = p[i * 6 + size_t(first + k)];
    return v;
  };
  pbr.attributes = {{"base_color", 3, cols(0, 3)}, {"metallic", 1, cols(3, 1)}, {"roughness", 1, cols(4, 1)},
                    {"alpha", 1, cols(5, 1)}};
  written.push_back(dir + "/ovoxel_pbr.ply");
  meshing::write_ovoxel_ply(written.back(), pbr);
  return written;
}

StageTolerance default_stage_tolerance() {
  StageTolerance t;
  t.default_nmse = 1e-4;
  // Stages that go through the samplers (12 Euler steps with CFG up to 7.5)
  // amplify the per-op differences most; the decoders and DINOv3 less.
  t.per_stage = {{"cond_512", 1e-5},  {"cond_1024", 1e-5},     {"ss_latent", 1e-3},     {"sparse_structure", 1e-3},
                 {"shape_slat_lr", 1e-3}, {"shape_slat", 1e-3}, {"tex_slat", 1e-3},     {"shape_decoded", 1e-3},
                 {"tex_decoded", 1e-3},   {"mesh", 1e-6}};
  // Quad splits compare w0·w2 with w1·w3: near-ties may pick the other
  // diagonal (a few faces in thousands).
  t.integer_fraction = {{"mesh", 1e-3}};
  return t;
}

Image demo_image(int size) {
  Image img = Image::blank(size, size, 4);
  const double c = 0.5 * size, r = 0.36 * size;
  for (int y = 0; y < size; ++y)
    for (int x = 0; x < size; ++x) {
      // A disc with a smaller disc on top (a snowman-like silhouette), shaded
      // by a fake light from the upper left, two colours.
      const double dx = (x + 0.5 - c) / r, dy = (y + 0.5 - c * 1.15) / r;
      const double dx2 = (x + 0.5 - c) / (0.55 * r), dy2 = (y + 0.5 - c * 0.55) / (0.55 * r);
      const double d1 = dx * dx + dy * dy, d2 = dx2 * dx2 + dy2 * dy2;
      if (d1 > 1 && d2 > 1) continue;
      const bool head = d2 <= 1;
      const double nx = head ? dx2 : dx, ny = head ? dy2 : dy, nz = std::sqrt(std::max(0.0, 1 - nx * nx - ny * ny));
      const double shade = 0.35 + 0.65 * std::max(0.0, (-0.5 * nx - 0.5 * ny + 0.7 * nz) / 1.0247);
      uint8_t* p = img.at(x, y);
      const double base[2][3] = {{0.85, 0.35, 0.2}, {0.25, 0.55, 0.9}};
      for (int k = 0; k < 3; ++k) p[k] = uint8_t(std::lround(255 * std::min(1.0, base[head][k] * shade)));
      p[3] = 255;
    }
  return img;
}

}  // namespace tessera::models::trellis2
