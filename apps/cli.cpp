// Argument parsing and device selection shared by the tessera commands.
#include "apps/cli.hpp"

#include <cstdlib>
#include <set>
#include <sstream>

#include "core/op_registry.hpp"

namespace tessera::cli {

namespace {
const std::set<std::string> kValueless = {"scale", "help", "quiet", "no-preprocess", "keep"};
}  // namespace

long long Args::get_int(const std::string& k, long long d) const {
  if (!flag(k)) return d;
  const std::string s = get(k);
  char* end = nullptr;
  long long v = std::strtoll(s.c_str(), &end, 10);
  if (s.empty() || !end || *end) throw UsageError(fmt::format("--{}: '{}' is not an integer", k, s));
  return v;
}

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    std::string s = argv[i];
    if (s == "-o") s = "--o";  // make-checkpoint -o DIR
    if (s.rfind("--", 0) == 0) {
      std::string k = s.substr(2), v = "1";
      auto eq = k.find('=');
      if (eq != std::string::npos) {
        v = k.substr(eq + 1);
        k = k.substr(0, eq);
      } else if (!kValueless.count(k) && i + 1 < argc) {
        v = argv[++i];
      }
      a.opt[k] = v;
    } else {
      a.pos.push_back(s);
    }
  }
  return a;
}

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string x;
  while (std::getline(ss, x, ','))
    if (!x.empty()) out.push_back(x);
  return out;
}

// Devices named by LIST; a plain backend name means all of its devices.
// Unknown names are usage errors (exit 2) listing the valid ones.
std::vector<Device*> select_devices(const std::string& list) {
  auto& br = BackendRegistry::get();
  std::vector<Device*> out;
  std::vector<std::string> names = list.empty() ? std::vector<std::string>{} : split(list);
  if (names.empty())
    for (auto* b : br.backends()) names.push_back(b->name());
  for (auto& n : names) {
    try {
      if (n.find(':') == std::string::npos) {
        Backend* b = br.find(n);
        if (!b) br.device(n);  // throws the "unknown backend; valid: ..." error
        auto devs = b->devices();
        if (devs.empty()) {
          if (!list.empty()) br.device(n);  // explicitly asked for: error with the reason
          std::fprintf(stderr, "note: backend %s has no device (%s)\n", n.c_str(), b->unavailable_reason().c_str());
        }
        out.insert(out.end(), devs.begin(), devs.end());
      } else {
        out.push_back(&br.device(n));
      }
    } catch (const Error& e) {
      throw UsageError(e.what());
    }
  }
  return out;
}

}  // namespace tessera::cli
