#include "common/duration.h"

#include <cmath>
#include <cstdlib>
#include <string>

#include "absl/status/status.h"

namespace gridrun {

absl::StatusOr<int64_t> ParseDurationMs(std::string_view text) {
  const std::string s(text);
  char* end = nullptr;
  const double value = std::strtod(s.c_str(), &end);
  const std::string unit(end == nullptr ? "" : end);
  double scale = 0;
  if (unit.empty() || unit == "s") scale = 1000;
  else if (unit == "ms") scale = 1;
  else if (unit == "m") scale = 60'000;
  else if (unit == "h") scale = 3'600'000;
  if (s.empty() || end == s.c_str() || scale == 0 || !std::isfinite(value) || value < 0) {
    return absl::InvalidArgumentError("'" + s +
                                      "' is not a duration (use e.g. 30s, 500ms, 2m, 1h)");
  }
  return static_cast<int64_t>(std::llround(value * scale));
}

}  // namespace gridrun
