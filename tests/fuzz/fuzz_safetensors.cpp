// libFuzzer target: the safetensors parser, every dtype conversion on load,
// and Module::load_state against a fixed module. Run by tests/fuzz/run.sh.
#include <cstdint>
#include <vector>

#include "core/safetensors.hpp"
#include "models/common/module.hpp"
#include "tests/fuzz/fuzz_common.hpp"

using namespace tessera;

namespace {

struct FuzzModule : models::Module {
  FuzzModule() {
    register_parameter("a", {2, 2}, DType::f32);
    auto& blocks = emplace_module<models::ModuleList>("blocks");
    auto lin = std::make_unique<models::Module>();
    lin->register_parameter("weight", {3, 2}, DType::f16);
    lin->register_parameter("bias", {3}, DType::bf16, /*optional=*/true);
    blocks.append(std::move(lin));
    register_parameter("idx", {4}, DType::i32, /*optional=*/true);
  }
};

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  fuzz::quiet_logs();
  SafetensorsFile::set_chunk_bytes(64);  // exercise chunk boundaries
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Device& dev = fuzz::host_device();
  try {
    auto f = SafetensorsFile::from_bytes(std::vector<uint8_t>(data, data + size), "fuzz.safetensors");
    for (const auto& t : f.tensors()) {
      if (t.nbytes() > (1u << 20) || t.numel() > (1 << 18)) continue;  // keep each run small
      for (DType d : {natural_dtype(t.dtype), DType::f32, DType::f16, DType::bf16, DType::i64, DType::i32, DType::u8}) {
        try {
          Tensor x = f.load(t.name, dev, d);
          if (x.numel() != t.numel()) __builtin_trap();
        } catch (const Error& e) {
          fuzz::check_error(e);
        }
      }
    }
    for (auto policy : {models::ExtraTensorPolicy::ignore, models::ExtraTensorPolicy::error}) {
      FuzzModule m;
      try {
        models::LoadOptions o;
        o.extra = policy;
        m.load_state(f, dev, o);
        if (!m.loaded()) __builtin_trap();
      } catch (const Error& e) {
        fuzz::check_error(e);
        for (const auto& np : m.named_parameters())
          if (np.param->value.defined()) __builtin_trap();  // no partial load
      }
    }
  } catch (const Error& e) {
    fuzz::check_error(e);
  }
  return 0;
}
