// Command stream of one device: records transfers and dispatches into a
// command buffer and submits only at sync points (download, synchronize) or
// every few ops, never once per op. Dependent commands are separated by
// compute/transfer memory barriers (hazards are tracked per VkBuffer).
// Each submitted batch keeps shared_ptrs to every buffer it uses until its
// fence has signalled, so tensors may be freed while work is pending. Every
// fence wait is bounded by wait_timeout_s().
// Not thread-safe: the owning VulkanDevice serializes calls.
#pragma once
#include <memory>
#include <string>
#include <unordered_set>
#include <vector>

#include "backends/vulkan/vk_buffer.hpp"
#include "backends/vulkan/vk_pipeline.hpp"

namespace tessera::vk {

// One storage-buffer binding of a dispatch.
struct Binding {
  std::shared_ptr<BufferObj> buf;
  VkDeviceSize offset = 0;
  VkDeviceSize range = 0;
  bool write = false;
};

class Stream {
 public:
  Stream(Context& ctx, std::string device_id);
  ~Stream();
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;

  // Dispatches: bind() once per op (pipeline + descriptor set, plus a barrier
  // when the op depends on earlier recorded work), then dispatch() one or more
  // times with push constants, then end_op().
  void bind(const Pipeline& p, const std::vector<Binding>& binds);
  void dispatch(const void* push, uint32_t push_bytes, uint32_t gx, uint32_t gy, uint32_t gz);
  void end_op();

  // Small read-only parameter block (host-written, bound as a storage buffer).
  Binding params(const void* data, size_t bytes);

  // Transfers, ordered with everything recorded before them.
  void copy(const std::shared_ptr<BufferObj>& src, VkDeviceSize src_off, const std::shared_ptr<BufferObj>& dst,
            VkDeviceSize dst_off, VkDeviceSize bytes);
  void fill(const std::shared_ptr<BufferObj>& dst, VkDeviceSize off, VkDeviceSize bytes, uint32_t pattern);
  void upload(const std::shared_ptr<BufferObj>& dst, VkDeviceSize off, const void* src, VkDeviceSize bytes);
  void download(const std::shared_ptr<BufferObj>& src, VkDeviceSize off, void* dst, VkDeviceSize bytes);

  void flush();        // submit the batch being recorded, if any (does not wait)
  void synchronize();  // flush and wait for all submitted work
  // True when recorded or submitted work that uses `b` has not finished.
  bool pending(const BufferObj& b);

  // Counters (for tests and benchmarks).
  uint64_t submits() const { return submits_; }
  uint64_t dispatches() const { return dispatches_; }
  uint64_t barriers() const { return barriers_; }

 private:
  struct Batch {
    VkCommandBuffer cmd = VK_NULL_HANDLE;
    VkFence fence = VK_NULL_HANDLE;
    uint64_t serial = 0;
    bool in_flight = false;
    std::vector<VkDescriptorPool> pools;
    size_t pool_index = 0;
    std::vector<std::shared_ptr<BufferObj>> keep;     // every buffer the batch uses
    std::vector<std::shared_ptr<BufferObj>> staging;  // back to the staging pool when done
    std::vector<std::shared_ptr<BufferObj>> arenas;   // parameter blocks
    size_t arena_index = 0;
    VkDeviceSize arena_off = 0;
    VkDeviceSize staging_bytes = 0;
    uint32_t ops = 0;
    uint32_t dispatches = 0;
    VkPipeline bound_pipeline = VK_NULL_HANDLE;
    VkPipelineLayout bound_layout = VK_NULL_HANDLE;
  };

  Batch& recording();  // the batch being recorded (begins one if needed)
  void use(Batch& b, const std::shared_ptr<BufferObj>& buf);
  // Barrier if a command reading `reads` and writing `writes` depends on recorded work.
  void hazard(Batch& b, const std::vector<VkBuffer>& reads, const std::vector<VkBuffer>& writes);
  void wait(Batch& b);     // bounded fence wait, then recycle
  void recycle(Batch& b);  // release resources of a finished batch
  void retire();           // recycle every batch whose fence has signalled
  void wait_serial(uint64_t serial);
  VkDescriptorSet alloc_set(Batch& b, VkDescriptorSetLayout layout);
  std::shared_ptr<BufferObj> staging(MemKind kind, VkDeviceSize bytes);

  Context& ctx_;
  std::string id_;
  VkCommandPool pool_ = VK_NULL_HANDLE;
  std::vector<std::unique_ptr<Batch>> batches_;
  Batch* cur_ = nullptr;
  uint64_t next_serial_ = 0;
  std::unordered_set<VkBuffer> written_, read_;  // since the last barrier
  std::vector<std::shared_ptr<BufferObj>> free_staging_;
  VkDeviceSize free_staging_bytes_ = 0;
  uint64_t submits_ = 0, dispatches_ = 0, barriers_ = 0;
};

}  // namespace tessera::vk
