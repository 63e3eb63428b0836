#include "models/trellis2/sc_vae_decoder.hpp"

#include <algorithm>
#include <cstring>

#include "core/error.hpp"
#include "models/trellis2/sc_vae_blocks.hpp"
#include "ops/activation.hpp"
#include "ops/cast.hpp"
#include "ops/modulate.hpp"
#include "ops/norm.hpp"
#include "ops/shape_ops.hpp"

namespace tessera::models::trellis2 {

namespace {

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + v[i];
  return s;
}

const std::vector<std::string> kBlockTypes = {"SparseConvNeXtBlock3d", "SparseResBlock3d"};
const std::vector<std::string> kUpTypes = {"SparseResBlockC2S3d", "SparseResBlockUpsample3d"};

bool one_of(const std::string& s, const std::vector<std::string>& v) {
  for (const auto& x : v)
    if (x == s) return true;
  return false;
}

}  // namespace

ScVaeDecoderConfig ScVaeDecoderConfig::parse(const std::string& cls, const JsonConfig& a) {
  ScVaeDecoderConfig c;
  c.class_name = cls;
  const bool fdg = cls == "FlexiDualGridVaeDecoder";
  if (fdg) {
    c.resolution = a.get<int64_t>("resolution");
    c.voxel_margin = a.get_or<double>("voxel_margin", 0.5);
    c.out_channels = 7;  // fixed by FlexiDualGridVaeDecoder (3 offset + 3 flags + 1 split weight)
    c.pred_subdiv = true;
  } else {
    c.out_channels = a.get<int64_t>("out_channels");
    c.pred_subdiv = a.get_or<bool>("pred_subdiv", true);
  }
  c.model_channels = a.get<std::vector<int64_t>>("model_channels");
  c.latent_channels = a.get<int64_t>("latent_channels");
  c.num_blocks = a.get<std::vector<int64_t>>("num_blocks");
  c.block_type = a.get<std::vector<std::string>>("block_type");
  c.up_block_type = a.get<std::vector<std::string>>("up_block_type");
  std::vector<JsonConfig> bargs = a.children("block_args");
  c.use_fp16 = a.get_or<bool>("use_fp16", false);
  const size_t n = c.num_blocks.size();
  for (const auto& b : bargs) {
    c.mlp_ratio.push_back(b.get_or<double>("mlp_ratio", 4.0));
    b.mark_used("use_checkpoint");  // training only
  }
  a.report_unknown_keys(cls);

  if (n == 0) fail("{}: key 'num_blocks' must not be empty", a.where());
  if (n > 16) fail("{}: {} levels (num_blocks) is more than the 16 supported", a.where(), n);
  if (fdg && c.resolution <= 0) fail("{}: resolution must be > 0, found {}", a.where(), c.resolution);
  if (c.model_channels.size() != n || c.block_type.size() != n || bargs.size() != n || c.up_block_type.size() + 1 != n)
    fail("{}: {} levels need model_channels, block_type and block_args of length {} and up_block_type of length {}; "
         "found {}, {}, {} and {}",
         a.where(), n, n, n - 1, c.model_channels.size(), c.block_type.size(), bargs.size(), c.up_block_type.size());
  if (c.out_channels <= 0 || c.latent_channels <= 0)
    fail("{}: out_channels and latent_channels must be > 0", a.where());
  for (size_t i = 0; i < n; ++i) {
    if (c.model_channels[i] <= 0) fail("{}: model_channels[{}] must be > 0, found {}", a.where(), i, c.model_channels[i]);
    if (c.num_blocks[i] < 0) fail("{}: num_blocks[{}] must be >= 0, found {}", a.where(), i, c.num_blocks[i]);
    if (!one_of(c.block_type[i], kBlockTypes))
      fail("{}: block_type[{}] '{}' is not supported; valid: {}", a.where(), i, c.block_type[i], join(kBlockTypes));
    if (!(c.mlp_ratio[i] > 0)) fail("{}: block_args[{}].mlp_ratio must be > 0", a.where(), i);
  }
  for (size_t i = 0; i + 1 < n; ++i) {
    if (!one_of(c.up_block_type[i], kUpTypes))
      fail("{}: up_block_type[{}] '{}' is not supported; valid: {}", a.where(), i, c.up_block_type[i], join(kUpTypes));
    const int64_t ch = c.model_channels[i], co = c.model_channels[i + 1];
    // C2S's skip repeats each of the C/8 channel groups C'/(C/8) times.
    if (c.up_block_type[i] == "SparseResBlockC2S3d" && (ch % 8 != 0 || co % (ch / 8) != 0))
      fail("{}: SparseResBlockC2S3d at level {} needs channels divisible by 8 and {} divisible by {}/8", a.where(), i,
           co, ch);
  }
  return c;
}


// ---- SparseUnetVaeDecoder ----------------------------------------------------------------

SparseUnetVaeDecoder::SparseUnetVaeDecoder(const ScVaeDecoderConfig& cfg, DType wdt) : cfg_(cfg), wdt_(wdt) {
  TESSERA_CHECK(dtype_is_float(wdt), "{}: torso dtype must be f32, f16 or bf16, got {}", cfg_.class_name,
                dtype_name(wdt));
  const auto& ch = cfg_.model_channels;
  const size_t n = cfg_.num_blocks.size();
  output_layer_ = &emplace_module<Linear>("output_layer", ch.back(), cfg_.out_channels, DType::f32);
  from_latent_ = &emplace_module<Linear>("from_latent", cfg_.latent_channels, ch[0], DType::f32);
  blocks_ = &emplace_module<ModuleList>("blocks");
  for (size_t i = 0; i < n; ++i) {
    auto& level = blocks_->append(std::make_unique<ModuleList>());
    for (int64_t j = 0; j < cfg_.num_blocks[i]; ++j) {
      if (cfg_.block_type[i] == "SparseConvNeXtBlock3d")
        level.append(std::make_unique<scvae::ConvNeXtBlock>(ch[i], cfg_.mlp_ratio[i], wdt));
      else
        level.append(std::make_unique<scvae::ResBlock>(ch[i], wdt));
    }
    if (i + 1 < n) {
      if (cfg_.up_block_type[i] == "SparseResBlockC2S3d")
        level.append(std::make_unique<scvae::C2SBlock>(ch[i], ch[i + 1], cfg_.pred_subdiv, wdt));
      else
        level.append(std::make_unique<scvae::UpsampleBlock>(ch[i], ch[i + 1], cfg_.pred_subdiv, wdt));
    }
  }
}

void SparseUnetVaeDecoder::check_latent(const SparseTensor& latent) const {
  const std::string& cls = cfg_.class_name;
  TESSERA_CHECK(loaded(), "{}: forward before load_state", cls);
  TESSERA_CHECK(latent.feats().defined() && dtype_is_float(latent.feats().dtype()),
                "{}: the latent needs float features [N, {}]", cls, cfg_.latent_channels);
  TESSERA_CHECK(latent.channels() == cfg_.latent_channels,
                "{}: the latent has {} channels but the decoder takes latent_channels = {} (feats {})", cls,
                latent.channels(), cfg_.latent_channels, latent.feats().desc());
  TESSERA_CHECK(latent.num_voxels() > 0, "{}: the latent has no voxels", cls);
  TESSERA_CHECK(&latent.feats().device() == &output_layer_->weight->value.device(),
                "{}: the latent is on {} but the decoder's weights are on {}; move it with Tensor::to", cls,
                latent.feats().device().id(), output_layer_->weight->value.device().id());
  const int64_t f = cfg_.upsample_factor();
  for (int a = 0; a < 3; ++a)
    TESSERA_CHECK(int64_t(latent.spatial_shape()[a]) * f < (int64_t(1) << 31),
                  "{}: latent spatial shape {} times the decoder's upsampling {} overflows int32", cls,
                  latent.spatial_shape()[a], f);
}

namespace {

std::string level_stage(size_t i, size_t j) { return "blocks." + std::to_string(i) + "." + std::to_string(j); }

// A SparseTensor on x's coordinates without x's cache (neighbour maps, hash).
SparseTensor detached(const SparseTensor& x, Tensor feats) {
  return SparseTensor(x.coords(), std::move(feats), x.spatial_shape());
}

bool same_coords(const Tensor& a, const Tensor& b) {
  if (a.shape() != b.shape()) return false;
  if (&a.buffer() == &b.buffer() && a.offset_bytes() == b.offset_bytes()) return true;
  return a.to_vector<int32_t>() == b.to_vector<int32_t>();
}

}  // namespace

ScVaeDecoded SparseUnetVaeDecoder::run(const SparseTensor& latent, const std::vector<SparseTensor>* guide,
                                       int64_t stop_level, const StageHook& hook) const {
  const std::string& cls = cfg_.class_name;
  const size_t n = blocks_->size();
  auto stage = [&](const std::string& name, const Tensor& t) {
    if (hook) hook(name, t);
  };
  if (guide) {
    TESSERA_CHECK(!cfg_.pred_subdiv,
                  "{}: guide subdivisions are only for decoders with pred_subdiv = false (this one predicts its own; "
                  "call forward)",
                  cls);
    TESSERA_CHECK(guide->size() + 1 == n, "{}: {} levels need {} guide subdivisions, got {}", cls, n, n - 1,
                  guide->size());
    if (n > 1) {
      const SparseTensor& g = (*guide)[0];
      TESSERA_CHECK(same_coords(g.coords(), latent.coords()),
                    "{}: guide subdivision 0 is on other voxels than the latent ({} vs {} coordinates, or the same "
                    "count in another order): decode the texture latent on the shape latent's coordinates",
                    cls, g.num_voxels(), latent.num_voxels());
    }
  } else if (n > 1 && !cfg_.pred_subdiv) {
    fail("{}: pred_subdiv is false, so the up-blocks need the shape decoder's subdivisions: call forward_guided", cls);
  }

  Tensor x0 = latent.feats().dtype() == DType::f32 ? latent.feats() : ops::cast(latent.feats(), DType::f32);
  Tensor h0 = from_latent_->forward(x0);
  stage("from_latent", h0);
  if (wdt_ != DType::f32) h0 = ops::cast(h0, wdt_);  // h.type(self.dtype)
  SparseTensor h = latent.with_feats(h0);

  ScVaeDecoded r;
  for (size_t i = 0; i < n; ++i) {
    const auto& level = static_cast<const ModuleList&>((*blocks_)[i]);
    const bool up = i + 1 < n;
    const size_t plain = up ? level.size() - 1 : level.size();
    const bool last_needed = up && int64_t(i) + 1 == stop_level;
    for (size_t j = 0; j < plain; ++j) {
      const Module& b = level[j];
      if (auto* c = dynamic_cast<const scvae::ConvNeXtBlock*>(&b)) h = c->forward(h);
      else h = static_cast<const scvae::ResBlock&>(b).forward(h);
      stage(level_stage(i, j), h.feats());
    }
    if (!up) break;
    const auto& ub = static_cast<const scvae::UpBlock&>(level[plain]);
    Tensor logits;
    if (guide) {
      const SparseTensor& g = (*guide)[i];
      TESSERA_CHECK(g.feats().defined() && g.feats().ndim() == 2 && g.feats().dim(1) == 8 &&
                        g.num_voxels() == h.num_voxels() && dtype_is_float(g.feats().dtype()),
                    "{}: guide subdivision {} must have float feats [{}, 8] (the level's voxels), got {}", cls, i,
                    h.num_voxels(), g.feats().defined() ? g.feats().desc() : std::string("no feats"));
      TESSERA_CHECK(&g.feats().device() == &h.feats().device(), "{}: guide subdivision {} is on {}, the latent on {}",
                    cls, i, g.feats().device().id(), h.feats().device().id());
      logits = g.feats();
    } else {
      logits = ub.predict_subdiv(h);
      r.subs.push_back(detached(h, logits));
    }
    if (last_needed) {  // upsample_coords: only the children's coordinates
      nn::SubdivisionPlan plan = nn::subdivision_plan(logits);
      TESSERA_CHECK(plan.num_children > 0, "{}: up-block {} subdivides no voxel", cls, i);
      r.out = scvae::UpBlock::children(h, logits, plan);
      return r;
    }
    h = ub.forward(h, logits);
    stage(level_stage(i, plain), h.feats());
  }
  Tensor o = h.feats().dtype() == DType::f32 ? h.feats() : ops::cast(h.feats(), DType::f32);  // h.type(x.dtype)
  o = output_layer_->forward(ops::layer_norm(o, nullptr, nullptr, 1e-5));
  stage("output_layer", o);
  r.out = detached(h, o);
  return r;
}

ScVaeDecoded SparseUnetVaeDecoder::forward(const SparseTensor& latent, const StageHook& hook) const {
  check_latent(latent);
  return run(latent, nullptr, -1, hook);
}

SparseTensor SparseUnetVaeDecoder::forward_guided(const SparseTensor& latent, const std::vector<SparseTensor>& guide_subs,
                                                  const StageHook& hook) const {
  check_latent(latent);
  return run(latent, &guide_subs, -1, hook).out;
}

Tensor SparseUnetVaeDecoder::upsample_coords(const SparseTensor& latent, int64_t times) const {
  check_latent(latent);
  TESSERA_CHECK(cfg_.pred_subdiv, "{}: upsample_coords needs a decoder with pred_subdiv = true", cfg_.class_name);
  TESSERA_CHECK(times >= 0 && times < cfg_.levels(), "{}: upsample times {} outside [0, {}] (levels - 1)",
                cfg_.class_name, times, cfg_.levels() - 1);
  if (times == 0) return latent.coords();
  return run(latent, nullptr, times, nullptr).out.coords();
}

// ---- FlexiDualGridVaeDecoder -------------------------------------------------------------

FlexiDualGridDecoded FlexiDualGridVaeDecoder::forward_dual_grid(const SparseTensor& latent, int64_t resolution,
                                                                const StageHook& hook) const {
  const std::string& cls = cfg_.class_name;
  check_latent(latent);
  const int64_t res = resolution > 0 ? resolution : cfg_.resolution, f = cfg_.upsample_factor();
  TESSERA_CHECK(res > 0 && res % f == 0, "{}: resolution {} must be a positive multiple of 2^(levels-1) = {}", cls,
                res, f);
  const int64_t g = res / f;  // latent grid
  {
    const auto c = latent.coords().to_vector<int32_t>();
    for (size_t r = 0; r < c.size() / 4; ++r)
      for (int a = 1; a < 4; ++a)
        TESSERA_CHECK(c[4 * r + a] >= 0 && c[4 * r + a] < g,
                      "{}: latent voxel {} at ({}, {}, {}) is outside the latent grid {}^3 of resolution {} (= {} / {}); "
                      "decode at a larger resolution or drop the voxel",
                      cls, r, c[4 * r + 1], c[4 * r + 2], c[4 * r + 3], g, res, res, f);
  }
  ScVaeDecoded d = run(latent, nullptr, -1, hook);
  const Tensor& h = d.out.feats();  // [N, 7] f32
  FlexiDualGridDecoded o;
  o.coords = d.out.coords();
  o.spatial_shape = d.out.spatial_shape();
  o.resolution = res;
  o.voxel_margin = cfg_.voxel_margin;
  // (1 + 2 m) sigmoid(v) - m as modulate(sigmoid(v), shift = -m, scale = 2 m): x (1 + scale) + shift.
  const float m = float(cfg_.voxel_margin);
  Device& dev = h.device();
  Tensor shift = Tensor::from_vector(std::vector<float>(3, -m), {3}, DType::f32, dev);
  Tensor scale = Tensor::from_vector(std::vector<float>(3, 2.0f * m), {3}, DType::f32, dev);
  o.vertices = ops::modulate(ops::sigmoid(ops::slice(h, 1, 0, 3)), shift, scale);
  o.intersected_logits = ops::slice(h, 1, 3, 6);
  o.quad_lerp = ops::softplus(ops::slice(h, 1, 6, 7));
  if (hook) {
    hook("vertices", o.vertices);
    hook("quad_lerp", o.quad_lerp);
  }
  o.subs = std::move(d.subs);
  return o;
}

std::unique_ptr<SparseUnetVaeDecoder> make_sc_vae_decoder(const ModelConfig& mc, DType wdt) {
  TESSERA_CHECK(mc.name == "SparseUnetVaeDecoder" || mc.name == "FlexiDualGridVaeDecoder",
                "{}: expected class SparseUnetVaeDecoder or FlexiDualGridVaeDecoder, found '{}'", mc.path, mc.name);
  ScVaeDecoderConfig cfg = ScVaeDecoderConfig::parse(mc.name, mc.args);
  if (mc.name == "FlexiDualGridVaeDecoder") return std::make_unique<FlexiDualGridVaeDecoder>(cfg, wdt);
  return std::make_unique<SparseUnetVaeDecoder>(cfg, wdt);
}

}  // namespace tessera::models::trellis2
