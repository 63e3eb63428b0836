#include "models/common/stage_dump.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <regex>

#include "core/error.hpp"
#include "core/safetensors.hpp"

namespace fs = std::filesystem;

namespace tessera::models {

namespace {

bool is_stage_file(const fs::path& p) {
  static const std::regex re("[0-9][0-9]_[A-Za-z0-9_]+\\.safetensors");
  return std::regex_match(p.filename().string(), re);
}

// Stage files of a dump directory in order: (stage name, path).
std::vector<std::pair<std::string, std::string>> list_stages(const std::string& dir) {
  std::error_code ec;
  TESSERA_CHECK(fs::is_directory(dir, ec), "compare: '{}' is not a directory (expected a --dump directory)",
                printable(dir, 200));
  std::vector<std::string> files;
  for (const auto& e : fs::directory_iterator(dir, ec))
    if (e.is_regular_file() && is_stage_file(e.path())) files.push_back(e.path().string());
  std::sort(files.begin(), files.end());
  TESSERA_CHECK(!files.empty(), "compare: '{}' holds no NN_<stage>.safetensors files (written by generate --dump)",
                printable(dir, 200));
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& f : files) {
    std::string name = fs::path(f).stem().string().substr(3);
    out.push_back({name, f});
  }
  return out;
}

bool integer_type(StDType t) {
  return t == StDType::I64 || t == StDType::I32 || t == StDType::I16 || t == StDType::I8 || t == StDType::U8 ||
         t == StDType::BOOL;
}

std::string shape_of(const TensorInfo& t) {
  std::string s = std::string(st_dtype_name(t.dtype)) + "[";
  for (size_t i = 0; i < t.shape.size(); ++i) s += (i ? ", " : "") + std::to_string(t.shape[i]);
  return s + "]";
}

std::vector<double> values(const SafetensorsFile& f, const TensorInfo& t) {
  std::vector<double> out(size_t(shape_numel(t.shape)));
  if (out.empty()) return out;
  if (integer_type(t.dtype)) {
    std::vector<int64_t> v(out.size());
    f.read_into(t.name, DType::i64, v.data());
    for (size_t i = 0; i < v.size(); ++i) out[i] = double(v[i]);
  } else {
    std::vector<float> v(out.size());
    f.read_into(t.name, DType::f32, v.data());
    for (size_t i = 0; i < v.size(); ++i) out[i] = double(v[i]);
  }
  return out;
}

}  // namespace

StageDumpWriter::StageDumpWriter(std::string dir, std::string device_id) : dir_(std::move(dir)), device_(std::move(device_id)) {
  std::error_code ec;
  fs::create_directories(dir_, ec);
  TESSERA_CHECK(fs::is_directory(dir_, ec), "--dump: cannot create directory '{}': {}", printable(dir_, 200),
                ec.message());
  for (const auto& e : fs::directory_iterator(dir_, ec))
    if (e.is_regular_file() && is_stage_file(e.path())) fs::remove(e.path(), ec);
}

void StageDumpWriter::write(const std::string& stage, const std::vector<std::pair<std::string, Tensor>>& tensors,
                            double seconds) {
  std::vector<SafetensorsEntry> entries;
  for (const auto& [name, t] : tensors) entries.push_back(SafetensorsEntry::from_tensor(name, t));
  const std::string path = fmt::format("{}/{:02d}_{}.safetensors", dir_, next_++, stage);
  write_safetensors(path, entries, {{"stage", stage}, {"device", device_}, {"seconds", fmt::format("{:.6f}", seconds)}});
}

DumpComparison compare_dumps(const std::string& dir_a, const std::string& dir_b, const StageTolerance& tol) {
  DumpComparison c;
  auto sa = list_stages(dir_a), sb = list_stages(dir_b);
  std::map<std::string, std::string> b_by_name(sb.begin(), sb.end());
  for (const auto& [stage, path_a] : sa) {
    auto it = b_by_name.find(stage);
    if (it == b_by_name.end()) {
      c.missing.push_back(stage);
      if (c.first_failing_stage.empty()) c.first_failing_stage = stage;
      continue;
    }
    SafetensorsFile fa(path_a), fb(it->second);
    if (c.device_a.empty() && fa.metadata().count("device")) c.device_a = fa.metadata().at("device");
    if (c.device_b.empty() && fb.metadata().count("device")) c.device_b = fb.metadata().at("device");
    for (const auto& ta : fa.tensors()) {
      TensorDiff d;
      d.stage = stage;
      d.tensor = ta.name;
      d.shape_a = shape_of(ta);
      d.integer = integer_type(ta.dtype);
      d.tolerance = d.integer ? (tol.integer_fraction.count(stage) ? tol.integer_fraction.at(stage) : 0.0)
                              : tol.for_stage(stage);
      const TensorInfo* tb = fb.find(ta.name);
      if (!tb) {
        d.shape_b = "(missing)";
      } else {
        d.shape_b = shape_of(*tb);
        d.shape_match = ta.shape == tb->shape && integer_type(tb->dtype) == d.integer;
      }
      if (d.shape_match) {
        std::vector<double> a = values(fa, ta), b = values(fb, *tb);
        double num = 0, den = 0;
        bool finite = true;
        for (size_t i = 0; i < a.size(); ++i) {
          const double e = a[i] - b[i];
          if (!std::isfinite(a[i]) || !std::isfinite(b[i])) finite = false;
          num += e * e;
          den += b[i] * b[i];
          d.max_abs = std::max(d.max_abs, std::fabs(e));
          if (d.integer && a[i] != b[i]) ++d.mismatches;
        }
        d.nmse = num == 0 ? 0.0 : num / std::max(den, 1e-300);
        if (!finite) d.nmse = std::nan("");
        d.pass = d.integer ? double(d.mismatches) <= d.tolerance * double(a.size()) : (finite && d.nmse <= d.tolerance);
      }
      if (!d.pass && c.first_failing_stage.empty()) c.first_failing_stage = stage;
      c.rows.push_back(d);
    }
  }
  return c;
}

std::string format_comparison(const DumpComparison& c) {
  std::string s = fmt::format("A: {}   B (reference): {}\n", c.device_a.empty() ? "?" : c.device_a,
                              c.device_b.empty() ? "?" : c.device_b);
  s += fmt::format("{:<18} {:<20} {:<24} {:>10} {:>10} {:>9}  {}\n", "stage", "tensor", "shape", "nmse", "max|a-b|",
                   "tol", "");
  for (const auto& d : c.rows) {
    std::string shape = d.shape_a == d.shape_b ? d.shape_a : d.shape_a + " vs " + d.shape_b;
    std::string verdict = d.pass ? "ok" : "FAIL";
    if (!d.shape_match) {
      s += fmt::format("{:<18} {:<20} {:<24} {:>10} {:>10} {:>9}  {}\n", d.stage, d.tensor, shape, "-", "-", "-",
                       "FAIL (shape)");
    } else if (d.integer) {
      s += fmt::format("{:<18} {:<20} {:<24} {:>10} {:>10} {:>9}  {}\n", d.stage, d.tensor, shape,
                       d.mismatches ? fmt::format("{} diff", d.mismatches) : "exact", fmt::format("{:.3g}", d.max_abs),
                       d.tolerance > 0 ? fmt::format("{:.1g} el", d.tolerance) : "exact", verdict);
    } else {
      s += fmt::format("{:<18} {:<20} {:<24} {:>10.3g} {:>10.3g} {:>9.1g}  {}\n", d.stage, d.tensor, shape, d.nmse,
                       d.max_abs, d.tolerance, verdict);
    }
  }
  for (const auto& m : c.missing) s += fmt::format("{:<18} (missing in B)  FAIL\n", m);
  s += c.pass() ? "every stage within tolerance\n"
                : fmt::format("first stage past tolerance: {}\n", c.first_failing_stage);
  return s;
}

}  // namespace tessera::models
