#include "backends/vulkan/vk_pipeline.hpp"

#include <cstring>

#include "core/error.hpp"
#include "core/log.hpp"

// Defined in the generated spirv_blobs.cpp.
extern const tessera::vk::SpirvBlob tessera_vk_spirv_table[];
extern const size_t tessera_vk_spirv_count;

namespace tessera::vk {

const SpirvBlob* find_spirv(const std::string& name) {
  for (size_t i = 0; i < tessera_vk_spirv_count; ++i)
    if (name == tessera_vk_spirv_table[i].name) return &tessera_vk_spirv_table[i];
  return nullptr;
}

PipelineCache::PipelineCache(Context& ctx) : ctx_(ctx) {
  VkPipelineCacheCreateInfo ci{VK_STRUCTURE_TYPE_PIPELINE_CACHE_CREATE_INFO};
  check(vkCreatePipelineCache(ctx_.device, &ci, nullptr, &cache_), "vkCreatePipelineCache");
}

PipelineCache::~PipelineCache() {
  for (auto& kv : pipelines_) vkDestroyPipeline(ctx_.device, kv.second->pipeline, nullptr);
  for (auto& kv : layouts_) {
    vkDestroyPipelineLayout(ctx_.device, kv.second.pipe, nullptr);
    vkDestroyDescriptorSetLayout(ctx_.device, kv.second.set, nullptr);
  }
}

const PipelineCache::Layout& PipelineCache::layout(uint32_t n) {
  auto it = layouts_.find(n);
  if (it != layouts_.end()) return it->second;
  TESSERA_CHECK(n >= 1 && n <= kMaxBindings, "vulkan: {} bindings requested (1..{})", n, kMaxBindings);
  std::vector<VkDescriptorSetLayoutBinding> b(n);
  for (uint32_t i = 0; i < n; ++i) {
    b[i].binding = i;
    b[i].descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
    b[i].descriptorCount = 1;
    b[i].stageFlags = VK_SHADER_STAGE_COMPUTE_BIT;
  }
  Layout L;
  VkDescriptorSetLayoutCreateInfo dci{VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO};
  dci.bindingCount = n;
  dci.pBindings = b.data();
  check(vkCreateDescriptorSetLayout(ctx_.device, &dci, nullptr, &L.set), "vkCreateDescriptorSetLayout");
  VkPushConstantRange pr{VK_SHADER_STAGE_COMPUTE_BIT, 0, kPushBytes};
  VkPipelineLayoutCreateInfo pci{VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO};
  pci.setLayoutCount = 1;
  pci.pSetLayouts = &L.set;
  pci.pushConstantRangeCount = 1;
  pci.pPushConstantRanges = &pr;
  check(vkCreatePipelineLayout(ctx_.device, &pci, nullptr, &L.pipe), "vkCreatePipelineLayout");
  return layouts_.emplace(n, L).first->second;
}

const Pipeline& PipelineCache::get(const std::string& shader, uint32_t bindings, const std::vector<SpecConst>& spec,
                                   uint32_t local_size) {
  std::lock_guard<std::mutex> lock(mu_);
  std::string key = shader + "/" + std::to_string(bindings);
  for (auto& s : spec) key += fmt::format(":{}={}", s.id, s.value);
  auto it = pipelines_.find(key);
  if (it != pipelines_.end()) return *it->second;

  const SpirvBlob* blob = find_spirv(shader);
  TESSERA_CHECK(blob, "vulkan: shader '{}' was not built into this library", shader);
  const Layout& L = layout(bindings);
  // SPIR-V words must be 4-byte aligned: copy (the table is aligned, but be safe).
  std::vector<uint32_t> words(blob->bytes / 4);
  std::memcpy(words.data(), blob->code, words.size() * 4);
  VkShaderModuleCreateInfo mci{VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO};
  mci.codeSize = words.size() * 4;
  mci.pCode = words.data();
  VkShaderModule module;
  check(vkCreateShaderModule(ctx_.device, &mci, nullptr, &module), "vkCreateShaderModule");

  std::vector<VkSpecializationMapEntry> entries;
  std::vector<uint32_t> values;
  for (size_t i = 0; i < spec.size(); ++i) {
    entries.push_back({spec[i].id, uint32_t(i * 4), 4});
    values.push_back(spec[i].value);
  }
  VkSpecializationInfo si{uint32_t(entries.size()), entries.data(), values.size() * 4, values.data()};
  VkComputePipelineCreateInfo ci{VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO};
  ci.stage.sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO;
  ci.stage.stage = VK_SHADER_STAGE_COMPUTE_BIT;
  ci.stage.module = module;
  ci.stage.pName = "main";
  ci.stage.pSpecializationInfo = spec.empty() ? nullptr : &si;
  ci.layout = L.pipe;
  auto p = std::make_unique<Pipeline>();
  VkResult r = vkCreateComputePipelines(ctx_.device, cache_, 1, &ci, nullptr, &p->pipeline);
  vkDestroyShaderModule(ctx_.device, module, nullptr);
  check(r, ("vkCreateComputePipelines(" + key + ")").c_str());
  TLOG_DEBUG("vulkan:{}: created pipeline {}", ctx_.index, key);
  p->name = key;
  p->layout = L.pipe;
  p->set_layout = L.set;
  p->bindings = bindings;
  p->local_size = local_size;
  return *pipelines_.emplace(key, std::move(p)).first->second;
}

}  // namespace tessera::vk
