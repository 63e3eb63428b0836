// The Vulkan backend's Device: one per VkPhysicalDevice.
#pragma once
#include <memory>
#include <mutex>

#include "backends/vulkan/vk_buffer.hpp"
#include "backends/vulkan/vk_context.hpp"
#include "backends/vulkan/vk_pipeline.hpp"
#include "backends/vulkan/vk_stream.hpp"
#include "core/device.hpp"
#include "core/tensor.hpp"

namespace tessera::vk {

class VulkanDevice : public Device {
 public:
  VulkanDevice(std::unique_ptr<Context> ctx, int index);
  ~VulkanDevice() override;
  const DeviceInfo& info() const override { return ctx_->info; }
  void upload(Buffer& dst, size_t dst_offset, const void* src, size_t bytes) override;
  void download(Buffer& src, size_t src_offset, void* dst, size_t bytes) override;
  void copy(Buffer& src, size_t src_offset, Buffer& dst, size_t dst_offset, size_t bytes) override;
  void fill(Buffer& dst, size_t offset, size_t bytes, uint32_t pattern) override;
  void synchronize() override;
  std::unique_ptr<Buffer> raw_alloc(size_t bytes) override;

  Context& ctx() const { return *ctx_; }
  Stream& stream() { return *stream_; }
  PipelineCache& pipelines() { return *pipes_; }
  // Kernels hold this while recording.
  std::unique_lock<std::recursive_mutex> lock() { return std::unique_lock<std::recursive_mutex>(mu_); }
  // Most workgroups one dispatch may have in dimension `dim`. The device limit
  // (maxComputeWorkGroupCount, typically 65535), or k when the debug setting
  // TESSERA_VK_MAX_WORKGROUPS=<k> is set: a tiny k (e.g. 4) forces every
  // kernel through its chunked multi-dispatch path, so CI exercises it.
  uint32_t max_groups(int dim) const { return max_groups_[dim]; }

 private:
  std::unique_ptr<Context> ctx_;
  std::unique_ptr<PipelineCache> pipes_;
  std::unique_ptr<Stream> stream_;
  std::recursive_mutex mu_;
  uint32_t max_groups_[3];
};

VulkanDevice& as_vulkan(Device& d);
const std::shared_ptr<BufferObj>& buffer_obj(const Buffer& b);

}  // namespace tessera::vk
