#include "backends/vulkan/vk_stream.hpp"

#include <algorithm>
#include <cstring>

#include "core/error.hpp"
#include "core/log.hpp"

namespace tessera::vk {

namespace {
constexpr size_t kMaxBatches = 4;                      // batches recorded or in flight
constexpr uint32_t kFlushOps = 64;                     // submit after this many ops...
constexpr uint32_t kFlushOpsIdle = 4;                  // ...or this many when the GPU is idle
constexpr uint32_t kFlushDispatches = 8192;            // ...or this many dispatches
constexpr VkDeviceSize kStagingChunk = 64ull << 20;    // largest staging buffer
constexpr VkDeviceSize kStagingPerBatch = 256ull << 20;  // submit once this much staging is recorded
constexpr VkDeviceSize kStagingPoolMax = 256ull << 20;   // staging kept for reuse
constexpr VkDeviceSize kArenaBytes = 64 << 10;
constexpr uint32_t kSetsPerPool = 256;

constexpr VkPipelineStageFlags kStages = VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT;
}  // namespace

Stream::Stream(Context& ctx, std::string device_id) : ctx_(ctx), id_(std::move(device_id)) {
  VkCommandPoolCreateInfo ci{VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO};
  ci.flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT;
  ci.queueFamilyIndex = ctx_.queue_family;
  check(vkCreateCommandPool(ctx_.device, &ci, nullptr, &pool_), "vkCreateCommandPool");
}

Stream::~Stream() {
  try {
    synchronize();
  } catch (...) {
  }
  for (auto& b : batches_) {
    for (auto p : b->pools) vkDestroyDescriptorPool(ctx_.device, p, nullptr);
    vkDestroyFence(ctx_.device, b->fence, nullptr);
  }
  vkDestroyCommandPool(ctx_.device, pool_, nullptr);
}

Stream::Batch& Stream::recording() {
  if (cur_) return *cur_;
  retire();
  Batch* b = nullptr;
  for (auto& x : batches_)
    if (!x->in_flight) {
      b = x.get();
      break;
    }
  if (!b && batches_.size() < kMaxBatches) {
    auto nb = std::make_unique<Batch>();
    VkCommandBufferAllocateInfo ai{VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO};
    ai.commandPool = pool_;
    ai.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
    ai.commandBufferCount = 1;
    check(vkAllocateCommandBuffers(ctx_.device, &ai, &nb->cmd), "vkAllocateCommandBuffers");
    VkFenceCreateInfo fi{VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
    check(vkCreateFence(ctx_.device, &fi, nullptr, &nb->fence), "vkCreateFence");
    batches_.push_back(std::move(nb));
    b = batches_.back().get();
  }
  if (!b) {  // all in flight: wait for the oldest
    for (auto& x : batches_)
      if (!b || x->serial < b->serial) b = x.get();
    wait(*b);
  }
  check(vkResetCommandBuffer(b->cmd, 0), "vkResetCommandBuffer");
  VkCommandBufferBeginInfo bi{VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
  bi.flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT;
  check(vkBeginCommandBuffer(b->cmd, &bi), "vkBeginCommandBuffer");
  b->serial = ++next_serial_;
  b->ops = 0;
  b->dispatches = 0;
  b->staging_bytes = 0;
  b->bound_pipeline = VK_NULL_HANDLE;
  b->bound_layout = VK_NULL_HANDLE;
  cur_ = b;
  return *b;
}

void Stream::use(Batch& b, const std::shared_ptr<BufferObj>& buf) {
  if (buf->last_use != b.serial) {
    buf->last_use = b.serial;
    b.keep.push_back(buf);
  }
}

void Stream::hazard(Batch& b, const std::vector<VkBuffer>& reads, const std::vector<VkBuffer>& writes) {
  bool need = false;
  for (auto r : reads)
    if (written_.count(r)) need = true;
  for (auto w : writes)
    if (written_.count(w) || read_.count(w)) need = true;
  if (need) {
    VkMemoryBarrier mb{VK_STRUCTURE_TYPE_MEMORY_BARRIER};
    mb.srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT;
    mb.dstAccessMask = VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_READ_BIT |
                       VK_ACCESS_TRANSFER_WRITE_BIT;
    vkCmdPipelineBarrier(b.cmd, kStages, kStages, 0, 1, &mb, 0, nullptr, 0, nullptr);
    written_.clear();
    read_.clear();
    barriers_++;
  }
  for (auto r : reads) read_.insert(r);
  for (auto w : writes) written_.insert(w);
}

VkDescriptorSet Stream::alloc_set(Batch& b, VkDescriptorSetLayout layout) {
  for (;;) {
    if (b.pool_index == b.pools.size()) {
      VkDescriptorPoolSize ps{VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, kSetsPerPool * PipelineCache::kMaxBindings};
      VkDescriptorPoolCreateInfo ci{VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO};
      ci.maxSets = kSetsPerPool;
      ci.poolSizeCount = 1;
      ci.pPoolSizes = &ps;
      VkDescriptorPool p;
      check(vkCreateDescriptorPool(ctx_.device, &ci, nullptr, &p), "vkCreateDescriptorPool");
      b.pools.push_back(p);
    }
    VkDescriptorSetAllocateInfo ai{VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO};
    ai.descriptorPool = b.pools[b.pool_index];
    ai.descriptorSetCount = 1;
    ai.pSetLayouts = &layout;
    VkDescriptorSet set;
    VkResult r = vkAllocateDescriptorSets(ctx_.device, &ai, &set);
    if (r == VK_SUCCESS) return set;
    if (r != VK_ERROR_OUT_OF_POOL_MEMORY && r != VK_ERROR_FRAGMENTED_POOL) check(r, "vkAllocateDescriptorSets");
    b.pool_index++;
  }
}

void Stream::bind(const Pipeline& p, const std::vector<Binding>& binds) {
  TESSERA_CHECK(binds.size() == p.bindings, "vulkan: pipeline {} takes {} buffers, got {}", p.name, p.bindings,
                binds.size());
  Batch& b = recording();
  std::vector<VkBuffer> reads, writes;
  for (auto& x : binds) (x.write ? writes : reads).push_back(x.buf->buffer);
  hazard(b, reads, writes);
  VkDescriptorSet set = alloc_set(b, p.set_layout);
  VkDescriptorBufferInfo infos[PipelineCache::kMaxBindings];
  VkWriteDescriptorSet w[PipelineCache::kMaxBindings];
  for (size_t i = 0; i < binds.size(); ++i) {
    use(b, binds[i].buf);
    infos[i] = {binds[i].buf->buffer, binds[i].offset, binds[i].range};
    w[i] = {VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET};
    w[i].dstSet = set;
    w[i].dstBinding = uint32_t(i);
    w[i].descriptorCount = 1;
    w[i].descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
    w[i].pBufferInfo = &infos[i];
  }
  vkUpdateDescriptorSets(ctx_.device, uint32_t(binds.size()), w, 0, nullptr);
  if (b.bound_pipeline != p.pipeline) {
    vkCmdBindPipeline(b.cmd, VK_PIPELINE_BIND_POINT_COMPUTE, p.pipeline);
    b.bound_pipeline = p.pipeline;
  }
  b.bound_layout = p.layout;
  vkCmdBindDescriptorSets(b.cmd, VK_PIPELINE_BIND_POINT_COMPUTE, p.layout, 0, 1, &set, 0, nullptr);
}

void Stream::dispatch(const void* push, uint32_t push_bytes, uint32_t gx, uint32_t gy, uint32_t gz) {
  TESSERA_CHECK(cur_ && cur_->bound_layout, "vulkan: dispatch without bind");
  TESSERA_CHECK(push_bytes <= PipelineCache::kPushBytes && push_bytes % 4 == 0, "vulkan: bad push constant size {}",
                push_bytes);
  if (push_bytes) vkCmdPushConstants(cur_->cmd, cur_->bound_layout, VK_SHADER_STAGE_COMPUTE_BIT, 0, push_bytes, push);
  vkCmdDispatch(cur_->cmd, gx, gy, gz);
  cur_->dispatches++;
  dispatches_++;
}

void Stream::end_op() {
  if (!cur_) return;
  cur_->ops++;
  if (cur_->ops >= kFlushOps || cur_->dispatches >= kFlushDispatches) {
    flush();
    return;
  }
  if (cur_->ops >= kFlushOpsIdle) {  // keep an idle GPU busy
    retire();
    bool any = false;
    for (auto& x : batches_) any |= x->in_flight;
    if (!any) flush();
  }
}

Binding Stream::params(const void* data, size_t bytes) {
  Batch& b = recording();
  VkDeviceSize need = (bytes + 15) & ~VkDeviceSize(15);
  for (;;) {
    if (b.arena_index == b.arenas.size())
      b.arenas.push_back(create_buffer(ctx_, std::max<VkDeviceSize>(kArenaBytes, need), MemKind::upload));
    auto& a = b.arenas[b.arena_index];
    VkDeviceSize off = (b.arena_off + ctx_.storage_align - 1) / ctx_.storage_align * ctx_.storage_align;
    if (off + need <= a->size) {
      std::memcpy(a->mapped + off, data, bytes);
      b.arena_off = off + need;
      use(b, a);
      return Binding{a, off, need, false};
    }
    b.arena_index++;
    b.arena_off = 0;
  }
}

void Stream::copy(const std::shared_ptr<BufferObj>& src, VkDeviceSize so, const std::shared_ptr<BufferObj>& dst,
                  VkDeviceSize doff, VkDeviceSize n) {
  if (n == 0) return;
  if (src.get() == dst.get() && so < doff + n && doff < so + n) {  // overlapping: go through a temporary
    auto tmp = create_buffer(ctx_, n, MemKind::device);
    copy(src, so, tmp, 0, n);
    copy(tmp, 0, dst, doff, n);
    return;
  }
  Batch& b = recording();
  hazard(b, {src->buffer}, {dst->buffer});
  use(b, src);
  use(b, dst);
  VkBufferCopy region{so, doff, n};
  vkCmdCopyBuffer(b.cmd, src->buffer, dst->buffer, 1, &region);
}

void Stream::fill(const std::shared_ptr<BufferObj>& dst, VkDeviceSize off, VkDeviceSize n, uint32_t pattern) {
  if (n == 0) return;
  TESSERA_CHECK(off % 4 == 0 && n % 4 == 0, "vulkan fill: offset {} and size {} must be multiples of 4", off, n);
  Batch& b = recording();
  hazard(b, {}, {dst->buffer});
  use(b, dst);
  vkCmdFillBuffer(b.cmd, dst->buffer, off, n, pattern);
}

std::shared_ptr<BufferObj> Stream::staging(MemKind kind, VkDeviceSize bytes) {
  for (size_t i = 0; i < free_staging_.size(); ++i) {
    auto& s = free_staging_[i];
    if (s->kind == kind && s->size >= bytes && s->size <= std::max<VkDeviceSize>(4 * bytes, 1 << 20)) {
      auto out = s;
      free_staging_bytes_ -= s->size;
      free_staging_.erase(free_staging_.begin() + long(i));
      return out;
    }
  }
  VkDeviceSize size = std::max<VkDeviceSize>((bytes + 0xffff) & ~VkDeviceSize(0xffff), 1 << 16);
  return create_buffer(ctx_, size, kind);
}

void Stream::upload(const std::shared_ptr<BufferObj>& dst, VkDeviceSize off, const void* src, VkDeviceSize n) {
  if (n == 0) return;
  TESSERA_CHECK(off + n <= dst->size, "vulkan upload: {} bytes at {} exceed the buffer ({} bytes)", n, off, dst->size);
  if (dst->mapped && !pending(*dst)) {  // unified memory and idle: write in place
    std::memcpy(dst->mapped + off, src, n);
    return;
  }
  const char* p = static_cast<const char*>(src);
  for (VkDeviceSize pos = 0; pos < n; pos += kStagingChunk) {
    VkDeviceSize c = std::min(kStagingChunk, n - pos);
    auto s = staging(MemKind::upload, c);
    std::memcpy(s->mapped, p + pos, c);
    copy(s, 0, dst, off + pos, c);
    Batch& b = recording();
    b.staging.push_back(s);
    b.staging_bytes += c;
    if (b.staging_bytes >= kStagingPerBatch) flush();
  }
}

void Stream::download(const std::shared_ptr<BufferObj>& src, VkDeviceSize off, void* dst, VkDeviceSize n) {
  if (n == 0) return;
  TESSERA_CHECK(off + n <= src->size, "vulkan download: {} bytes at {} exceed the buffer ({} bytes)", n, off,
                src->size);
  if (src->mapped) {
    wait_serial(src->last_use);
    src->invalidate(off, n);
    std::memcpy(dst, src->mapped + off, n);
    return;
  }
  char* p = static_cast<char*>(dst);
  for (VkDeviceSize pos = 0; pos < n; pos += kStagingChunk) {
    VkDeviceSize c = std::min(kStagingChunk, n - pos);
    auto s = staging(MemKind::download, c);
    copy(src, off + pos, s, 0, c);
    uint64_t serial = recording().serial;
    wait_serial(serial);
    s->invalidate(0, c);
    std::memcpy(p + pos, s->mapped, c);
    if (free_staging_bytes_ + s->size <= kStagingPoolMax) {
      free_staging_bytes_ += s->size;
      free_staging_.push_back(std::move(s));
    }
  }
}

void Stream::flush() {
  if (!cur_) return;
  Batch& b = *cur_;
  cur_ = nullptr;
  // Make every write of the batch visible to host reads after the fence.
  VkMemoryBarrier mb{VK_STRUCTURE_TYPE_MEMORY_BARRIER};
  mb.srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT;
  mb.dstAccessMask = VK_ACCESS_HOST_READ_BIT;
  vkCmdPipelineBarrier(b.cmd, kStages, VK_PIPELINE_STAGE_HOST_BIT, 0, 1, &mb, 0, nullptr, 0, nullptr);
  check(vkEndCommandBuffer(b.cmd), "vkEndCommandBuffer");
  check(vkResetFences(ctx_.device, 1, &b.fence), "vkResetFences");
  VkSubmitInfo si{VK_STRUCTURE_TYPE_SUBMIT_INFO};
  si.commandBufferCount = 1;
  si.pCommandBuffers = &b.cmd;
  check(vkQueueSubmit(ctx_.queue, 1, &si, b.fence), "vkQueueSubmit");
  b.in_flight = true;
  submits_++;
}

void Stream::wait(Batch& b) {
  if (!b.in_flight) return;
  const double t = wait_timeout_s();
  VkResult r = vkWaitForFences(ctx_.device, 1, &b.fence, VK_TRUE, uint64_t(t * 1e9));
  if (r == VK_TIMEOUT)
    fail("{}: GPU did not finish within {} s (batch of {} ops); the device may be hung or the work too large. "
         "Raise the limit with TESSERA_VK_TIMEOUT_S=<seconds>.",
         id_, t, b.ops);
  check(r, "vkWaitForFences");
  recycle(b);
}

void Stream::recycle(Batch& b) {
  b.in_flight = false;
  b.keep.clear();
  for (auto& s : b.staging) {
    if (free_staging_bytes_ + s->size <= kStagingPoolMax) {
      free_staging_bytes_ += s->size;
      free_staging_.push_back(std::move(s));
    }
  }
  b.staging.clear();
  for (auto p : b.pools) vkResetDescriptorPool(ctx_.device, p, 0);
  b.pool_index = 0;
  b.arena_index = 0;
  b.arena_off = 0;
}

void Stream::retire() {
  for (auto& b : batches_)
    if (b->in_flight) {
      VkResult r = vkGetFenceStatus(ctx_.device, b->fence);
      if (r == VK_SUCCESS) recycle(*b);
      else if (r != VK_NOT_READY) check(r, "vkGetFenceStatus");
    }
}

void Stream::wait_serial(uint64_t serial) {
  if (serial == 0) return;
  if (cur_ && cur_->serial <= serial) flush();
  std::vector<Batch*> order;
  for (auto& b : batches_)
    if (b->in_flight && b->serial <= serial) order.push_back(b.get());
  std::sort(order.begin(), order.end(), [](Batch* a, Batch* c) { return a->serial < c->serial; });
  for (auto* b : order) wait(*b);
}

bool Stream::pending(const BufferObj& buf) {
  if (buf.last_use == 0) return false;
  if (cur_ && cur_->serial <= buf.last_use) return true;
  retire();
  for (auto& b : batches_)
    if (b->in_flight && b->serial <= buf.last_use) return true;
  return false;
}

void Stream::synchronize() { wait_serial(next_serial_); }

}  // namespace tessera::vk
