// Process-wide logging set-up on spdlog. Call InitLogging once from main();
// after that use spdlog::info/warn/error anywhere (spdlog is thread-safe).
#pragma once

#include <string>

namespace gridrun {

// `program` prefixes every line (e.g. "coordinator"); `level` is one of
// trace, debug, info, warn, error, off. Logs go to stderr.
void InitLogging(const std::string& program, const std::string& level = "info");

}  // namespace gridrun
