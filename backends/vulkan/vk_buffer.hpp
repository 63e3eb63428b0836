// VkBuffer + its own VkDeviceMemory. Held by shared_ptr so that command
// batches still pending on the GPU keep the buffers they use alive.
#pragma once
#include <memory>

#include "backends/vulkan/vk_context.hpp"
#include "core/device.hpp"

namespace tessera::vk {

enum class MemKind {
  device,    // storage buffer for tensors (device-local; mapped on unified memory)
  upload,    // host-visible, coherent: staging for host -> device and kernel parameters
  download,  // host-visible, preferably cached: staging for device -> host
};

struct BufferObj {
  Context* ctx = nullptr;
  VkBuffer buffer = VK_NULL_HANDLE;
  VkDeviceMemory memory = VK_NULL_HANDLE;
  VkDeviceSize size = 0;
  MemKind kind = MemKind::device;
  char* mapped = nullptr;  // non-null when host-visible
  bool coherent = true;
  uint64_t last_use = 0;   // serial of the last command batch that recorded a use (0: none)

  BufferObj() = default;
  BufferObj(const BufferObj&) = delete;
  BufferObj& operator=(const BufferObj&) = delete;
  ~BufferObj();
  // For non-coherent mapped memory: make device writes visible to the host.
  void invalidate(VkDeviceSize offset, VkDeviceSize bytes);
};

// Throws OutOfMemory when the driver refuses (or the size exceeds maxMemoryAllocationSize).
std::shared_ptr<BufferObj> create_buffer(Context& ctx, VkDeviceSize size, MemKind kind);

// The tessera::Buffer of the Vulkan backend.
class VulkanBuffer : public Buffer {
 public:
  VulkanBuffer(Device& dev, std::shared_ptr<BufferObj> obj) : Buffer(dev, size_t(obj->size)), obj_(std::move(obj)) {}
  const std::shared_ptr<BufferObj>& obj() const { return obj_; }

 private:
  std::shared_ptr<BufferObj> obj_;
};

}  // namespace tessera::vk
