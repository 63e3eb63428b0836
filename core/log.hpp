// Logging through spdlog. Level from TESSERA_LOG (trace|debug|info|warn|error|off),
// default "warn". Use TLOG_INFO(...) etc. with fmt syntax.
#pragma once
#include <spdlog/spdlog.h>

namespace tessera {
spdlog::logger& log();
// Log `msg` at warn level the first time `key` is seen (process-wide).
void warn_once(const std::string& key, const std::string& msg);
}  // namespace tessera

#define TLOG_TRACE(...) ::tessera::log().trace(__VA_ARGS__)
#define TLOG_DEBUG(...) ::tessera::log().debug(__VA_ARGS__)
#define TLOG_INFO(...) ::tessera::log().info(__VA_ARGS__)
#define TLOG_WARN(...) ::tessera::log().warn(__VA_ARGS__)
#define TLOG_ERROR(...) ::tessera::log().error(__VA_ARGS__)
