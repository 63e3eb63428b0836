#include "models/trellis2/pipeline_decode.hpp"

#include "core/error.hpp"
#include "meshing/flexible_dual_grid.hpp"
#include "models/trellis2/checkpoint.hpp"
#include "models/trellis2/sc_vae_decoder.hpp"
#include "ops/cast.hpp"
#include "ops/elementwise.hpp"

namespace tessera::models::trellis2 {

namespace {

struct Subs {
  std::vector<SparseTensor> levels;
};

}  // namespace

std::vector<int32_t> coords_xyz(const Tensor& coords4) {
  const std::vector<int32_t> c = coords4.to_vector<int32_t>();
  const size_t n = size_t(coords4.dim(0));
  std::vector<int32_t> out(n * 3);
  for (size_t i = 0; i < n; ++i) {
    TESSERA_CHECK(c[i * 4] == 0, "trellis2: the pipeline runs one batch item, found batch {} in row {}", c[i * 4], i);
    for (size_t a = 0; a < 3; ++a) out[i * 3 + a] = c[i * 4 + 1 + a];
  }
  return out;
}

int64_t shape_decoder_upsample_factor(const PipelineConfig& p) {
  ModelConfig mc = role_config(p, "shape_slat_decoder");
  const size_t levels = mc.args.get<std::vector<int64_t>>("model_channels").size();
  TESSERA_CHECK(levels >= 1 && levels <= 8, "{}: {} decoder levels is not supported", mc.path, levels);
  return int64_t(1) << (levels - 1);
}

Tensor shape_decoder_upsample_coords(const PipelineConfig& p, Device& dev, const SparseTensor& slat, DType wdt) {
  auto dec = load_role_as<FlexiDualGridVaeDecoder>(p, "shape_slat_decoder", dev, wdt);
  return dec->upsample_coords(slat, int64_t(dec->config().model_channels.size()) - 1);
}

ShapeDecodeResult decode_shape(const PipelineConfig& p, Device& dev, const SparseTensor& slat, int64_t resolution,
                               DType wdt) {
  auto dec = load_role_as<FlexiDualGridVaeDecoder>(p, "shape_slat_decoder", dev, wdt);
  FlexiDualGridDecoded d = dec->forward_dual_grid(slat, resolution);
  ShapeDecodeResult r;
  r.coords = d.coords;
  r.vertices = d.vertices;
  r.intersected_logits = d.intersected_logits;
  r.quad_lerp = d.quad_lerp;
  auto subs = std::make_shared<Subs>();
  subs->levels = std::move(d.subs);
  r.subs = subs;
  return r;
}

Tensor decode_texture(const PipelineConfig& p, Device& dev, const SparseTensor& tex_slat, const ShapeDecodeResult& shape,
                      DType wdt) {
  auto dec = load_role_as<SparseUnetVaeDecoder>(p, "tex_slat_decoder", dev, wdt);
  TESSERA_CHECK(shape.subs != nullptr, "trellis2: decode_texture needs the shape decoder's subdivisions");
  const auto& subs = static_cast<const Subs*>(shape.subs.get())->levels;
  SparseTensor out = dec->forward_guided(tex_slat, subs);
  TESSERA_CHECK(out.num_voxels() == shape.coords.dim(0),
                "trellis2: the texture decoder produced {} voxels but the shape decoder {}", out.num_voxels(),
                shape.coords.dim(0));
  Tensor f = out.feats().dtype() == DType::f32 ? out.feats() : ops::cast(out.feats(), DType::f32);
  // decode_tex_slat: decoder(...) * 0.5 + 0.5
  std::vector<float> half(size_t(f.dim(1)), 0.5f);
  Tensor h = Tensor::from_vector(half, {f.dim(1)}, DType::f32, dev);
  return ops::add(ops::mul(f, h), h);
}

void extract_mesh(const ShapeDecodeResult& shape, int64_t resolution, std::vector<float>& positions,
                  std::vector<int32_t>& faces) {
  for (const Tensor* t : {&shape.vertices, &shape.intersected_logits, &shape.quad_lerp})
    TESSERA_CHECK(t->dtype() == DType::f32, "trellis2: mesh extraction expects the f32 decoder head, found {}", t->desc());
  const std::vector<int32_t> xyz = coords_xyz(shape.coords);
  const std::vector<float> v = shape.vertices.to_vector<float>(), l = shape.intersected_logits.to_vector<float>(),
                           w = shape.quad_lerp.to_vector<float>();
  meshing::FdgInput in;
  in.coords = xyz;
  in.vertices = v;
  in.intersected_logits = l;
  in.split_weight = w;
  meshing::Mesh m = meshing::flexible_dual_grid_to_mesh(in, meshing::Aabb{}, int32_t(resolution));
  positions = std::move(m.positions);
  faces = std::move(m.faces);
}

}  // namespace tessera::models::trellis2
