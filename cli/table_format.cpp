#include "cli/table_format.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <sstream>

namespace gridrun::cli {
namespace {

bool IsNumber(const SqlValue& v) {
  return v.type == SqlValue::Type::kInteger || v.type == SqlValue::Type::kReal;
}

// What a cell shows: a BLOB's size rather than its bytes.
std::string CellText(const SqlValue& v) {
  if (v.type == SqlValue::Type::kBlob) return "<blob " + std::to_string(v.text.size()) + " bytes>";
  return v.text;
}

std::string FormatTable(const QueryResult& result) {
  std::vector<size_t> widths(result.columns.size());
  for (size_t c = 0; c < result.columns.size(); ++c) widths[c] = result.columns[c].size();
  for (const auto& row : result.rows) {
    for (size_t c = 0; c < row.size(); ++c)
      widths[c] = std::max(widths[c], CellText(row[c]).size());
  }
  // Cells padded to their column's width (numbers on the right), lines
  // without trailing blanks.
  auto emit_line = [&](std::ostringstream& out, const std::vector<std::string>& cells,
                       const std::vector<bool>& right) {
    std::string line;
    for (size_t c = 0; c < cells.size(); ++c) {
      const std::string pad(widths[c] - cells[c].size(), ' ');
      line += (c ? "  " : "") + (right[c] ? pad + cells[c] : cells[c] + pad);
    }
    line.erase(line.find_last_not_of(' ') + 1);
    out << line << "\n";
  };
  std::ostringstream out;
  const std::vector<bool> left(widths.size(), false);
  emit_line(out, result.columns, left);
  std::vector<std::string> rules;
  for (size_t w : widths) rules.push_back(std::string(w, '-'));
  emit_line(out, rules, left);
  for (const auto& row : result.rows) {
    std::vector<std::string> cells;
    std::vector<bool> right;
    for (const SqlValue& v : row) {
      cells.push_back(CellText(v));
      right.push_back(IsNumber(v));
    }
    emit_line(out, cells, right);
  }
  if (result.truncated) out << "(output truncated at " << result.rows.size() << " rows)\n";
  return out.str();
}

std::string FormatCsv(const QueryResult& result) {
  std::ostringstream out;
  for (size_t c = 0; c < result.columns.size(); ++c) {
    out << (c ? "," : "") << CsvEscape(result.columns[c]);
  }
  out << "\n";
  for (const auto& row : result.rows) {
    for (size_t c = 0; c < row.size(); ++c) out << (c ? "," : "") << CsvEscape(CellText(row[c]));
    out << "\n";
  }
  return out.str();
}

std::string FormatJson(const QueryResult& result) {
  nlohmann::ordered_json rows = nlohmann::ordered_json::array();
  for (const auto& row : result.rows) {
    nlohmann::ordered_json object = nlohmann::ordered_json::object();
    for (size_t c = 0; c < row.size(); ++c) {
      const SqlValue& v = row[c];
      switch (v.type) {
        case SqlValue::Type::kNull:
          object[result.columns[c]] = nullptr;
          break;
        case SqlValue::Type::kInteger:
          object[result.columns[c]] = std::stoll(v.text);
          break;
        case SqlValue::Type::kReal:
          object[result.columns[c]] = std::stod(v.text);
          break;
        default:
          object[result.columns[c]] = CellText(v);
          break;
      }
    }
    rows.push_back(std::move(object));
  }
  return rows.dump(2) + "\n";
}

}  // namespace

absl::StatusOr<OutputFormat> ParseOutputFormat(const std::string& name) {
  if (name == "table") return OutputFormat::kTable;
  if (name == "csv") return OutputFormat::kCsv;
  if (name == "json") return OutputFormat::kJson;
  return absl::InvalidArgumentError("--format: '" + name + "' is not one of table, csv, json");
}

std::string CsvEscape(std::string_view field) {
  if (field.find_first_of(",\"\r\n") == std::string_view::npos) return std::string(field);
  std::string quoted = "\"";
  for (char c : field) {
    if (c == '"') quoted += '"';
    quoted += c;
  }
  return quoted + "\"";
}

std::string FormatResult(const QueryResult& result, OutputFormat format) {
  switch (format) {
    case OutputFormat::kCsv: return FormatCsv(result);
    case OutputFormat::kJson: return FormatJson(result);
    case OutputFormat::kTable: break;
  }
  return FormatTable(result);
}

}  // namespace gridrun::cli
