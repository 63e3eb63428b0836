// Compute pipelines: one descriptor-set layout style (set 0 = N storage
// buffers at bindings 0..N-1) plus a 128-byte push-constant range; pipelines
// are created on first use from the embedded SPIR-V and cached per
// (shader, binding count, specialization constants).
#pragma once
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "backends/vulkan/vk_context.hpp"

namespace tessera::vk {

// SPIR-V compiled from backends/vulkan/shaders at build time (generated table).
struct SpirvBlob {
  const char* name;
  const unsigned char* code;
  size_t bytes;
};
const SpirvBlob* find_spirv(const std::string& name);  // nullptr when not built

struct SpecConst {
  uint32_t id;
  uint32_t value;
};

struct Pipeline {
  std::string name;
  VkPipeline pipeline = VK_NULL_HANDLE;
  VkPipelineLayout layout = VK_NULL_HANDLE;
  VkDescriptorSetLayout set_layout = VK_NULL_HANDLE;
  uint32_t bindings = 0;
  uint32_t local_size = 0;  // invocations per workgroup (x)
};

class PipelineCache {
 public:
  static constexpr uint32_t kPushBytes = 128;  // the minimum every device supports
  static constexpr uint32_t kMaxBindings = 8;

  explicit PipelineCache(Context& ctx);
  ~PipelineCache();
  // Throws Error if the shader was not built or the driver rejects it.
  const Pipeline& get(const std::string& shader, uint32_t bindings, const std::vector<SpecConst>& spec,
                      uint32_t local_size);

 private:
  struct Layout {
    VkDescriptorSetLayout set = VK_NULL_HANDLE;
    VkPipelineLayout pipe = VK_NULL_HANDLE;
  };
  const Layout& layout(uint32_t bindings);
  Context& ctx_;
  std::mutex mu_;
  VkPipelineCache cache_ = VK_NULL_HANDLE;
  std::map<uint32_t, Layout> layouts_;
  std::map<std::string, std::unique_ptr<Pipeline>> pipelines_;
};

}  // namespace tessera::vk
