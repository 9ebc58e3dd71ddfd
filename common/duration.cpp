#include "common/duration.h"

#include <cmath>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/time/time.h"

namespace gridrun {

absl::StatusOr<int64_t> ParseDurationMs(std::string_view text) {
  const std::string s(text);
  double ms = -1;
  double seconds = 0;
  absl::Duration duration;
  if (!s.empty() && absl::ascii_isdigit(static_cast<unsigned char>(s.back())) &&
      absl::SimpleAtod(s, &seconds)) {
    ms = seconds * 1000;  // a bare number is seconds
  } else if (absl::ParseDuration(s, &duration) && duration != absl::InfiniteDuration()) {
    ms = absl::ToDoubleMilliseconds(duration);
  }
  if (!std::isfinite(ms) || ms < 0) {
    return absl::InvalidArgumentError("'" + s +
                                      "' is not a duration (use e.g. 30s, 500ms, 2m, 1h)");
  }
  return static_cast<int64_t>(std::llround(ms));
}

}  // namespace gridrun
