// JSON configs: JsonConfig accessors and errors, the official pipeline.json
// layout (TRELLIS.2), per-model json files, and checkpoint path resolution.
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/error.hpp"
#include "core/json_config.hpp"
#include "core/log.hpp"
#include "models/common/config.hpp"

using namespace tessera;
using namespace tessera::models;
namespace fs = std::filesystem;

namespace {

// Captures tessera's log output while alive.
struct LogCapture {
  std::ostringstream out;
  std::shared_ptr<spdlog::sinks::ostream_sink_mt> sink;
  spdlog::level::level_enum saved;
  LogCapture() {
    sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out);
    sink->set_pattern("%l %v");
    saved = log().level();
    log().set_level(spdlog::level::warn);
    log().sinks().push_back(sink);
  }
  ~LogCapture() {
    auto& s = log().sinks();
    s.erase(std::remove(s.begin(), s.end(), sink), s.end());
    log().set_level(saved);
  }
  std::string text() { return out.str(); }
};

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    std::string m = e.what();
    EXPECT_EQ(m.find('\n'), std::string::npos) << m;
    return m;
  }
  ADD_FAILURE() << "no error thrown";
  return "";
}

std::string tmp_dir(const std::string& name) {
  fs::path p = fs::path(::testing::TempDir()) / ("tessera_cfg_" + std::to_string(::getpid()) + "_" + name);
  fs::remove_all(p);
  fs::create_directories(p);
  return p.string();
}

void write_text(const std::string& path, const std::string& text) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream(path) << text;
}

// The official TRELLIS.2-4B pipeline.json layout (values from the spec, §1.2;
// normalisation vectors shortened to 3 entries).
const char* kPipeline = R"({
  "name": "Trellis2ImageTo3DPipeline",
  "args": {
    "models": {
      "sparse_structure_flow_model": "ckpts/ss_flow_img_dit_1_3B_64_bf16",
      "sparse_structure_decoder": "microsoft/TRELLIS-image-large/ckpts/ss_dec_conv3d_16l8_fp16",
      "shape_slat_flow_model_512": "ckpts/slat_flow_img2shape_dit_1_3B_512_bf16",
      "shape_slat_flow_model_1024": "ckpts/slat_flow_img2shape_dit_1_3B_1024_bf16",
      "tex_slat_flow_model_512": "ckpts/slat_flow_imgshape2tex_dit_1_3B_512_bf16",
      "tex_slat_flow_model_1024": "ckpts/slat_flow_imgshape2tex_dit_1_3B_1024_bf16",
      "shape_slat_decoder": "ckpts/shape_dec_next_dc_f16c32_fp16",
      "tex_slat_decoder": "ckpts/tex_dec_next_dc_f16c32_fp16"
    },
    "sparse_structure_sampler": {
      "name": "FlowEulerGuidanceIntervalSampler",
      "args": {"sigma_min": 1e-5},
      "params": {"steps": 12, "guidance_strength": 7.5, "guidance_rescale": 0.7, "guidance_interval": [0.6, 1.0], "rescale_t": 5.0}
    },
    "shape_slat_sampler": {
      "name": "FlowEulerGuidanceIntervalSampler",
      "args": {"sigma_min": 1e-5},
      "params": {"steps": 12, "guidance_strength": 7.5, "guidance_rescale": 0.5, "guidance_interval": [0.6, 1.0], "rescale_t": 3.0}
    },
    "tex_slat_sampler": {
      "name": "FlowEulerGuidanceIntervalSampler",
      "args": {"sigma_min": 1e-5},
      "params": {"steps": 12, "guidance_strength": 1.0, "guidance_rescale": 0.0, "guidance_interval": [0.6, 0.9], "rescale_t": 3.0}
    },
    "shape_slat_normalization": {"mean": [0.781296, -0.1, 0.2], "std": [5.0, 4.5, 4.0]},
    "tex_slat_normalization": {"mean": [3.501659, 0.0, 0.1], "std": [2.0, 2.0, 2.0]},
    "image_cond_model": {"name": "DinoV3FeatureExtractor", "args": {"model_name": "facebook/dinov3-vitl16-pretrain-lvd1689m"}},
    "rembg_model": {"name": "BiRefNet", "args": {"model_name": "briaai/RMBG-2.0"}},
    "default_pipeline_type": "1024_cascade"
  }
})";

}  // namespace

// ---- JsonConfig ----------------------------------------------------------------------

TEST(JsonConfig, TypedGetters) {
  auto c = JsonConfig::parse(R"({"i": 3, "f": 2.5, "fi": 4.0, "b": true, "s": "x", "v": [1, 2], "vf": [0.5, 1],
                                 "vs": ["a"], "o": {"k": 1}, "n": null, "big": 9007199254740993})",
                             "t.json");
  EXPECT_EQ(c.get<int>("i"), 3);
  EXPECT_EQ(c.get<int64_t>("fi"), 4);  // integral float accepted as an integer
  EXPECT_DOUBLE_EQ(c.get<double>("f"), 2.5);
  EXPECT_DOUBLE_EQ(c.get<double>("i"), 3.0);  // integer accepted as a float
  EXPECT_FLOAT_EQ(c.get<float>("f"), 2.5f);
  EXPECT_TRUE(c.get<bool>("b"));
  EXPECT_EQ(c.get<std::string>("s"), "x");
  EXPECT_EQ(c.get<std::vector<int>>("v"), (std::vector<int>{1, 2}));
  EXPECT_EQ(c.get<std::vector<int64_t>>("v"), (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(c.get<std::vector<double>>("vf"), (std::vector<double>{0.5, 1.0}));
  EXPECT_EQ(c.get<std::vector<float>>("vf"), (std::vector<float>{0.5f, 1.0f}));
  EXPECT_EQ(c.get<std::vector<std::string>>("vs"), (std::vector<std::string>{"a"}));
  EXPECT_EQ(c.get<int64_t>("big"), 9007199254740993ll);
  EXPECT_EQ(c.get_or<int>("missing", 7), 7);
  EXPECT_EQ(c.get_or<int>("n", 8), 8);  // null counts as absent
  EXPECT_EQ(c.get_or<int>("i", 9), 3);
  EXPECT_TRUE(c.has("o"));
  EXPECT_TRUE(c.is_null("n"));
  EXPECT_EQ(c.child("o").get<int>("k"), 1);
  EXPECT_EQ(c.child("o").where(), "t.json: key 'o'");
  EXPECT_TRUE(c.child_or_empty("zz").keys().empty());
}

TEST(JsonConfig, MissingAndWrongTypesNameKeyAndFile) {
  auto c = JsonConfig::parse(R"({"i": 3.5, "s": 1, "o": {"deep": {"x": "y"}}, "v": [1, "a"], "big": 3000000000})", "model.json");
  EXPECT_EQ(error_of([&] { c.get<int>("nope"); }), "model.json: missing required key 'nope'");
  EXPECT_EQ(error_of([&] { c.child("o").child("deep").get<int>("z"); }), "model.json: missing required key 'o.deep.z'");
  EXPECT_EQ(error_of([&] { c.get<int>("i"); }), "model.json: key 'i' must be an integer, found 3.5");
  EXPECT_EQ(error_of([&] { c.get<std::string>("s"); }), "model.json: key 's' must be a string, found an integer");
  EXPECT_EQ(error_of([&] { c.child("s"); }), "model.json: key 's' must be an object, found an integer");
  EXPECT_EQ(error_of([&] { c.get<std::vector<int>>("v"); }), "model.json: key 'v[1]' must be an integer, found a string");
  EXPECT_NE(error_of([&] { c.get<int>("big"); }).find("out of range for a 32-bit integer"), std::string::npos);
  EXPECT_EQ(error_of([&] { c.get_or<bool>("s", false); }), "model.json: key 's' must be a boolean, found an integer");
}

TEST(JsonConfig, ParseErrorsNameFileAndPosition) {
  EXPECT_EQ(error_of([] { JsonConfig::parse("{\n  \"a\": 1,\n  \"b\": }\n", "p.json"); }).rfind("p.json: invalid JSON at line 3, column 8", 0), 0u);
  EXPECT_NE(error_of([] { JsonConfig::parse("[1, 2]", "arr.json"); }).find("arr.json: expected a JSON object at the top level, found an array"),
            std::string::npos);
  EXPECT_NE(error_of([] { JsonConfig::parse("", "empty.json"); }).find("empty.json: invalid JSON"), std::string::npos);
  EXPECT_NE(error_of([] { JsonConfig::parse("{\"a\": \"\xff\"}", "u.json"); }).find("u.json: invalid JSON"), std::string::npos);
  EXPECT_NE(error_of([] { JsonConfig::parse(std::string(100, '[') + std::string(100, ']'), "d.json"); }).find("nested deeper"),
            std::string::npos);
  EXPECT_NE(error_of([] { JsonConfig::parse("{\"a\": NaN}", "nan.json"); }).find("nan.json: invalid JSON"), std::string::npos);
  EXPECT_NE(error_of([] { JsonConfig::load_file("/nonexistent/x.json"); }).find("cannot open config file '/nonexistent/x.json'"),
            std::string::npos);
}

TEST(JsonConfig, UnknownKeysAreLoggedNotErrors) {
  LogCapture cap;
  auto c = JsonConfig::parse(R"({"known": 1, "typo_key": 2, "sub": {"a": 1, "b": 2}})", "u.json");
  c.get<int>("known");
  c.child("sub").get<int>("a");
  EXPECT_EQ(c.unused_keys(), (std::vector<std::string>{"typo_key"}));
  EXPECT_EQ(c.report_unknown_keys(), 2u);
  std::string log_text = cap.text();
  EXPECT_NE(log_text.find("u.json: unknown keys ignored: typo_key"), std::string::npos) << log_text;
  EXPECT_NE(log_text.find("u.json: unknown keys ignored: sub.b"), std::string::npos) << log_text;
}

// ---- pipeline.json -----------------------------------------------------------------------

TEST(PipelineConfig, OfficialLayout) {
  LogCapture cap;
  PipelineConfig p = PipelineConfig::parse(kPipeline, "TRELLIS.2-4B/pipeline.json");
  EXPECT_EQ(p.name, "Trellis2ImageTo3DPipeline");
  EXPECT_EQ(p.directory, "TRELLIS.2-4B");
  ASSERT_EQ(p.models.size(), 8u);
  EXPECT_EQ(p.model("shape_slat_decoder"), "ckpts/shape_dec_next_dc_f16c32_fp16");
  EXPECT_EQ(p.model("sparse_structure_decoder"), "microsoft/TRELLIS-image-large/ckpts/ss_dec_conv3d_16l8_fp16");
  EXPECT_TRUE(p.has_model("tex_slat_flow_model_512"));
  const SamplerConfig& ss = p.sampler("sparse_structure_sampler");
  EXPECT_EQ(ss.name, "FlowEulerGuidanceIntervalSampler");
  EXPECT_DOUBLE_EQ(ss.sigma_min, 1e-5);
  EXPECT_EQ(ss.steps, 12);
  EXPECT_DOUBLE_EQ(ss.guidance_strength, 7.5);
  EXPECT_DOUBLE_EQ(ss.guidance_rescale, 0.7);
  EXPECT_DOUBLE_EQ(ss.guidance_interval[0], 0.6);
  EXPECT_DOUBLE_EQ(ss.guidance_interval[1], 1.0);
  EXPECT_DOUBLE_EQ(ss.rescale_t, 5.0);
  EXPECT_DOUBLE_EQ(p.sampler("shape_slat_sampler").guidance_rescale, 0.5);
  EXPECT_DOUBLE_EQ(p.sampler("tex_slat_sampler").guidance_interval[1], 0.9);
  EXPECT_DOUBLE_EQ(p.sampler("tex_slat_sampler").guidance_strength, 1.0);
  EXPECT_EQ(p.normalization("shape_slat_normalization").mean.size(), 3u);
  EXPECT_DOUBLE_EQ(p.normalization("tex_slat_normalization").mean[0], 3.501659);
  ASSERT_TRUE(p.image_cond_model.has_value());
  EXPECT_EQ(p.image_cond_model->name, "DinoV3FeatureExtractor");
  EXPECT_EQ(p.image_cond_model->model_name(), "facebook/dinov3-vitl16-pretrain-lvd1689m");
  ASSERT_TRUE(p.rembg_model.has_value());
  EXPECT_EQ(p.rembg_model->model_name(), "briaai/RMBG-2.0");
  EXPECT_EQ(p.default_pipeline_type, "1024_cascade");
  EXPECT_TRUE(p.low_vram);
  EXPECT_NO_THROW(p.require_trellis2_image());
  EXPECT_EQ(cap.text(), "");  // nothing unknown in the official layout
}

TEST(PipelineConfig, DefaultsUnknownKeysAndErrors) {
  LogCapture cap;
  // Minimal: params default like the Python sampler's signature; an unknown key is logged.
  PipelineConfig p = PipelineConfig::parse(R"({"args": {"models": {"m": "ckpts/m"},
      "x_sampler": {"name": "FlowEulerSampler", "args": {"sigma_min": 0.001}, "params": {"stepz": 3}},
      "low_vram": false, "new_thing": 1}})", "mini.json");
  EXPECT_EQ(p.sampler("x_sampler").steps, 50);
  EXPECT_DOUBLE_EQ(p.sampler("x_sampler").rescale_t, 1.0);
  EXPECT_DOUBLE_EQ(p.sampler("x_sampler").guidance_interval[1], 1.0);
  EXPECT_FALSE(p.low_vram);
  EXPECT_EQ(p.default_pipeline_type, "");
  EXPECT_NE(cap.text().find("new_thing"), std::string::npos) << cap.text();
  EXPECT_NE(cap.text().find("args.x_sampler.params.stepz"), std::string::npos) << cap.text();
  // Missing required pieces: the key and the file are named.
  EXPECT_EQ(error_of([&] { p.require_trellis2_image(); }), "mini.json: missing required key 'args.models.sparse_structure_flow_model'");
  EXPECT_EQ(error_of([&] { p.sampler("shape_slat_sampler"); }), "mini.json: missing required key 'args.shape_slat_sampler'");
  EXPECT_EQ(error_of([] { PipelineConfig::parse(R"({"name": "x"})", "p.json"); }), "p.json: missing required key 'args'");
  EXPECT_EQ(error_of([] { PipelineConfig::parse(R"({"args": {}})", "p.json"); }), "p.json: missing required key 'args.models'");
  EXPECT_EQ(error_of([] { PipelineConfig::parse(R"({"args": {"models": {"a": 1}}})", "p.json"); }),
            "p.json: key 'args.models.a' must be a string, found an integer");
  EXPECT_EQ(error_of([] {
              PipelineConfig::parse(R"({"args": {"models": {"a": "b"}, "s_sampler": {"name": "F", "args": {}, "params": {}}}})", "p.json");
            }),
            "p.json: missing required key 'args.s_sampler.args.sigma_min'");
  EXPECT_EQ(error_of([] {
              PipelineConfig::parse(R"({"args": {"models": {"a": "b"}, "s_sampler": {"name": "F", "args": {"sigma_min": 0}}}})", "p.json");
            }),
            "p.json: missing required key 'args.s_sampler.params'");
  EXPECT_NE(error_of([] {
              PipelineConfig::parse(R"({"args": {"models": {"a": "b"}, "s_sampler": {"name": "F", "args": {"sigma_min": 0},
                                    "params": {"guidance_interval": [0.5]}}}})", "p.json");
            }).find("must hold 2 numbers"),
            std::string::npos);
  EXPECT_NE(error_of([] {
              PipelineConfig::parse(R"({"args": {"models": {"a": "b"}, "n_normalization": {"mean": [1, 2], "std": [1]}}})", "p.json");
            }).find("mean has 2 values but std has 1"),
            std::string::npos);
}

TEST(ModelConfig, NameAndArgs) {
  LogCapture cap;
  std::string dir = tmp_dir("model");
  write_text(dir + "/ss.json", R"({"name": "SparseStructureFlowModel", "args": {"resolution": 16, "model_channels": 1536,
      "mlp_ratio": 5.3334, "pe_mode": "rope", "share_mod": true}, "extra_top": 1})");
  ModelConfig m = ModelConfig::load(dir + "/ss.json");
  EXPECT_EQ(m.name, "SparseStructureFlowModel");
  EXPECT_EQ(m.args.get<int>("resolution"), 16);
  EXPECT_DOUBLE_EQ(m.args.get<double>("mlp_ratio"), 5.3334);
  EXPECT_EQ(m.args.get<std::string>("pe_mode"), "rope");
  EXPECT_TRUE(m.args.get<bool>("share_mod"));
  EXPECT_EQ(m.args.get_or<bool>("qk_rms_norm", false), false);
  EXPECT_NE(cap.text().find("unknown top-level key 'extra_top'"), std::string::npos) << cap.text();
  // A model class reports the args it did not read.
  m.args.report_unknown_keys("SparseStructureFlowModel");
  EXPECT_NE(cap.text().find("(SparseStructureFlowModel): unknown keys ignored"), std::string::npos) << cap.text();
  EXPECT_NE(cap.text().find("args.model_channels"), std::string::npos) << cap.text();
  EXPECT_EQ(error_of([&] { m.args.get<int>("num_blocks"); }), dir + "/ss.json: missing required key 'args.num_blocks'");
  EXPECT_EQ(error_of([] { ModelConfig::parse(R"({"args": {}})", "m.json"); }), "m.json: missing required key 'name'");
  EXPECT_EQ(error_of([] { ModelConfig::parse(R"({"name": "X"})", "m.json"); }), "m.json: missing required key 'args'");
  fs::remove_all(dir);
}

TEST(PipelineConfig, ResolvesModelFiles) {
  std::string root = tmp_dir("resolve");
  std::string repo = root + "/TRELLIS.2-4B";
  write_text(repo + "/pipeline.json", kPipeline);
  write_text(repo + "/ckpts/shape_dec_next_dc_f16c32_fp16.json", "{}");
  write_text(repo + "/ckpts/shape_dec_next_dc_f16c32_fp16.safetensors", "");
  // The TRELLIS v1 decoder downloaded next to it (huggingface-cli --local-dir layout).
  write_text(root + "/TRELLIS-image-large/ckpts/ss_dec_conv3d_16l8_fp16.json", "{}");
  write_text(root + "/TRELLIS-image-large/ckpts/ss_dec_conv3d_16l8_fp16.safetensors", "");
  // A Hugging Face cache snapshot.
  std::string cache = root + "/hfcache";
  write_text(cache + "/models--owner--other/snapshots/abc123/ckpts/m.json", "{}");
  write_text(cache + "/models--owner--other/snapshots/abc123/ckpts/m.safetensors", "");

  PipelineConfig p = PipelineConfig::load(repo + "/pipeline.json");
  ModelFiles f = resolve_model_files(p.directory, p.model("shape_slat_decoder"));
  EXPECT_EQ(fs::path(f.safetensors), fs::path(repo) / "ckpts/shape_dec_next_dc_f16c32_fp16.safetensors");
  ModelFiles g = resolve_model_files(p.directory, p.model("sparse_structure_decoder"));
  EXPECT_EQ(fs::weakly_canonical(g.json), fs::weakly_canonical(root + "/TRELLIS-image-large/ckpts/ss_dec_conv3d_16l8_fp16.json"));
  setenv("HF_HUB_CACHE", cache.c_str(), 1);
  ModelFiles h = resolve_model_files(p.directory, "owner/other/ckpts/m");
  unsetenv("HF_HUB_CACHE");
  EXPECT_EQ(fs::path(h.safetensors), fs::path(cache) / "models--owner--other/snapshots/abc123/ckpts/m.safetensors");
  // Explicit roots hold owner/repo/sub/path.
  write_text(root + "/models/owner/third/ckpts/q.json", "{}");
  write_text(root + "/models/owner/third/ckpts/q.safetensors", "");
  ModelFiles r = resolve_model_files(p.directory, "owner/third/ckpts/q", {root + "/nothing", root + "/models"});
  EXPECT_EQ(fs::path(r.json), fs::path(root) / "models/owner/third/ckpts/q.json");
  std::string msg = error_of([&] { resolve_model_files(p.directory, p.model("tex_slat_decoder")); });
  EXPECT_NE(msg.find("model 'ckpts/tex_dec_next_dc_f16c32_fp16': no {json, safetensors} pair found"), std::string::npos) << msg;
  EXPECT_NE(msg.find("TESSERA_MODEL_ROOT"), std::string::npos) << msg;
  fs::remove_all(root);
}
