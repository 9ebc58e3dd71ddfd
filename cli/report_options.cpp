#include "cli/report_options.h"

#include <algorithm>
#include <set>

#include "cli/status_command.h"
#include "common/status_macros.h"

namespace gridrun::cli {
namespace {

constexpr const char* kDefaultHeatMapMetrics[] = {"fid", "test/neg_elbo", "loss/total"};

std::vector<std::string> VaryingAxes(const ExperimentResults& results) {
  std::vector<std::string> axes;
  for (const std::string& axis : results.axes) {
    auto it = results.axis_values.find(axis);
    if (it != results.axis_values.end() && it->second.size() > 1) axes.push_back(axis);
  }
  return axes;
}

std::string JoinNames(const std::vector<std::string>& names) {
  std::string text;
  for (const std::string& name : names) text += (text.empty() ? "" : ", ") + name;
  return text.empty() ? "(none)" : text;
}

}  // namespace

std::vector<std::string> MetricNames(const ExperimentResults& results) {
  std::set<std::string> names;
  for (const TrialResults& trial : results.trials) {
    for (const auto& [name, value] : trial.last_metrics) names.insert(name);
    for (const auto& [name, points] : trial.series) names.insert(name);
  }
  std::vector<std::string> ordered;
  for (const std::string& key : KeyMetricNames()) {
    if (names.erase(key)) ordered.push_back(key);
  }
  ordered.insert(ordered.end(), names.begin(), names.end());
  return ordered;
}

std::vector<std::string> SampleNames(const ExperimentResults& results) {
  std::set<std::string> names;
  for (const TrialResults& trial : results.trials) {
    for (const SampleImage& sample : trial.samples) names.insert(sample.name);
  }
  return std::vector<std::string>(names.begin(), names.end());
}

absl::StatusOr<HeatMapChoice> ChooseHeatMap(const ExperimentResults& results,
                                            const ReportOptions& options) {
  HeatMapChoice choice;
  std::set<std::string> last_names;
  for (const TrialResults& trial : results.trials) {
    for (const auto& [name, value] : trial.last_metrics) last_names.insert(name);
  }
  const std::vector<std::string> metrics = MetricNames(results);
  if (!options.heatmap_metric.empty()) {
    if (!last_names.count(options.heatmap_metric)) {
      return absl::InvalidArgumentError("--heatmap-metric: experiment '" + results.name +
                                        "' has no metric '" + options.heatmap_metric +
                                        "'; its metrics: " + JoinNames(metrics));
    }
    choice.metric = options.heatmap_metric;
  } else {
    for (const char* name : kDefaultHeatMapMetrics) {
      if (last_names.count(name)) {
        choice.metric = name;
        break;
      }
    }
    if (choice.metric.empty()) {
      for (const std::string& name : metrics) {
        if (last_names.count(name)) {
          choice.metric = name;
          break;
        }
      }
    }
  }
  for (const std::string* axis : {&options.x_axis, &options.y_axis}) {
    if (!axis->empty() &&
        std::find(results.axes.begin(), results.axes.end(), *axis) == results.axes.end()) {
      return absl::InvalidArgumentError(std::string(axis == &options.x_axis ? "--x" : "--y") +
                                        ": experiment '" + results.name + "' has no grid axis '" +
                                        *axis + "'; its axes: " + JoinNames(results.axes));
    }
  }
  if (!options.x_axis.empty() && options.x_axis == options.y_axis) {
    return absl::InvalidArgumentError("--x and --y name the same axis '" + options.x_axis + "'");
  }
  const std::vector<std::string> varying = VaryingAxes(results);
  choice.x_axis = options.x_axis;
  choice.y_axis = options.y_axis;
  for (const std::string& axis : varying) {
    if (choice.x_axis.empty() && axis != choice.y_axis) {
      choice.x_axis = axis;
    } else if (choice.y_axis.empty() && options.y_axis.empty() && axis != choice.x_axis) {
      choice.y_axis = axis;
    }
  }
  if (choice.metric.empty()) {
    choice.note = "No metric recorded yet, so no heat map.";
  } else if (choice.x_axis.empty()) {
    choice.note = "No grid axis has more than one value, so no heat map.";
  }
  if (!choice.note.empty()) {
    choice.metric.clear();
    choice.x_axis.clear();
    choice.y_axis.clear();
  }
  return choice;
}

std::string TrialLabel(const ExperimentResults& results, const TrialResults& trial) {
  return ParamsText(trial.params, results.axes);
}

}  // namespace gridrun::cli
