#include "search/stop_rules.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "common/number_format.h"

namespace gridrun::search {
namespace {

std::string Num(double v) { return FormatShortestDouble(v); }

// Best finite value at epochs <= t, and its epoch.
std::optional<std::pair<int64_t, double>> BestUpTo(Mode mode, const Curve& curve, int64_t t) {
  std::optional<std::pair<int64_t, double>> best;
  for (const auto& [epoch, value] : curve) {
    if (epoch > t) break;
    if (!std::isfinite(value)) continue;
    if (!best || Better(mode, value, best->second)) best = {epoch, value};
  }
  return best;
}

}  // namespace

std::optional<std::string> MedianRuleStop(const MedianRuleConfig& config, const std::string& metric,
                                          const Curve& own, int64_t t,
                                          const std::vector<Curve>& others) {
  if (t < config.min_epochs) return std::nullopt;
  const auto best = BestUpTo(config.mode, own, t);
  std::vector<double> means;
  for (const Curve& other : others) {
    if (!other.contains(t)) continue;
    double sum = 0;
    int64_t n = 0;
    for (const auto& [epoch, value] : other) {
      if (epoch > t) break;
      sum += value;
      ++n;
    }
    if (n > 0 && std::isfinite(sum)) means.push_back(sum / static_cast<double>(n));
  }
  if (static_cast<int>(means.size()) < config.min_trials || means.empty()) return std::nullopt;
  std::sort(means.begin(), means.end());
  const size_t m = means.size();
  const double median = m % 2 == 1 ? means[m / 2] : (means[m / 2 - 1] + means[m / 2]) / 2;
  if (best && !Better(config.mode, median, best->second)) return std::nullopt;
  return absl::StrCat("median rule: best ", metric, " ",
                      best ? Num(best->second) : std::string("(none finite)"), " up to epoch ", t,
                      " is worse than the median ", Num(median), " of ", m,
                      " other trials' running means");
}

bool WorseByFactor(Mode mode, double value, double best, double factor) {
  const double margin = (factor - 1) * std::fabs(best);
  return mode == Mode::kMin ? value > best + margin : value < best - margin;
}

std::optional<std::string> CheckStopRule(const StopRule& rule, const Curve& curve, int64_t t) {
  auto at = curve.find(t);
  if (at == curve.end()) return std::nullopt;
  const double value = at->second;
  switch (rule.kind) {
    case StopRule::Kind::kNonFinite:
      if (std::isfinite(value)) return std::nullopt;
      return absl::StrCat(rule.metric, " is ", Num(value), " at epoch ", t);
    case StopRule::Kind::kAbove:
      if (!(value > rule.bound)) return std::nullopt;
      return absl::StrCat(rule.metric, " ", Num(value), " at epoch ", t, " is above ",
                          Num(rule.bound));
    case StopRule::Kind::kBelow:
      if (!(value < rule.bound)) return std::nullopt;
      return absl::StrCat(rule.metric, " ", Num(value), " at epoch ", t, " is below ",
                          Num(rule.bound));
    case StopRule::Kind::kDiverged: {
      const auto best = BestUpTo(rule.mode, curve, t);
      if (!best) return std::nullopt;
      // The last `epochs` epochs up to t must all exist, come after the
      // best, and each be worse than it by the factor (a non-finite value
      // counts as worse).
      int64_t run = 0;
      for (auto it = std::make_reverse_iterator(std::next(at)); it != curve.rend(); ++it) {
        if (it->first <= best->first) break;
        const bool worse =
            !std::isfinite(it->second) || WorseByFactor(rule.mode, it->second, best->second, rule.factor);
        if (!worse) break;
        if (++run >= rule.epochs) break;
      }
      if (run < rule.epochs) return std::nullopt;
      return absl::StrCat(rule.metric, " diverged: worse than its best ", Num(best->second),
                          " (epoch ", best->first, ") by more than x", Num(rule.factor), " for ",
                          rule.epochs, rule.epochs == 1 ? " epoch" : " epochs", " (now ",
                          Num(value), " at epoch ", t, ")");
    }
  }
  return std::nullopt;
}

std::optional<std::string> CheckStopRules(const std::vector<StopRule>& rules,
                                          const std::map<std::string, Curve>& curves, int64_t t) {
  for (const StopRule& rule : rules) {
    auto it = curves.find(rule.metric);
    if (it == curves.end()) continue;
    if (auto reason = CheckStopRule(rule, it->second, t)) return reason;
  }
  return std::nullopt;
}

std::optional<int64_t> BestEpoch(Mode mode, const Curve& curve) {
  auto best = BestUpTo(mode, curve, INT64_MAX);
  if (!best) return std::nullopt;
  return best->first;
}

}  // namespace gridrun::search
