#include "search/search_settings.h"

#include <nlohmann/json.hpp>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace gridrun::search {
namespace {

using nlohmann::json;

const char* StopKindName(StopRule::Kind kind) {
  switch (kind) {
    case StopRule::Kind::kNonFinite:
      return "non_finite";
    case StopRule::Kind::kDiverged:
      return "diverged";
    case StopRule::Kind::kAbove:
      return "above";
    case StopRule::Kind::kBelow:
      return "below";
  }
  return "unknown";
}

absl::StatusOr<Mode> ModeFrom(const json& j, const std::string& field) {
  if (!j.is_string()) return absl::InvalidArgumentError(field + ": not a string");
  auto mode = ParseMode(j.get<std::string>());
  if (!mode) return absl::InvalidArgumentError(field + ": not min or max");
  return *mode;
}

}  // namespace

const char* SchedulerTypeName(SchedulerType type) {
  return type == SchedulerType::kAsha ? "asha" : "median";
}

std::string SearchSettingsToJson(const SearchSettings& s) {
  json j = json::object();
  j["strategy"] = StrategyName(s.strategy);
  j["trials"] = s.trials;
  j["seed"] = s.seed;
  if (s.scheduler) {
    const SchedulerSettings& c = *s.scheduler;
    j["scheduler"] = {{"type", SchedulerTypeName(c.type)}, {"metric", c.metric},
                      {"mode", ModeName(c.mode)},          {"min_epochs", c.min_epochs},
                      {"reduction_factor", c.reduction_factor}, {"min_trials", c.min_trials}};
  }
  json rules = json::array();
  for (const StopRule& r : s.stop_rules) {
    json rule = {{"kind", StopKindName(r.kind)}, {"metric", r.metric}};
    if (r.kind == StopRule::Kind::kDiverged) {
      rule["mode"] = ModeName(r.mode);
      rule["factor"] = r.factor;
      rule["epochs"] = r.epochs;
    } else if (r.kind != StopRule::Kind::kNonFinite) {
      rule["bound"] = r.bound;
    }
    rules.push_back(rule);
  }
  j["stop"] = rules;
  if (s.keep_best) j["keep_best"] = {{"metric", s.keep_best->metric}, {"mode", ModeName(s.keep_best->mode)}};
  if (s.keep_trained) j["keep_trained"] = *s.keep_trained;  // absent: older hashes unchanged
  return j.dump();
}

absl::StatusOr<SearchSettings> SearchSettingsFromJson(const std::string& text) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return absl::InvalidArgumentError("search settings: not a JSON object");
  }
  SearchSettings s;
  try {
    if (!ParseStrategy(j.at("strategy").get<std::string>(), &s.strategy)) {
      return absl::InvalidArgumentError("search settings: strategy: unknown");
    }
    s.trials = j.at("trials").get<int64_t>();
    s.seed = j.at("seed").get<uint64_t>();
    if (j.contains("scheduler")) {
      const json& c = j["scheduler"];
      SchedulerSettings sc;
      const std::string type = c.at("type").get<std::string>();
      if (type == "asha") {
        sc.type = SchedulerType::kAsha;
      } else if (type == "median") {
        sc.type = SchedulerType::kMedian;
      } else {
        return absl::InvalidArgumentError("search settings: scheduler.type: unknown");
      }
      sc.metric = c.at("metric").get<std::string>();
      auto mode = ModeFrom(c.at("mode"), "search settings: scheduler.mode");
      if (!mode.ok()) return mode.status();
      sc.mode = *mode;
      sc.min_epochs = c.at("min_epochs").get<int64_t>();
      sc.reduction_factor = c.at("reduction_factor").get<int>();
      sc.min_trials = c.at("min_trials").get<int>();
      s.scheduler = sc;
    }
    for (const json& r : j.at("stop")) {
      StopRule rule;
      const std::string kind = r.at("kind").get<std::string>();
      rule.metric = r.at("metric").get<std::string>();
      if (kind == "non_finite") {
        rule.kind = StopRule::Kind::kNonFinite;
      } else if (kind == "diverged") {
        rule.kind = StopRule::Kind::kDiverged;
        auto mode = ModeFrom(r.at("mode"), "search settings: stop.mode");
        if (!mode.ok()) return mode.status();
        rule.mode = *mode;
        rule.factor = r.at("factor").get<double>();
        rule.epochs = r.at("epochs").get<int64_t>();
      } else if (kind == "above" || kind == "below") {
        rule.kind = kind == "above" ? StopRule::Kind::kAbove : StopRule::Kind::kBelow;
        rule.bound = r.at("bound").get<double>();
      } else {
        return absl::InvalidArgumentError("search settings: stop.kind: unknown");
      }
      s.stop_rules.push_back(rule);
    }
    if (j.contains("keep_best")) {
      KeepBest k;
      k.metric = j["keep_best"].at("metric").get<std::string>();
      auto mode = ModeFrom(j["keep_best"].at("mode"), "search settings: keep_best.mode");
      if (!mode.ok()) return mode.status();
      k.mode = *mode;
      s.keep_best = k;
    }
    if (j.contains("keep_trained")) s.keep_trained = j["keep_trained"].get<int64_t>();
  } catch (const json::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("search settings: ", e.what()));
  }
  return s;
}

const std::vector<std::string>& EpochMetricNames() {
  static const std::vector<std::string> kNames = {
      // VAE
      "test/recon", "test/kl", "test/neg_elbo", "test/loss",
      // GAN and WGAN
      "test/d_real", "test/d_fake", "test/d_accuracy", "test/jsd", "test/wasserstein",
      // classifier
      "test/accuracy", "test/ce",
      // sample quality (eval_samples > 1)
      "fid", "mode_coverage", "class_kl"};
  return kNames;
}

}  // namespace gridrun::search
