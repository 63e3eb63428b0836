// Which devices a test run covers: TESSERA_TEST_BACKENDS=cpu,opencl,vulkan
// (default: every compiled-in backend). A requested backend without a usable
// device is a test failure, never a silent skip.
#pragma once
#include <string>
#include <vector>

#include "core/device.hpp"

namespace tessera::test {

std::vector<std::string> requested_backends();
std::vector<Device*> test_devices();  // devices of the requested backends that exist
bool scale_enabled();                 // TESSERA_TEST_SCALE=1 (the CTest "scale" label)
uint64_t base_seed();                 // TESSERA_TEST_SEED, default fixed
// The source tree (fixtures, corpora): TESSERA_SOURCE_DIR from the environment
// when set (binaries run from another checkout), else the configured one.
std::string source_dir();

}  // namespace tessera::test
