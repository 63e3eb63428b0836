// TRELLIS.2 module trees: built from the released configs, every parameter
// name and shape equals the official state_dict (fixtures in
// tests/fixtures/trellis2/, derived from the official code; see their headers),
// in state_dict order. Config parsing errors are one-line and name the key.
#include <gtest/gtest.h>

#include "tests/test_env.hpp"

#include <fstream>
#include <sstream>

#include "core/error.hpp"
#include "core/json_config.hpp"
#include "models/trellis2/checkpoint.hpp"
#include "models/trellis2/dinov3.hpp"
#include "models/trellis2/flow_models.hpp"

using namespace tessera;
using namespace tessera::models;
using namespace tessera::models::trellis2;

namespace {

std::string source_path(const std::string& rel) { return test::source_dir() + "/" + rel; }

std::string read_text(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  EXPECT_TRUE(f.good()) << path;
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// "name [d0, d1]" lines (comments skipped), in file order.
std::vector<std::string> fixture(const std::string& name) {
  std::ifstream f(source_path("tests/fixtures/trellis2/" + name + ".txt"));
  EXPECT_TRUE(f.good()) << name;
  std::vector<std::string> out;
  std::string line;
  while (std::getline(f, line))
    if (!line.empty() && line[0] != '#') out.push_back(line);
  return out;
}

std::vector<std::string> tree(const Module& m) {
  std::vector<std::string> out;
  for (const auto& np : m.named_parameters())
    if (!np.param->optional) out.push_back(np.name + " " + shape_str(np.param->shape));
  return out;
}

// The per-model json of a preset role, as make_checkpoint writes it.
ModelConfig preset_model(const std::string& preset, const std::string& role) {
  JsonConfig root = JsonConfig::parse(preset_json(preset), preset);
  JsonConfig e = root.child("models").child(role);
  std::string text = "{\"name\": \"" + e.get<std::string>("name") + "\", \"args\": " + e.child("args").dump() + "}";
  return ModelConfig::parse(text, preset + ":" + role);
}

void expect_same(const std::vector<std::string>& got, const std::vector<std::string>& want, const std::string& what) {
  ASSERT_FALSE(want.empty()) << what;
  EXPECT_EQ(got.size(), want.size()) << what;
  for (size_t i = 0; i < std::min(got.size(), want.size()); ++i)
    ASSERT_EQ(got[i], want[i]) << what << ": entry " << i << " differs (order and shape are part of the contract)";
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    std::string m = e.what();
    EXPECT_EQ(m.find('\n'), std::string::npos) << m;
    return m;
  }
  ADD_FAILURE() << "no error";
  return "";
}

}  // namespace

TEST(Trellis2Modules, ReleasedTreesMatchOfficialStateDict) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"sparse_structure_flow_model", "ss_flow_img_dit_1_3B_64_bf16"},
      {"sparse_structure_decoder", "ss_dec_conv3d_16l8_fp16"},
      {"shape_slat_flow_model_512", "slat_flow_img2shape_dit_1_3B_bf16"},
      {"shape_slat_flow_model_1024", "slat_flow_img2shape_dit_1_3B_bf16"},
      {"tex_slat_flow_model_512", "slat_flow_imgshape2tex_dit_1_3B_bf16"},
      {"tex_slat_flow_model_1024", "slat_flow_imgshape2tex_dit_1_3B_bf16"},
      {"shape_slat_decoder", "shape_dec_next_dc_f16c32_fp16"},
      {"tex_slat_decoder", "tex_dec_next_dc_f16c32_fp16"},
  };
  for (const auto& [role, fx] : cases) {
    auto m = build_module(preset_model("released", role));
    expect_same(tree(*m), fixture(fx), role);
  }
  JsonConfig root = JsonConfig::parse(preset_json("released"), "released");
  Dinov3ViTModel dino(Dinov3Config::parse(JsonConfig::parse(root.child("image_cond_model").child("config").dump(), "dino")));
  expect_same(tree(dino), fixture("dinov3_vitl16"), "dinov3");
}

// Parameter counts of spec section 1.1 (computed there from the configs) and
// the names/shapes it quotes from third-party key dumps of the released files.
TEST(Trellis2Modules, CountsAndSampleNamesAgreeWithTheSpec) {
  const std::map<std::string, int64_t> counts = {{"sparse_structure_flow_model", 1292179976},
                                                 {"sparse_structure_decoder", 73671201},
                                                 {"shape_slat_flow_model_512", 1292253728},
                                                 {"tex_slat_flow_model_1024", 1292302880},
                                                 {"shape_slat_decoder", 474231463},
                                                 {"tex_slat_decoder", 474216006}};
  for (const auto& [role, n] : counts) EXPECT_EQ(build_module(preset_model("released", role))->num_elements(), n) << role;

  auto has = [](const Module& m, const std::string& name, const Shape& s) {
    for (const auto& np : m.named_parameters())
      if (np.name == name) return np.param->shape == s;
    return false;
  };
  auto ss = build_module(preset_model("released", "sparse_structure_flow_model"));
  EXPECT_TRUE(has(*ss, "t_embedder.mlp.0.weight", {1536, 256}));
  EXPECT_TRUE(has(*ss, "adaLN_modulation.1.weight", {9216, 1536}));
  EXPECT_TRUE(has(*ss, "input_layer.weight", {1536, 8}));
  EXPECT_TRUE(has(*ss, "out_layer.weight", {8, 1536}));
  EXPECT_TRUE(has(*ss, "blocks.29.modulation", {9216}));
  EXPECT_TRUE(has(*ss, "blocks.3.self_attn.to_qkv.weight", {4608, 1536}));
  EXPECT_TRUE(has(*ss, "blocks.3.self_attn.k_rms_norm.gamma", {12, 128}));
  EXPECT_TRUE(has(*ss, "blocks.3.cross_attn.to_kv.weight", {3072, 1024}));
  EXPECT_TRUE(has(*ss, "blocks.3.mlp.mlp.2.weight", {1536, 8192}));
  auto tex = build_module(preset_model("released", "tex_slat_flow_model_512"));
  EXPECT_TRUE(has(*tex, "input_layer.weight", {1536, 64}));
  EXPECT_TRUE(has(*tex, "out_layer.weight", {32, 1536}));
  auto sd = build_module(preset_model("released", "shape_slat_decoder"));
  EXPECT_TRUE(has(*sd, "from_latent.weight", {1024, 32}));
  EXPECT_TRUE(has(*sd, "output_layer.weight", {7, 64}));
  EXPECT_TRUE(has(*sd, "blocks.0.0.conv.weight", {1024, 3, 3, 3, 1024}));
  EXPECT_TRUE(has(*sd, "blocks.0.0.mlp.0.weight", {4096, 1024}));
  EXPECT_TRUE(has(*sd, "blocks.0.4.conv1.weight", {4096, 3, 3, 3, 1024}));
  EXPECT_TRUE(has(*sd, "blocks.0.4.conv2.weight", {512, 3, 3, 3, 512}));
  EXPECT_TRUE(has(*sd, "blocks.0.4.to_subdiv.weight", {8, 1024}));
  for (const char* up : {"blocks.1.16.to_subdiv.weight", "blocks.2.8.to_subdiv.weight", "blocks.3.4.to_subdiv.weight"})
    EXPECT_NE(tree(*sd).end(), std::find_if(tree(*sd).begin(), tree(*sd).end(),
                                            [&](const std::string& s) { return s.rfind(up, 0) == 0; }))
        << up;
  auto td = build_module(preset_model("released", "tex_slat_decoder"));
  EXPECT_TRUE(has(*td, "output_layer.weight", {6, 64}));
  EXPECT_FALSE(has(*td, "blocks.0.4.to_subdiv.weight", {8, 1024}));
}

TEST(Trellis2Modules, PresetsEmbeddedInTheBinaryMatchTheSourceFiles) {
  for (const char* p : {"tiny", "released"})
    EXPECT_EQ(preset_json(p), read_text(source_path(std::string("models/trellis2/presets/") + p + ".json"))) << p;
  EXPECT_NE(error_of([] { preset_json("huge"); }).find("unknown preset 'huge'; valid: tiny, released"), std::string::npos);
}

TEST(Trellis2Modules, AnySizeBuildsFromItsConfig) {
  // The tiny preset: same tree shape as the released one, just narrower.
  auto tiny = build_module(preset_model("tiny", "sparse_structure_flow_model"));
  auto rel = build_module(preset_model("released", "sparse_structure_flow_model"));
  auto strip = [](const std::vector<std::string>& v) {
    std::vector<std::string> names;
    for (const auto& s : v)
      if (s.find("blocks.") != 0 || s.find("blocks.0.") == 0 || s.find("blocks.1.") == 0) names.push_back(s.substr(0, s.find(' ')));
    return names;
  };
  EXPECT_EQ(strip(tree(*tiny)), strip(tree(*rel)));
  // num_heads absent -> model_channels / num_head_channels; mlp_ratio truncation as Python int().
  auto mc = ModelConfig::parse(R"({"name": "SLatFlowModel", "args": {"resolution": 4, "in_channels": 3,
      "model_channels": 96, "cond_channels": 8, "out_channels": 5, "num_blocks": 1, "num_head_channels": 32,
      "mlp_ratio": 1.99, "pe_mode": "rope"}})",
                               "inline.json");
  auto m = make_flow_model(mc);
  EXPECT_EQ(m->config().num_heads, 3);
  EXPECT_EQ(m->config().mlp_hidden(), 191);  // int(96 * 1.99) = int(191.04)
  auto t = tree(*m);
  EXPECT_NE(std::find(t.begin(), t.end(), "blocks.0.adaLN_modulation.1.weight [576, 96]"), t.end());  // share_mod false
  EXPECT_EQ(std::find(t.begin(), t.end(), "blocks.0.self_attn.q_rms_norm.gamma [3, 32]"), t.end());   // qk_rms_norm false
}

TEST(Trellis2Modules, ConfigErrorsNameTheKeyAndFile) {
  auto flow = [](const std::string& args) {
    return make_flow_model(ModelConfig::parse("{\"name\": \"SLatFlowModel\", \"args\": " + args + "}", "m.json"));
  };
  EXPECT_NE(error_of([&] { flow(R"({"resolution": 4, "in_channels": 3})"); }).find("m.json: missing required key 'args.model_channels'"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              flow(R"({"resolution": 4, "in_channels": 3, "model_channels": 10, "cond_channels": 8,
                       "out_channels": 5, "num_blocks": 1, "num_heads": 3})");
            }).find("model_channels 10 is not divisible by num_heads 3"),
            std::string::npos);
  // Unknown keys are logged, not errors.
  EXPECT_NO_THROW(flow(R"({"resolution": 4, "in_channels": 3, "model_channels": 8, "cond_channels": 8,
                           "out_channels": 5, "num_blocks": 1, "num_heads": 2, "brand_new_option": 7})"));
  EXPECT_NE(error_of([] {
              build_module(ModelConfig::parse(R"({"name": "SparseUnetVaeDecoder", "args": {"out_channels": 6,
                 "model_channels": [16, 8], "latent_channels": 4, "num_blocks": [1, 0],
                 "block_type": ["SparseSwinBlock", "SparseConvNeXtBlock3d"], "up_block_type": ["SparseResBlockC2S3d"],
                 "block_args": [{}, {}]}})",
                                              "d.json"));
            }).find("block_type[0] 'SparseSwinBlock' is not supported; valid: SparseConvNeXtBlock3d, SparseResBlock3d"),
            std::string::npos);
  std::string msg = error_of([] {
    build_module(ModelConfig::parse(R"({"name": "SparseUnetVaeDecoder", "args": {"out_channels": 6,
       "model_channels": [16, 8], "latent_channels": 4, "num_blocks": [1, 0],
       "block_type": ["SparseConvNeXtBlock3d", "SparseConvNeXtBlock3d"], "up_block_type": [],
       "block_args": [{}, {}]}})",
                                    "d.json"));
  });
  EXPECT_NE(msg.find("up_block_type of length 1"), std::string::npos) << msg;
  EXPECT_NE(error_of([] { build_module(ModelConfig::parse(R"({"name": "BiRefNet", "args": {}})", "x.json")); })
                .find("x.json: unknown model class 'BiRefNet'"),
            std::string::npos);
  EXPECT_NE(error_of([] {
              build_module(ModelConfig::parse(
                  R"({"name": "SparseStructureDecoder", "args": {"out_channels": 1, "latent_channels": 8,
                      "num_res_blocks": 1, "channels": [48], "norm_type": "group"}})",
                  "s.json"));
            }).find("norm_type \"group\" uses 32 groups, but a level has 48 channels"),
            std::string::npos);
}

TEST(Trellis2Modules, InitValuesAreDeterministicAndScaled) {
  auto a = init_values("blocks.0.mlp.mlp.0.weight", {256, 400}, 7);
  EXPECT_EQ(a, init_values("blocks.0.mlp.mlp.0.weight", {256, 400}, 7));
  EXPECT_NE(a, init_values("blocks.0.mlp.mlp.0.weight", {256, 400}, 8));
  EXPECT_NE(a, init_values("blocks.1.mlp.mlp.0.weight", {256, 400}, 7));
  double s = 0, s2 = 0;
  for (float v : a) s += v, s2 += double(v) * v;
  const double n = double(a.size()), mean = s / n, var = s2 / n - mean * mean;
  EXPECT_NEAR(mean, 0.0, 0.01);
  EXPECT_NEAR(var * 400, 1.0, 0.05);  // ~N(0, 1/fan_in)
  auto g = init_values("blocks.0.norm2.weight", {1000}, 7);
  double gm = 0;
  for (float v : g) gm += v;
  EXPECT_NEAR(gm / 1000, 1.0, 0.02);
}
