// Renders query results -- and every table the CLI prints, built as a
// coordinator::QueryResult -- for people (aligned table) or scripts (CSV,
// JSON), and holds the CLI's one CSV quoting rule.
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "coordinator/read_only_query.h"

namespace gridrun::cli {

using coordinator::QueryResult;
using coordinator::SqlValue;

enum class OutputFormat { kTable, kCsv, kJson };

// "table", "csv" or "json"; INVALID_ARGUMENT otherwise.
absl::StatusOr<OutputFormat> ParseOutputFormat(const std::string& name);

// Table: header, a rule, aligned columns (numbers right-aligned), NULL shown
// as empty, a BLOB as "<blob N bytes>". CSV: RFC 4180 quoting. JSON: an
// array of objects, numbers as numbers, NULL as null. Every format ends with
// a newline.
std::string FormatResult(const QueryResult& result, OutputFormat format);

// RFC 4180 field: quoted when it holds a comma, quote, CR or LF.
std::string CsvEscape(std::string_view field);

}  // namespace gridrun::cli
