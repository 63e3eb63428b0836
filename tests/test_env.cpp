#include "tests/test_env.hpp"

#include <cstdlib>
#include <sstream>

namespace tessera::test {

std::vector<std::string> requested_backends() {
  std::vector<std::string> out;
  const char* env = std::getenv("TESSERA_TEST_BACKENDS");
  if (!env || !*env) {
    for (auto* b : BackendRegistry::get().backends()) out.push_back(b->name());
    return out;
  }
  std::stringstream ss(env);
  std::string item;
  while (std::getline(ss, item, ','))
    if (!item.empty()) out.push_back(item);
  return out;
}

std::vector<Device*> test_devices() {
  std::vector<Device*> out;
  for (auto& name : requested_backends())
    if (auto* b = BackendRegistry::get().find(name))
      for (auto* d : b->devices()) out.push_back(d);
  return out;
}

bool scale_enabled() {
  const char* e = std::getenv("TESSERA_TEST_SCALE");
  return e && std::string(e) == "1";
}

uint64_t base_seed() {
  const char* e = std::getenv("TESSERA_TEST_SEED");
  return e ? std::strtoull(e, nullptr, 10) : 20261122ull;
}

std::string source_dir() {
  const char* e = std::getenv("TESSERA_SOURCE_DIR");
  return e && *e ? std::string(e) : std::string(TESSERA_SOURCE_DIR);
}

}  // namespace tessera::test
