// Helpers shared by the Vulkan kernels: binding tensors and launching 1-D /
// 2-D jobs within the device's dispatch limits.
#pragma once
#include <string>
#include <vector>

#include "backends/vulkan/vk_device.hpp"
#include "core/op_registry.hpp"

namespace tessera::vk {

// dtype codes shared with the shaders (common.glsl).
uint32_t dtype_code(DType t);

// A tensor bound as a storage buffer: the binding offset is the tensor's
// offset aligned down to minStorageBufferOffsetAlignment; `elem_off` is the
// remaining offset in elements, which the shader adds.
struct TensorArg {
  Binding bind;
  uint64_t elem_off = 0;
};
TensorArg tensor_arg(const Tensor& t, bool write);

// "" when every tensor can be bound by this device, else the reason
// (a binding larger than maxStorageBufferRange, a non-contiguous tensor, ...).
std::string check_tensors(const Device& dev, const OpArgs& a);
// "" when the device has what the elementwise shaders need (64-bit integers).
std::string check_int64(const Device& dev);

// Runs `invocations` invocations of `p` (1-D, p.local_size per workgroup).
// `push` starts with the uint64 base index, written here for each chunk:
// the job is split into dispatches of at most max_groups(0) x max_groups(1)
// workgroups; shaders compute
//   gid = base + (gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x) * local_size + local id
// and return when gid >= their element count.
void launch_1d(VulkanDevice& dev, const Pipeline& p, const std::vector<Binding>& binds, void* push,
               uint32_t push_bytes, uint64_t invocations);

// Runs a gx x gy grid of workgroups, split into dispatches within the
// limits; each dispatch gets its first workgroup's (x, y) written as uint32
// at push offsets `off_x` / `off_y`.
void launch_2d(VulkanDevice& dev, const Pipeline& p, const std::vector<Binding>& binds, void* push,
               uint32_t push_bytes, uint64_t gx, uint64_t gy, uint32_t off_x, uint32_t off_y);

// Output words (32-bit) covering n elements of dtype t that start `elem_off`
// elements into a binding; for f32 this is n (one invocation per element).
uint64_t words_covering(DType t, uint64_t n, uint64_t elem_off);

// "" when the device can run the dense NN kernels (64-bit integers for the
// dispatch base index, storage-buffer limits of check_tensors).
std::string check_nn(const Device& dev, const OpArgs& a);

// "" unless the device is a CPU implementation (llvmpipe / lavapipe ends any
// shader invocation after 65,535 loop iterations in all, silently) and one
// invocation of the job would run more than `iterations` allows.
std::string check_loop_budget(const Device& dev, uint64_t iterations, const char* what);

}  // namespace tessera::vk
