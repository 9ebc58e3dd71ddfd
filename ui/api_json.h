// The JSON of the dashboard's API (ui/api_router.h) and of the report's
// inlined snapshot (ui/snapshot.h): one conversion per results-reader type,
// so that the live page and the static report read the same shapes.
//
// NaN and infinite values become null; params stay strings (as stored).
// Serialize with DumpJson, which replaces invalid UTF-8 instead of throwing.
//
// Thread-safety: pure functions.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "coordinator/results_reader.h"

namespace gridrun::ui {

nlohmann::json SummaryJson(const coordinator::ExperimentSummary& summary);
nlohmann::json OutlineJson(const coordinator::ExperimentOutline& outline);
nlohmann::json TrialRowJson(const coordinator::TrialRow& row);
nlohmann::json TrialsPageJson(const coordinator::TrialsPage& page, int64_t offset);
// {"trial", "metric", "total_points", "step": [], "epoch": [], "value": []}
nlohmann::json CurveJson(const coordinator::CurveSeries& curve);
nlohmann::json HeatMapJson(const coordinator::HeatMap& map);
// Includes "architecture" (ArchitectureJson of its config), "rungs" and
// "decisions" (early stopping).
nlohmann::json TrialDetailJson(const coordinator::TrialDetail& detail);

// The model a trial's config trains, resolved without LibTorch
// (modelspec/trial_model.h): {"model", "from_file", "parameters", "table"}
// (the torchsummary table `gridrun models` prints), or {"model"?, "error"}
// when the config or its model does not resolve.
nlohmann::json ArchitectureJson(const std::string& config_json);

// Compact JSON text; invalid UTF-8 in names becomes U+FFFD.
std::string DumpJson(const nlohmann::json& value);

}  // namespace gridrun::ui
