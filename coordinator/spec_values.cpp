// Reading one value of a grid spec: number and name syntax, allowed-value
// texts and ParseScalar (coordinator/spec_values.h).
#include "coordinator/spec_values.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/model_catalog.h"
#include "common/number_format.h"
#include "modelspec/zoo.h"

namespace gridrun::coordinator {
namespace {

std::string ClassifierNames() {
  std::vector<std::string> names;
  for (const ModelInfo& m : ModelCatalog()) {
    if (m.objective == Objective::kClassifier) names.emplace_back(m.name);
  }
  return absl::StrJoin(names, ", ");
}

// Matchers written out by hand: std::regex recurses per character and would
// overflow the stack on a long scalar in a hostile spec.

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Skips digits from `i`; returns how many there were.
size_t SkipDigits(std::string_view s, size_t& i) {
  const size_t start = i;
  while (i < s.size() && IsDigit(s[i])) ++i;
  return i - start;
}

// Reads text that Matches{Int,Real} accepted; false when it does not fit T.
template <typename T>
bool ReadNumber(const std::string& text, T& value) {
  const char* begin = text.data() + (text[0] == '+' ? 1 : 0);
  return std::from_chars(begin, text.data() + text.size(), value).ec == std::errc();
}

}  // namespace

std::string AllowedText(const TrialField& f) {
  switch (f.kind) {
    case FieldKind::kInt:
    case FieldKind::kIntList:
      if (f.range.int_max == kNoIntMax) return absl::StrCat(">= ", f.range.int_min);
      return absl::StrCat(f.range.int_min, "..", f.range.int_max);
    case FieldKind::kReal: {
      std::string out = absl::StrCat(f.range.real_min_open ? "> " : ">= ",
                                     FormatShortestDouble(f.range.real_min));
      if (f.range.real_max != kNoRealMax) {
        absl::StrAppend(&out, " and ", f.range.real_max_open ? "< " : "<= ",
                        FormatShortestDouble(f.range.real_max));
      }
      return out;
    }
    case FieldKind::kChoice:
      return absl::StrJoin(f.range.choices, ", ");
    case FieldKind::kDataset:
      return DatasetNames();
    case FieldKind::kModel:
      return ModelNames();
    case FieldKind::kText:
      return "";
    case FieldKind::kClassifier:
      return ClassifierNames();
    case FieldKind::kName:
      return kNameRule;
  }
  return "";
}

// [-+]?[0-9]+
bool MatchesInt(std::string_view s) {
  size_t i = (!s.empty() && (s[0] == '-' || s[0] == '+')) ? 1 : 0;
  return SkipDigits(s, i) > 0 && i == s.size();
}

// [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?, YAML 1.2's float
// without .inf and .nan (and with 1e-3, which YAML 1.2 also reads as a float).
bool MatchesReal(std::string_view s) {
  size_t i = (!s.empty() && (s[0] == '-' || s[0] == '+')) ? 1 : 0;
  const size_t whole = SkipDigits(s, i);
  size_t fraction = 0;
  if (i < s.size() && s[i] == '.') {
    ++i;
    fraction = SkipDigits(s, i);
  }
  if (whole == 0 && fraction == 0) return false;
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '-' || s[i] == '+')) ++i;
    if (SkipDigits(s, i) == 0) return false;
  }
  return i == s.size();
}

bool IsExperimentName(std::string_view s) {
  auto alnum = [](char c) { return IsDigit(c) || (c >= 'a' && c <= 'z'); };
  if (s.empty() || s.size() > 64 || !alnum(s[0])) return false;
  return std::all_of(s.begin() + 1, s.end(),
                     [&](char c) { return alnum(c) || c == '.' || c == '_' || c == '-'; });
}

std::optional<SettingValue> ParseScalar(const TrialField& field, const YAML::Node& node,
                                        const std::string& path, int line, ErrorList& errors) {
  const std::string allowed = AllowedText(field);
  if (node.IsNull()) {
    errors.Add(line, path, "no value", "", allowed);
    return std::nullopt;
  }
  const std::string& text = node.Scalar();
  const bool plain = !IsQuoted(node);
  switch (field.kind) {
    case FieldKind::kInt:
    case FieldKind::kIntList: {
      if (!plain || !MatchesInt(text)) {
        errors.Add(line, path, "not an integer", DescribeNode(node), allowed);
        return std::nullopt;
      }
      int64_t v = 0;
      if (!ReadNumber(text, v) || v < field.range.int_min || v > field.range.int_max) {
        errors.Add(line, path, "out of range", DescribeNode(node), allowed);
        return std::nullopt;
      }
      return SettingValue(v);
    }
    case FieldKind::kReal: {
      if (!plain || !MatchesReal(text)) {
        errors.Add(line, path, "not a number", DescribeNode(node), allowed);
        return std::nullopt;
      }
      double v = 0;
      const bool read = ReadNumber(text, v);
      const bool above_min =
          field.range.real_min_open ? v > field.range.real_min : v >= field.range.real_min;
      const bool below_max =
          field.range.real_max_open ? v < field.range.real_max : v <= field.range.real_max;
      if (!read || !std::isfinite(v) || !above_min || !below_max) {
        errors.Add(line, path, "out of range", DescribeNode(node), allowed);
        return std::nullopt;
      }
      return SettingValue(v);
    }
    case FieldKind::kText:
      return std::nullopt;  // never written in a spec (SpecUse::kDerived)
    case FieldKind::kName: {
      if (!IsExperimentName(text)) {
        errors.Add(line, path, "invalid name", DescribeNode(node), allowed);
        return std::nullopt;
      }
      return SettingValue(text);
    }
    case FieldKind::kChoice: {
      if (std::find(field.range.choices.begin(), field.range.choices.end(), text) ==
          field.range.choices.end()) {
        errors.Add(line, path, "unknown value" + DidYouMean(Suggest(text, field.range.choices)),
                   DescribeNode(node), allowed);
        return std::nullopt;
      }
      return SettingValue(text);
    }
    case FieldKind::kDataset: {
      if (FindDataset(text) == nullptr) {
        std::vector<std::string> names;
        for (const DatasetInfo& d : DatasetCatalog()) names.emplace_back(d.name);
        errors.Add(line, path, "unknown data set" + DidYouMean(Suggest(text, names)),
                   DescribeNode(node), allowed);
        return std::nullopt;
      }
      return SettingValue(text);
    }
    case FieldKind::kModel:
    case FieldKind::kClassifier: {
      // A model file's path: SpecParser::CheckModelFiles reads it.
      if (field.kind == FieldKind::kModel && modelspec::IsModelFilePath(text)) {
        return SettingValue(text);
      }
      const ModelInfo* model = FindModel(text);
      if (model == nullptr) {
        std::vector<std::string> names;
        for (const ModelInfo& m : ModelCatalog()) {
          if (field.kind == FieldKind::kModel || m.objective == Objective::kClassifier) {
            names.emplace_back(m.name);
          }
        }
        errors.Add(line, path, "unknown model" + DidYouMean(Suggest(text, names)),
                   DescribeNode(node), allowed);
        return std::nullopt;
      }
      if (field.kind == FieldKind::kClassifier && model->objective != Objective::kClassifier) {
        errors.Add(line, path, "not a classifier model", DescribeNode(node), allowed);
        return std::nullopt;
      }
      return SettingValue(text);
    }
  }
  return std::nullopt;
}

}  // namespace gridrun::coordinator
