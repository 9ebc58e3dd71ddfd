// Helpers shared by the two files of ResultsReader (results_reader.cpp: the
// whole-experiment reads; results_reader_pages.cpp: the dashboard's paged
// reads). Not for use elsewhere.
//
// Thread-safety: pure functions.
#pragma once

#include <SQLiteCpp/SQLiteCpp.h>

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"

namespace gridrun::coordinator::reader_internal {

// A trial's parameters (name, value) as stored.
inline constexpr char kSqlParamsOfTrial[] =
    "SELECT name, value FROM trial_params WHERE trial_id = ?1";

// A NULL REAL column (a NaN the worker reported) as NaN.
double ValueOrNaN(const SQLite::Column& column);

// NOT_FOUND "no experiment 'x'".
absl::Status NoExperiment(const std::string& id_or_name);

// The grid axes of an experiment and their values: the spec's axes in file
// order, each with the spec's values, then the names in `params` (pairs of
// param name and value, in trial order) that the spec does not list, in
// alphabetical order, their values in order of first appearance. A spec that
// cannot be parsed contributes nothing.
void FillAxes(const std::string& spec_yaml,
              const std::vector<std::pair<std::string, std::string>>& params,
              std::vector<std::string>* axes,
              std::map<std::string, std::vector<std::string>>* axis_values);

}  // namespace gridrun::coordinator::reader_internal
