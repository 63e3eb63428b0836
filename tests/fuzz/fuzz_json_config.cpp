// libFuzzer target: JsonConfig parsing and typed access, the pipeline.json and
// per-model json loaders. Run by tests/fuzz/run.sh.
#include <cstdint>
#include <string>

#include "core/json_config.hpp"
#include "models/common/config.hpp"
#include "tests/fuzz/fuzz_common.hpp"

using namespace tessera;

namespace {

template <typename T>
void try_get(const JsonConfig& c, const std::string& k) {
  try {
    (void)c.get<T>(k);
  } catch (const Error& e) {
    fuzz::check_error(e);
  }
}

void walk(const JsonConfig& c, int depth) {
  for (const auto& k : c.keys()) {
    try_get<bool>(c, k);
    try_get<int>(c, k);
    try_get<int64_t>(c, k);
    try_get<double>(c, k);
    try_get<float>(c, k);
    try_get<std::string>(c, k);
    try_get<std::vector<int>>(c, k);
    try_get<std::vector<double>>(c, k);
    try_get<std::vector<std::string>>(c, k);
    try {
      (void)c.get_or<int>(k, 1);
    } catch (const Error& e) {
      fuzz::check_error(e);
    }
    if (depth < 4 && c.is_object(k)) walk(c.child(k), depth + 1);
    if (depth < 4) {
      try {
        for (const auto& ch : c.children(k)) walk(ch, depth + 1);
      } catch (const Error& e) {
        fuzz::check_error(e);
      }
    }
  }
  (void)c.unused_keys();
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  fuzz::quiet_logs();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  try {
    JsonConfig c = JsonConfig::parse(text, "fuzz.json");
    walk(c, 0);
    c.report_unknown_keys("fuzz");
  } catch (const Error& e) {
    fuzz::check_error(e);
  }
  try {
    auto p = models::PipelineConfig::parse(text, "pipeline.json");
    try {
      p.require_trellis2_image();
    } catch (const Error& e) {
      fuzz::check_error(e);
    }
    for (const auto& [role, path] : p.models) (void)p.model(role);
  } catch (const Error& e) {
    fuzz::check_error(e);
  }
  try {
    auto m = models::ModelConfig::parse(text, "model.json");
    walk(m.args, 0);
  } catch (const Error& e) {
    fuzz::check_error(e);
  }
  return 0;
}
