#include "models/common/config.hpp"

#include <cstdlib>
#include <filesystem>
#include <system_error>

#include "core/error.hpp"
#include "core/log.hpp"
#include "core/safetensors.hpp"  // printable()

namespace tessera::models {

namespace fs = std::filesystem;

namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

SamplerConfig parse_sampler(const JsonConfig& args, const std::string& key) {
  JsonConfig b = args.child(key);
  SamplerConfig s;
  s.key = key;
  s.name = b.get<std::string>("name");
  s.args = b.child("args");
  s.sigma_min = s.args.get<double>("sigma_min");
  s.params = b.child("params");
  s.steps = s.params.get_or<int>("steps", s.steps);
  s.guidance_strength = s.params.get_or<double>("guidance_strength", s.guidance_strength);
  s.guidance_rescale = s.params.get_or<double>("guidance_rescale", s.guidance_rescale);
  s.rescale_t = s.params.get_or<double>("rescale_t", s.rescale_t);
  if (s.params.has("guidance_interval")) {
    auto gi = s.params.get<std::vector<double>>("guidance_interval");
    if (gi.size() != 2)
      fail("{}: key '{}.params.guidance_interval' must hold 2 numbers, found {}", printable(b.source(), 200), key, gi.size());
    s.guidance_interval = {gi[0], gi[1]};
  }
  if (s.steps < 1) fail("{}: key '{}.params.steps' must be >= 1, found {}", printable(b.source(), 200), key, s.steps);
  if (!(s.rescale_t > 0))
    fail("{}: key '{}.params.rescale_t' must be > 0, found {}", printable(b.source(), 200), key, s.rescale_t);
  return s;
}

NormalizationConfig parse_norm(const JsonConfig& args, const std::string& key) {
  JsonConfig b = args.child(key);
  NormalizationConfig n;
  n.mean = b.get<std::vector<double>>("mean");
  n.std = b.get<std::vector<double>>("std");
  if (n.mean.size() != n.std.size())
    fail("{}: key '{}': mean has {} values but std has {}", printable(b.source(), 200), key, n.mean.size(), n.std.size());
  for (size_t i = 0; i < n.std.size(); ++i)
    if (!(n.std[i] > 0)) fail("{}: key '{}.std[{}]' must be > 0, found {}", printable(b.source(), 200), key, i, n.std[i]);
  return n;
}

AuxModelConfig parse_aux(const JsonConfig& args, const std::string& key) {
  JsonConfig b = args.child(key);
  AuxModelConfig a;
  a.name = b.get<std::string>("name");
  a.args = b.child_or_empty("args");
  for (const auto& k : a.args.keys()) a.args.mark_used(k);  // read by the model that uses them
  return a;
}

PipelineConfig from_json(const JsonConfig& root, const std::string& path) {
  PipelineConfig p;
  p.path = path;
  p.directory = fs::path(path).parent_path().string();
  if (p.directory.empty()) p.directory = ".";
  p.name = root.get_or<std::string>("name", "");
  p.args = root.child("args");
  const JsonConfig& a = p.args;

  JsonConfig m = a.child("models");
  for (const auto& role : m.keys()) p.models.emplace_back(role, m.get<std::string>(role));
  if (p.models.empty()) fail("{}: key 'args.models' is empty", printable(path, 200));

  for (const auto& k : a.keys()) {
    if (ends_with(k, "_sampler") && a.is_object(k)) p.samplers.emplace(k, parse_sampler(a, k));
    if (ends_with(k, "_normalization") && a.is_object(k)) p.normalizations.emplace(k, parse_norm(a, k));
  }
  if (a.has("image_cond_model") && !a.is_null("image_cond_model")) p.image_cond_model = parse_aux(a, "image_cond_model");
  if (a.has("rembg_model") && !a.is_null("rembg_model")) p.rembg_model = parse_aux(a, "rembg_model");
  a.mark_used("image_cond_model");
  a.mark_used("rembg_model");
  p.low_vram = a.get_or<bool>("low_vram", true);
  p.default_pipeline_type = a.get_or<std::string>("default_pipeline_type", "");
  root.report_unknown_keys("pipeline config");
  return p;
}

}  // namespace

PipelineConfig PipelineConfig::load(const std::string& path) { return from_json(JsonConfig::load_file(path), path); }

PipelineConfig PipelineConfig::parse(const std::string& text, const std::string& source) {
  return from_json(JsonConfig::parse(text, source), source);
}

bool PipelineConfig::has_model(const std::string& role) const {
  for (const auto& [r, _] : models)
    if (r == role) return true;
  return false;
}

const std::string& PipelineConfig::model(const std::string& role) const {
  for (const auto& [r, v] : models)
    if (r == role) return v;
  fail("{}: missing required key 'args.models.{}'", printable(path, 200), printable(role));
}

const SamplerConfig& PipelineConfig::sampler(const std::string& key) const {
  auto it = samplers.find(key);
  if (it == samplers.end()) fail("{}: missing required key 'args.{}'", printable(path, 200), printable(key));
  return it->second;
}

const NormalizationConfig& PipelineConfig::normalization(const std::string& key) const {
  auto it = normalizations.find(key);
  if (it == normalizations.end()) fail("{}: missing required key 'args.{}'", printable(path, 200), printable(key));
  return it->second;
}

void PipelineConfig::require_trellis2_image() const {
  for (const char* role : {"sparse_structure_flow_model", "sparse_structure_decoder", "shape_slat_flow_model_512",
                           "shape_slat_flow_model_1024", "shape_slat_decoder", "tex_slat_flow_model_512",
                           "tex_slat_flow_model_1024", "tex_slat_decoder"})
    model(role);
  for (const char* s : {"sparse_structure_sampler", "shape_slat_sampler", "tex_slat_sampler"}) sampler(s);
  for (const char* n : {"shape_slat_normalization", "tex_slat_normalization"}) normalization(n);
  if (!image_cond_model) fail("{}: missing required key 'args.image_cond_model'", printable(path, 200));
}

namespace {
ModelConfig model_from_json(const JsonConfig& root, const std::string& path) {
  ModelConfig m;
  m.path = path;
  m.name = root.get<std::string>("name");
  m.args = root.child("args");
  for (const auto& k : root.unused_keys())
    TLOG_WARN("{}: unknown top-level key '{}' ignored", printable(path, 200), printable(k, 80));
  return m;
}
}  // namespace

ModelConfig ModelConfig::load(const std::string& path) { return model_from_json(JsonConfig::load_file(path), path); }

ModelConfig ModelConfig::parse(const std::string& text, const std::string& source) {
  return model_from_json(JsonConfig::parse(text, source), source);
}

// ---- model file resolution ------------------------------------------------------------

namespace {
bool pair_at(const fs::path& base, ModelFiles& out) {
  std::error_code ec;
  fs::path j = base.string() + ".json", s = base.string() + ".safetensors";
  if (fs::is_regular_file(j, ec) && fs::is_regular_file(s, ec)) {
    out = {j.string(), s.string()};
    return true;
  }
  return false;
}
}  // namespace

ModelFiles resolve_model_files(const std::string& pipeline_dir, const std::string& entry,
                               const std::vector<std::string>& roots) {
  ModelFiles f;
  std::vector<std::string> tried;
  auto attempt = [&](const fs::path& base) {
    tried.push_back(base.string());
    return pair_at(base, f);
  };
  if (attempt(fs::path(pipeline_dir) / entry)) return f;
  // "owner/repo/sub/path": an absolute Hugging Face reference.
  fs::path e(entry);
  std::vector<std::string> parts;
  for (const auto& p : e) parts.push_back(p.string());
  if (parts.size() >= 3 && !e.is_absolute()) {
    const std::string owner = parts[0], repo = parts[1];
    fs::path sub;
    for (size_t i = 2; i < parts.size(); ++i) sub /= parts[i];
    std::vector<std::string> all_roots = roots;
    if (const char* r = std::getenv("TESSERA_MODEL_ROOT")) all_roots.push_back(r);
    for (const auto& r : all_roots)
      if (attempt(fs::path(r) / owner / repo / sub)) return f;
    if (attempt(fs::path(pipeline_dir) / ".." / repo / sub)) return f;
    std::vector<fs::path> caches;
    if (const char* c = std::getenv("HF_HUB_CACHE")) caches.emplace_back(c);
    if (const char* h = std::getenv("HF_HOME")) caches.emplace_back(fs::path(h) / "hub");
    if (const char* home = std::getenv("HOME")) caches.emplace_back(fs::path(home) / ".cache" / "huggingface" / "hub");
    for (const auto& c : caches) {
      fs::path snaps = c / ("models--" + owner + "--" + repo) / "snapshots";
      std::error_code ec;
      if (!fs::is_directory(snaps, ec)) {
        tried.push_back((snaps / "*" / sub).string());
        continue;
      }
      for (const auto& d : fs::directory_iterator(snaps, ec))
        if (attempt(d.path() / sub)) return f;
    }
  }
  std::string list;
  for (size_t i = 0; i < tried.size() && i < 8; ++i) list += (i ? ", " : "") + printable(tried[i], 200);
  fail("model '{}': no {{json, safetensors}} pair found (tried {}); download the files (docs/checkpoints.md) or set "
       "TESSERA_MODEL_ROOT",
       printable(entry, 200), list);
}

}  // namespace tessera::models
