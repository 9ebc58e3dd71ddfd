// Shared vocabulary of the search policies (search/asha.h, median_rule.h,
// stop_rules.h, sampler.h): which way a metric improves, and comparing two
// values that way with non-finite values ranked last.
// Thread-safety: constants and pure functions.
#pragma once

#include <cmath>
#include <optional>
#include <string_view>

namespace gridrun::search {

enum class Mode { kMin, kMax };

// "min" / "max".
inline const char* ModeName(Mode mode) { return mode == Mode::kMin ? "min" : "max"; }

inline std::optional<Mode> ParseMode(std::string_view name) {
  if (name == "min") return Mode::kMin;
  if (name == "max") return Mode::kMax;
  return std::nullopt;
}

// True if `a` is strictly better than `b` under `mode`. A non-finite value
// is never better than anything, and every finite value is better than a
// non-finite one.
inline bool Better(Mode mode, double a, double b) {
  const bool fa = std::isfinite(a), fb = std::isfinite(b);
  if (!fa) return false;
  if (!fb) return true;
  return mode == Mode::kMin ? a < b : a > b;
}

// keep_best: the sample grid a worker sends after an epoch that improved the
// keep_best metric; the coordinator keeps the one of the trial's best epoch
// (proto/gridrun.proto, convention 7d).
inline constexpr char kBestSampleName[] = "best";

}  // namespace gridrun::search
