#include "models/trellis2/sc_vae_decoder.hpp"

#include "core/error.hpp"

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

struct ConvNeXtBlock : Module {
  ConvNeXtBlock(int64_t c, double mlp_ratio, DType wdt) {
    // Official order: norm, conv, mlp (forward runs conv first).
    emplace_module<LayerNorm>("norm", c, true, 1e-6);
    emplace_module<SparseConv3d>("conv", c, c, 3, wdt);
    auto& mlp = emplace_module<Module>("mlp");  // Sequential(Linear, SiLU, Linear)
    const int64_t hidden = int64_t(double(c) * mlp_ratio);
    mlp.emplace_module<Linear>("0", c, hidden, wdt);
    mlp.emplace_module<Linear>("2", hidden, c, wdt);
  }
  std::string type_name() const override { return "SparseConvNeXtBlock3d"; }
};

struct ResBlock : Module {  // SparseResBlock3d(C), resample_mode 'nearest', no resampling
  ResBlock(int64_t c, DType wdt) {
    emplace_module<LayerNorm>("norm1", c, true, 1e-6);
    emplace_module<LayerNorm>("norm2", c, false, 1e-6);
    emplace_module<SparseConv3d>("conv1", c, c, 3, wdt);
    emplace_module<SparseConv3d>("conv2", c, c, 3, wdt);
  }
  std::string type_name() const override { return "SparseResBlock3d"; }
};

struct C2SBlock : Module {  // SparseResBlockC2S3d(C -> C')
  C2SBlock(int64_t c, int64_t co, bool pred_subdiv, DType wdt) {
    emplace_module<LayerNorm>("norm1", c, true, 1e-6);
    emplace_module<LayerNorm>("norm2", co, false, 1e-6);
    emplace_module<SparseConv3d>("conv1", c, co * 8, 3, wdt);
    emplace_module<SparseConv3d>("conv2", co, co, 3, wdt);
    if (pred_subdiv) emplace_module<Linear>("to_subdiv", c, 8, wdt);
  }
  std::string type_name() const override { return "SparseResBlockC2S3d"; }
};

struct UpsampleBlock : Module {  // SparseResBlockUpsample3d(C -> C')
  UpsampleBlock(int64_t c, int64_t co, bool pred_subdiv, DType wdt) {
    emplace_module<LayerNorm>("norm1", c, true, 1e-6);
    emplace_module<LayerNorm>("norm2", co, false, 1e-6);
    emplace_module<SparseConv3d>("conv1", c, co, 3, wdt);
    emplace_module<SparseConv3d>("conv2", co, co, 3, wdt);
    if (c != co) emplace_module<Linear>("skip_connection", c, co, wdt);
    if (pred_subdiv) emplace_module<Linear>("to_subdiv", c, 8, wdt);
  }
  std::string type_name() const override { return "SparseResBlockUpsample3d"; }
};

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

SparseUnetVaeDecoder::SparseUnetVaeDecoder(const ScVaeDecoderConfig& cfg, DType wdt) : cfg_(cfg) {
  const auto& ch = cfg_.model_channels;
  const size_t n = cfg_.num_blocks.size();
  emplace_module<Linear>("output_layer", ch.back(), cfg_.out_channels, DType::f32);
  emplace_module<Linear>("from_latent", cfg_.latent_channels, ch[0], DType::f32);
  auto& blocks = emplace_module<ModuleList>("blocks");
  for (size_t i = 0; i < n; ++i) {
    auto& level = blocks.append(std::make_unique<ModuleList>());
    for (int64_t j = 0; j < cfg_.num_blocks[i]; ++j) {
      if (cfg_.block_type[i] == "SparseConvNeXtBlock3d")
        level.append(std::make_unique<ConvNeXtBlock>(ch[i], cfg_.mlp_ratio[i], wdt));
      else
        level.append(std::make_unique<ResBlock>(ch[i], wdt));
    }
    if (i + 1 < n) {
      if (cfg_.up_block_type[i] == "SparseResBlockC2S3d")
        level.append(std::make_unique<C2SBlock>(ch[i], ch[i + 1], cfg_.pred_subdiv, wdt));
      else
        level.append(std::make_unique<UpsampleBlock>(ch[i], ch[i + 1], cfg_.pred_subdiv, wdt));
    }
  }
}

std::unique_ptr<SparseUnetVaeDecoder> make_sc_vae_decoder(const ModelConfig& mc, DType wdt) {
  TESSERA_CHECK(mc.name == "SparseUnetVaeDecoder" || mc.name == "FlexiDualGridVaeDecoder",
                "{}: expected class SparseUnetVaeDecoder or FlexiDualGridVaeDecoder, found '{}'", mc.path, mc.name);
  return std::make_unique<SparseUnetVaeDecoder>(ScVaeDecoderConfig::parse(mc.name, mc.args), wdt);
}

}  // namespace tessera::models::trellis2
