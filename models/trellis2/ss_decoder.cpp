#include "models/trellis2/ss_decoder.hpp"

#include "core/error.hpp"
#include "ops/activation.hpp"
#include "ops/cast.hpp"
#include "ops/conv3d.hpp"
#include "ops/elementwise.hpp"
#include "ops/norm.hpp"
#include "ops/shape_ops.hpp"

namespace tessera::models::trellis2 {

SSDecoderConfig SSDecoderConfig::parse(const JsonConfig& a) {
  SSDecoderConfig c;
  c.out_channels = a.get<int64_t>("out_channels");
  c.latent_channels = a.get<int64_t>("latent_channels");
  c.num_res_blocks = a.get<int64_t>("num_res_blocks");
  c.channels = a.get<std::vector<int64_t>>("channels");
  c.num_res_blocks_middle = a.get_or<int64_t>("num_res_blocks_middle", 2);
  c.norm_type = a.get_or<std::string>("norm_type", "layer");
  c.use_fp16 = a.get_or<bool>("use_fp16", false);
  a.report_unknown_keys("SparseStructureDecoder");
  if (c.out_channels <= 0 || c.latent_channels <= 0)
    fail("{}: out_channels and latent_channels must be > 0, found {} and {}", a.where(), c.out_channels,
         c.latent_channels);
  if (c.num_res_blocks < 0 || c.num_res_blocks_middle < 0)
    fail("{}: num_res_blocks / num_res_blocks_middle must be >= 0", a.where());
  if (c.channels.empty()) fail("{}: key 'channels' must not be empty", a.where());
  for (auto ch : c.channels)
    if (ch <= 0) fail("{}: key 'channels' holds {} (must be > 0)", a.where(), ch);
  if (c.norm_type != "layer" && c.norm_type != "group")
    fail("{}: key 'norm_type' must be \"layer\" or \"group\", found \"{}\"", a.where(), c.norm_type);
  if (c.norm_type == "group")
    for (auto ch : c.channels)
      if (ch % 32 != 0) fail("{}: norm_type \"group\" uses 32 groups, but a level has {} channels", a.where(), ch);
  return c;
}

ChannelNorm::ChannelNorm(int64_t c, bool g) : group(g), channels(c) {
  weight = &register_parameter("weight", {c}, DType::f32);
  bias = &register_parameter("bias", {c}, DType::f32);
}

Tensor ChannelNorm::forward(const Tensor& x) const {
  TESSERA_CHECK(weight->value.defined(), "{}: not loaded", type_name());
  if (group) return ops::group_norm(x, 32, &weight->value, &bias->value, 1e-5);
  // LayerNorm over the channel axis at every voxel: NCDHW -> NDHWC -> back.
  Tensor t = ops::permute(x, {0, 2, 3, 4, 1});
  t = ops::layer_norm(t, &weight->value, &bias->value, 1e-5);
  return ops::permute(t, {0, 4, 1, 2, 3});
}

ResBlock3d::ResBlock3d(int64_t c, bool group, DType wdt) {
  // Official order: norm1, norm2, conv1, conv2 (skip_connection is Identity here).
  norm1 = &emplace_module<ChannelNorm>("norm1", c, group);
  norm2 = &emplace_module<ChannelNorm>("norm2", c, group);
  conv1 = &emplace_module<Conv3d>("conv1", c, c, 3, wdt);
  conv2 = &emplace_module<Conv3d>("conv2", c, c, 3, wdt);
}

Tensor ResBlock3d::forward(const Tensor& x) const {
  Tensor h = conv1->forward(ops::silu(norm1->forward(x)));
  h = conv2->forward(ops::silu(norm2->forward(h)));
  return ops::add(h, x);
}

UpsampleBlock3d::UpsampleBlock3d(int64_t in, int64_t out, DType wdt) {
  conv = &emplace_module<Conv3d>("conv", in, out * 8, 3, wdt);
}

Tensor UpsampleBlock3d::forward(const Tensor& x) const { return ops::pixel_shuffle_3d(conv->forward(x), 2); }

SparseStructureDecoder::SparseStructureDecoder(const SSDecoderConfig& cfg, DType wdt) : cfg_(cfg), wdt_(wdt) {
  const bool group = cfg_.norm_type == "group";
  const auto& ch = cfg_.channels;
  input_layer_ = &emplace_module<Conv3d>("input_layer", cfg_.latent_channels, ch[0], 3, DType::f32);
  middle_ = &emplace_module<ModuleList>("middle_block");
  for (int64_t i = 0; i < cfg_.num_res_blocks_middle; ++i) middle_->append(std::make_unique<ResBlock3d>(ch[0], group, wdt));
  blocks_ = &emplace_module<ModuleList>("blocks");
  for (size_t i = 0; i < ch.size(); ++i) {
    for (int64_t j = 0; j < cfg_.num_res_blocks; ++j) blocks_->append(std::make_unique<ResBlock3d>(ch[i], group, wdt));
    if (i + 1 < ch.size()) blocks_->append(std::make_unique<UpsampleBlock3d>(ch[i], ch[i + 1], wdt));
  }
  auto& out = emplace_module<Module>("out_layer");  // Sequential(norm, SiLU, Conv3d)
  out_norm_ = &out.emplace_module<ChannelNorm>("0", ch.back(), group);
  out_conv_ = &out.emplace_module<Conv3d>("2", ch.back(), cfg_.out_channels, 3, DType::f32);
}

Tensor SparseStructureDecoder::forward(const Tensor& z, const StageHook& hook) const {
  TESSERA_CHECK(loaded(), "SparseStructureDecoder: forward before load_state");
  TESSERA_CHECK(z.ndim() == 5 && z.dim(0) == 1 && z.dim(1) == cfg_.latent_channels,
                "SparseStructureDecoder: input must be [1, {}, D, H, W], got {}", cfg_.latent_channels,
                shape_str(z.shape()));
  auto stage = [&](const std::string& n, const Tensor& t) {
    if (hook) hook(n, t);
  };
  Tensor h = input_layer_->forward(z.dtype() == DType::f32 ? z : ops::cast(z, DType::f32));
  stage("input_layer", h);
  if (wdt_ != DType::f32) h = ops::cast(h, wdt_);  // h.type(self.dtype)
  for (size_t i = 0; i < middle_->size(); ++i) h = static_cast<const ResBlock3d&>((*middle_)[i]).forward(h);
  stage("middle_block", h);
  for (size_t i = 0; i < blocks_->size(); ++i) {
    const Module& b = (*blocks_)[i];
    if (auto* r = dynamic_cast<const ResBlock3d*>(&b)) h = r->forward(h);
    else h = static_cast<const UpsampleBlock3d&>(b).forward(h);
    stage("blocks." + std::to_string(i), h);
  }
  if (h.dtype() != DType::f32) h = ops::cast(h, DType::f32);
  h = out_conv_->forward(ops::silu(out_norm_->forward(h)));
  stage("out_layer", h);
  return h;
}

std::unique_ptr<SparseStructureDecoder> make_ss_decoder(const ModelConfig& mc, DType wdt) {
  TESSERA_CHECK(mc.name == "SparseStructureDecoder", "{}: expected class SparseStructureDecoder, found '{}'", mc.path,
                mc.name);
  return std::make_unique<SparseStructureDecoder>(SSDecoderConfig::parse(mc.args), wdt);
}

}  // namespace tessera::models::trellis2
