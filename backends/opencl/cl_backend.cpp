// Backend "opencl": enumerates every device of every platform once, lazily
// (never at static-initialisation time), in a stable order: platforms sorted
// by (name, vendor, version), devices in the driver's order within each.
#include <algorithm>
#include <mutex>
#include <tuple>
#include <string>
#include <vector>

#include "backends/opencl/cl_device.hpp"
#include "core/split_dispatch.hpp"
#include "backends/opencl/cl_error.hpp"
#include "core/error.hpp"
#include "core/log.hpp"

namespace tessera::opencl {
namespace {

// Vendor queries not in every header version.
constexpr cl_uint kDeviceWarpSizeNV = 0x4003;         // cl_nv_device_attribute_query
constexpr cl_uint kDeviceWavefrontWidthAMD = 0x4043;  // cl_amd_device_attribute_query
constexpr cl_uint kDeviceSubGroupSizesIntel = 0x4108;  // cl_intel_required_subgroup_size
constexpr cl_int kPlatformNotFoundKHR = -1001;

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\0' || s.back() == ' ' || s.back() == '\n' || s.back() == '\t')) s.pop_back();
  size_t b = s.find_first_not_of(" \t");
  return b == std::string::npos ? "" : s.substr(b);
}

std::string platform_str(cl_platform_id p, cl_platform_info what) {
  size_t n = 0;
  if (clGetPlatformInfo(p, what, 0, nullptr, &n) != CL_SUCCESS || n == 0) return "";
  std::string s(n, '\0');
  if (clGetPlatformInfo(p, what, n, s.data(), nullptr) != CL_SUCCESS) return "";
  return trim(s);
}

std::string device_str(cl_device_id d, cl_device_info what) {
  size_t n = 0;
  if (clGetDeviceInfo(d, what, 0, nullptr, &n) != CL_SUCCESS || n == 0) return "";
  std::string s(n, '\0');
  if (clGetDeviceInfo(d, what, n, s.data(), nullptr) != CL_SUCCESS) return "";
  return trim(s);
}

template <typename T>
T device_val(cl_device_id d, cl_device_info what, T def = T()) {
  T v{};
  return clGetDeviceInfo(d, what, sizeof(T), &v, nullptr) == CL_SUCCESS ? v : def;
}

bool has_ext(const std::string& exts, const std::string& e) {
  size_t pos = 0;
  while ((pos = exts.find(e, pos)) != std::string::npos) {
    bool start = pos == 0 || exts[pos - 1] == ' ';
    bool end = pos + e.size() == exts.size() || exts[pos + e.size()] == ' ';
    if (start && end) return true;
    pos += e.size();
  }
  return false;
}

// "OpenCL 3.0 CUDA 12.4.131" -> "OpenCL 3.0".
std::string api_version(const std::string& v) {
  size_t sp = v.find(' ');
  if (sp == std::string::npos) return v;
  size_t sp2 = v.find(' ', sp + 1);
  return sp2 == std::string::npos ? v : v.substr(0, sp2);
}

uint32_t subgroup_size(cl_device_id d, const std::string& exts) {
  if (has_ext(exts, "cl_nv_device_attribute_query")) return device_val<cl_uint>(d, kDeviceWarpSizeNV, 0);
  if (has_ext(exts, "cl_amd_device_attribute_query")) return device_val<cl_uint>(d, kDeviceWavefrontWidthAMD, 0);
  if (has_ext(exts, "cl_intel_required_subgroup_size")) {
    size_t n = 0;
    if (clGetDeviceInfo(d, kDeviceSubGroupSizesIntel, 0, nullptr, &n) != CL_SUCCESS || n < sizeof(size_t)) return 0;
    std::vector<size_t> sizes(n / sizeof(size_t));
    if (clGetDeviceInfo(d, kDeviceSubGroupSizesIntel, n, sizes.data(), nullptr) != CL_SUCCESS) return 0;
    return uint32_t(*std::max_element(sizes.begin(), sizes.end()));
  }
  return 0;
}

struct PlatformEntry {
  cl_platform_id id;
  std::string name, vendor, version;
};

class ClBackend : public Backend {
 public:
  std::string name() const override { return "opencl"; }

  std::vector<Device*> devices() override {
    std::call_once(once_, [this] {
      try {
        enumerate();
      } catch (const std::exception& e) {
        reason_ = std::string("OpenCL enumeration failed: ") + e.what();
      }
      if (devices_.empty() && reason_.empty()) reason_ = "no OpenCL device found";
      for (auto* d : devices_)
        TLOG_DEBUG("{}: {} ({}, {})", d->id(), d->info().name, d->info().api, d->info().driver);
    });
    return devices_;
  }

  std::string unavailable_reason() override {
    devices();
    return devices_.empty() ? reason_ : "";
  }

 private:
  void enumerate() {
    cl_uint np = 0;
    cl_int err = clGetPlatformIDs(0, nullptr, &np);
    if (err == kPlatformNotFoundKHR || (err == CL_SUCCESS && np == 0)) {
      reason_ =
          "no OpenCL platform found; install pocl-opencl-icd or a GPU driver (the ICD loader reads "
          "/etc/OpenCL/vendors/*.icd, or $OCL_ICD_VENDORS)";
      return;
    }
    if (err != CL_SUCCESS) {
      reason_ = "clGetPlatformIDs failed with " + cl_error_name(err) + "; check the OpenCL ICD installation";
      return;
    }
    std::vector<cl_platform_id> ids(np);
    cl_check(clGetPlatformIDs(np, ids.data(), nullptr), "clGetPlatformIDs");
    std::vector<PlatformEntry> plats;
    for (auto p : ids)
      plats.push_back({p, platform_str(p, CL_PLATFORM_NAME), platform_str(p, CL_PLATFORM_VENDOR),
                       platform_str(p, CL_PLATFORM_VERSION)});
    std::stable_sort(plats.begin(), plats.end(), [](const PlatformEntry& a, const PlatformEntry& b) {
      return std::tie(a.name, a.vendor, a.version) < std::tie(b.name, b.vendor, b.version);
    });

    std::vector<std::string> skipped;
    for (auto& p : plats) {
      cl_uint nd = 0;
      err = clGetDeviceIDs(p.id, CL_DEVICE_TYPE_ALL, 0, nullptr, &nd);
      if (err == CL_DEVICE_NOT_FOUND || (err == CL_SUCCESS && nd == 0)) {
        skipped.push_back(fmt::format("platform '{}' has no devices", p.name));
        continue;
      }
      if (err != CL_SUCCESS) {
        skipped.push_back(fmt::format("platform '{}': clGetDeviceIDs failed with {}", p.name, cl_error_name(err)));
        continue;
      }
      std::vector<cl_device_id> devs(nd);
      err = clGetDeviceIDs(p.id, CL_DEVICE_TYPE_ALL, nd, devs.data(), nullptr);
      if (err != CL_SUCCESS) {
        skipped.push_back(fmt::format("platform '{}': clGetDeviceIDs failed with {}", p.name, cl_error_name(err)));
        continue;
      }
      for (auto d : devs) {
        std::string why = add_device(p, d);
        if (!why.empty()) {
          skipped.push_back(why);
          TLOG_WARN("opencl: skipping a device: {}", why);
        }
      }
    }
    if (devices_.empty()) {
      std::string all;
      for (auto& s : skipped) all += (all.empty() ? "" : "; ") + s;
      reason_ = "OpenCL platforms were found but no usable device: " + all;
    }
  }

  // Creates the Device; returns why not when the device cannot be used.
  std::string add_device(const PlatformEntry& p, cl_device_id d) {
    std::string name = device_str(d, CL_DEVICE_NAME);
    if (!device_val<cl_bool>(d, CL_DEVICE_AVAILABLE, CL_TRUE))
      return fmt::format("device '{}' of platform '{}' is not available", name, p.name);

    DeviceInfo info;
    info.backend = "opencl";
    info.name = name;
    info.vendor = device_str(d, CL_DEVICE_VENDOR);
    info.driver = device_str(d, CL_DRIVER_VERSION);
    std::string dev_version = device_str(d, CL_DEVICE_VERSION);
    info.api = api_version(dev_version);
    std::string exts = device_str(d, CL_DEVICE_EXTENSIONS);
    std::string profile = device_str(d, CL_DEVICE_PROFILE);
    info.memory_bytes = device_val<cl_ulong>(d, CL_DEVICE_GLOBAL_MEM_SIZE);
    // TESSERA_LIMIT_* lower both for tests of the window and segment paths (core/split_dispatch.hpp).
    info.max_alloc_bytes = debug_limit("TESSERA_LIMIT_ALLOC_BYTES", device_val<cl_ulong>(d, CL_DEVICE_MAX_MEM_ALLOC_SIZE));
    info.max_binding_bytes = debug_limit("TESSERA_LIMIT_BINDING_BYTES", info.max_alloc_bytes);
    info.fp16 = has_ext(exts, "cl_khr_fp16");
    info.bf16 = false;
    info.int64 = profile == "FULL_PROFILE" || has_ext(exts, "cl_khr_int64");
    info.int64_atomics = has_ext(exts, "cl_khr_int64_base_atomics");
    info.subgroup_size = subgroup_size(d, exts);
    info.compute_units = device_val<cl_uint>(d, CL_DEVICE_MAX_COMPUTE_UNITS);
    info.software = (device_val<cl_device_type>(d, CL_DEVICE_TYPE) & CL_DEVICE_TYPE_CPU) != 0;
    info.notes = fmt::format("platform {}; {}; f16/bf16 stored as 16-bit, computed in f32", p.name,
                             device_str(d, CL_DEVICE_OPENCL_C_VERSION));

    ClLimits lim;
    lim.max_alloc_bytes = info.max_alloc_bytes;
    lim.max_work_group_size = std::max<size_t>(1, device_val<size_t>(d, CL_DEVICE_MAX_WORK_GROUP_SIZE, 1));
    lim.local_mem_bytes = device_val<cl_ulong>(d, CL_DEVICE_LOCAL_MEM_SIZE);
    lim.compiler_available = device_val<cl_bool>(d, CL_DEVICE_COMPILER_AVAILABLE, CL_TRUE) != CL_FALSE;
    lim.int64 = info.int64;
    lim.platform_name = p.name;
    lim.platform_version = p.version;
    lim.device_version = dev_version;

    cl_context_properties props[] = {CL_CONTEXT_PLATFORM, reinterpret_cast<cl_context_properties>(p.id), 0};
    cl_int err = CL_SUCCESS;
    cl_context ctx = clCreateContext(props, 1, &d, nullptr, nullptr, &err);
    if (err != CL_SUCCESS || !ctx) return fmt::format("device '{}': clCreateContext failed with {}", name, cl_error_name(err));
    // In-order queue (no properties): submission order is execution order.
    cl_command_queue q = clCreateCommandQueue(ctx, d, 0, &err);
    if (err != CL_SUCCESS || !q) {
      clReleaseContext(ctx);
      return fmt::format("device '{}': clCreateCommandQueue failed with {}", name, cl_error_name(err));
    }
    int index = int(devices_.size());
    devices_.push_back(new ClDevice(index, p.id, d, ctx, q, std::move(info), std::move(lim)));  // process lifetime
    return "";
  }

  std::once_flag once_;
  std::vector<Device*> devices_;
  std::string reason_;
};

BackendRegistrar<ClBackend> reg;

}  // namespace
}  // namespace tessera::opencl
