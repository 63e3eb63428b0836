#include "backends/opencl/cl_program_cache.hpp"

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <vector>

#include "backends/opencl/cl_device.hpp"
#include "backends/opencl/cl_error.hpp"
#include "backends/opencl/kernel_sources.hpp"
#include "core/error.hpp"
#include "core/log.hpp"

namespace tessera::opencl {
namespace {

namespace fs = std::filesystem;

// Bump when the cache file layout or the meaning of a key changes.
constexpr char kMagic[8] = {'T', 'S', 'C', 'L', 'B', 'I', 'N', '1'};

struct Hash128 {
  uint64_t hi = 0, lo = 0;
};

// Two independent 64-bit hashes (FNV-1a and a multiply-rotate mix): not
// cryptographic, only needs to tell sources/devices/drivers apart.
Hash128 hash128(const std::string& s) {
  uint64_t a = 0xcbf29ce484222325ull;
  uint64_t b = 0x9e3779b97f4a7c15ull ^ s.size();
  for (unsigned char c : s) {
    a = (a ^ c) * 0x100000001b3ull;
    b = (b ^ c) * 0xff51afd7ed558ccdull;
    b = (b << 31) | (b >> 33);
  }
  b ^= b >> 33;
  b *= 0xc4ceb9fe1a85ec53ull;
  b ^= b >> 33;
  return {a, b};
}

uint64_t checksum(const unsigned char* p, size_t n) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 0x100000001b3ull;
  return h;
}

struct Header {
  char magic[8];
  uint64_t key_hi, key_lo;
  uint64_t payload_size;
  uint64_t payload_checksum;
};

std::string build_log(cl_program p, cl_device_id d) {
  size_t n = 0;
  if (clGetProgramBuildInfo(p, d, CL_PROGRAM_BUILD_LOG, 0, nullptr, &n) != CL_SUCCESS || n == 0) return "";
  std::string s(n, '\0');
  if (clGetProgramBuildInfo(p, d, CL_PROGRAM_BUILD_LOG, n, s.data(), nullptr) != CL_SUCCESS) return "";
  while (!s.empty() && (s.back() == '\0' || s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

std::vector<unsigned char> program_binary(cl_program p) {
  size_t size = 0;
  if (clGetProgramInfo(p, CL_PROGRAM_BINARY_SIZES, sizeof(size), &size, nullptr) != CL_SUCCESS || size == 0)
    return {};
  std::vector<unsigned char> bin(size);
  unsigned char* ptrs[1] = {bin.data()};
  if (clGetProgramInfo(p, CL_PROGRAM_BINARIES, sizeof(ptrs), ptrs, nullptr) != CL_SUCCESS) return {};
  return bin;
}

void store_cached(const std::string& path, const Hash128& key, const std::vector<unsigned char>& bin) {
  if (bin.empty()) return;
  std::error_code ec;
  fs::path target(path);
  fs::create_directories(target.parent_path(), ec);
  if (ec) {
    TLOG_INFO("opencl: not caching program binary: cannot create {}: {}", target.parent_path().string(), ec.message());
    return;
  }
  std::random_device rd;
  std::string tmp = fmt::format("{}.tmp.{}.{:08x}", path, ::getpid(), rd());
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    if (!f) {
      TLOG_INFO("opencl: not caching program binary: cannot write {}", tmp);
      return;
    }
    Header h{};
    std::memcpy(h.magic, kMagic, sizeof(kMagic));
    h.key_hi = key.hi;
    h.key_lo = key.lo;
    h.payload_size = bin.size();
    h.payload_checksum = checksum(bin.data(), bin.size());
    f.write(reinterpret_cast<const char*>(&h), sizeof(h));
    f.write(reinterpret_cast<const char*>(bin.data()), std::streamsize(bin.size()));
    f.flush();
    if (!f) {
      f.close();
      fs::remove(tmp, ec);
      TLOG_INFO("opencl: not caching program binary: write to {} failed", tmp);
      return;
    }
  }
  // Atomic replace: concurrent processes never see a half-written file.
  fs::rename(tmp, target, ec);
  if (ec) {
    fs::remove(tmp, ec);
    TLOG_INFO("opencl: not caching program binary: cannot rename to {}", path);
    return;
  }
  TLOG_DEBUG("opencl: cached program binary {} ({} bytes)", path, bin.size());
}

// Reads and validates a cache file; empty on any problem.
std::vector<unsigned char> read_cached(const std::string& path, const Hash128& key) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return {};
  Header h{};
  if (!f.read(reinterpret_cast<char*>(&h), sizeof(h))) {
    TLOG_INFO("opencl: ignoring cache file {}: shorter than its header", path);
    return {};
  }
  if (std::memcmp(h.magic, kMagic, sizeof(kMagic)) != 0 || h.key_hi != key.hi || h.key_lo != key.lo ||
      h.payload_size == 0 || h.payload_size > (uint64_t(1) << 31)) {
    TLOG_INFO("opencl: ignoring cache file {}: bad header", path);
    return {};
  }
  std::vector<unsigned char> bin(size_t(h.payload_size));
  if (!f.read(reinterpret_cast<char*>(bin.data()), std::streamsize(bin.size())) ||
      checksum(bin.data(), bin.size()) != h.payload_checksum) {
    TLOG_INFO("opencl: ignoring cache file {}: truncated or corrupt", path);
    return {};
  }
  return bin;
}

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::string(v) : std::string();
}

}  // namespace

std::string program_cache_dir() {
  std::string d = env("TESSERA_CACHE_DIR");
  if (!d.empty()) return d + "/opencl";
  d = env("XDG_CACHE_HOME");
  if (!d.empty()) return d + "/tessera/opencl";
  d = env("HOME");
  if (!d.empty()) return d + "/.cache/tessera/opencl";
  return "";
}

std::string program_source(const std::string& module) {
  std::string_view common = kernel_source("common.cl");
  std::string_view body = kernel_source(module + ".cl");
  TESSERA_CHECK(!common.empty() && !body.empty(), "opencl: no embedded kernel source '{}.cl'", module);
  std::string s;
  s.reserve(common.size() + body.size() + 64);
  s.append(common);
  s.append("\n#line 1 \"").append(module).append(".cl\"\n");
  s.append(body);
  return s;
}

const char* ProgramCache::build_options() const {
  // No fast-math flags: results must round exactly like the CPU backend.
  return dev_.info().software ? "-cl-std=CL1.2 -DTS_CPU_DEVICE=1" : "-cl-std=CL1.2";
}

ProgramCache::~ProgramCache() {
  for (auto& kv : kernels_) clReleaseKernel(kv.second);
  for (auto& kv : programs_) clReleaseProgram(kv.second);
}

cl_program ProgramCache::build_from_source(const std::string& module, const std::string& source) {
  const char* src = source.c_str();
  size_t len = source.size();
  cl_int err = CL_SUCCESS;
  cl_program p = clCreateProgramWithSource(dev_.context(), 1, &src, &len, &err);
  cl_check(err, fmt::format("clCreateProgramWithSource ('{}') on {}", module, dev_.id()));
  cl_device_id d = dev_.cl_device();
  auto t0 = std::chrono::steady_clock::now();
  err = clBuildProgram(p, 1, &d, build_options(), nullptr, nullptr);
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::string log = build_log(p, d);
  if (err != CL_SUCCESS) {
    clReleaseProgram(p);
    if (log.size() > 16000) log = log.substr(0, 16000) + "\n[... build log truncated]";
    fail("OpenCL program '{}' failed to build on {} ({}, driver {}): {}\nbuild options: {}\nbuild log:\n{}", module,
         dev_.id(), dev_.info().name, dev_.info().driver, cl_error_name(err), build_options(),
         log.empty() ? "(empty)" : log);
  }
  TLOG_INFO("{}: built OpenCL program '{}' from source in {:.2f} s", dev_.id(), module, secs);
  if (!log.empty()) TLOG_DEBUG("{}: build log of '{}':\n{}", dev_.id(), module, log);
  return p;
}

cl_program ProgramCache::program(const std::string& module) {
  auto it = programs_.find(module);
  if (it != programs_.end()) return it->second;

  std::string why = dev_.kernel_unsupported_reason();
  TESSERA_CHECK(why.empty(), "{} ({}) cannot run Tessera's OpenCL kernels: {}", dev_.id(), dev_.info().name, why);
  std::string source = program_source(module);
  const ClLimits& lim = dev_.limits();
  std::string key_text = fmt::format("tessera-opencl\n{}\n{}\n{}\n{}\n{}\n{}\n{}\n{}", build_options(),
                                     lim.platform_name, lim.platform_version, dev_.info().name,
                                     lim.device_version, dev_.info().driver, module, source);
  Hash128 key = hash128(key_text);
  std::string dir = program_cache_dir();
  std::string path = dir.empty() ? "" : fmt::format("{}/{}-{:016x}{:016x}.bin", dir, module, key.hi, key.lo);

  cl_program p = nullptr;
  cl_device_id d = dev_.cl_device();
  if (!path.empty()) {
    std::vector<unsigned char> bin = read_cached(path, key);
    if (!bin.empty()) {
      const unsigned char* ptr = bin.data();
      size_t size = bin.size();
      cl_int status = CL_SUCCESS, err = CL_SUCCESS;
      auto t0 = std::chrono::steady_clock::now();
      p = clCreateProgramWithBinary(dev_.context(), 1, &d, &size, &ptr, &status, &err);
      if (err == CL_SUCCESS && status == CL_SUCCESS && p)
        err = clBuildProgram(p, 1, &d, build_options(), nullptr, nullptr);
      if (err != CL_SUCCESS || status != CL_SUCCESS || !p) {
        TLOG_INFO("{}: cached binary {} rejected by the driver ({}); compiling from source", dev_.id(), path,
                  cl_error_name(err != CL_SUCCESS ? err : status));
        if (p) clReleaseProgram(p);
        p = nullptr;
      } else {
        TLOG_INFO("{}: loaded OpenCL program '{}' from {} in {:.2f} s", dev_.id(), module, path,
                  std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
      }
    }
  }
  if (!p) {
    p = build_from_source(module, source);
    if (!path.empty()) {
      try {
        store_cached(path, key, program_binary(p));
      } catch (const std::exception& e) {  // never fail because of the cache
        TLOG_INFO("opencl: not caching program binary {}: {}", path, e.what());
      }
    }
  }
  programs_[module] = p;
  return p;
}

cl_kernel ProgramCache::kernel(const std::string& module, const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  std::string key = module + "/" + name;
  auto it = kernels_.find(key);
  if (it != kernels_.end()) return it->second;
  cl_program p = program(module);
  cl_int err = CL_SUCCESS;
  cl_kernel k = clCreateKernel(p, name.c_str(), &err);
  cl_check(err, fmt::format("clCreateKernel('{}') of program '{}' on {}", name, module, dev_.id()));
  size_t wg = 0;
  if (clGetKernelWorkGroupInfo(k, dev_.cl_device(), CL_KERNEL_WORK_GROUP_SIZE, sizeof(wg), &wg, nullptr) !=
          CL_SUCCESS ||
      wg == 0)
    wg = dev_.limits().max_work_group_size;
  wg_size_[k] = wg;
  kernels_[key] = k;
  return k;
}

size_t ProgramCache::work_group_size(cl_kernel k) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = wg_size_.find(k);
  return it == wg_size_.end() ? dev_.limits().max_work_group_size : it->second;
}

}  // namespace tessera::opencl
