// OpenCL C sources of kernels/*.cl, embedded into the binary at build time
// (embed_kernels.cmake generates the definitions).
#pragma once
#include <string>
#include <string_view>
#include <vector>

namespace tessera::opencl {

// The text of kernels/<file> ("common.cl", "elementwise.cl", ...); empty if unknown.
std::string_view kernel_source(const std::string& file);
std::vector<std::string> kernel_source_names();

}  // namespace tessera::opencl
