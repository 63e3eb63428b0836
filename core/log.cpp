#include "core/log.hpp"

#include <cstdlib>
#include <mutex>
#include <set>

#include <spdlog/sinks/stdout_color_sinks.h>

namespace tessera {

spdlog::logger& log() {
  static std::shared_ptr<spdlog::logger> logger = [] {
    auto l = spdlog::stderr_color_mt("tessera");
    l->set_pattern("[tessera %l] %v");
    const char* env = std::getenv("TESSERA_LOG");
    l->set_level(env ? spdlog::level::from_str(env) : spdlog::level::warn);
    return l;
  }();
  return *logger;
}

void warn_once(const std::string& key, const std::string& msg) {
  static std::mutex mu;
  static std::set<std::string> seen;
  std::lock_guard<std::mutex> lock(mu);
  if (seen.insert(key).second) log().warn("{}", msg);
}

}  // namespace tessera
