// Vulkan rasterize / rasterize_uv / interpolate (shaders/raster_*.comp), the
// same algorithm as the OpenCL backend: triangle setup, tile binning in
// batches (ops/raster_plan.hpp) with 32-bit atomic counters, a per-tile
// resolve of the smallest (depth, id) in list segments of kSegment entries
// (lavapipe's per-invocation loop budget), finish. No 64-bit atomics.
#include "backends/vulkan/vk_kernel.hpp"
#include "core/error.hpp"
#include "ops/raster_plan.hpp"

namespace tessera::vk {
namespace {

namespace rp = raster_plan;

using rp::read_u32;
using rp::temp_u32;
using rp::upload_u32;
void fill(VulkanDevice& dev, const Tensor& t, uint32_t pattern) {
  dev.fill(t.buffer(), t.offset_bytes(), (t.nbytes() + 3) & ~size_t(3), pattern);
}
void throw_bad_face(const char* op, const Tensor& faces, uint32_t f, int64_t V) {
  const auto all = faces.to_double();  // error path only
  TESSERA_CHECK(false, "op '{}' (vulkan): face {} = ({}, {}, {}) has a vertex index outside [0, {})", op, f,
                all[3 * size_t(f)], all[3 * size_t(f) + 1], all[3 * size_t(f) + 2], V);
}

struct SetupPush {
  uint64_t base, count;
  uint32_t pos_off, faces_off, V;
  int32_t H, W, tiles_x, uv_mode;
};
struct BinPush {
  uint64_t base, count;
  uint32_t nb, f0;
  int32_t tiles_x;
};
struct ResolvePush {
  int32_t H, W, tiles_x;
  uint32_t seg0, seg_len, id_off, d_off;
  uint32_t tile_x0, tile_y0;
};
struct FinishPush {
  uint64_t base, count;
  int32_t H, W;
  uint32_t id_off, d_off, b_off;
};
struct InterpPush {
  uint64_t base, count;
  uint32_t C, F, V;
  uint32_t a_off, f_off, id_off, b_off, o_off;
};

void raster(Device& d, OpArgs& a, bool uv_mode) {
  auto& dev = as_vulkan(d);
  auto lock = dev.lock();
  const char* op = uv_mode ? "rasterize_uv" : "rasterize";
  const Tensor &pos = a.in[0], &faces = a.in[1];
  const int64_t V = pos.dim(0), F = faces.dim(0), H = a.out[0].dim(0), W = a.out[0].dim(1);
  const int tiles_x = int((W + rp::kTile - 1) / rp::kTile), tiles_y = int((H + rp::kTile - 1) / rp::kTile);
  const int64_t T = int64_t(tiles_x) * tiles_y;
  Tensor& id = a.out[0];
  Tensor depth = uv_mode ? Tensor::empty({H, W}, DType::f32, d) : a.out[2];
  Tensor setup = Tensor::empty({std::max<int64_t>(F, 1) * 16}, DType::f32, d);
  Tensor boxes = temp_u32(d, std::max<int64_t>(F, 1) * 4), tri_tiles = temp_u32(d, F), err = temp_u32(d, 1);
  fill(dev, err, 0xffffffffu);
  fill(dev, id, 0xffffffffu);     // -1
  fill(dev, depth, 0x7f800000u);  // +inf
  auto ap = tensor_arg(pos, false), af = tensor_arg(faces, false), aid = tensor_arg(id, true),
       ad = tensor_arg(depth, true), ab = tensor_arg(a.out[1], true);
  auto as = tensor_arg(setup, true), abox = tensor_arg(boxes, true), att = tensor_arg(tri_tiles, true),
       aerr = tensor_arg(err, true);
  {
    SetupPush pc{0, uint64_t(F), uint32_t(ap.elem_off), uint32_t(af.elem_off), uint32_t(V), int32_t(H), int32_t(W),
                 tiles_x, int32_t(uv_mode)};
    const auto& p = dev.pipelines().get("raster_setup", 6, {{0, 64u}}, 64);
    launch_1d(dev, p, {ap.bind, af.bind, as.bind, abox.bind, att.bind, aerr.bind}, &pc, sizeof(pc), uint64_t(F));
  }
  const uint32_t e = read_u32(err, 1)[0];
  if (e != 0xffffffffu) throw_bad_face(op, faces, e, V);
  const auto batches = rp::plan(read_u32(tri_tiles, F), uint64_t(T));
  Tensor tile_cnt = temp_u32(d, T), tile_fill = temp_u32(d, T);
  auto acnt = tensor_arg(tile_cnt, true), afill = tensor_arg(tile_fill, true);
  const auto& pcount = dev.pipelines().get("raster_bin", 5, {{0, 64u}, {1, 0u}}, 64);
  const auto& pscatter = dev.pipelines().get("raster_bin", 5, {{0, 64u}, {1, 1u}}, 64);
  const auto& presolve = dev.pipelines().get("raster_resolve", 6, {}, rp::kTile * rp::kTile);
  for (const auto& b : batches) {
    const uint32_t E = b.entries();
    Tensor off = upload_u32(d, b.off), list = temp_u32(d, E);
    auto aoff = tensor_arg(off, false), alist = tensor_arg(list, true);
    fill(dev, tile_cnt, 0);
    BinPush bp{0, E, b.nb, b.f0, tiles_x};
    launch_1d(dev, pcount, {abox.bind, aoff.bind, acnt.bind, afill.bind, alist.bind}, &bp, sizeof(bp), E);
    std::vector<uint32_t> toff;
    const uint32_t mx = rp::tile_offsets(read_u32(tile_cnt, T), toff);
    Tensor tile_off = upload_u32(d, toff);
    auto atoff = tensor_arg(tile_off, false);
    fill(dev, tile_fill, 0);
    launch_1d(dev, pscatter, {abox.bind, aoff.bind, atoff.bind, afill.bind, alist.bind}, &bp, sizeof(bp), E);
    for (uint32_t s0 = 0; s0 < mx; s0 += rp::kSegment) {
      ResolvePush rp_{int32_t(H), int32_t(W), tiles_x, s0, rp::kSegment, uint32_t(aid.elem_off), uint32_t(ad.elem_off),
                      0, 0};
      launch_2d(dev, presolve, {as.bind, alist.bind, atoff.bind, acnt.bind, aid.bind, ad.bind}, &rp_, sizeof(rp_),
                uint64_t(T), 1, offsetof(ResolvePush, tile_x0), offsetof(ResolvePush, tile_y0));
    }
  }
  FinishPush fp{0, uint64_t(H * W), int32_t(H), int32_t(W), uint32_t(aid.elem_off), uint32_t(ad.elem_off),
                uint32_t(ab.elem_off)};
  const auto& pf = dev.pipelines().get("raster_finish", 4, {{0, 64u}}, 64);
  launch_1d(dev, pf, {as.bind, aid.bind, ad.bind, ab.bind}, &fp, sizeof(fp), uint64_t(H * W));
}

void rasterize(Device& d, OpArgs& a) { raster(d, a, false); }
void rasterize_uv(Device& d, OpArgs& a) { raster(d, a, true); }

void interpolate(Device& d, OpArgs& a) {
  auto& dev = as_vulkan(d);
  auto lock = dev.lock();
  const int64_t V = a.in[0].dim(0), C = a.in[0].dim(1), F = a.in[1].dim(0);
  auto at = tensor_arg(a.in[0], false), af = tensor_arg(a.in[1], false), ai = tensor_arg(a.in[2], false),
       ab = tensor_arg(a.in[3], false), ao = tensor_arg(a.out[0], true);
  Tensor err = temp_u32(d, 1);
  fill(dev, err, 0xffffffffu);
  auto ae = tensor_arg(err, true);
  InterpPush pc{0, uint64_t(F), uint32_t(C), uint32_t(F), uint32_t(V), uint32_t(at.elem_off), uint32_t(af.elem_off),
                uint32_t(ai.elem_off), uint32_t(ab.elem_off), 0};
  launch_1d(dev, dev.pipelines().get("raster_interp", 5, {{0, 64u}, {1, 1u}}, 64), {at.bind, af.bind, ai.bind, ab.bind, ae.bind},
            &pc, sizeof(pc), uint64_t(F));
  const uint32_t e = read_u32(err, 1)[0];
  if (e != 0xffffffffu) throw_bad_face("interpolate", a.in[1], e, V);
  pc.count = uint64_t(a.out[0].numel());
  pc.o_off = uint32_t(ao.elem_off);
  launch_1d(dev, dev.pipelines().get("raster_interp", 5, {{0, 256u}, {1, 0u}}, 256), {at.bind, af.bind, ai.bind, ab.bind, ao.bind},
            &pc, sizeof(pc), pc.count);
}

std::string supports_raster(const Device& d, const OpArgs& a) {
  std::string why = check_nn(d, a);
  if (!why.empty()) return why;
  for (const auto& t : a.in)
    if (uint64_t(t.numel()) >= (uint64_t(1) << 32)) return "an input with 2^32 or more elements";
  for (const auto& t : a.out)
    if (uint64_t(t.numel()) >= (uint64_t(1) << 32)) return "an output with 2^32 or more elements";
  return "";
}

TESSERA_REGISTER_KERNEL("rasterize", "vulkan", rasterize, supports_raster);
TESSERA_REGISTER_KERNEL("rasterize_uv", "vulkan", rasterize_uv, supports_raster);
TESSERA_REGISTER_KERNEL("interpolate", "vulkan", interpolate, supports_raster);

}  // namespace
}  // namespace tessera::vk
