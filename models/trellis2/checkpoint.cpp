#include "models/trellis2/checkpoint.hpp"

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include <tbb/parallel_for.h>

#include "core/error.hpp"
#include "core/log.hpp"
#include "core/safetensors.hpp"
#include "models/trellis2/flow_models.hpp"
#include "models/trellis2/sc_vae_decoder.hpp"
#include "models/trellis2/ss_decoder.hpp"

namespace tessera::models::trellis2 {

namespace presets {
extern const char* const kTiny;
extern const char* const kReleased;
}  // namespace presets

namespace fs = std::filesystem;

std::unique_ptr<Module> build_module(const ModelConfig& mc, DType wdt) {
  if (mc.name == "SparseStructureFlowModel" || mc.name == "SLatFlowModel" || mc.name == "ElasticSLatFlowModel")
    return make_flow_model(mc, wdt);
  if (mc.name == "SparseStructureDecoder") return make_ss_decoder(mc, wdt);
  if (mc.name == "SparseUnetVaeDecoder" || mc.name == "FlexiDualGridVaeDecoder") return make_sc_vae_decoder(mc, wdt);
  fail("{}: unknown model class '{}'; valid: SparseStructureFlowModel, SLatFlowModel, ElasticSLatFlowModel, "
       "SparseStructureDecoder, SparseUnetVaeDecoder, FlexiDualGridVaeDecoder",
       printable(mc.path, 200), printable(mc.name, 80));
}

const std::vector<std::string>& pipeline_roles() {
  static const std::vector<std::string> r = {"sparse_structure_flow_model", "sparse_structure_decoder",
                                             "shape_slat_flow_model_512",   "shape_slat_flow_model_1024",
                                             "tex_slat_flow_model_512",     "tex_slat_flow_model_1024",
                                             "shape_slat_decoder",          "tex_slat_decoder"};
  return r;
}

ModelConfig role_config(const PipelineConfig& p, const std::string& role) {
  return ModelConfig::load(resolve_model_files(p.directory, p.model(role)).json);
}

std::unique_ptr<Module> load_role(const PipelineConfig& p, const std::string& role, Device& dev, DType wdt,
                                  ExtraTensorPolicy extra) {
  ModelFiles f = resolve_model_files(p.directory, p.model(role));
  ModelConfig mc = ModelConfig::load(f.json);
  auto m = build_module(mc, wdt);
  SafetensorsFile file(f.safetensors);
  LoadOptions o;
  o.extra = extra;
  m->load_state(file, dev, o);
  return m;
}

std::string find_image_encoder_dir(const PipelineConfig& p) {
  TESSERA_CHECK(p.image_cond_model.has_value(), "{}: missing required key 'args.image_cond_model'",
                printable(p.path, 200));
  const std::string name = p.image_cond_model->model_name();
  TESSERA_CHECK(!name.empty(), "{}: missing required key 'args.image_cond_model.args.model_name'", printable(p.path, 200));
  std::vector<fs::path> tried = {fs::path(p.directory) / name};
  if (const char* r = std::getenv("TESSERA_MODEL_ROOT")) tried.push_back(fs::path(r) / name);
  std::error_code ec;
  for (const auto& d : tried)
    if (fs::is_regular_file(d / "config.json", ec) && fs::is_regular_file(d / "model.safetensors", ec)) return d.string();
  std::string list;
  for (size_t i = 0; i < tried.size(); ++i) list += (i ? ", " : "") + printable(tried[i].string(), 200);
  fail("image encoder '{}': no config.json + model.safetensors found (tried {}); download it (docs/checkpoints.md) or "
       "set TESSERA_MODEL_ROOT",
       printable(name, 200), list);
}

std::unique_ptr<Dinov3ViTModel> load_image_encoder(const PipelineConfig& p, Device& dev, ExtraTensorPolicy extra) {
  fs::path d = find_image_encoder_dir(p);
  auto m = make_dinov3((d / "config.json").string());
  SafetensorsFile file((d / "model.safetensors").string());
  LoadOptions o;
  o.extra = extra;
  m->load_state(file, dev, o);
  return m;
}

std::string preset_json(const std::string& name) {
  if (name == "tiny") return presets::kTiny;
  if (name == "released") return presets::kReleased;
  fail("unknown preset '{}'; valid: tiny, released (or a preset json file)", printable(name, 80));
}

// ---- deterministic random weights --------------------------------------------------------

namespace {

uint64_t splitmix64(uint64_t& s) {
  uint64_t z = (s += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

uint64_t fnv1a(const std::string& s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h;
}

bool ends_with(const std::string& s, const std::string& x) {
  return s.size() >= x.size() && s.compare(s.size() - x.size(), x.size(), x) == 0;
}

}  // namespace

std::vector<float> init_values(const std::string& name, const Shape& shape, uint64_t seed) {
  const int64_t n = shape_numel(shape);
  std::vector<float> v(static_cast<size_t>(n));
  uint64_t s = seed ^ fnv1a(name);
  // Box-Muller on splitmix64 uniforms: platform-independent (std::normal_distribution is not).
  auto normal = [&]() {
    double u1 = (double(splitmix64(s) >> 11) + 0.5) * (1.0 / 9007199254740992.0);
    double u2 = double(splitmix64(s) >> 11) * (1.0 / 9007199254740992.0);
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  };
  const std::string leaf = name.substr(name.rfind('.') == std::string::npos ? 0 : name.rfind('.') + 1);
  double mean = 0, stdv;
  if (leaf == "bias") {
    stdv = 0.02;
  } else if (leaf == "gamma" || (leaf == "weight" && shape.size() == 1)) {  // RMS gammas, norm affines
    mean = 1.0;
    stdv = 0.1;
  } else if (leaf == "modulation") {  // official init: randn / sqrt(C), here over 6C
    stdv = 1.0 / std::sqrt(double(n) / 6.0);
  } else if (leaf == "lambda1") {  // DINOv3 layer scale
    mean = 0.1;
    stdv = 0.01;
  } else if (ends_with(name, "_token") || ends_with(name, "_tokens") || leaf == "pos_emb") {
    stdv = 0.5;
  } else {
    // Matrices and kernels: fan_in = all dims but the first ([out, in],
    // [out, in, k, k, k], FlexGEMM [out, k, k, k, in]).
    int64_t fan_in = 1;
    for (size_t i = 1; i < shape.size(); ++i) fan_in *= shape[i];
    stdv = 1.0 / std::sqrt(double(std::max<int64_t>(fan_in, 1)));
  }
  for (int64_t i = 0; i < n; ++i) v[size_t(i)] = float(mean + stdv * normal());
  return v;
}

// ---- make_checkpoint ---------------------------------------------------------------------

namespace {

void write_text(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  fs::path tmp = p.string() + ".tmp";
  {
    std::ofstream f(tmp, std::ios::binary);
    TESSERA_CHECK(f.good(), "cannot write '{}'", printable(tmp.string(), 200));
    f << text;
    TESSERA_CHECK(f.good(), "cannot write '{}'", printable(tmp.string(), 200));
  }
  fs::rename(tmp, p);
}

StDType st_of(DType d) {
  switch (d) {
    case DType::f32: return StDType::F32;
    case DType::f16: return StDType::F16;
    case DType::bf16: return StDType::BF16;
    default: fail("make-checkpoint: dtype {} is not a float type", dtype_name(d));
  }
}

// Random tensors for every parameter of `m`, written as one safetensors file in `dt`.
// `constants`: parameters filled with one value instead of the random init
// (a preset's models.<role>.init, e.g. a decoder's output bias).
int64_t write_weights(const Module& m, const fs::path& path, DType dt, uint64_t seed,
                      const std::map<std::string, double>& constants = {}) {
  fs::create_directories(path.parent_path());
  std::vector<const Module::NamedParameter*> todo;
  const auto params = m.named_parameters();
  for (const auto& np : params)
    if (!np.param->optional) todo.push_back(&np);  // derived buffers (pos_emb) are not written
  // Each tensor's values depend only on (name, shape, seed): generate them in
  // parallel (a released flow has 1.3 B values), write in order.
  std::vector<std::vector<uint8_t>> store(todo.size());
  tbb::parallel_for(size_t(0), todo.size(), [&](size_t t) {
    const auto& np = *todo[t];
    std::vector<float> v = init_values(np.name, np.param->shape, seed);
    if (auto c = constants.find(np.name); c != constants.end()) std::fill(v.begin(), v.end(), float(c->second));
    std::vector<uint8_t> bytes(v.size() * dtype_size(dt));
    if (dt == DType::f32) {
      std::memcpy(bytes.data(), v.data(), bytes.size());
    } else {
      auto* o = reinterpret_cast<uint16_t*>(bytes.data());
      for (size_t i = 0; i < v.size(); ++i) o[i] = dt == DType::f16 ? f32_to_f16(v[i]) : f32_to_bf16(v[i]);
    }
    store[t] = std::move(bytes);
  });
  std::vector<SafetensorsEntry> es;
  int64_t total = 0;
  for (size_t t = 0; t < todo.size(); ++t) {
    total += shape_numel(todo[t]->param->shape);
    es.push_back(SafetensorsEntry::from_host(todo[t]->name, st_of(dt), todo[t]->param->shape, store[t].data()));
  }
  write_safetensors(path.string(), es, {{"format", "pt"}, {"generator", "tessera make-checkpoint"}});
  return total;
}

const char* kPipelineTail = R"JSON(
  "sparse_structure_sampler": {"name": "FlowEulerGuidanceIntervalSampler", "args": {"sigma_min": 1e-05},
    "params": {"steps": 12, "guidance_strength": 7.5, "guidance_rescale": 0.7, "guidance_interval": [0.6, 1.0], "rescale_t": 5.0}},
  "shape_slat_sampler": {"name": "FlowEulerGuidanceIntervalSampler", "args": {"sigma_min": 1e-05},
    "params": {"steps": 12, "guidance_strength": 7.5, "guidance_rescale": 0.5, "guidance_interval": [0.6, 1.0], "rescale_t": 3.0}},
  "tex_slat_sampler": {"name": "FlowEulerGuidanceIntervalSampler", "args": {"sigma_min": 1e-05},
    "params": {"steps": 12, "guidance_strength": 1.0, "guidance_rescale": 0.0, "guidance_interval": [0.6, 0.9], "rescale_t": 3.0}},
  "rembg_model": {"name": "BiRefNet", "args": {"model_name": "briaai/RMBG-2.0"}},
  "default_pipeline_type": "1024_cascade",)JSON";

std::string json_numbers(const std::vector<double>& v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + fmt::format("{}", v[i]);
  return s + "]";
}

}  // namespace

std::vector<WrittenModel> make_checkpoint(const std::string& preset, const std::string& dir,
                                          const MakeCheckpointOptions& opts) {
  std::string text, source;
  if (preset == "tiny" || preset == "released") {
    text = preset_json(preset);
    source = "preset '" + preset + "'";
  } else {
    std::error_code ec;
    if (!fs::is_regular_file(preset, ec))
      fail("--config '{}': not a preset (tiny, released) and not a preset json file", printable(preset, 200));
    JsonConfig::load_file(preset);  // size/syntax checks with the file name
    std::ifstream f(preset, std::ios::binary);
    std::stringstream ss;
    ss << f.rdbuf();
    text = ss.str();
    source = preset;
  }
  JsonConfig root = JsonConfig::parse(text, source);
  root.mark_used("_comment");
  JsonConfig models = root.child("models");
  const fs::path out(dir);
  fs::create_directories(out);

  std::vector<WrittenModel> written;
  std::string models_json;
  int64_t shape_latent = 0, tex_latent = 0;
  for (const auto& role : pipeline_roles()) {
    JsonConfig e = models.child(role);
    const std::string path = e.get<std::string>("path");
    TESSERA_CHECK(!path.empty() && path.find("..") == std::string::npos && path[0] != '/',
                  "{}: models.{}.path '{}' must be a relative path inside the directory", source, role, path);
    // The per-model json: exactly {"name", "args"} as the official files.
    JsonConfig args = e.child("args");
    for (const auto& k : args.keys()) args.mark_used(k);  // read by the model class below
    const std::string name = e.get<std::string>("name");
    std::string model_json = fmt::format("{{\"name\": \"{}\", \"args\": {}}}\n", name, args.dump());
    ModelConfig mc = ModelConfig::parse(model_json, source + ": models." + role);
    auto m = build_module(mc);
    if (role == "shape_slat_flow_model_512") shape_latent = static_cast<FlowModelBase&>(*m).config().out_channels;
    if (role == "tex_slat_flow_model_512") tex_latent = static_cast<FlowModelBase&>(*m).config().out_channels;
    DType dt = opts.dtype ? *opts.dtype
                          : (name == "SparseStructureDecoder" || name == "SparseUnetVaeDecoder" ||
                                     name == "FlexiDualGridVaeDecoder"
                                 ? DType::f16
                                 : DType::bf16);
    WrittenModel w;
    w.role = role;
    w.json = (out / (path + ".json")).string();
    w.safetensors = (out / (path + ".safetensors")).string();
    write_text(w.json, model_json);
    std::map<std::string, double> constants;
    if (e.has("init")) {
      JsonConfig ini = e.child("init");
      for (const auto& k : ini.keys()) {
        bool found = false;
        for (const auto& np : m->named_parameters()) found = found || np.name == k;
        TESSERA_CHECK(found, "{}: models.{}.init names '{}', which is not a parameter of {}", source, role, k, name);
        constants[k] = ini.get<double>(k);
      }
    }
    w.params = write_weights(*m, w.safetensors, dt, opts.seed ^ fnv1a(role), constants);
    written.push_back(w);
    models_json += fmt::format("{}\n    \"{}\": \"{}\"", models_json.empty() ? "" : ",", role, path);
  }
  models.report_unknown_keys("preset models");

  // DINOv3 in Hugging Face layout.
  JsonConfig ic = root.child("image_cond_model");
  const std::string enc_name = ic.get<std::string>("model_name");
  TESSERA_CHECK(!enc_name.empty() && enc_name.find("..") == std::string::npos && enc_name[0] != '/',
                "{}: image_cond_model.model_name '{}' must be a relative name", source, enc_name);
  JsonConfig enc_cfg = ic.child("config");
  for (const auto& k : enc_cfg.keys()) enc_cfg.mark_used(k);  // read by Dinov3Config below
  {
    const std::string cfg_text = enc_cfg.dump();
    Dinov3ViTModel enc(Dinov3Config::parse(JsonConfig::parse(cfg_text, source + ": image_cond_model.config")));
    WrittenModel w;
    w.role = "image_cond_model";
    w.json = (out / enc_name / "config.json").string();
    w.safetensors = (out / enc_name / "model.safetensors").string();
    write_text(w.json, cfg_text + "\n");
    w.params = write_weights(enc, w.safetensors, opts.dtype ? *opts.dtype : DType::f32, opts.seed ^ fnv1a(enc_name));
    written.push_back(w);
  }

  // Normalisations: from the preset, or seeded (mean ~N(0,1), std in [1, 2)).
  auto norm = [&](const std::string& key, int64_t channels) {
    std::vector<double> mean, stdv;
    if (root.has(key)) {
      JsonConfig n = root.child(key);
      mean = n.get<std::vector<double>>("mean");
      stdv = n.get<std::vector<double>>("std");
    } else {
      auto r = init_values(key, {2, channels}, opts.seed);
      for (int64_t i = 0; i < channels; ++i) {
        mean.push_back(double(r[size_t(i)]));
        stdv.push_back(1.0 + std::fabs(double(r[size_t(channels + i)])) * 0.5);
      }
    }
    TESSERA_CHECK(int64_t(mean.size()) == channels && int64_t(stdv.size()) == channels,
                  "{}: {} must hold {} values (the latent channels), found {} / {}", source, key, channels, mean.size(),
                  stdv.size());
    return fmt::format("  \"{}\": {{\"mean\": {}, \"std\": {}}},", key, json_numbers(mean), json_numbers(stdv));
  };
  std::string pipeline = "{\n\"name\": \"Trellis2ImageTo3DPipeline\",\n\"args\": {\n  \"models\": {" + models_json +
                         "\n  }," + kPipelineTail + "\n" + norm("shape_slat_normalization", shape_latent) + "\n" +
                         norm("tex_slat_normalization", tex_latent) + "\n" +
                         fmt::format("  \"image_cond_model\": {{\"name\": \"DinoV3FeatureExtractor\", \"args\": "
                                     "{{\"model_name\": \"{}\"}}}}\n}}\n}}\n",
                                     enc_name);
  // Validate what we wrote with the same reader the runtime uses.
  PipelineConfig pc = PipelineConfig::parse(pipeline, (out / "pipeline.json").string());
  pc.require_trellis2_image();
  write_text(out / "pipeline.json", pipeline);
  root.report_unknown_keys(source);
  return written;
}

}  // namespace tessera::models::trellis2
