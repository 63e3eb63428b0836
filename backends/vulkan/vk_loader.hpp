// Vulkan entry points, loaded at run time from libvulkan.so.1 (dlopen), so
// that libtessera loads and runs on machines without a Vulkan loader: the
// backend then reports no devices and says why.
#pragma once
#ifndef VK_NO_PROTOTYPES
#define VK_NO_PROTOTYPES
#endif
#include <vulkan/vulkan.h>

#include <string>

namespace tessera::vk {

// Functions available before an instance exists.
#define TESSERA_VK_GLOBAL_FNS(X)              \
  X(vkCreateInstance)                         \
  X(vkEnumerateInstanceExtensionProperties)   \
  X(vkEnumerateInstanceLayerProperties)       \
  X(vkEnumerateInstanceVersion)

// Instance- and device-level functions (device functions go through the
// loader's trampolines, which serve every VkDevice of the instance).
#define TESSERA_VK_INSTANCE_FNS(X)              \
  X(vkDestroyInstance)                          \
  X(vkEnumeratePhysicalDevices)                 \
  X(vkGetPhysicalDeviceProperties)              \
  X(vkGetPhysicalDeviceProperties2)             \
  X(vkGetPhysicalDeviceFeatures2)               \
  X(vkGetPhysicalDeviceMemoryProperties)        \
  X(vkGetPhysicalDeviceQueueFamilyProperties)   \
  X(vkEnumerateDeviceExtensionProperties)       \
  X(vkCreateDevice)                             \
  X(vkDestroyDevice)                            \
  X(vkGetDeviceQueue)                           \
  X(vkDeviceWaitIdle)                           \
  X(vkCreateBuffer)                             \
  X(vkDestroyBuffer)                            \
  X(vkGetBufferMemoryRequirements)              \
  X(vkAllocateMemory)                           \
  X(vkFreeMemory)                               \
  X(vkBindBufferMemory)                         \
  X(vkMapMemory)                                \
  X(vkUnmapMemory)                              \
  X(vkFlushMappedMemoryRanges)                  \
  X(vkInvalidateMappedMemoryRanges)             \
  X(vkCreateShaderModule)                       \
  X(vkDestroyShaderModule)                      \
  X(vkCreateDescriptorSetLayout)                \
  X(vkDestroyDescriptorSetLayout)               \
  X(vkCreatePipelineLayout)                     \
  X(vkDestroyPipelineLayout)                    \
  X(vkCreatePipelineCache)                      \
  X(vkCreateComputePipelines)                   \
  X(vkDestroyPipeline)                          \
  X(vkCreateDescriptorPool)                     \
  X(vkDestroyDescriptorPool)                    \
  X(vkResetDescriptorPool)                      \
  X(vkAllocateDescriptorSets)                   \
  X(vkUpdateDescriptorSets)                     \
  X(vkCreateCommandPool)                        \
  X(vkDestroyCommandPool)                       \
  X(vkAllocateCommandBuffers)                   \
  X(vkBeginCommandBuffer)                       \
  X(vkEndCommandBuffer)                         \
  X(vkResetCommandBuffer)                       \
  X(vkCmdBindPipeline)                          \
  X(vkCmdBindDescriptorSets)                    \
  X(vkCmdPushConstants)                         \
  X(vkCmdDispatch)                              \
  X(vkCmdPipelineBarrier)                       \
  X(vkCmdCopyBuffer)                            \
  X(vkCmdFillBuffer)                            \
  X(vkQueueSubmit)                              \
  X(vkCreateFence)                              \
  X(vkDestroyFence)                             \
  X(vkResetFences)                              \
  X(vkWaitForFences)                            \
  X(vkGetFenceStatus)

// Extension functions: may be null.
#define TESSERA_VK_OPTIONAL_FNS(X)                     \
  X(vkCreateDebugUtilsMessengerEXT)                    \
  X(vkGetPhysicalDeviceCooperativeMatrixPropertiesNV)

#define TESSERA_VK_DECLARE(name) extern PFN_##name name;
TESSERA_VK_GLOBAL_FNS(TESSERA_VK_DECLARE)
TESSERA_VK_INSTANCE_FNS(TESSERA_VK_DECLARE)
TESSERA_VK_OPTIONAL_FNS(TESSERA_VK_DECLARE)
#undef TESSERA_VK_DECLARE

// dlopen the loader and resolve the global functions. Returns false (and
// sets `why`) when no usable loader exists. Idempotent.
bool load_loader(std::string& why);
// Resolve instance/device functions for `inst`; false (and `why`) if a
// required one is missing.
bool load_instance_functions(VkInstance inst, std::string& why);

const char* result_name(VkResult r);
// Throws tessera::OutOfMemory for VK_ERROR_OUT_OF_{HOST,DEVICE}_MEMORY and
// VK_ERROR_TOO_MANY_OBJECTS, tessera::Error otherwise (naming `what`).
void check(VkResult r, const char* what);

}  // namespace tessera::vk
