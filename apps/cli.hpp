// Shared pieces of the command-line tool: argument parsing, usage errors
// (exit code 2), device selection. Each command family lives in its own
// apps/cmd_*.cpp; tessera.cpp dispatches.
#pragma once
#include <map>
#include <string>
#include <vector>

#include "core/device.hpp"
#include "core/error.hpp"

namespace tessera::cli {

struct Args {
  std::vector<std::string> pos;
  std::map<std::string, std::string> opt;
  bool flag(const std::string& k) const { return opt.count(k) != 0; }
  std::string get(const std::string& k, const std::string& d = "") const {
    auto it = opt.find(k);
    return it == opt.end() ? d : it->second;
  }
  // Integer option (UsageError naming the option when it does not parse).
  long long get_int(const std::string& k, long long d) const;
};

struct UsageError : Error {
  using Error::Error;
};

// --key value, --key=value, and the value-less flags (--scale, --help, --quiet, ...).
Args parse(int argc, char** argv);
std::vector<std::string> split(const std::string& s);  // "a,b" -> {a, b}
// Devices named by LIST ("cpu", "vulkan:0", "vulkan:NVIDIA"); a plain backend
// name means all of its devices; "" = every device. Unknown names: UsageError.
std::vector<Device*> select_devices(const std::string& list);

// tessera generate / compare / demo (apps/cmd_trellis2.cpp).
int cmd_generate(const Args& a);
int cmd_compare(const Args& a);
int cmd_demo(const Args& a);

}  // namespace tessera::cli
