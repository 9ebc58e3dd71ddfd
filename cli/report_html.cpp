#include "cli/report_html.h"

#include <algorithm>
#include <cmath>
#include <set>
#include <sstream>

#include "absl/strings/escaping.h"
#include "cli/run_environment_text.h"
#include "cli/status_command.h"
#include "cli/svg_chart.h"
#include "common/status_macros.h"
#include "coordinator/grid_spec.h"
#include "coordinator/trial_state.h"

namespace gridrun::cli {
namespace {

constexpr const char* kDefaultHeatMapMetrics[] = {"fid", "test/neg_elbo", "loss/total"};

constexpr std::string_view kStyle = R"css(
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 24px;
       color: #222; background: #fafafa; }
h1 { margin-bottom: 4px; }
h2 { margin-top: 32px; border-bottom: 1px solid #ccc; padding-bottom: 4px; }
table { border-collapse: collapse; background: #fff; }
th, td { border: 1px solid #ddd; padding: 3px 8px; font-size: 13px; }
th { background: #f0f0f0; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
td.state-FAILED, td.state-CANCELLED { color: #b00; }
span.swatch { display: inline-block; width: 12px; height: 12px; border-radius: 2px;
              vertical-align: middle; margin-right: 4px; }
table.summary th { width: 10em; }
pre.spec { background: #fff; border: 1px solid #ddd; padding: 8px; overflow-x: auto; }
figure { margin: 0; }
div.charts { display: flex; flex-wrap: wrap; gap: 16px; }
svg { background: #fff; border: 1px solid #ddd; font-size: 11px; max-width: 100%; height: auto; }
svg text.chart-title { font-size: 13px; font-weight: bold; }
svg text.axis-label { font-size: 12px; }
img.sample { image-rendering: pixelated; width: 168px; height: auto; display: block; }
table.samples td { vertical-align: top; }
p.note { color: #555; font-size: 13px; }
footer { margin-top: 32px; color: #888; font-size: 12px; }
)css";

std::string NumberCell(double value) {
  if (!std::isfinite(value)) return "<td class=\"num\">NaN</td>";
  return "<td class=\"num\">" + ShortNumber(value) + "</td>";
}

// The metric's x axis: epoch when every trial reports it at most once per
// epoch (per-epoch metrics), else the step.
bool UseEpochAxis(const ExperimentResults& results, const std::string& metric) {
  bool any = false;
  for (const TrialResults& trial : results.trials) {
    auto it = trial.series.find(metric);
    if (it == trial.series.end()) continue;
    int64_t previous = 0;
    for (const MetricSample& point : it->second) {
      if (point.epoch <= previous) return false;
      previous = point.epoch;
      any = true;
    }
  }
  return any;
}

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

// Early stopping: "21 of 81 trial-epochs run (74% saved)", from the epochs
// each trial trained here (the newest epoch of its metrics; reused trials
// cost nothing) against the spec's epochs for every trial; "" for a spec
// without a scheduler or stop rules.
std::string ComputeSavedCell(const ExperimentResults& results) {
  auto spec = coordinator::ParseGridSpec(results.spec_yaml);
  if (!spec.ok() || (!spec->search.scheduler && spec->search.stop_rules.empty())) return "";
  auto epochs = spec->fixed.find("epochs");
  const int64_t per_trial =
      epochs != spec->fixed.end() ? std::get<int64_t>(epochs->second) : TrialConfig{}.epochs;
  const int64_t full = per_trial * static_cast<int64_t>(results.trials.size());
  int64_t run = 0;
  for (const TrialResults& trial : results.trials) {
    if (trial.reused_from != 0) continue;
    int64_t last = 0;
    for (const auto& [name, series] : trial.series) {
      if (!series.empty()) last = std::max(last, series.back().epoch);
    }
    run += last;
  }
  std::string text = std::to_string(run) + " of " + std::to_string(full) + " trial-epochs run";
  if (full > 0 && run <= full) {
    text += " (" + std::to_string(std::lround(100.0 * (full - run) / full)) + "% saved)";
  }
  return text;
}

void RenderSummary(const ExperimentResults& results, std::ostringstream& html) {
  std::map<std::string, int64_t> counts;
  for (const TrialResults& trial : results.trials) ++counts[trial.state];
  std::string states;
  for (coordinator::TrialState state : coordinator::kAllTrialStates) {
    const std::string name = coordinator::TrialStateName(state);
    if (counts[name] == 0) continue;
    states += (states.empty() ? "" : ", ") + std::to_string(counts[name]) + " " + name;
  }
  html << "<section id=\"summary\">\n<table class=\"summary\">\n"
       << "<tr><th>experiment</th><td>" << XmlEscape(results.name) << "</td></tr>\n"
       << "<tr><th>id</th><td>" << XmlEscape(results.experiment_id) << "</td></tr>\n"
       << "<tr><th>status</th><td>" << XmlEscape(results.status) << "</td></tr>\n"
       << "<tr><th>created</th><td>" << XmlEscape(LocalTimeText(results.created_ms))
       << "</td></tr>\n"
       << "<tr><th>trials</th><td>" << results.trials.size()
       << (states.empty() ? "" : " (" + XmlEscape(states) + ")") << "</td></tr>\n";
  if (const std::string compute = ComputeSavedCell(results); !compute.empty()) {
    html << "<tr><th>compute</th><td>" << XmlEscape(compute) << "</td></tr>\n";
  }
  for (const std::string& axis : results.axes) {
    auto it = results.axis_values.find(axis);
    html << "<tr><th>" << XmlEscape(axis) << "</th><td>"
         << XmlEscape(it == results.axis_values.end() ? "" : JoinNames(it->second))
         << "</td></tr>\n";
  }
  html << "</table>\n<details><summary>grid spec</summary><pre class=\"spec\">"
       << XmlEscape(results.spec_yaml) << "</pre></details>\n</section>\n";
}

void RenderResultsTable(const ExperimentResults& results, const std::vector<std::string>& metrics,
                        std::ostringstream& html) {
  html << "<section id=\"results\">\n<h2>Trials</h2>\n<table class=\"results\">\n<tr><th>#</th>"
       << "<th>state</th>";
  for (const std::string& axis : results.axes) html << "<th>" << XmlEscape(axis) << "</th>";
  for (const std::string& metric : metrics) html << "<th>" << XmlEscape(metric) << "</th>";
  html << "</tr>\n";
  for (size_t i = 0; i < results.trials.size(); ++i) {
    const TrialResults& trial = results.trials[i];
    html << "<tr><td class=\"num\"><span class=\"swatch\" style=\"background:" << SeriesColor(i)
         << "\"></span>" << trial.number << "</td><td class=\"state-" << XmlEscape(trial.state)
         << "\"";
    if (!trial.error.empty()) html << " title=\"" << XmlEscape(trial.error) << "\"";
    html << ">" << XmlEscape(trial.state);
    if (trial.reused_from != 0) html << " (reused trial " << trial.reused_from << ")";
    html << "</td>";
    for (const std::string& axis : results.axes) {
      auto it = trial.params.find(axis);
      html << "<td>" << (it == trial.params.end() ? "" : XmlEscape(it->second)) << "</td>";
    }
    for (const std::string& metric : metrics) {
      auto it = trial.last_metrics.find(metric);
      html << (it == trial.last_metrics.end() ? "<td></td>" : NumberCell(it->second));
    }
    html << "</tr>\n";
  }
  html << "</table>\n";
  for (const TrialResults& trial : results.trials) {
    if (trial.state == coordinator::TrialStateName(coordinator::TrialState::kFailed) &&
        !trial.error.empty()) {
      html << "<p class=\"note\">trial " << trial.number << " failed: " << XmlEscape(trial.error)
           << "</p>\n";
    }
    // Why a trial was stopped early (its rung and value, or the rule).
    if (trial.state == coordinator::TrialStateName(coordinator::TrialState::kStopped) &&
        !trial.error.empty()) {
      html << "<p class=\"note\">trial " << trial.number
           << " stopped early: " << XmlEscape(trial.error) << "</p>\n";
    }
  }
  html << "</section>\n";
}

// Where each trial ran: one row per attempt with the environment its worker
// reported (cli/run_environment_text.h), so a result can be traced to the
// build, libraries and machines that produced it.
void RenderEnvironments(const ExperimentResults& results, std::ostringstream& html) {
  html << "<section id=\"environments\">\n<h2>Where trials ran</h2>\n";
  bool any = false;
  for (const TrialResults& trial : results.trials) any = any || !trial.attempts.empty();
  if (!any) {
    html << "<p class=\"note\">No attempt has been recorded yet.</p>\n</section>\n";
    return;
  }
  html << "<table class=\"environments\">\n<tr><th>#</th><th>attempt</th><th>worker</th>";
  for (const EnvironmentField& field : DescribeRunEnvironment("")) {
    html << "<th>" << XmlEscape(field.label) << "</th>";
  }
  html << "</tr>\n";
  for (const TrialResults& trial : results.trials) {
    for (const AttemptRecord& attempt : trial.attempts) {
      html << "<tr><td class=\"num\">" << trial.number << "</td><td class=\"num\">"
           << attempt.attempt << "</td><td>" << XmlEscape(attempt.worker_id) << "</td>";
      for (const EnvironmentField& field : DescribeRunEnvironment(attempt.environment_json)) {
        html << "<td>" << XmlEscape(field.value) << "</td>";
      }
      html << "</tr>\n";
    }
  }
  html << "</table>\n</section>\n";
}

void RenderCurves(const ExperimentResults& results, const std::vector<std::string>& metrics,
                  std::ostringstream& html) {
  html << "<section id=\"curves\">\n<h2>Learning curves</h2>\n";
  bool any = false;
  std::ostringstream charts;
  for (const std::string& metric : metrics) {
    const bool by_epoch = UseEpochAxis(results, metric);
    std::vector<ChartSeries> series;
    for (size_t i = 0; i < results.trials.size(); ++i) {
      const TrialResults& trial = results.trials[i];
      auto it = trial.series.find(metric);
      if (it == trial.series.end()) continue;
      ChartSeries s;
      s.label = "#" + std::to_string(trial.number) + " " + TrialLabel(results, trial);
      s.color = SeriesColor(i);
      for (const MetricSample& point : it->second) {
        if (!point.value) continue;
        s.points.emplace_back(static_cast<double>(by_epoch ? point.epoch : point.step),
                              *point.value);
      }
      if (!s.points.empty()) series.push_back(std::move(s));
    }
    if (series.empty()) continue;
    any = true;
    LineChartOptions options;
    options.title = metric;
    options.x_label = by_epoch ? "epoch" : "step";
    options.y_label = metric;
    charts << "<figure>" << RenderLineChart(series, options) << "</figure>\n";
  }
  if (any) {
    html << "<div class=\"charts\">\n" << charts.str() << "</div>\n";
  } else {
    html << "<p class=\"note\">No metric points recorded yet.</p>\n";
  }
  html << "</section>\n";
}

void RenderSamples(const ExperimentResults& results, std::ostringstream& html) {
  html << "<section id=\"samples\">\n<h2>Samples</h2>\n";
  const std::vector<std::string> names = SampleNames(results);
  if (names.empty()) html << "<p class=\"note\">No sample images recorded yet.</p>\n";
  for (const std::string& name : names) {
    std::set<int64_t> epochs;
    for (const TrialResults& trial : results.trials) {
      for (const SampleImage& sample : trial.samples) {
        if (sample.name == name) epochs.insert(sample.epoch);
      }
    }
    html << "<h3>" << XmlEscape(name) << "</h3>\n<table class=\"samples\">\n<tr><th>trial</th>";
    for (int64_t epoch : epochs) html << "<th>epoch " << epoch << "</th>";
    html << "</tr>\n";
    for (const TrialResults& trial : results.trials) {
      // The last image of each epoch.
      std::map<int64_t, const SampleImage*> by_epoch;
      for (const SampleImage& sample : trial.samples) {
        if (sample.name != name) continue;
        auto& slot = by_epoch[sample.epoch];
        if (slot == nullptr || sample.step >= slot->step) slot = &sample;
      }
      if (by_epoch.empty()) continue;
      const std::string label = TrialLabel(results, trial);
      html << "<tr><th>#" << trial.number << "<br>" << XmlEscape(label) << "</th>";
      for (int64_t epoch : epochs) {
        auto it = by_epoch.find(epoch);
        if (it == by_epoch.end() || it->second->png.empty()) {
          html << "<td></td>";
          continue;
        }
        const std::string alt = "trial " + std::to_string(trial.number) + " (" + label + "), " +
                                name + ", epoch " + std::to_string(epoch) + ", step " +
                                std::to_string(it->second->step);
        html << "<td><img class=\"sample\" alt=\"" << XmlEscape(alt) << "\" title=\""
             << XmlEscape(alt) << "\" src=\"data:image/png;base64,"
             << absl::Base64Escape(it->second->png) << "\"></td>";
      }
      html << "</tr>\n";
    }
    html << "</table>\n";
  }
  html << "</section>\n";
}

void RenderHeatMapSection(const ExperimentResults& results, const HeatMapChoice& choice,
                          std::ostringstream& html) {
  html << "<section id=\"heatmap\">\n<h2>Heat map</h2>\n";
  if (choice.metric.empty()) {
    html << "<p class=\"note\">" << XmlEscape(choice.note) << "</p>\n</section>\n";
    return;
  }
  HeatMapData data;
  data.x_label = choice.x_axis;
  data.y_label = choice.y_axis;
  data.x_values = results.axis_values.at(choice.x_axis);
  data.y_values =
      choice.y_axis.empty() ? std::vector<std::string>{""} : results.axis_values.at(choice.y_axis);
  std::vector<std::vector<double>> sums(data.y_values.size(),
                                        std::vector<double>(data.x_values.size(), 0));
  std::vector<std::vector<int>> counts(data.y_values.size(),
                                       std::vector<int>(data.x_values.size(), 0));
  int most = 0;
  for (const TrialResults& trial : results.trials) {
    auto value = trial.last_metrics.find(choice.metric);
    if (value == trial.last_metrics.end() || !std::isfinite(value->second)) continue;
    auto px = trial.params.find(choice.x_axis);
    if (px == trial.params.end()) continue;
    auto x = std::find(data.x_values.begin(), data.x_values.end(), px->second);
    if (x == data.x_values.end()) continue;
    size_t y = 0;
    if (!choice.y_axis.empty()) {
      auto py = trial.params.find(choice.y_axis);
      if (py == trial.params.end()) continue;
      auto it = std::find(data.y_values.begin(), data.y_values.end(), py->second);
      if (it == data.y_values.end()) continue;
      y = it - data.y_values.begin();
    }
    const size_t xi = x - data.x_values.begin();
    sums[y][xi] += value->second;
    most = std::max(most, ++counts[y][xi]);
  }
  data.cells.assign(data.y_values.size(), std::vector<std::optional<double>>(data.x_values.size()));
  for (size_t y = 0; y < data.y_values.size(); ++y) {
    for (size_t x = 0; x < data.x_values.size(); ++x) {
      if (counts[y][x] > 0) data.cells[y][x] = sums[y][x] / counts[y][x];
    }
  }
  data.title = choice.metric + " by " + choice.x_axis +
               (choice.y_axis.empty() ? "" : " and " + choice.y_axis);
  html << "<figure>" << RenderHeatMap(data) << "<figcaption class=\"note\">last value of "
       << XmlEscape(choice.metric) << " per trial";
  if (most > 1) html << "; cells average the trials that differ in the other axes";
  html << ".</figcaption></figure>\n</section>\n";
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

absl::StatusOr<std::string> RenderReportHtml(const ExperimentResults& results,
                                             const ReportOptions& options) {
  ASSIGN_OR_RETURN(const HeatMapChoice choice, ChooseHeatMap(results, options));
  const std::vector<std::string> metrics = MetricNames(results);
  std::ostringstream html;
  html << "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
       << "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
       << "<title>gridrun report: " << XmlEscape(results.name) << "</title>\n<style>" << kStyle
       << "</style>\n</head>\n<body>\n<h1>" << XmlEscape(results.name) << "</h1>\n";
  RenderSummary(results, html);
  RenderResultsTable(results, metrics, html);
  RenderCurves(results, metrics, html);
  RenderSamples(results, html);
  RenderHeatMapSection(results, choice, html);
  RenderEnvironments(results, html);
  html << "<footer>gridrun report";
  if (options.generated_ms > 0) html << ", generated " << LocalTimeText(options.generated_ms);
  html << "</footer>\n</body>\n</html>\n";
  return html.str();
}

std::string TrialLabel(const ExperimentResults& results, const TrialResults& trial) {
  return ParamsText(trial.params, results.axes);
}

}  // namespace gridrun::cli
