// Parses human durations for command-line flags: "30s", "500ms", "2m", "1h",
// or a bare number of seconds ("1.5"). Units are absl::ParseDuration's (ns,
// us, ms, s, m, h, also combined: "1m30s"). Thread-safe (pure function).
#pragma once

#include <cstdint>
#include <string_view>

#include "absl/status/statusor.h"

namespace gridrun {

// Milliseconds, or INVALID_ARGUMENT naming the text and the accepted forms.
absl::StatusOr<int64_t> ParseDurationMs(std::string_view text);

}  // namespace gridrun
