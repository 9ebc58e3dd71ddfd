// Renders query results for people (aligned table) or scripts (CSV, JSON).
// Thread-safety: pure functions.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "cli/read_only_query.h"

namespace gridrun::cli {

enum class OutputFormat { kTable, kCsv, kJson };

// "table", "csv" or "json"; INVALID_ARGUMENT otherwise.
absl::StatusOr<OutputFormat> ParseOutputFormat(const std::string& name);

// Table: header, a rule, aligned columns (numbers right-aligned), NULL shown
// as empty. CSV: RFC 4180 quoting. JSON: an array of objects, numbers as
// numbers, NULL as null. Every format ends with a newline.
std::string FormatResult(const QueryResult& result, OutputFormat format);

}  // namespace gridrun::cli
