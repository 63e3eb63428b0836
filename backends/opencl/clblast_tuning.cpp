// CLBlast ships tuned GEMM parameters for many GPUs but not for every one
// (1.5.3 has none for Hopper) and falls back to generic defaults. Tessera
// applies, once per device before its first GEMM, the first of:
//   1. TESSERA_CLBLAST_XGEMM="MWG=128,NWG=128,..." (for experiments),
//   2. <cache>/clblast/<device name>.txt, written by `tessera tune clblast`
//      (CLBlast's own tuner run on this device),
//   3. the built-in table below (that tuner's results on lent machines),
// and logs which. CLBlast rejecting the parameters is an Error naming them.
#include "backends/opencl/clblast_tuning.hpp"

#include <clblast.h>

#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <sstream>

#include "backends/opencl/cl_device.hpp"
#include "backends/opencl/cl_program_cache.hpp"
#include "core/error.hpp"
#include "core/log.hpp"
#include "core/tuner.hpp"

namespace tessera::opencl {
namespace {

using Params = std::unordered_map<std::string, size_t>;

struct TableEntry {
  const char* device_substring;  // matched against the OpenCL device name
  const char* xgemm;             // "MWG=..,NWG=..,..." for single precision
};
// Measured on the lent machines (`tessera tune clblast`, or a sweep of candidate sets).
// H100: the best of bench/device/clblast_candidates.txt (h100_run.sh clsweep,
// 2026-11-23): 36.7 TFLOP/s at 4096^3 f32 against 19.7 with CLBlast's
// NVIDIA defaults: 128x128 tiles, 128 threads of 8x16 results, k steps of 16.
const TableEntry kTable[] = {
    {"H100", "GEMMK=0,KREG=1,KWG=16,KWI=2,MDIMA=16,MDIMC=16,MWG=128,NDIMB=8,NDIMC=8,NWG=128,SA=1,SB=1,STRM=1,STRN=1,"
             "VWM=4,VWN=8"},
};

Params parse(const std::string& s) {
  Params p;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) {
    auto eq = item.find('=');
    TESSERA_CHECK(eq != std::string::npos && eq > 0, "CLBlast parameters '{}': expected NAME=VALUE items", s);
    try {
      p[item.substr(0, eq)] = size_t(std::stoull(item.substr(eq + 1)));
    } catch (const std::exception&) {
      throw Error(fmt::format("CLBlast parameters '{}': '{}' is not a number", s, item.substr(eq + 1)));
    }
  }
  return p;
}

std::string format(const Params& p) {
  std::map<std::string, size_t> sorted(p.begin(), p.end());
  std::string s;
  for (auto& [k, v] : sorted) s += (s.empty() ? "" : ",") + k + "=" + std::to_string(v);
  return s;
}

std::string tuning_file(const ClDevice& dev) {
  std::string dir = program_cache_dir();
  if (dir.empty()) return "";
  std::string name = dev.info().name;
  for (char& c : name)
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  return (std::filesystem::path(dir).parent_path() / "clblast" / (name + ".txt")).string();
}

void override_xgemm(ClDevice& dev, const Params& p, const std::string& from) {
  auto s = clblast::OverrideParameters(dev.cl_device(), "Xgemm", clblast::Precision::kSingle, p);
  TESSERA_CHECK(s == clblast::StatusCode::kSuccess, "CLBlast rejected Xgemm parameters {} (from {}) on {}: status {}",
                format(p), from, dev.id(), int(s));
  TLOG_INFO("{}: CLBlast Xgemm parameters from {}: {}", dev.id(), from, format(p));
}

}  // namespace

void apply_clblast_tuning(ClDevice& dev) {
  static std::mutex mu;
  static std::set<cl_device_id> done;
  std::lock_guard<std::mutex> lock(mu);
  if (done.count(dev.cl_device())) return;
  // Marked done only once applied (or nothing applies), so a bad setting
  // fails every GEMM rather than silently falling back to the defaults.
  if (const char* e = std::getenv("TESSERA_CLBLAST_XGEMM"); e && *e) {
    override_xgemm(dev, parse(e), "TESSERA_CLBLAST_XGEMM");
    done.insert(dev.cl_device());
    return;
  }
  done.insert(dev.cl_device());
  std::string file = tuning_file(dev);
  if (!file.empty()) {
    std::ifstream in(file);
    std::string line;
    if (in && std::getline(in, line) && !line.empty()) {
      override_xgemm(dev, parse(line), file);
      return;
    }
  }
  for (auto& t : kTable)
    if (t.xgemm && dev.info().name.find(t.device_substring) != std::string::npos) {
      override_xgemm(dev, parse(t.xgemm), std::string("the built-in table (") + t.device_substring + ")");
      return;
    }
}

namespace {

// `tessera tune clblast --device opencl:N [--size 1024] [--fraction 0.05]`:
// CLBlast's random-search tuner for the single-precision Xgemm kernel; the
// best parameters go to the per-device file that apply_clblast_tuning reads.
std::string tune(Device& d, const Attrs& o) {
  auto& dev = dynamic_cast<ClDevice&>(d);
  const size_t n = size_t(o.get_int("size", 1024));
  const double fraction = o.get_float("fraction", 0.05);
  Params p;
  // The tuner times kernels with events: its own queue with profiling on.
  cl_int err = CL_SUCCESS;
  cl_command_queue q = clCreateCommandQueue(dev.context(), dev.cl_device(), CL_QUEUE_PROFILING_ENABLE, &err);
  TESSERA_CHECK(err == CL_SUCCESS && q, "tune clblast on {}: clCreateCommandQueue with profiling failed ({})",
                dev.id(), int(err));
  clblast::StatusCode s = clblast::StatusCode::kUnexpectedError;
  std::string exc;
  try {
    s = clblast::TuneXgemm<float>(&q, n, n, n, fraction, p);
  } catch (const std::exception& e) {
    exc = e.what();
  }
  clReleaseCommandQueue(q);
  TESSERA_CHECK(exc.empty(), "CLBlast TuneXgemm on {} threw: {}", dev.id(), exc);
  TESSERA_CHECK(s == clblast::StatusCode::kSuccess, "CLBlast TuneXgemm on {} failed with status {}", dev.id(), int(s));
  std::string file = tuning_file(dev);
  std::string report = fmt::format("{} ({}): best Xgemm parameters {}", dev.id(), dev.info().name, format(p));
  if (!file.empty()) {
    std::filesystem::create_directories(std::filesystem::path(file).parent_path());
    std::ofstream(file) << format(p) << "\n";
    report += "\nwritten to " + file + " (used by later processes on this device)";
  }
  override_xgemm(dev, p, "the tuner");
  return report;
}

TunerRegistrar reg({"clblast", "opencl", "CLBlast Xgemm (f32 GEMM) parameters for this device", tune});

}  // namespace
}  // namespace tessera::opencl
