#include "backends/vulkan/vk_buffer.hpp"

#include "core/error.hpp"

namespace tessera::vk {

BufferObj::~BufferObj() {
  if (!ctx) return;
  if (mapped) vkUnmapMemory(ctx->device, memory);
  if (buffer) vkDestroyBuffer(ctx->device, buffer, nullptr);
  if (memory) vkFreeMemory(ctx->device, memory, nullptr);
}

void BufferObj::invalidate(VkDeviceSize offset, VkDeviceSize bytes) {
  if (coherent || !mapped) return;
  VkDeviceSize a = ctx->atom_size;
  VkDeviceSize lo = offset / a * a;
  VkDeviceSize hi = std::min<VkDeviceSize>((offset + bytes + a - 1) / a * a, size);
  VkMappedMemoryRange r{VK_STRUCTURE_TYPE_MAPPED_MEMORY_RANGE};
  r.memory = memory;
  r.offset = lo;
  r.size = hi == size ? VK_WHOLE_SIZE : hi - lo;
  check(vkInvalidateMappedMemoryRanges(ctx->device, 1, &r), "vkInvalidateMappedMemoryRanges");
}

namespace {

// Index of a memory type allowed by `bits` having `required` flags; among
// those, the first that also has `preferred`. -1 when none.
int find_type(const Context& c, uint32_t bits, VkMemoryPropertyFlags required, VkMemoryPropertyFlags preferred) {
  int fallback = -1;
  for (uint32_t i = 0; i < c.mem.memoryTypeCount; ++i) {
    if (!(bits & (1u << i))) continue;
    auto f = c.mem.memoryTypes[i].propertyFlags;
    if ((f & required) != required) continue;
    if ((f & preferred) == preferred) return int(i);
    if (fallback < 0) fallback = int(i);
  }
  return fallback;
}

}  // namespace

std::shared_ptr<BufferObj> create_buffer(Context& ctx, VkDeviceSize size, MemKind kind) {
  if (size > ctx.max_alloc)
    throw OutOfMemory(fmt::format("a buffer of {} bytes exceeds the device's maxMemoryAllocationSize ({} bytes)",
                                  size, ctx.max_alloc));
  auto b = std::make_shared<BufferObj>();
  b->kind = kind;
  b->size = size;
  VkBufferCreateInfo bi{VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO};
  bi.size = size;
  bi.usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT;
  bi.sharingMode = VK_SHARING_MODE_EXCLUSIVE;
  check(vkCreateBuffer(ctx.device, &bi, nullptr, &b->buffer), "vkCreateBuffer");
  b->ctx = &ctx;  // from here on the destructor cleans up
  VkMemoryRequirements req;
  vkGetBufferMemoryRequirements(ctx.device, b->buffer, &req);

  const auto HV = VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT, HC = VK_MEMORY_PROPERTY_HOST_COHERENT_BIT,
             DL = VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT, CA = VK_MEMORY_PROPERTY_HOST_CACHED_BIT;
  int type = -1;
  switch (kind) {
    case MemKind::device:
      type = ctx.uma ? find_type(ctx, req.memoryTypeBits, HV | HC, DL) : find_type(ctx, req.memoryTypeBits, DL, 0);
      if (type < 0) type = find_type(ctx, req.memoryTypeBits, 0, DL);
      break;
    case MemKind::upload:
      type = find_type(ctx, req.memoryTypeBits, HV | HC, 0);
      break;
    case MemKind::download:
      type = find_type(ctx, req.memoryTypeBits, HV, CA | HC);
      break;
  }
  if (type < 0) fail("no suitable Vulkan memory type for a {} buffer", kind == MemKind::device ? "device" : "staging");
  auto flags = ctx.mem.memoryTypes[type].propertyFlags;

  VkMemoryAllocateInfo ai{VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO};
  ai.allocationSize = req.size;
  ai.memoryTypeIndex = uint32_t(type);
  VkResult r = vkAllocateMemory(ctx.device, &ai, nullptr, &b->memory);
  if (r != VK_SUCCESS) {
    b->memory = VK_NULL_HANDLE;
    if (r == VK_ERROR_OUT_OF_DEVICE_MEMORY || r == VK_ERROR_OUT_OF_HOST_MEMORY || r == VK_ERROR_TOO_MANY_OBJECTS)
      throw OutOfMemory(fmt::format("vkAllocateMemory of {} bytes failed: {}", req.size, result_name(r)));
    check(r, "vkAllocateMemory");
  }
  check(vkBindBufferMemory(ctx.device, b->buffer, b->memory, 0), "vkBindBufferMemory");
  const bool want_map = kind != MemKind::device || ctx.uma;
  if (want_map && (flags & HV)) {
    void* p = nullptr;
    check(vkMapMemory(ctx.device, b->memory, 0, VK_WHOLE_SIZE, 0, &p), "vkMapMemory");
    b->mapped = static_cast<char*>(p);
    b->coherent = (flags & HC) != 0;
  }
  return b;
}

}  // namespace tessera::vk
