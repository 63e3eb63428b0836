// Per-device programs: the embedded sources (kernels/common.cl followed by
// kernels/<module>.cl) are built on first use and their binaries cached on
// disk, so that later processes skip the (slow, on PoCL) compile.
//
// Cache directory: $TESSERA_CACHE_DIR/opencl, else $XDG_CACHE_HOME/tessera/opencl,
// else ~/.cache/tessera/opencl. The file name is a hash of the source, the
// build options, the platform, the device name and version and the driver
// version. An unreadable, corrupt or rejected cache file is ignored (the source
// is compiled again); an unwritable directory only costs the next process a
// compile.
#pragma once
#include <CL/cl.h>

#include <map>
#include <mutex>
#include <string>

namespace tessera::opencl {

class ClDevice;

class ProgramCache {
 public:
  explicit ProgramCache(ClDevice& dev) : dev_(dev) {}
  ~ProgramCache();
  ProgramCache(const ProgramCache&) = delete;
  ProgramCache& operator=(const ProgramCache&) = delete;

  // Kernel `name` of program `module`, building the program on first use.
  // Throws tessera::Error with the build log when the build fails. The kernel
  // is shared: set its arguments and enqueue it under the device's launch mutex.
  cl_kernel kernel(const std::string& module, const std::string& name);
  // CL_KERNEL_WORK_GROUP_SIZE of a kernel from kernel().
  size_t work_group_size(cl_kernel k);

  // "-cl-std=CL1.2" (no fast-math flags), plus -DTS_CPU_DEVICE=1 on CPU
  // devices (PoCL), where kernels skip the full-unroll pragmas that GPUs need
  // to keep small private arrays in registers.
  const char* build_options() const;

 private:
  cl_program program(const std::string& module);  // mu_ held
  cl_program build_from_source(const std::string& module, const std::string& source);

  ClDevice& dev_;
  std::mutex mu_;
  std::map<std::string, cl_program> programs_;
  std::map<std::string, cl_kernel> kernels_;  // "module/kernel"
  std::map<cl_kernel, size_t> wg_size_;
};

// Directory of the on-disk program cache ("" when no location is known).
std::string program_cache_dir();
// Full source of a module: common.cl + <module>.cl (throws for unknown modules).
std::string program_source(const std::string& module);

}  // namespace tessera::opencl
