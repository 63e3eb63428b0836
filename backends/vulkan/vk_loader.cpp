#include "backends/vulkan/vk_loader.hpp"

#include <dlfcn.h>

#include <mutex>

#include "core/error.hpp"

namespace tessera::vk {

#define TESSERA_VK_DEFINE(name) PFN_##name name = nullptr;
TESSERA_VK_GLOBAL_FNS(TESSERA_VK_DEFINE)
TESSERA_VK_INSTANCE_FNS(TESSERA_VK_DEFINE)
TESSERA_VK_OPTIONAL_FNS(TESSERA_VK_DEFINE)
#undef TESSERA_VK_DEFINE

namespace {
PFN_vkGetInstanceProcAddr get_proc = nullptr;
}

bool load_loader(std::string& why) {
  static std::once_flag once;
  static std::string error;
  std::call_once(once, [] {
    void* lib = dlopen("libvulkan.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!lib) lib = dlopen("libvulkan.so", RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
      const char* e = dlerror();
      error = std::string("no Vulkan loader (libvulkan.so.1 not found: ") + (e ? e : "?") +
              "); install the Vulkan loader (libvulkan1) and a driver (ICD)";
      return;
    }
    get_proc = reinterpret_cast<PFN_vkGetInstanceProcAddr>(dlsym(lib, "vkGetInstanceProcAddr"));
    if (!get_proc) {
      error = "the Vulkan loader has no vkGetInstanceProcAddr";
      return;
    }
#define TESSERA_VK_LOAD_GLOBAL(name) name = reinterpret_cast<PFN_##name>(get_proc(nullptr, #name));
    TESSERA_VK_GLOBAL_FNS(TESSERA_VK_LOAD_GLOBAL)
#undef TESSERA_VK_LOAD_GLOBAL
    if (!vkCreateInstance || !vkEnumerateInstanceExtensionProperties || !vkEnumerateInstanceLayerProperties)
      error = "the Vulkan loader lacks vkCreateInstance";
    else if (!vkEnumerateInstanceVersion)
      error = "the Vulkan loader only supports Vulkan 1.0; Tessera needs 1.2";
  });
  why = error;
  return error.empty();
}

bool load_instance_functions(VkInstance inst, std::string& why) {
  std::string missing;
#define TESSERA_VK_LOAD_INSTANCE(name)                                  \
  name = reinterpret_cast<PFN_##name>(get_proc(inst, #name));           \
  if (!name) missing += (missing.empty() ? "" : ", ") + std::string(#name);
  TESSERA_VK_INSTANCE_FNS(TESSERA_VK_LOAD_INSTANCE)
#undef TESSERA_VK_LOAD_INSTANCE
#define TESSERA_VK_LOAD_OPTIONAL(name) name = reinterpret_cast<PFN_##name>(get_proc(inst, #name));
  TESSERA_VK_OPTIONAL_FNS(TESSERA_VK_LOAD_OPTIONAL)
#undef TESSERA_VK_LOAD_OPTIONAL
  if (!missing.empty()) why = "the Vulkan loader lacks " + missing;
  return missing.empty();
}

const char* result_name(VkResult r) {
  switch (r) {
#define C(x) case x: return #x;
    C(VK_SUCCESS) C(VK_NOT_READY) C(VK_TIMEOUT) C(VK_EVENT_SET) C(VK_EVENT_RESET) C(VK_INCOMPLETE)
    C(VK_ERROR_OUT_OF_HOST_MEMORY) C(VK_ERROR_OUT_OF_DEVICE_MEMORY) C(VK_ERROR_INITIALIZATION_FAILED)
    C(VK_ERROR_DEVICE_LOST) C(VK_ERROR_MEMORY_MAP_FAILED) C(VK_ERROR_LAYER_NOT_PRESENT)
    C(VK_ERROR_EXTENSION_NOT_PRESENT) C(VK_ERROR_FEATURE_NOT_PRESENT) C(VK_ERROR_INCOMPATIBLE_DRIVER)
    C(VK_ERROR_TOO_MANY_OBJECTS) C(VK_ERROR_FORMAT_NOT_SUPPORTED) C(VK_ERROR_FRAGMENTED_POOL) C(VK_ERROR_UNKNOWN)
    C(VK_ERROR_OUT_OF_POOL_MEMORY) C(VK_ERROR_INVALID_EXTERNAL_HANDLE) C(VK_ERROR_FRAGMENTATION)
    C(VK_ERROR_INVALID_OPAQUE_CAPTURE_ADDRESS) C(VK_PIPELINE_COMPILE_REQUIRED)
#undef C
    default: return "VkResult(?)";
  }
}

void check(VkResult r, const char* what) {
  if (r == VK_SUCCESS) return;
  if (r == VK_ERROR_OUT_OF_DEVICE_MEMORY || r == VK_ERROR_OUT_OF_HOST_MEMORY || r == VK_ERROR_TOO_MANY_OBJECTS)
    throw OutOfMemory(fmt::format("{} failed: {}", what, result_name(r)));
  if (r == VK_ERROR_DEVICE_LOST)
    throw Error(fmt::format("{} failed: {} (the GPU crashed or was reset; restart the process)", what,
                            result_name(r)));
  throw Error(fmt::format("{} failed: {} ({})", what, result_name(r), int(r)));
}

}  // namespace tessera::vk
