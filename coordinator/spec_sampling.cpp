// Grid axes written as distributions (coordinator/grid_spec.h, SampledAxis)
// and the points a random or sobol search samples from them
// (search/sampler.h), into a SpecParser (coordinator/spec_parser.h).
#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "coordinator/spec_parser.h"
#include "coordinator/spec_values.h"
#include "search/sampler.h"

namespace gridrun::coordinator {
namespace {

using search::Distribution;
using search::Strategy;

const std::vector<std::string>& DistributionKeys() {
  static const std::vector<std::string> kKeys = {"uniform", "log_uniform", "int_range", "choice"};
  return kKeys;
}

}  // namespace

void SpecParser::ParseDistributionAxis(const TrialField& field, const std::string& name,
                                       const YAML::Node& node, const std::string& path, int line) {
  ++distributions_written_;
  std::vector<std::string> keys = DistributionKeys();
  keys.push_back("step");
  auto found = ReadSection(node, path, line, keys, errors_);
  std::vector<std::string> kinds;
  for (const std::string& k : DistributionKeys()) {
    if (found.contains(k)) kinds.push_back(k);
  }
  const std::string allowed =
      "a list of values, or one of {uniform: [low, high]}, {log_uniform: [low, high]}, "
      "{int_range: [low, high], step: S}, {choice: [values]}";
  if (kinds.size() != 1) {
    errors_.Add(line, path, kinds.empty() ? "no distribution" : "more than one distribution",
                kinds.empty() ? DescribeNode(node) : absl::StrJoin(kinds, ", "), allowed);
    return;
  }
  const std::string kind = kinds[0];
  const KeyedNode& value = found[kind];
  const std::string kind_path = absl::StrCat(path, ".", kind);
  AxisState state;
  state.axis.name = name;
  state.axis.field = std::string(field.key);
  state.path = path;
  state.line = line;
  state.written = 1;
  state.sampled = true;
  if (found.contains("step") && kind != "int_range") {
    errors_.Add(found["step"].line, path + ".step", "not used by " + kind, "", "only with int_range");
    return;
  }
  if (!value.node.IsSequence()) {
    errors_.Add(value.line, kind_path, "not a list", DescribeNode(value.node),
                kind == "choice" ? "a non-empty list of values" : "[low, high]");
    return;
  }
  if (kind == "choice") {
    state.distribution.kind = Distribution::Kind::kChoice;
    if (value.node.size() == 0) {
      errors_.Add(value.line, kind_path, "empty list", "", "a non-empty list of values");
      return;
    }
    ReadAxisValues(field, value.node, kind_path, value.line, state);
    if (state.axis.values.size() != value.node.size()) return;
    state.distribution.choices = static_cast<int64_t>(state.axis.values.size());
    axes_.push_back(std::move(state));
    return;
  }
  const bool real = kind == "uniform" || kind == "log_uniform";
  if (real && field.kind != FieldKind::kReal) {
    errors_.Add(line, path,
                absl::StrCat(kind, " samples reals; ", name, " takes ",
                             field.kind == FieldKind::kInt ? "integers" : "names"),
                "", field.kind == FieldKind::kInt ? "int_range or choice" : "choice");
    return;
  }
  if (!real && field.kind != FieldKind::kInt) {
    errors_.Add(line, path,
                absl::StrCat("int_range samples integers; ", name, " takes ",
                             field.kind == FieldKind::kReal ? "reals" : "names"),
                "", field.kind == FieldKind::kReal ? "uniform, log_uniform or choice" : "choice");
    return;
  }
  if (value.node.size() != 2) {
    errors_.Add(value.line, kind_path, "not a list of two values", DescribeNode(value.node),
                "[low, high]");
    return;
  }
  std::optional<SpecValue> ends[2];
  for (size_t i = 0; i < 2; ++i) {
    const std::string end_path = absl::StrCat(kind_path, "[", i, "]");
    const YAML::Node element = value.node[i];
    const int element_line = LineOf(element, value.line);
    if (!element.IsScalar() && !element.IsNull()) {
      errors_.Add(element_line, end_path, "not a single value", DescribeNode(element),
                  AllowedText(field));
      continue;
    }
    ends[i] = ParseScalar(field, element, end_path, element_line, errors_);
  }
  if (!ends[0] || !ends[1]) return;
  auto as_double = [](const SpecValue& v) {
    if (const auto* i = std::get_if<int64_t>(&v)) return static_cast<double>(*i);
    return std::get<double>(v);
  };
  const double low = as_double(*ends[0]), high = as_double(*ends[1]);
  const std::string got = DescribeNode(value.node);
  if (kind == "log_uniform" && low <= 0) {
    errors_.Add(value.line, kind_path, "log_uniform over a range that is not positive", got,
                "0 < low <= high");
    return;
  }
  if (low > high) {
    errors_.Add(value.line, kind_path, "low above high", got, "low <= high");
    return;
  }
  // Integer bounds travel as doubles (search::Distribution): exact up to 2^53.
  constexpr double kExactInt = 9007199254740992.0;
  if (kind == "int_range" && (std::fabs(low) > kExactInt || std::fabs(high) > kExactInt)) {
    errors_.Add(value.line, kind_path, "bounds too large to sample", got,
                "integers within +-2^53 (9007199254740992)");
    return;
  }
  state.distribution.kind = kind == "uniform"       ? Distribution::Kind::kUniform
                            : kind == "log_uniform" ? Distribution::Kind::kLogUniform
                                                    : Distribution::Kind::kIntRange;
  state.distribution.low = low;
  state.distribution.high = high;
  if (kind == "int_range") {
    if (auto it = found.find("step"); it != found.end()) {
      auto step = ParseScalar(NumberField(FieldKind::kInt, IntRange(1)), it->second.node,
                              path + ".step", it->second.line, errors_);
      if (!step) return;
      state.distribution.step = std::get<int64_t>(*step);
    }
    // The largest value the range reaches, for the cross-field checks.
    const int64_t lo = std::get<int64_t>(*ends[0]), hi = std::get<int64_t>(*ends[1]);
    ends[1] = SpecValue(lo + (hi - lo) / state.distribution.step * state.distribution.step);
  }
  AddDistinct(state.valid, Choice{*ends[0], kind_path + "[0]", value.line});
  if (*ends[1] != *ends[0]) AddDistinct(state.valid, Choice{*ends[1], kind_path + "[1]", value.line});
  axes_.push_back(std::move(state));
}

int64_t SpecParser::SampleCount() const {
  return search_.strategy == Strategy::kGrid ? 1 : std::max<int64_t>(search_.trials, 1);
}

// The sampled axes and their points (search/sampler.h), into `spec`.
void SpecParser::BuildSampled(GridSpec& spec) const {
  uint64_t seed = search_.seed;
  if (!seed_given_) {
    auto it = fixed_.find("seed");
    seed = it != fixed_.end() ? static_cast<uint64_t>(std::get<int64_t>(it->second.value)) : 0;
  }
  spec.search.seed = seed;
  for (const AxisState& a : axes_) {
    if (!a.sampled) continue;
    SampledAxis s;
    s.name = a.axis.name;
    s.field = a.axis.field;
    s.distribution = a.distribution;
    if (a.distribution.kind == Distribution::Kind::kChoice) s.choices = a.axis.values;
    spec.sampled_axes.push_back(std::move(s));
  }
  if (search_.strategy == Strategy::kGrid) return;
  const int dims = static_cast<int>(spec.sampled_axes.size());
  auto points = search::UnitPoints(search_.strategy, search_.trials, dims, seed);
  if (!points.ok()) return;  // CheckSearch refused every case UnitPoints refuses
  for (const std::vector<double>& unit : *points) {
    std::vector<SpecValue> values;
    for (int d = 0; d < dims; ++d) {
      const SampledAxis& axis = spec.sampled_axes[d];
      const double x = search::MapUnit(axis.distribution, unit[d]);
      switch (axis.distribution.kind) {
        case Distribution::Kind::kChoice:
          values.push_back(axis.choices[static_cast<size_t>(x)]);
          break;
        case Distribution::Kind::kIntRange:
          values.emplace_back(static_cast<int64_t>(x));
          break;
        default:
          values.emplace_back(x);
      }
    }
    spec.sampled_points.push_back(std::move(values));
  }
}

}  // namespace gridrun::coordinator
