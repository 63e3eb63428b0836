// OpenCL rasterize / rasterize_uv / interpolate (kernels/raster.cl): triangle
// setup, tile binning in batches (ops/raster_plan.hpp), per-tile resolve of
// the smallest (depth, id) with only 32-bit atomics (counters), finish.
#include "backends/opencl/cl_launch.hpp"
#include "core/error.hpp"
#include "core/op_registry.hpp"
#include "ops/raster_plan.hpp"

namespace tessera::opencl {
namespace {

namespace rp = raster_plan;

using rp::read_u32;
using rp::temp_u32;
using rp::upload_u32;

void throw_bad_face(const char* op, const Tensor& faces, uint32_t f, int64_t V) {
  const auto all = faces.to_double();  // error path only
  const double idx[3] = {all[3 * size_t(f)], all[3 * size_t(f) + 1], all[3 * size_t(f) + 2]};
  TESSERA_CHECK(false, "op '{}' (opencl): face {} = ({}, {}, {}) has a vertex index outside [0, {})", op, f, idx[0],
                idx[1], idx[2], V);
}

// Outputs: id, bary, and depth (rasterize) or a temporary (rasterize_uv).
void raster(Device& d, OpArgs& a, bool uv_mode) {
  ClDevice& dev = as_cl(d);
  const char* op = uv_mode ? "rasterize_uv" : "rasterize";
  const Tensor &pos = a.in[0], &faces = a.in[1];
  const int64_t V = pos.dim(0), F = faces.dim(0), H = a.out[0].dim(0), W = a.out[0].dim(1);
  const int tiles_x = int((W + rp::kTile - 1) / rp::kTile), tiles_y = int((H + rp::kTile - 1) / rp::kTile);
  const int64_t T = int64_t(tiles_x) * tiles_y;
  Tensor& id = a.out[0];
  Tensor depth = uv_mode ? Tensor::empty({H, W}, DType::f32, d) : a.out[2];
  Tensor setup = Tensor::empty({std::max<int64_t>(F, 1) * 16}, DType::f32, d);
  Tensor boxes = temp_u32(d, std::max<int64_t>(F, 1) * 4), tri_tiles = temp_u32(d, F), err = temp_u32(d, 1);
  dev.fill(err.buffer(), err.offset_bytes(), 4, 0xffffffffu);
  dev.fill(id.buffer(), id.offset_bytes(), id.nbytes(), 0xffffffffu);        // -1
  dev.fill(depth.buffer(), depth.offset_bytes(), depth.nbytes(), 0x7f800000u);  // +inf
  Launch(dev, "raster", "raster_setup")
      .tensor(pos)
      .arg(cl_int(uv_mode))
      .tensor(faces)
      .arg(cl_uint(V))
      .arg(cl_int(H))
      .arg(cl_int(W))
      .arg(cl_int(tiles_x))
      .arg(mem_of(setup))
      .arg(mem_of(boxes))
      .arg(mem_of(tri_tiles))
      .arg(mem_of(err))
      .run_1d(uint64_t(F));
  const uint32_t e = read_u32(err, 1)[0];
  if (e != 0xffffffffu) throw_bad_face(op, faces, e, V);
  const auto batches = rp::plan(read_u32(tri_tiles, F), uint64_t(T));
  Tensor tile_cnt = temp_u32(d, T), tile_fill = temp_u32(d, T);
  for (const auto& b : batches) {
    const uint32_t E = b.entries();
    Tensor off = upload_u32(d, b.off), list = temp_u32(d, E);
    dev.fill(tile_cnt.buffer(), tile_cnt.offset_bytes(), size_t(T) * 4, 0);
    Launch(dev, "raster", "raster_count")
        .arg(mem_of(boxes))
        .arg(mem_of(off))
        .arg(cl_uint(b.nb))
        .arg(cl_uint(b.f0))
        .arg(cl_int(tiles_x))
        .arg(mem_of(tile_cnt))
        .run_1d(E);
    std::vector<uint32_t> toff;
    const uint32_t mx = rp::tile_offsets(read_u32(tile_cnt, T), toff);
    Tensor tile_off = upload_u32(d, toff);
    dev.fill(tile_fill.buffer(), tile_fill.offset_bytes(), size_t(T) * 4, 0);
    Launch(dev, "raster", "raster_scatter")
        .arg(mem_of(boxes))
        .arg(mem_of(off))
        .arg(cl_uint(b.nb))
        .arg(cl_uint(b.f0))
        .arg(cl_int(tiles_x))
        .arg(mem_of(tile_off))
        .arg(mem_of(tile_fill))
        .arg(mem_of(list))
        .run_1d(E);
    for (uint32_t s0 = 0; s0 < mx; s0 += rp::kSegment)
      Launch(dev, "raster", "raster_resolve")
          .arg(mem_of(setup))
          .arg(mem_of(list))
          .arg(mem_of(tile_off))
          .arg(mem_of(tile_cnt))
          .tensor(id)
          .tensor(depth)
          .arg(cl_int(H))
          .arg(cl_int(W))
          .arg(cl_int(tiles_x))
          .arg(cl_uint(s0))
          .arg(cl_uint(rp::kSegment))
          .run_groups(uint64_t(T), 1, rp::kTile * rp::kTile);
  }
  Launch(dev, "raster", "raster_finish")
      .arg(mem_of(setup))
      .tensor(id)
      .tensor(depth)
      .tensor(a.out[1])
      .arg(cl_int(H))
      .arg(cl_int(W))
      .run_1d(uint64_t(H * W));
}

void rasterize(Device& d, OpArgs& a) { raster(d, a, false); }
void rasterize_uv(Device& d, OpArgs& a) { raster(d, a, true); }

void interpolate(Device& d, OpArgs& a) {
  ClDevice& dev = as_cl(d);
  const int64_t V = a.in[0].dim(0), C = a.in[0].dim(1), F = a.in[1].dim(0);
  Tensor err = temp_u32(d, 1);
  dev.fill(err.buffer(), err.offset_bytes(), 4, 0xffffffffu);
  Launch(dev, "raster", "check_faces").tensor(a.in[1]).arg(cl_uint(V)).arg(mem_of(err)).run_1d(uint64_t(F));
  const uint32_t e = read_u32(err, 1)[0];
  if (e != 0xffffffffu) throw_bad_face("interpolate", a.in[1], e, V);
  Launch(dev, "raster", "interpolate")
      .tensor(a.in[0])
      .tensor(a.in[1])
      .tensor(a.in[2])
      .tensor(a.in[3])
      .tensor(a.out[0])
      .arg(cl_uint(C))
      .arg(cl_uint(F))
      .run_1d(uint64_t(a.out[0].numel()));
}

std::string supports_raster(const Device& dev, const OpArgs& a) {
  if (a.in[0].dim(0) >= (int64_t(1) << 31)) return "more than 2^31 vertices";
  return supports_common(dev, a);
}

TESSERA_REGISTER_KERNEL("rasterize", "opencl", rasterize, supports_raster);
TESSERA_REGISTER_KERNEL("rasterize_uv", "opencl", rasterize_uv, supports_raster);
TESSERA_REGISTER_KERNEL("interpolate", "opencl", interpolate, supports_raster);

}  // namespace
}  // namespace tessera::opencl
