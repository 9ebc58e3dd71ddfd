// Reader types to JSON for the dashboard API and the report snapshot.
#include "ui/api_json.h"

#include <cmath>

#include "common/trial_config.h"
#include "coordinator/compute_saved.h"
#include "modelspec/trial_model.h"

namespace gridrun::ui {
namespace {

nlohmann::json Number(double value) {
  return std::isfinite(value) ? nlohmann::json(value) : nlohmann::json(nullptr);
}

nlohmann::json MetricsJson(const std::map<std::string, double>& metrics) {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [name, value] : metrics) out[name] = Number(value);
  return out;
}

// A JSON document stored as text (config, environment): parsed, or the text
// itself when it is not valid JSON, or null when empty.
nlohmann::json Embedded(const std::string& text) {
  if (text.empty()) return nullptr;
  nlohmann::json parsed = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  return parsed.is_discarded() ? nlohmann::json(text) : parsed;
}

nlohmann::json OrNull(const std::optional<double>& value) {
  return value ? Number(*value) : nlohmann::json(nullptr);
}

}  // namespace

nlohmann::json ArchitectureJson(const std::string& config_json) {
  absl::StatusOr<TrialConfig> config = TrialConfigFromJson(config_json);
  if (!config.ok()) return {{"error", std::string(config.status().message())}};
  absl::StatusOr<modelspec::ResolvedModel> model = modelspec::ResolveTrialModel(*config);
  if (!model.ok()) return {{"model", config->model}, {"error", std::string(model.status().message())}};
  const modelspec::ParamCount params = model->TotalParams();
  return {{"model", config->model},
          {"from_file", !config->model_source.empty()},
          {"parameters", params.trainable},
          {"table", modelspec::ResolvedLayerTable(*model)}};
}

nlohmann::json SummaryJson(const coordinator::ExperimentSummary& s) {
  return {{"id", s.experiment_id},      {"name", s.name},
          {"status", s.status},         {"created_ms", s.created_ms},
          {"trials", s.trials},         {"trials_by_state", s.trials_by_state},
          {"started_ms", s.started_ms}, {"finished_ms", s.finished_ms},
          {"compute_ms", s.compute_ms}, {"progress", Number(s.progress)},
          {"trial_epochs_run", s.trial_epochs_run},
          {"trial_epochs_full", s.trial_epochs_full},
          {"compute_saved", coordinator::ComputeSavedText(s.trial_epochs_run, s.trial_epochs_full)},
          {"search", Embedded(s.search_json)}};
}

nlohmann::json OutlineJson(const coordinator::ExperimentOutline& outline) {
  nlohmann::json out = SummaryJson(outline);
  out["spec_yaml"] = outline.spec_yaml;
  out["axes"] = outline.axes;
  out["axis_values"] = outline.axis_values;
  out["metrics"] = outline.metrics;
  out["sample_names"] = outline.sample_names;
  out["sample_epochs"] = outline.sample_epochs;
  out["model_files"] = outline.model_files;
  return out;
}

nlohmann::json TrialRowJson(const coordinator::TrialRow& row) {
  return {{"id", row.trial_id},
          {"number", row.number},
          {"state", row.state},
          {"attempt", row.attempt},
          {"worker", row.worker_id},
          {"reused_from", row.reused_from},
          {"error", row.error},
          {"epoch", row.epoch},
          {"step", row.step},
          {"total_steps", row.total_steps},
          {"started_ms", row.started_ms},
          {"finished_ms", row.finished_ms},
          {"rung_epoch", row.rung_epoch},
          {"params", row.params},
          {"metrics", MetricsJson(row.metrics)}};
}

nlohmann::json TrialsPageJson(const coordinator::TrialsPage& page, int64_t offset) {
  nlohmann::json rows = nlohmann::json::array();
  for (const coordinator::TrialRow& row : page.rows) rows.push_back(TrialRowJson(row));
  return {{"total", page.total}, {"offset", offset}, {"rows", std::move(rows)}};
}

nlohmann::json CurveJson(const coordinator::CurveSeries& curve) {
  nlohmann::json steps = nlohmann::json::array(), epochs = nlohmann::json::array(),
                 values = nlohmann::json::array();
  for (const coordinator::MetricSample& point : curve.points) {
    steps.push_back(point.step);
    epochs.push_back(point.epoch);
    values.push_back(point.value ? Number(*point.value) : nlohmann::json(nullptr));
  }
  return {{"trial", curve.number},
          {"metric", curve.metric},
          {"total_points", curve.total_points},
          {"step", std::move(steps)},
          {"epoch", std::move(epochs)},
          {"value", std::move(values)}};
}

nlohmann::json HeatMapJson(const coordinator::HeatMap& map) {
  nlohmann::json cells = nlohmann::json::array();
  for (const coordinator::HeatMapCell& cell : map.cells) {
    cells.push_back({{"x", cell.x},
                     {"y", cell.y},
                     {"trials", cell.trials},
                     {"values", cell.values},
                     {"mean", cell.values ? Number(cell.mean) : nlohmann::json(nullptr)},
                     {"min", cell.values ? Number(cell.min) : nlohmann::json(nullptr)},
                     {"max", cell.values ? Number(cell.max) : nlohmann::json(nullptr)}});
  }
  return {{"metric", map.metric},     {"x_axis", map.x_axis},     {"y_axis", map.y_axis},
          {"x_values", map.x_values}, {"y_values", map.y_values}, {"cells", std::move(cells)}};
}

nlohmann::json TrialDetailJson(const coordinator::TrialDetail& detail) {
  nlohmann::json attempts = nlohmann::json::array();
  for (const coordinator::AttemptRecord& a : detail.attempts) {
    attempts.push_back({{"trial_id", a.trial_id},
                        {"attempt", a.attempt},
                        {"worker", a.worker_id},
                        {"started_ms", a.started_ms},
                        {"environment", Embedded(a.environment_json)}});
  }
  nlohmann::json samples = nlohmann::json::array();
  for (const coordinator::SampleImage& s : detail.samples) {
    samples.push_back({{"name", s.name},
                       {"step", s.step},
                       {"epoch", s.epoch},
                       {"rows", s.rows},
                       {"cols", s.cols}});
  }
  nlohmann::json checkpoints = nlohmann::json::array();
  for (const coordinator::CheckpointRecord& c : detail.checkpoints) {
    checkpoints.push_back({{"step", c.step},
                           {"epoch", c.epoch},
                           {"sha256", c.sha256},
                           {"size_bytes", c.size_bytes},
                           {"path", c.path},
                           {"best", c.best},
                           {"created_ms", c.created_ms}});
  }
  nlohmann::json rungs = nlohmann::json::array();
  for (const coordinator::RungArrival& r : detail.rungs) {
    rungs.push_back({{"rung", r.rung},
                     {"seq", r.seq},
                     {"epoch", r.epoch},
                     {"value", OrNull(r.value)},
                     {"promoted", r.promoted},
                     {"arrived_ms", r.arrived_ms}});
  }
  nlohmann::json decisions = nlohmann::json::array();
  for (const coordinator::SearchDecisionRecord& d : detail.decisions) {
    decisions.push_back({{"kind", d.kind},
                         {"rung", d.rung},
                         {"epoch", d.epoch},
                         {"reason", d.reason},
                         {"decided_ms", d.decided_ms}});
  }
  return {{"trial", TrialRowJson(detail.row)}, {"config", Embedded(detail.config_json)},
          {"attempts", std::move(attempts)},   {"metric_points", detail.metric_points},
          {"samples", std::move(samples)},     {"checkpoints", std::move(checkpoints)},
          {"rungs", std::move(rungs)},         {"decisions", std::move(decisions)},
          {"architecture", ArchitectureJson(detail.config_json)}};
}

std::string DumpJson(const nlohmann::json& value) {
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace gridrun::ui
