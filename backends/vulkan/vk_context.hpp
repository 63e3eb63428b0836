// Vulkan instance (one per process) and per-physical-device context: the
// VkDevice, its compute queue, limits, enabled features and DeviceInfo.
#pragma once
#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "backends/vulkan/vk_loader.hpp"
#include "core/device.hpp"

namespace tessera::vk {

struct Instance {
  VkInstance handle = VK_NULL_HANDLE;
  uint32_t api_version = 0;
  std::vector<VkPhysicalDevice> physical;
  std::string error;  // why there is no instance / no physical device
};
// Created on first use and kept for the process lifetime. Never throws.
// TESSERA_VK_VALIDATION=1 enables VK_LAYER_KHRONOS_validation (when
// installed) and routes its messages to the Tessera log.
Instance& instance();
// Validation messages of severity error seen so far (with TESSERA_VK_VALIDATION=1).
uint64_t validation_error_count();

// (M, N, K) of a cooperative-matrix multiply the device runs with f16 A/B and
// an f32 accumulator, at subgroup scope.
struct CoopMatShape {
  uint32_t m, n, k;
};

struct Context {
  int index = 0;
  VkPhysicalDevice phys = VK_NULL_HANDLE;
  VkDevice device = VK_NULL_HANDLE;
  VkQueue queue = VK_NULL_HANDLE;
  uint32_t queue_family = 0;
  VkPhysicalDeviceProperties props{};
  VkPhysicalDeviceMemoryProperties mem{};

  // Limits.
  uint64_t max_storage_range = 0;   // maxStorageBufferRange: largest binding a shader sees
  uint64_t max_alloc = 0;           // maxMemoryAllocationSize
  uint64_t storage_align = 16;      // minStorageBufferOffsetAlignment
  uint64_t atom_size = 64;          // nonCoherentAtomSize
  uint32_t max_groups[3] = {65535, 65535, 65535};
  uint32_t max_shared = 16384;
  uint32_t max_push = 128;
  uint32_t subgroup_size = 0;
  bool subgroup_basic = false;
  bool subgroup_shuffle_vote = false;  // compute shaders may use subgroup shuffles and votes

  // Features enabled on the VkDevice.
  bool int64 = false;
  bool float16 = false;
  bool storage16 = false;
  bool int64_atomics = false;
  bool denorm_preserve32 = false;          // shaderDenormPreserveFloat32: shaders may keep f32 subnormals
  bool coopmat_nv = false;                 // VK_NV_cooperative_matrix enabled
  std::vector<CoopMatShape> coopmat_f16;   // its f16 x f16 + f32 shapes
  bool uma = false;  // device buffers live in host-visible coherent memory and are mapped

  DeviceInfo info;

  ~Context();
};

// Creates the VkDevice for `pd`. Throws Error with a reason when the device
// cannot be used (Vulkan < 1.2, no compute queue, creation failure).
std::unique_ptr<Context> create_context(VkPhysicalDevice pd, int index);

// Seconds every fence wait may take before it throws (TESSERA_VK_TIMEOUT_S, default 60).
double wait_timeout_s();

}  // namespace tessera::vk
