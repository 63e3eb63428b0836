#include "backends/vulkan/vk_context.hpp"
#include "core/split_dispatch.hpp"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "core/error.hpp"
#include "core/log.hpp"

namespace tessera::vk {

namespace {

std::atomic<uint64_t> g_validation_errors{0};

VKAPI_ATTR VkBool32 VKAPI_CALL debug_callback(VkDebugUtilsMessageSeverityFlagBitsEXT severity,
                                              VkDebugUtilsMessageTypeFlagsEXT,
                                              const VkDebugUtilsMessengerCallbackDataEXT* data, void*) {
  const char* msg = data && data->pMessage ? data->pMessage : "?";
  if (severity & VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT) {
    g_validation_errors++;
    TLOG_ERROR("vulkan validation: {}", msg);
  } else if (severity & VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT) {
    TLOG_WARN("vulkan validation: {}", msg);
  } else {
    TLOG_DEBUG("vulkan: {}", msg);
  }
  return VK_FALSE;
}

bool env_flag(const char* name) {
  const char* v = std::getenv(name);
  return v && *v && std::strcmp(v, "0") != 0;
}

std::string version_str(uint32_t v) {
  return fmt::format("{}.{}.{}", VK_API_VERSION_MAJOR(v), VK_API_VERSION_MINOR(v), VK_API_VERSION_PATCH(v));
}

std::string vendor_name(uint32_t id) {
  switch (id) {
    case 0x10DE: return "NVIDIA";
    case 0x1002: return "AMD";
    case 0x1022: return "AMD";
    case 0x8086: return "Intel";
    case 0x13B5: return "ARM";
    case 0x5143: return "Qualcomm";
    case 0x1010: return "Imagination";
    case 0x106B: return "Apple";
    case 0x10005: return "Mesa";
    default: return fmt::format("0x{:04x}", id);
  }
}

void create_instance(Instance& I) {
  std::string why;
  if (!load_loader(why)) {
    I.error = why;
    return;
  }
  uint32_t loader_version = VK_API_VERSION_1_0;
  vkEnumerateInstanceVersion(&loader_version);
  if (loader_version < VK_API_VERSION_1_2) {
    I.error = "the Vulkan loader supports only Vulkan " + version_str(loader_version) + "; Tessera needs 1.2";
    return;
  }
  I.api_version = std::min<uint32_t>(loader_version, VK_API_VERSION_1_3);

  uint32_t n = 0;
  vkEnumerateInstanceExtensionProperties(nullptr, &n, nullptr);
  std::vector<VkExtensionProperties> exts(n);
  vkEnumerateInstanceExtensionProperties(nullptr, &n, exts.data());
  auto has_ext = [&](const char* e) {
    for (auto& x : exts)
      if (std::strcmp(x.extensionName, e) == 0) return true;
    return false;
  };
  std::vector<const char*> enable;
  VkInstanceCreateFlags flags = 0;
  if (has_ext(VK_KHR_PORTABILITY_ENUMERATION_EXTENSION_NAME)) {
    enable.push_back(VK_KHR_PORTABILITY_ENUMERATION_EXTENSION_NAME);
    flags |= VK_INSTANCE_CREATE_ENUMERATE_PORTABILITY_BIT_KHR;
  }
  std::vector<const char*> layers;
  bool validation = env_flag("TESSERA_VK_VALIDATION");
  bool debug_utils = false;
  if (validation) {
    uint32_t nl = 0;
    vkEnumerateInstanceLayerProperties(&nl, nullptr);
    std::vector<VkLayerProperties> ls(nl);
    vkEnumerateInstanceLayerProperties(&nl, ls.data());
    bool found = false;
    for (auto& l : ls)
      if (std::strcmp(l.layerName, "VK_LAYER_KHRONOS_validation") == 0) found = true;
    if (found) layers.push_back("VK_LAYER_KHRONOS_validation");
    else TLOG_WARN("TESSERA_VK_VALIDATION=1 but VK_LAYER_KHRONOS_validation is not installed");
    if (has_ext(VK_EXT_DEBUG_UTILS_EXTENSION_NAME)) {
      enable.push_back(VK_EXT_DEBUG_UTILS_EXTENSION_NAME);
      debug_utils = true;
    }
  }

  VkApplicationInfo app{VK_STRUCTURE_TYPE_APPLICATION_INFO};
  app.pApplicationName = "tessera";
  app.pEngineName = "tessera";
  app.apiVersion = I.api_version;
  VkInstanceCreateInfo ci{VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO};
  ci.flags = flags;
  ci.pApplicationInfo = &app;
  ci.enabledExtensionCount = uint32_t(enable.size());
  ci.ppEnabledExtensionNames = enable.data();
  ci.enabledLayerCount = uint32_t(layers.size());
  ci.ppEnabledLayerNames = layers.data();
  VkResult r = vkCreateInstance(&ci, nullptr, &I.handle);
  if (r != VK_SUCCESS) {
    I.handle = VK_NULL_HANDLE;
    I.error = std::string("vkCreateInstance failed: ") + result_name(r) +
              (r == VK_ERROR_INCOMPATIBLE_DRIVER ? " (no Vulkan driver/ICD is installed)" : "");
    return;
  }
  if (!load_instance_functions(I.handle, why)) {
    I.error = why;
    return;
  }
  if (debug_utils && vkCreateDebugUtilsMessengerEXT) {
    VkDebugUtilsMessengerCreateInfoEXT mi{VK_STRUCTURE_TYPE_DEBUG_UTILS_MESSENGER_CREATE_INFO_EXT};
    mi.messageSeverity = VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT | VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT;
    mi.messageType = VK_DEBUG_UTILS_MESSAGE_TYPE_GENERAL_BIT_EXT | VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT |
                     VK_DEBUG_UTILS_MESSAGE_TYPE_PERFORMANCE_BIT_EXT;
    mi.pfnUserCallback = debug_callback;
    VkDebugUtilsMessengerEXT messenger;  // lives as long as the instance (the process)
    vkCreateDebugUtilsMessengerEXT(I.handle, &mi, nullptr, &messenger);
  }
  uint32_t np = 0;
  r = vkEnumeratePhysicalDevices(I.handle, &np, nullptr);
  if (r != VK_SUCCESS || np == 0) {
    I.error = r != VK_SUCCESS ? std::string("vkEnumeratePhysicalDevices failed: ") + result_name(r)
                              : "the Vulkan loader found no device (no ICD installed, or VK_ICD_FILENAMES / "
                                "VK_DRIVER_FILES point nowhere)";
    return;
  }
  I.physical.resize(np);
  vkEnumeratePhysicalDevices(I.handle, &np, I.physical.data());
  I.physical.resize(np);
}

}  // namespace

Instance& instance() {
  static Instance* I = [] {
    auto* p = new Instance();  // process lifetime: devices outlive static tensors
    try {
      create_instance(*p);
    } catch (const std::exception& e) {
      p->error = e.what();
    }
    return p;
  }();
  return *I;
}

uint64_t validation_error_count() { return g_validation_errors.load(); }

double wait_timeout_s() {
  static double t = [] {
    const char* v = std::getenv("TESSERA_VK_TIMEOUT_S");
    double s = v ? std::atof(v) : 0.0;
    return s > 0 ? s : 60.0;
  }();
  return t;
}

Context::~Context() {
  if (device) {
    vkDeviceWaitIdle(device);
    vkDestroyDevice(device, nullptr);
  }
}

std::unique_ptr<Context> create_context(VkPhysicalDevice pd, int index) {
  auto ctx = std::make_unique<Context>();
  Context& C = *ctx;
  C.index = index;
  C.phys = pd;
  vkGetPhysicalDeviceProperties(pd, &C.props);
  vkGetPhysicalDeviceMemoryProperties(pd, &C.mem);
  const std::string dev_name = C.props.deviceName;
  if (C.props.apiVersion < VK_API_VERSION_1_2)
    fail("'{}' supports Vulkan {} only; Tessera needs 1.2", dev_name, version_str(C.props.apiVersion));

  // Extensions.
  uint32_t n = 0;
  vkEnumerateDeviceExtensionProperties(pd, nullptr, &n, nullptr);
  std::vector<VkExtensionProperties> exts(n);
  vkEnumerateDeviceExtensionProperties(pd, nullptr, &n, exts.data());
  auto has_ext = [&](const char* e) {
    for (auto& x : exts)
      if (std::strcmp(x.extensionName, e) == 0) return true;
    return false;
  };
  const bool ext_coopmat_nv = has_ext("VK_NV_cooperative_matrix");
  const bool ext_coopmat_khr = has_ext("VK_KHR_cooperative_matrix");  // structs not in our headers: name only
  const bool ext_coopmat2 = has_ext("VK_NV_cooperative_matrix2");
  const bool ext_sm_builtins = has_ext(VK_NV_SHADER_SM_BUILTINS_EXTENSION_NAME);
  const bool ext_amd_core = has_ext(VK_AMD_SHADER_CORE_PROPERTIES_EXTENSION_NAME);
  const bool ext_portability_subset = has_ext("VK_KHR_portability_subset");
  const bool ext_bf16 = has_ext("VK_KHR_shader_bfloat16");

  // Properties.
  VkPhysicalDeviceVulkan11Properties p11{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_1_PROPERTIES};
  VkPhysicalDeviceVulkan12Properties p12{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_PROPERTIES};
  VkPhysicalDeviceShaderSMBuiltinsPropertiesNV psm{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_SM_BUILTINS_PROPERTIES_NV};
  VkPhysicalDeviceShaderCorePropertiesAMD pamd{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_CORE_PROPERTIES_AMD};
  VkPhysicalDeviceProperties2 p2{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2};
  p2.pNext = &p11;
  p11.pNext = &p12;
  void** tail = &p12.pNext;
  if (ext_sm_builtins) {
    *tail = &psm;
    tail = &psm.pNext;
  }
  if (ext_amd_core) {
    *tail = &pamd;
    tail = &pamd.pNext;
  }
  // maxBufferSize (Vulkan 1.3 / VK_KHR_maintenance4): the largest VkBuffer.
  VkPhysicalDeviceMaintenance4Properties pm4{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MAINTENANCE_4_PROPERTIES};
  const bool has_m4 = C.props.apiVersion >= VK_API_VERSION_1_3 || has_ext("VK_KHR_maintenance4");
  if (has_m4) {
    *tail = &pm4;
    tail = &pm4.pNext;
  }
  vkGetPhysicalDeviceProperties2(pd, &p2);

  // Features.
  VkPhysicalDeviceVulkan11Features f11{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_1_FEATURES};
  VkPhysicalDeviceVulkan12Features f12{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES};
  VkPhysicalDeviceCooperativeMatrixFeaturesNV fcm{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_COOPERATIVE_MATRIX_FEATURES_NV};
  VkPhysicalDeviceFeatures2 f2{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2};
  f2.pNext = &f11;
  f11.pNext = &f12;
  if (ext_coopmat_nv) f12.pNext = &fcm;
  vkGetPhysicalDeviceFeatures2(pd, &f2);

  // Queue: the first family with compute (on discrete GPUs that is the
  // graphics+compute family, which has the highest priority).
  uint32_t nq = 0;
  vkGetPhysicalDeviceQueueFamilyProperties(pd, &nq, nullptr);
  std::vector<VkQueueFamilyProperties> qf(nq);
  vkGetPhysicalDeviceQueueFamilyProperties(pd, &nq, qf.data());
  int family = -1;
  for (uint32_t i = 0; i < nq; ++i)
    if (qf[i].queueFlags & VK_QUEUE_COMPUTE_BIT) {
      family = int(i);
      break;
    }
  if (family < 0) fail("'{}' has no compute queue", dev_name);
  C.queue_family = uint32_t(family);

  // Limits.
  const auto& L = C.props.limits;
  // TESSERA_LIMIT_* lower both for tests of the window and segment paths (core/split_dispatch.hpp).
  C.max_storage_range = debug_limit("TESSERA_LIMIT_BINDING_BYTES", L.maxStorageBufferRange);
  uint64_t alloc = p11.maxMemoryAllocationSize ? p11.maxMemoryAllocationSize : (uint64_t(1) << 31);
  if (has_m4 && pm4.maxBufferSize) alloc = std::min<uint64_t>(alloc, pm4.maxBufferSize);
  C.max_alloc = debug_limit("TESSERA_LIMIT_ALLOC_BYTES", alloc);
  C.storage_align = std::max<uint64_t>(L.minStorageBufferOffsetAlignment, 4);
  C.atom_size = std::max<uint64_t>(L.nonCoherentAtomSize, 1);
  for (int i = 0; i < 3; ++i) C.max_groups[i] = L.maxComputeWorkGroupCount[i];
  C.max_shared = L.maxComputeSharedMemorySize;
  C.max_push = L.maxPushConstantsSize;
  C.subgroup_size = p11.subgroupSize;
  C.subgroup_basic = (p11.subgroupSupportedStages & VK_SHADER_STAGE_COMPUTE_BIT) &&
                     (p11.subgroupSupportedOperations & VK_SUBGROUP_FEATURE_BASIC_BIT);
  C.subgroup_shuffle_vote = C.subgroup_basic && (p11.subgroupSupportedOperations & VK_SUBGROUP_FEATURE_SHUFFLE_BIT) &&
                            (p11.subgroupSupportedOperations & VK_SUBGROUP_FEATURE_VOTE_BIT);

  // Features we enable (only what exists).
  C.int64 = f2.features.shaderInt64;
  C.float16 = f12.shaderFloat16;
  C.storage16 = f11.storageBuffer16BitAccess;
  C.int64_atomics = f12.shaderBufferInt64Atomics;
  C.denorm_preserve32 = p12.shaderDenormPreserveFloat32;
  VkPhysicalDeviceFeatures2 e2{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2};
  VkPhysicalDeviceVulkan11Features e11{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_1_FEATURES};
  VkPhysicalDeviceVulkan12Features e12{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES};
  VkPhysicalDeviceCooperativeMatrixFeaturesNV ecm{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_COOPERATIVE_MATRIX_FEATURES_NV};
  e2.pNext = &e11;
  e11.pNext = &e12;
  e2.features.shaderInt64 = f2.features.shaderInt64;
  e2.features.shaderInt16 = f2.features.shaderInt16;
  e11.storageBuffer16BitAccess = f11.storageBuffer16BitAccess;
  e12.shaderFloat16 = f12.shaderFloat16;
  e12.shaderInt8 = f12.shaderInt8;
  e12.shaderBufferInt64Atomics = f12.shaderBufferInt64Atomics;
  e12.vulkanMemoryModel = f12.vulkanMemoryModel;
  e12.vulkanMemoryModelDeviceScope = f12.vulkanMemoryModelDeviceScope;

  std::vector<const char*> enable;
  if (ext_portability_subset) enable.push_back("VK_KHR_portability_subset");
  if (ext_coopmat_nv && fcm.cooperativeMatrix && vkGetPhysicalDeviceCooperativeMatrixPropertiesNV) {
    uint32_t nc = 0;
    vkGetPhysicalDeviceCooperativeMatrixPropertiesNV(pd, &nc, nullptr);
    std::vector<VkCooperativeMatrixPropertiesNV> cps(nc, {VK_STRUCTURE_TYPE_COOPERATIVE_MATRIX_PROPERTIES_NV});
    vkGetPhysicalDeviceCooperativeMatrixPropertiesNV(pd, &nc, cps.data());
    for (auto& cp : cps)
      if (cp.AType == VK_COMPONENT_TYPE_FLOAT16_NV && cp.BType == VK_COMPONENT_TYPE_FLOAT16_NV &&
          cp.CType == VK_COMPONENT_TYPE_FLOAT32_NV && cp.DType == VK_COMPONENT_TYPE_FLOAT32_NV &&
          cp.scope == VK_SCOPE_SUBGROUP_NV)
        C.coopmat_f16.push_back({cp.MSize, cp.NSize, cp.KSize});
    enable.push_back("VK_NV_cooperative_matrix");
    ecm.cooperativeMatrix = VK_TRUE;
    e12.pNext = &ecm;
    C.coopmat_nv = true;
  }

  float prio = 1.0f;
  VkDeviceQueueCreateInfo qci{VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO};
  qci.queueFamilyIndex = C.queue_family;
  qci.queueCount = 1;
  qci.pQueuePriorities = &prio;
  VkDeviceCreateInfo dci{VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO};
  dci.pNext = &e2;
  dci.queueCreateInfoCount = 1;
  dci.pQueueCreateInfos = &qci;
  dci.enabledExtensionCount = uint32_t(enable.size());
  dci.ppEnabledExtensionNames = enable.data();
  VkResult r = vkCreateDevice(pd, &dci, nullptr, &C.device);
  if (r != VK_SUCCESS) {
    C.device = VK_NULL_HANDLE;
    fail("vkCreateDevice failed for '{}': {}", dev_name, result_name(r));
  }
  vkGetDeviceQueue(C.device, C.queue_family, 0, &C.queue);

  // Unified memory: every device-local type is also host-visible and
  // coherent (lavapipe, most integrated GPUs): buffers are mapped directly.
  const bool cpu_like = C.props.deviceType == VK_PHYSICAL_DEVICE_TYPE_CPU ||
                        C.props.deviceType == VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU;
  bool all_dl_mappable = true, any_dl = false;
  for (uint32_t i = 0; i < C.mem.memoryTypeCount; ++i) {
    auto f = C.mem.memoryTypes[i].propertyFlags;
    if (!(f & VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT)) continue;
    any_dl = true;
    if (!(f & VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT) || !(f & VK_MEMORY_PROPERTY_HOST_COHERENT_BIT))
      all_dl_mappable = false;
  }
  C.uma = cpu_like && any_dl && all_dl_mappable;

  // DeviceInfo.
  DeviceInfo& I = C.info;
  I.backend = "vulkan";
  I.name = dev_name;
  I.vendor = vendor_name(C.props.vendorID);
  std::string drv_name = p12.driverName, drv_info = p12.driverInfo;
  if (!drv_info.empty()) {
    I.driver = drv_info;
  } else if (C.props.vendorID == 0x10DE) {
    uint32_t v = C.props.driverVersion;
    I.driver = fmt::format("{}.{}.{}", v >> 22, (v >> 14) & 0xff, (v >> 6) & 0xff);
  } else {
    I.driver = version_str(C.props.driverVersion);
  }
  if (!drv_name.empty()) I.driver = drv_name + " " + I.driver;
  I.api = "Vulkan " + version_str(C.props.apiVersion);
  uint64_t heap = 0;
  for (uint32_t i = 0; i < C.mem.memoryHeapCount; ++i)
    if (C.mem.memoryHeaps[i].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT) heap = std::max(heap, C.mem.memoryHeaps[i].size);
  I.memory_bytes = heap;
  // The largest tensor a kernel can use: one storage-buffer binding.
  I.max_alloc_bytes = C.max_alloc;
  I.max_binding_bytes = C.max_storage_range;
  I.fp16 = C.float16 && C.storage16;
  I.bf16 = ext_bf16;
  I.int64 = C.int64;
  I.int64_atomics = C.int64_atomics;
  I.subgroup_size = C.subgroup_size;
  I.coopmat = ext_coopmat_nv || ext_coopmat_khr;
  I.coopmat2 = ext_coopmat2;
  I.software = C.props.deviceType == VK_PHYSICAL_DEVICE_TYPE_CPU;
  if (ext_sm_builtins) I.compute_units = psm.shaderSMCount;
  else if (ext_amd_core)
    I.compute_units = pamd.shaderEngineCount * pamd.shaderArraysPerEngineCount * pamd.computeUnitsPerShaderArray;
  else if (I.software) I.compute_units = std::max(1u, std::thread::hardware_concurrency());
  std::string notes = fmt::format("maxStorageBufferRange {} MiB, maxMemoryAllocationSize {} MiB, shared {} KiB",
                                  C.max_storage_range >> 20, C.max_alloc >> 20, C.max_shared >> 10);
  if (!C.coopmat_f16.empty()) {
    notes += ", NV coopmat f16:";
    for (auto& s : C.coopmat_f16) notes += fmt::format(" {}x{}x{}", s.m, s.n, s.k);
  }
  if (ext_coopmat_khr) notes += ", VK_KHR_cooperative_matrix";
  if (C.uma) notes += ", unified memory";
  notes += C.denorm_preserve32 ? ", f32 subnormals kept" : ", f32 subnormals may flush to zero";
  I.notes = notes;
  return ctx;
}

}  // namespace tessera::vk
