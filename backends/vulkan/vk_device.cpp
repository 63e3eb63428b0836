#include "backends/vulkan/vk_device.hpp"

#include <algorithm>
#include <cstdlib>

#include "core/error.hpp"
#include "core/segmented_buffer.hpp"
#include "core/log.hpp"

namespace tessera::vk {

VulkanDevice::VulkanDevice(std::unique_ptr<Context> ctx, int index) : Device("vulkan", index), ctx_(std::move(ctx)) {
  pipes_ = std::make_unique<PipelineCache>(*ctx_);
  stream_ = std::make_unique<Stream>(*ctx_, id());
  const char* env = std::getenv("TESSERA_VK_MAX_WORKGROUPS");
  long k = env ? std::atol(env) : 0;
  for (int i = 0; i < 3; ++i)
    max_groups_[i] = k > 0 ? uint32_t(std::min<long>(k, ctx_->max_groups[i])) : ctx_->max_groups[i];
}

VulkanDevice::~VulkanDevice() {
  stream_.reset();
  pipes_.reset();
}

VulkanDevice& as_vulkan(Device& d) { return static_cast<VulkanDevice&>(d); }

const std::shared_ptr<BufferObj>& buffer_obj(const Buffer& b) {
  auto* vb = dynamic_cast<const VulkanBuffer*>(&b);
  if (!vb) {
    TESSERA_CHECK(!as_segmented(b),
                  "vulkan: a kernel was handed a tensor of {:.1f} MiB split into segments (larger than one "
                  "allocation); only ops that can run in row windows take such tensors",
                  b.size() / 1048576.0);
    fail("vulkan: buffer does not belong to the Vulkan backend");
  }
  return vb->obj();
}

std::unique_ptr<Buffer> VulkanDevice::raw_alloc(size_t bytes) {
  auto l = lock();
  return std::make_unique<VulkanBuffer>(*this, create_buffer(*ctx_, std::max<size_t>(bytes, 4), MemKind::device));
}

void VulkanDevice::upload(Buffer& dst, size_t off, const void* src, size_t n) {
  if (auto* s = as_segmented(dst)) return upload_segments(*this, *s, off, src, n);
  auto l = lock();
  stream_->upload(buffer_obj(dst), off, src, n);
}

void VulkanDevice::download(Buffer& src, size_t off, void* dst, size_t n) {
  if (auto* s = as_segmented(src)) return download_segments(*this, *s, off, dst, n);
  auto l = lock();
  stream_->download(buffer_obj(src), off, dst, n);
}

void VulkanDevice::copy(Buffer& src, size_t so, Buffer& dst, size_t doff, size_t n) {
  if (as_segmented(src) || as_segmented(dst)) return copy_segments(*this, src, so, dst, doff, n);
  auto l = lock();
  stream_->copy(buffer_obj(src), so, buffer_obj(dst), doff, n);
  stream_->end_op();
}

void VulkanDevice::fill(Buffer& dst, size_t off, size_t n, uint32_t pattern) {
  if (auto* s = as_segmented(dst)) return fill_segments(*this, *s, off, n, pattern);
  auto l = lock();
  stream_->fill(buffer_obj(dst), off, n, pattern);
  stream_->end_op();
}

void VulkanDevice::synchronize() {
  auto l = lock();
  stream_->synchronize();
}

namespace {

class VulkanBackend : public Backend {
 public:
  std::string name() const override { return "vulkan"; }

  std::vector<Device*> devices() override {
    std::call_once(once_, [this] { enumerate(); });
    return devices_;
  }

  std::string unavailable_reason() override {
    devices();
    return reason_;
  }

 private:
  void enumerate() {
    Instance& I = instance();
    if (!I.handle || I.physical.empty()) {
      reason_ = I.error.empty() ? "no Vulkan device" : I.error;
      return;
    }
    std::string skipped;
    for (auto pd : I.physical) {
      try {
        auto ctx = create_context(pd, int(devices_.size()));
        // Devices live for the process lifetime (tensors may outlive main()).
        devices_.push_back(new VulkanDevice(std::move(ctx), int(devices_.size())));
      } catch (const std::exception& e) {
        TLOG_WARN("vulkan: skipping a device: {}", e.what());
        skipped += (skipped.empty() ? "" : "; ") + std::string(e.what());
      }
    }
    if (devices_.empty()) reason_ = "no usable Vulkan device: " + skipped;
  }

  std::once_flag once_;
  std::vector<Device*> devices_;
  std::string reason_;
};

BackendRegistrar<VulkanBackend> reg;

}  // namespace
}  // namespace tessera::vk
