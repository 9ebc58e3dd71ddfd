#include "coordinator/grid_spec.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "absl/strings/ascii.h"

namespace gridrun::coordinator {
namespace {

constexpr int64_t kNoIntMax = std::numeric_limits<int64_t>::max();
constexpr double kNoRealMax = std::numeric_limits<double>::infinity();

// How a setting's value is read and checked.
enum class Kind {
  kInt,         // integer in [int_min, int_max]
  kReal,        // finite real within real_min / real_max
  kChoice,      // one of `choices`
  kDataset,     // a DatasetCatalog() name
  kModel,       // a ModelCatalog() name
  kClassifier,  // a ModelCatalog() name whose objective is classifier
};

struct Field {
  std::string_view key;  // "epochs", "optimizer.lr"
  Kind kind;
  int64_t int_min = 0;
  int64_t int_max = kNoIntMax;
  double real_min = 0;
  bool real_min_open = false;  // true: value must be > real_min
  double real_max = kNoRealMax;
  bool real_max_open = false;  // true: value must be < real_max
  std::vector<std::string> choices = {};
  bool axis = true;  // may be swept under grid
};

Field IntField(std::string_view key, int64_t min, int64_t max = kNoIntMax) {
  Field f{key, Kind::kInt};
  f.int_min = min;
  f.int_max = max;
  return f;
}

Field RealField(std::string_view key, double min, bool min_open, double max = kNoRealMax,
                bool max_open = false) {
  Field f{key, Kind::kReal};
  f.real_min = min;
  f.real_min_open = min_open;
  f.real_max = max;
  f.real_max_open = max_open;
  return f;
}

Field ChoiceField(std::string_view key, std::vector<std::string> choices) {
  Field f{key, Kind::kChoice};
  f.choices = std::move(choices);
  return f;
}

Field NotAnAxis(Field f) {
  f.axis = false;
  return f;
}

// Every single-valued setting, in the order the allowed-key lists show them.
const std::vector<Field>& Fields() {
  static const std::vector<Field> kFields = [] {
    std::vector<Field> f = {
        Field{"dataset", Kind::kDataset},
        Field{"model", Kind::kModel},
        IntField("epochs", 1, 100000),
        IntField("batch_size", 1, 65536),
        IntField("ranks", 1, 1024),
        ChoiceField("device", {"cpu", "cuda"}),
        IntField("seed", 0),
        IntField("latent_size", 1, 4096),
        IntField("width", 1, 65536),
        IntField("depth", 1, 8),
        RealField("kl_weight", 0, false),
        ChoiceField("recon_loss", {"bce", "mse"}),
        IntField("critic_iters", 1, 100),
        RealField("clip_value", 0, true),
        RealField("gp_weight", 0, false),
        IntField("train_size", 0),
        IntField("test_size", 0),
        IntField("eval_samples", 0, 100000),
        Field{"init_encoder_from", Kind::kClassifier},
        ChoiceField("optimizer.name", {"adam", "rmsprop", "sgd"}),
        RealField("optimizer.lr", 0, true, 10, false),
        RealField("optimizer.momentum", 0, false, 1, true),
        RealField("optimizer.weight_decay", 0, false),
        NotAnAxis(IntField("samples.count", 1, 1024)),
    };
    return f;
  }();
  return kFields;
}

const Field* FindField(std::string_view key) {
  for (const Field& f : Fields()) {
    if (f.key == key) return &f;
  }
  return nullptr;
}

const std::vector<std::string>& TopLevelKeys() {
  static const std::vector<std::string> kKeys = {"experiment",
                                                 "dataset",
                                                 "model",
                                                 "epochs",
                                                 "batch_size",
                                                 "ranks",
                                                 "device",
                                                 "seed",
                                                 "latent_size",
                                                 "width",
                                                 "depth",
                                                 "kl_weight",
                                                 "recon_loss",
                                                 "critic_iters",
                                                 "clip_value",
                                                 "gp_weight",
                                                 "lr",
                                                 "optimizer",
                                                 "samples",
                                                 "train_size",
                                                 "test_size",
                                                 "eval_samples",
                                                 "init_encoder_from",
                                                 "grid"};
  return kKeys;
}

const std::vector<std::string>& OptimizerKeys() {
  static const std::vector<std::string> kKeys = {"name", "lr", "betas", "momentum", "weight_decay"};
  return kKeys;
}

const std::vector<std::string>& SamplesKeys() {
  static const std::vector<std::string> kKeys = {"epochs", "count"};
  return kKeys;
}

// Names allowed under grid: every axis field, plus the `lr` shorthand.
const std::vector<std::string>& AxisNames() {
  static const std::vector<std::string> kNames = [] {
    std::vector<std::string> names;
    for (const Field& f : Fields()) {
      if (!f.axis || f.key.starts_with("optimizer.")) continue;
      names.emplace_back(f.key);
    }
    names.emplace_back("lr");
    for (const Field& f : Fields()) {
      if (f.axis && f.key.starts_with("optimizer.")) names.emplace_back(f.key);
    }
    return names;
  }();
  return kNames;
}

// The field an axis or top-level key sets ("lr" is optimizer.lr).
std::string_view FieldKeyFor(std::string_view name) {
  return name == "lr" ? std::string_view("optimizer.lr") : name;
}

// The setting a top-level scalar key gives, or nullptr.
const Field* TopLevelField(std::string_view name) {
  if (name == "lr") return FindField("optimizer.lr");
  if (name.find('.') != std::string_view::npos) return nullptr;
  return FindField(name);
}

std::string ClassifierNames() {
  std::vector<std::string> names;
  for (const ModelInfo& m : ModelCatalog()) {
    if (m.objective == Objective::kClassifier) names.emplace_back(m.name);
  }
  return absl::StrJoin(names, ", ");
}

std::string RealText(double v) { return SpecValueText(SpecValue(v)); }

std::string AllowedText(const Field& f) {
  switch (f.kind) {
    case Kind::kInt:
      if (f.int_max == kNoIntMax) return absl::StrCat(">= ", f.int_min);
      return absl::StrCat(f.int_min, "..", f.int_max);
    case Kind::kReal: {
      std::string out = absl::StrCat(f.real_min_open ? "> " : ">= ", RealText(f.real_min));
      if (f.real_max != kNoRealMax) {
        absl::StrAppend(&out, " and ", f.real_max_open ? "< " : "<= ", RealText(f.real_max));
      }
      return out;
    }
    case Kind::kChoice:
      return absl::StrJoin(f.choices, ", ");
    case Kind::kDataset:
      return DatasetNames();
    case Kind::kModel:
      return ModelNames();
    case Kind::kClassifier:
      return ClassifierNames();
  }
  return "";
}

size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = up;
    }
  }
  return row[b.size()];
}

// The closest candidate within edit distance 2, or "" if none.
template <typename Names>
std::string Suggest(std::string_view got, const Names& candidates) {
  std::string best;
  size_t best_distance = 3;
  for (const auto& c : candidates) {
    const size_t d = EditDistance(got, c);
    if (d < best_distance) {
      best_distance = d;
      best = std::string(c);
    }
  }
  return best;
}

std::string DidYouMean(const std::string& suggestion) {
  return suggestion.empty() ? "" : absl::StrCat(", did you mean '", suggestion, "'?");
}

// 1-based line of a node; `fallback` when the node has no position (null).
int LineOf(const YAML::Node& node, int fallback) {
  const int line = node.Mark().line;
  return line < 0 ? fallback : line + 1;
}

bool IsQuoted(const YAML::Node& node) {
  return node.Tag() == "!" || node.Tag() == "tag:yaml.org,2002:str";
}

// Makes `node` and everything under it print on one line.
void SetFlowStyle(YAML::Node node) {
  if (!node.IsSequence() && !node.IsMap()) return;
  node.SetStyle(YAML::EmitterStyle::Flow);
  for (auto it = node.begin(); it != node.end(); ++it) {
    if (node.IsMap()) {
      SetFlowStyle(it->second);
    } else {
      SetFlowStyle(*it);
    }
  }
}

// Long text cut to 60 characters, so a hostile spec cannot make huge errors.
std::string Clip(std::string text) {
  if (text.size() > 60) text = text.substr(0, 57) + "...";
  return text;
}

// How a node is shown after "got": the scalar as written (quoted if it was),
// collections in flow style, cut at 60 characters.
std::string Show(const YAML::Node& node) {
  std::string text;
  if (!node.IsDefined() || node.IsNull()) {
    text = "null";
  } else if (node.IsScalar()) {
    text = IsQuoted(node) ? absl::StrCat("\"", node.Scalar(), "\"") : node.Scalar();
  } else {
    YAML::Node copy = YAML::Clone(node);
    SetFlowStyle(copy);
    YAML::Emitter emitter;
    emitter << copy;
    text = emitter.c_str();
  }
  return Clip(std::move(text));
}

// The text of a map key (clipped); keys that are not scalars are shown in
// flow style.
std::string KeyName(const YAML::Node& key) {
  return key.IsScalar() ? Clip(key.Scalar()) : Show(key);
}

// One problem found; sorted by line for the final message.
struct Error {
  int line;
  std::string text;
};

class ErrorList {
 public:
  // `with_lines` false: messages start at PATH (for --set overrides, which
  // have no line in the file).
  explicit ErrorList(bool with_lines = true) : with_lines_(with_lines) {}

  // Adds "line L: PATH: PROBLEM (got GOT; allowed: ALLOWED)"; empty parts and
  // repeats of an identical message are left out.
  void Add(int line, const std::string& path, const std::string& problem,
           const std::string& got = "", const std::string& allowed = "") {
    std::string text = with_lines_ ? absl::StrCat("line ", line, ": ", path, ": ", problem)
                                   : absl::StrCat(path, ": ", problem);
    if (!got.empty() || !allowed.empty()) {
      absl::StrAppend(&text, " (");
      if (!got.empty()) absl::StrAppend(&text, "got ", got);
      if (!got.empty() && !allowed.empty()) absl::StrAppend(&text, "; ");
      if (!allowed.empty()) absl::StrAppend(&text, "allowed: ", allowed);
      absl::StrAppend(&text, ")");
    }
    if (!seen_.insert(text).second) return;
    errors_.push_back({line, std::move(text)});
  }

  bool empty() const { return errors_.empty(); }

  std::string Message() {
    std::stable_sort(errors_.begin(), errors_.end(),
                     [](const Error& a, const Error& b) { return a.line < b.line; });
    std::vector<std::string> lines;
    for (const Error& e : errors_) lines.push_back(e.text);
    return absl::StrJoin(lines, "\n");
  }

 private:
  bool with_lines_;
  std::vector<Error> errors_;
  std::set<std::string> seen_;
};

// Matchers written out by hand: std::regex recurses per character and would
// overflow the stack on a long scalar in a hostile spec.

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Skips digits from `i`; returns how many there were.
size_t SkipDigits(std::string_view s, size_t& i) {
  const size_t start = i;
  while (i < s.size() && IsDigit(s[i])) ++i;
  return i - start;
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

constexpr char kNameRule[] = "a name matching [a-z0-9][a-z0-9._-]{0,63}";

bool IsExperimentName(std::string_view s) {
  auto alnum = [](char c) { return IsDigit(c) || (c >= 'a' && c <= 'z'); };
  if (s.empty() || s.size() > 64 || !alnum(s[0])) return false;
  return std::all_of(s.begin() + 1, s.end(),
                     [&](char c) { return alnum(c) || c == '.' || c == '_' || c == '-'; });
}

// Parses a scalar for `field`; on failure records the problem and returns
// std::nullopt. `node` must be a scalar or null.
std::optional<SpecValue> ParseScalar(const Field& field, const YAML::Node& node,
                                     const std::string& path, int line, ErrorList& errors) {
  const std::string allowed = AllowedText(field);
  if (node.IsNull()) {
    errors.Add(line, path, "no value", "", allowed);
    return std::nullopt;
  }
  const std::string& text = node.Scalar();
  const bool plain = !IsQuoted(node);
  switch (field.kind) {
    case Kind::kInt: {
      if (!plain || !MatchesInt(text)) {
        errors.Add(line, path, "not an integer", Show(node), allowed);
        return std::nullopt;
      }
      const char* begin = text.data() + (text[0] == '+' ? 1 : 0);
      int64_t v = 0;
      const auto [end, ec] = std::from_chars(begin, text.data() + text.size(), v);
      if (ec != std::errc() || v < field.int_min || v > field.int_max) {
        errors.Add(line, path, "out of range", Show(node), allowed);
        return std::nullopt;
      }
      return SpecValue(v);
    }
    case Kind::kReal: {
      if (!plain || !MatchesReal(text)) {
        errors.Add(line, path, "not a number", Show(node), allowed);
        return std::nullopt;
      }
      const char* begin = text.data() + (text[0] == '+' ? 1 : 0);
      double v = 0;
      const auto [end, ec] = std::from_chars(begin, text.data() + text.size(), v);
      const bool above_min = field.real_min_open ? v > field.real_min : v >= field.real_min;
      const bool below_max = field.real_max_open ? v < field.real_max : v <= field.real_max;
      if (ec != std::errc() || !std::isfinite(v) || !above_min || !below_max) {
        errors.Add(line, path, "out of range", Show(node), allowed);
        return std::nullopt;
      }
      return SpecValue(v);
    }
    case Kind::kChoice: {
      if (std::find(field.choices.begin(), field.choices.end(), text) == field.choices.end()) {
        errors.Add(line, path, "unknown value" + DidYouMean(Suggest(text, field.choices)),
                   Show(node), allowed);
        return std::nullopt;
      }
      return SpecValue(text);
    }
    case Kind::kDataset: {
      if (FindDataset(text) == nullptr) {
        std::vector<std::string> names;
        for (const DatasetInfo& d : DatasetCatalog()) names.emplace_back(d.name);
        errors.Add(line, path, "unknown data set" + DidYouMean(Suggest(text, names)), Show(node),
                   allowed);
        return std::nullopt;
      }
      return SpecValue(text);
    }
    case Kind::kModel:
    case Kind::kClassifier: {
      const ModelInfo* model = FindModel(text);
      if (model == nullptr) {
        std::vector<std::string> names;
        for (const ModelInfo& m : ModelCatalog()) {
          if (field.kind == Kind::kModel || m.objective == Objective::kClassifier) {
            names.emplace_back(m.name);
          }
        }
        errors.Add(line, path, "unknown model" + DidYouMean(Suggest(text, names)), Show(node),
                   allowed);
        return std::nullopt;
      }
      if (field.kind == Kind::kClassifier && model->objective != Objective::kClassifier) {
        errors.Add(line, path, "not a classifier model", Show(node), allowed);
        return std::nullopt;
      }
      return SpecValue(text);
    }
  }
  return std::nullopt;
}

// Where a setting was given, for "already set" errors and cross-field checks.
struct Origin {
  std::string path;  // "kl_weight", "grid.kl_weight", "lr"
  int line = 0;
  bool in_grid = false;
};

// One candidate value of a setting, for cross-field checks.
struct Choice {
  SpecValue value;
  std::string path;  // "batch_size", "grid.batch_size[1]"; "" for a default
  int line = 0;
};

struct AxisState {
  GridAxis axis;
  std::string path;  // "grid.kl_weight"
  int line = 0;
  size_t written = 0;         // values written, valid or not
  std::vector<Choice> valid;  // the valid ones, for cross-field checks
};

std::string ObjectiveList(const std::vector<Objective>& objectives) {
  std::vector<std::string> names;
  for (Objective o : objectives) names.emplace_back(ObjectiveName(o));
  return absl::StrCat(names.size() == 1 ? "objective " : "objectives ", absl::StrJoin(names, ", "));
}

std::string Shape(int channels, int height, int width) {
  return absl::StrCat(channels, "x", height, "x", width);
}

class SpecParser {
 public:
  explicit SpecParser(const GridLimits& limits) : limits_(limits) {}

  absl::StatusOr<GridSpec> Parse(const YAML::Node& root) {
    const int root_line = LineOf(root, 1);
    if (!root.IsDefined() || root.IsNull()) {
      errors_.Add(1, "spec", "empty document", "", "a map of settings");
      return Fail();
    }
    if (!root.IsMap()) {
      errors_.Add(root_line, "spec", "not a map", Show(root), "a map of settings");
      return Fail();
    }
    std::map<std::string, int> seen;
    for (auto it = root.begin(); it != root.end(); ++it) {
      // Copies, not references: yaml-cpp's iterator returns its key/value
      // pair by value through a proxy, so `const YAML::Node& key = it->first`
      // dangles at the end of the statement (ASan: stack-use-after-scope,
      // found by fuzz/ grid_spec; fuzz/regressions/grid_spec/).
      const YAML::Node key = it->first;
      const YAML::Node value = it->second;
      const std::string name = KeyName(key);
      const int line = LineOf(key, root_line);
      if (!CheckDuplicate(seen, name, name, line)) continue;
      if (name == "experiment") {
        ParseExperiment(value, line);
      } else if (name == "optimizer") {
        ParseSubMap(value, "optimizer", line, OptimizerKeys());
      } else if (name == "samples") {
        ParseSubMap(value, "samples", line, SamplesKeys());
      } else if (name == "grid") {
        ParseGrid(value, line);
      } else if (const Field* field = TopLevelField(name)) {
        ParseFixed(*field, value, name, line);
      } else {
        errors_.Add(line, name, "unknown key" + DidYouMean(Suggest(name, TopLevelKeys())), "",
                    absl::StrJoin(TopLevelKeys(), ", "));
      }
    }
    CheckRequired(root_line);
    CheckTrialCount();
    CheckCrossFields();
    if (!errors_.empty()) return Fail();
    return Build();
  }

 private:
  absl::Status Fail() { return absl::InvalidArgumentError(errors_.Message()); }

  // False (and an error) if `name` was already a key of this map.
  bool CheckDuplicate(std::map<std::string, int>& seen, const std::string& name,
                      const std::string& path, int line) {
    auto [it, inserted] = seen.emplace(name, line);
    if (!inserted) {
      errors_.Add(line, path, absl::StrCat("duplicate key (first at line ", it->second, ")"));
    }
    return inserted;
  }

  // Records that `field` is set at `path`; false (and an error) if it already
  // was, e.g. both `lr` and `optimizer.lr`, or a key at the top level and in
  // grid.
  bool Claim(std::string_view field, const std::string& path, int line, bool in_grid) {
    auto [it, inserted] = claims_.emplace(std::string(field), Origin{path, line, in_grid});
    if (!inserted) {
      const Origin& first = it->second;
      errors_.Add(line, path, absl::StrCat("already set by ", first.path, " at line ", first.line),
                  "",
                  first.in_grid != in_grid ? "a single value or a grid axis, not both"
                                           : "one of them, not both");
    }
    return inserted;
  }

  void ParseExperiment(const YAML::Node& value, int line) {
    claims_.emplace("experiment", Origin{"experiment", line, false});
    if (value.IsNull()) {
      errors_.Add(line, "experiment", "no value", "", kNameRule);
    } else if (!value.IsScalar()) {
      errors_.Add(line, "experiment", "not a single value", Show(value), kNameRule);
    } else if (!IsExperimentName(value.Scalar())) {
      errors_.Add(line, "experiment", "invalid name", Show(value), kNameRule);
    } else {
      experiment_ = value.Scalar();
    }
  }

  // A single-valued setting at the top level or in optimizer/samples.
  void ParseFixed(const Field& field, const YAML::Node& value, const std::string& path, int line) {
    if (!Claim(field.key, path, line, /*in_grid=*/false)) return;
    if (value.IsSequence() || value.IsMap()) {
      errors_.Add(line, path,
                  value.IsSequence() && field.axis
                      ? "not a single value; to sweep it, list its values under grid"
                      : "not a single value",
                  Show(value), AllowedText(field));
      return;
    }
    if (auto v = ParseScalar(field, value, path, line, errors_)) {
      fixed_.emplace(std::string(field.key), Choice{*v, path, line});
    }
  }

  // `optimizer:` or `samples:`.
  void ParseSubMap(const YAML::Node& node, const std::string& prefix, int line,
                   const std::vector<std::string>& keys) {
    const std::string allowed = absl::StrCat("a map with keys ", absl::StrJoin(keys, ", "));
    if (!node.IsMap()) {
      errors_.Add(line, prefix, "not a map", Show(node), allowed);
      return;
    }
    std::map<std::string, int> seen;
    for (auto it = node.begin(); it != node.end(); ++it) {
      const std::string name = KeyName(it->first);
      const std::string path = absl::StrCat(prefix, ".", name);
      const int key_line = LineOf(it->first, line);
      if (!CheckDuplicate(seen, name, path, key_line)) continue;
      if (std::find(keys.begin(), keys.end(), name) == keys.end()) {
        errors_.Add(key_line, path, "unknown key" + DidYouMean(Suggest(name, keys)), "",
                    absl::StrJoin(keys, ", "));
      } else if (path == "optimizer.betas") {
        ParseBetas(it->second, key_line);
      } else if (path == "samples.epochs") {
        ParseSampleEpochs(it->second, key_line);
      } else {
        ParseFixed(*FindField(path), it->second, path, key_line);
      }
    }
  }

  void ParseBetas(const YAML::Node& node, int line) {
    static const Field kBeta = RealField("optimizer.betas", 0, false, 1, true);
    const std::string each = AllowedText(kBeta);
    claims_.emplace("optimizer.betas", Origin{"optimizer.betas", line, false});
    if (!node.IsSequence() || node.size() != 2) {
      errors_.Add(line, "optimizer.betas", "not a list of two numbers", Show(node),
                  absl::StrCat("[beta1, beta2], each ", each));
      return;
    }
    std::optional<SpecValue> b[2];
    for (size_t i = 0; i < 2; ++i) {
      const std::string path = absl::StrCat("optimizer.betas[", i, "]");
      const YAML::Node element = node[i];
      const int element_line = LineOf(element, line);
      if (!element.IsScalar() && !element.IsNull()) {
        errors_.Add(element_line, path, "not a single value", Show(element), each);
        continue;
      }
      b[i] = ParseScalar(kBeta, element, path, element_line, errors_);
    }
    if (b[0] && b[1]) betas_ = {std::get<double>(*b[0]), std::get<double>(*b[1])};
  }

  void ParseSampleEpochs(const YAML::Node& node, int line) {
    static const Field kEpoch = IntField("samples.epochs", 1, 100000);
    const std::string each = "a list of epochs, each 1..epochs";
    claims_.emplace("samples.epochs", Origin{"samples.epochs", line, false});
    if (!node.IsSequence()) {
      errors_.Add(line, "samples.epochs", "not a list", Show(node), each);
      return;
    }
    std::vector<Choice> epochs;
    bool all_valid = true;
    for (size_t i = 0; i < node.size(); ++i) {
      const std::string path = absl::StrCat("samples.epochs[", i, "]");
      const YAML::Node element = node[i];
      const int element_line = LineOf(element, line);
      if (!element.IsScalar() && !element.IsNull()) {
        errors_.Add(element_line, path, "not a single value", Show(element), AllowedText(kEpoch));
        all_valid = false;
        continue;
      }
      auto v = ParseScalar(kEpoch, element, path, element_line, errors_);
      if (!v) {
        all_valid = false;
        continue;
      }
      if (!AddDistinct(epochs, Choice{*v, path, element_line})) {
        all_valid = false;
      }
    }
    if (all_valid) sample_epochs_ = std::move(epochs);
  }

  // Appends `choice` unless an equal value is already there (then an error).
  bool AddDistinct(std::vector<Choice>& choices, Choice choice) {
    for (const Choice& c : choices) {
      if (c.value == choice.value) {
        errors_.Add(choice.line, choice.path, absl::StrCat("duplicate value, same as ", c.path),
                    SpecValueText(choice.value), "distinct values");
        return false;
      }
    }
    choices.push_back(std::move(choice));
    return true;
  }

  void ParseGrid(const YAML::Node& node, int line) {
    grid_line_ = line;
    if (node.IsNull()) return;  // `grid:` with nothing under it: one trial
    if (!node.IsMap()) {
      errors_.Add(line, "grid", "not a map", Show(node), "a map of axis: [values]");
      return;
    }
    std::map<std::string, int> seen;
    for (auto it = node.begin(); it != node.end(); ++it) {
      const std::string name = KeyName(it->first);
      const std::string path = absl::StrCat("grid.", name);
      const int key_line = LineOf(it->first, line);
      if (!CheckDuplicate(seen, name, path, key_line)) continue;
      const std::vector<std::string>& names = AxisNames();
      if (std::find(names.begin(), names.end(), name) == names.end()) {
        const std::vector<std::string>& top = TopLevelKeys();
        const bool known = std::find(top.begin(), top.end(), name) != top.end() ||
                           FindField(name) != nullptr || name == "optimizer.betas" ||
                           name == "samples.epochs";
        errors_.Add(key_line, path,
                    known ? std::string("cannot be a grid axis")
                          : "unknown axis" + DidYouMean(Suggest(name, names)),
                    "", absl::StrJoin(names, ", "));
        continue;
      }
      const Field& field = *FindField(FieldKeyFor(name));
      if (!Claim(field.key, path, key_line, /*in_grid=*/true)) continue;
      ParseAxis(field, name, it->second, path, key_line);
    }
  }

  void ParseAxis(const Field& field, const std::string& name, const YAML::Node& node,
                 const std::string& path, int line) {
    const std::string allowed = "a non-empty list of values";
    if (!node.IsSequence()) {
      errors_.Add(line, path, "not a list", Show(node),
                  absl::StrCat(allowed, ", each ", AllowedText(field)));
      return;
    }
    if (node.size() == 0) {
      errors_.Add(line, path, "empty list", "", allowed);
      return;
    }
    AxisState state;
    state.axis.name = name;
    state.axis.field = std::string(field.key);
    state.path = path;
    state.line = line;
    state.written = node.size();
    for (size_t i = 0; i < node.size(); ++i) {
      const std::string value_path = absl::StrCat(path, "[", i, "]");
      const YAML::Node element = node[i];
      const int element_line = LineOf(element, line);
      if (!element.IsScalar() && !element.IsNull()) {
        errors_.Add(element_line, value_path, "not a single value", Show(element),
                    AllowedText(field));
        continue;
      }
      auto v = ParseScalar(field, element, value_path, element_line, errors_);
      if (!v) continue;
      if (AddDistinct(state.valid, Choice{*v, value_path, element_line})) {
        state.axis.values.push_back(*v);
      }
    }
    axes_.push_back(std::move(state));
  }

  void CheckRequired(int root_line) {
    if (!claims_.contains("experiment")) {
      errors_.Add(root_line, "experiment", "missing", "", kNameRule);
    }
    for (const std::string key : {"dataset", "model"}) {
      if (!claims_.contains(key)) {
        errors_.Add(root_line, key, "missing", "", AllowedText(*FindField(key)));
      }
    }
  }

  void CheckTrialCount() {
    int64_t count = 1;
    bool saturated = false;
    for (const AxisState& a : axes_) {
      const int64_t n = static_cast<int64_t>(a.written);
      if (count > kNoIntMax / n) {
        saturated = true;
        count = kNoIntMax;
        break;
      }
      count *= n;
    }
    trial_count_ = count;
    if (count > limits_.max_trials) {
      errors_.Add(grid_line_, "grid", "too many trials",
                  saturated ? absl::StrCat("more than ", kNoIntMax)
                            : absl::StrCat(count, " = ", AxisProduct()),
                  absl::StrCat("at most ", limits_.max_trials));
    }
  }

  std::string AxisProduct() const {
    std::vector<std::string> parts;
    for (const AxisState& a : axes_) parts.push_back(absl::StrCat(a.axis.name, " ", a.written));
    return absl::StrJoin(parts, " x ");
  }

  // The values a setting takes across the grid: its single value, the valid
  // values of its axis, or `fallback` (path "") when it is not set. Empty when
  // it is set but no value is valid (cross checks on it are then skipped).
  std::vector<Choice> ChoicesFor(std::string_view field,
                                 std::optional<SpecValue> fallback = std::nullopt) const {
    if (auto it = fixed_.find(std::string(field)); it != fixed_.end()) return {it->second};
    for (const AxisState& a : axes_) {
      if (a.axis.field == field) return a.valid;
    }
    if (claims_.contains(std::string(field)) || !fallback) return {};
    return {Choice{*fallback, "", 0}};
  }

  // Where a setting was given, or nullptr when it was not.
  const Origin* OriginOf(std::string_view field) const {
    auto it = claims_.find(std::string(field));
    return it == claims_.end() ? nullptr : &it->second;
  }

  void CheckCrossFields() {
    const std::vector<Choice> models = ChoicesFor("model");
    const std::vector<Choice> datasets = ChoicesFor("dataset");
    CheckShapes(models, datasets);
    for (const Choice& m : models) {
      const ModelInfo& model = *FindModel(std::get<std::string>(m.value));
      CheckHyperparameters(model);
      CheckOptimizerFields(model);
    }
    // Inputs of init_encoder_from match the data set too.
    CheckShapes(ChoicesFor("init_encoder_from"), datasets);
    TrialConfig defaults;
    for (const Choice& b : ChoicesFor("batch_size", SpecValue(int64_t{defaults.batch_size}))) {
      for (const Choice& r : ChoicesFor("ranks", SpecValue(int64_t{defaults.ranks}))) {
        const int64_t batch = std::get<int64_t>(b.value);
        const int64_t ranks = std::get<int64_t>(r.value);
        if (batch >= ranks) continue;
        if (b.path.empty()) {
          errors_.Add(r.line, r.path, "more ranks than batch_size", absl::StrCat(ranks),
                      absl::StrCat("<= batch_size = ", batch, " (the default)"));
        } else {
          errors_.Add(b.line, b.path, "smaller than ranks", absl::StrCat(batch),
                      absl::StrCat(">= ranks = ", ranks));
        }
      }
    }
    if (sample_epochs_) {
      for (const Choice& e : ChoicesFor("epochs", SpecValue(int64_t{defaults.epochs}))) {
        const int64_t epochs = std::get<int64_t>(e.value);
        for (const Choice& s : *sample_epochs_) {
          if (std::get<int64_t>(s.value) <= epochs) continue;
          errors_.Add(s.line, s.path, "beyond epochs", SpecValueText(s.value),
                      absl::StrCat("1..", epochs));
        }
      }
    }
  }

  // Presets (and transfer sources) are built for one input shape.
  void CheckShapes(const std::vector<Choice>& models, const std::vector<Choice>& datasets) {
    for (const Choice& m : models) {
      const ModelInfo& model = *FindModel(std::get<std::string>(m.value));
      if (model.fixed_channels == 0 && model.fixed_size == 0) continue;
      for (const Choice& d : datasets) {
        const DatasetInfo& data = *FindDataset(std::get<std::string>(d.value));
        const bool channels_ok = model.fixed_channels == 0 || model.fixed_channels == data.channels;
        const bool size_ok = model.fixed_size == 0 ||
                             (model.fixed_size == data.height && model.fixed_size == data.width);
        if (channels_ok && size_ok) continue;
        const int channels = model.fixed_channels != 0 ? model.fixed_channels : data.channels;
        const int height = model.fixed_size != 0 ? model.fixed_size : data.height;
        const int width = model.fixed_size != 0 ? model.fixed_size : data.width;
        errors_.Add(m.line, m.path,
                    absl::StrCat(std::string(model.name), " needs ", Shape(channels, height, width),
                                 " images; dataset ", std::string(data.name), " has ",
                                 Shape(data.channels, data.height, data.width)));
      }
    }
  }

  // Settings the model's objective or architecture has no use for.
  void CheckHyperparameters(const ModelInfo& model) {
    struct Use {
      std::string_view field;
      std::vector<Objective> objectives;
    };
    static const Use kUses[] = {
        {"kl_weight", {Objective::kVae}},
        {"recon_loss", {Objective::kVae}},
        {"init_encoder_from", {Objective::kVae}},
        {"critic_iters", {Objective::kGan, Objective::kWgan, Objective::kWganGp}},
        {"clip_value", {Objective::kWgan}},
        {"gp_weight", {Objective::kWganGp}},
    };
    for (const Use& use : kUses) {
      const Origin* origin = OriginOf(use.field);
      if (origin == nullptr) continue;
      const auto& objectives = use.objectives;
      if (std::find(objectives.begin(), objectives.end(), model.objective) != objectives.end()) {
        continue;
      }
      errors_.Add(
          origin->line, origin->path,
          absl::StrCat("not used by model ", std::string(model.name), ", whose objective is ",
                       std::string(ObjectiveName(model.objective))),
          "", ObjectiveList(use.objectives));
    }
    struct Size {
      std::string_view field;
      bool adjustable;
      int fixed;
    };
    const std::string model_name(model.name);
    const Size sizes[] = {{"latent_size", model.latent_adjustable, model.default_latent_size},
                          {"width", model.width_adjustable, model.default_width},
                          {"depth", model.depth_adjustable, model.default_depth}};
    for (const Size& size : sizes) {
      const Origin* origin = OriginOf(size.field);
      if (origin == nullptr || size.adjustable) continue;
      std::string problem;
      if (model.is_preset) {
        problem = absl::StrCat("not adjustable for model ", model_name,
                               ", a preset with a fixed architecture");
      } else if (size.fixed == 0) {
        problem = absl::StrCat("not used by model ", model_name);
      } else {
        problem = absl::StrCat("not adjustable for model ", model_name, ", fixed at ", size.fixed);
      }
      errors_.Add(origin->line, origin->path, problem);
    }
  }

  // betas only mean something to adam, momentum only to rmsprop and sgd.
  void CheckOptimizerFields(const ModelInfo& model) {
    const OptimizerConfig defaults = DefaultOptimizer(model.objective);
    for (const Choice& n : ChoicesFor("optimizer.name", SpecValue(defaults.name))) {
      const std::string& name = std::get<std::string>(n.value);
      const std::string whose =
          n.path.empty() ? absl::StrCat(", the default for model ", std::string(model.name)) : "";
      const Origin* betas = OriginOf("optimizer.betas");
      if (betas != nullptr && name != "adam") {
        errors_.Add(betas->line, betas->path, absl::StrCat("not used by optimizer ", name, whose),
                    "", "only with adam");
      }
      const Origin* momentum = OriginOf("optimizer.momentum");
      if (momentum != nullptr && name == "adam") {
        errors_.Add(momentum->line, momentum->path,
                    absl::StrCat("not used by optimizer adam", whose), "",
                    "only with rmsprop, sgd");
      }
    }
  }

  GridSpec Build() const {
    GridSpec spec;
    spec.experiment = experiment_;
    nlohmann::json settings = nlohmann::json::object();
    auto to_json = [](const SpecValue& v) {
      return std::visit([](const auto& x) { return nlohmann::json(x); }, v);
    };
    for (const auto& [field, choice] : fixed_) {
      spec.fixed.emplace(field, choice.value);
      settings[field] = to_json(choice.value);
    }
    if (betas_) {
      spec.betas = betas_;
      settings["optimizer.betas"] = {betas_->first, betas_->second};
    }
    if (sample_epochs_) {
      std::vector<int> epochs;
      for (const Choice& c : *sample_epochs_) {
        epochs.push_back(static_cast<int>(std::get<int64_t>(c.value)));
      }
      std::sort(epochs.begin(), epochs.end());
      spec.sample_epochs = epochs;
      settings["samples.epochs"] = epochs;
    }
    nlohmann::json grid = nlohmann::json::array();
    for (const AxisState& a : axes_) {
      spec.axes.push_back(a.axis);
      nlohmann::json values = nlohmann::json::array();
      for (const SpecValue& v : a.axis.values) values.push_back(to_json(v));
      grid.push_back({{"axis", a.axis.name}, {"values", values}});
    }
    spec.trial_count = trial_count_;
    spec.canonical_json =
        nlohmann::json{{"experiment", experiment_}, {"settings", settings}, {"grid", grid}}.dump();
    return spec;
  }

  const GridLimits limits_;
  ErrorList errors_;
  std::map<std::string, Origin> claims_;  // field -> where it was set
  std::string experiment_;
  std::map<std::string, Choice> fixed_;  // field -> its valid single value
  std::optional<std::pair<double, double>> betas_;
  std::optional<std::vector<Choice>> sample_epochs_;  // set when all are valid
  std::vector<AxisState> axes_;
  int grid_line_ = 1;
  int64_t trial_count_ = 1;
};

}  // namespace

std::string SpecValueText(const SpecValue& value) {
  if (const auto* i = std::get_if<int64_t>(&value)) return absl::StrCat(*i);
  if (const auto* d = std::get_if<double>(&value)) {
    // Python's repr rule: the shortest digits that read back to the same
    // double, positional for exponents -4..15, scientific otherwise.
    char buf[400];
    auto result = std::to_chars(buf, buf + sizeof(buf), *d, std::chars_format::scientific);
    const char* e = std::find(buf, result.ptr, 'e');
    int exponent = 0;
    std::from_chars(e + (e[1] == '+' ? 2 : 1), result.ptr, exponent);
    if (exponent >= -4 && exponent < 16) {
      result = std::to_chars(buf, buf + sizeof(buf), *d, std::chars_format::fixed);
    }
    return std::string(buf, result.ptr);
  }
  return std::get<std::string>(value);
}

absl::StatusOr<GridSpec> ParseGridSpec(std::string_view yaml_text, const GridLimits& limits) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml_text));
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("line ", e.mark.line + 1, ", column ",
                                                   e.mark.column + 1, ": invalid YAML: ", e.msg));
  }
  return SpecParser(limits).Parse(root);
}

namespace {

// What a `--set KEY=...` addresses.
struct OverrideTarget {
  std::string field;    // the setting: "epochs", "optimizer.lr", "samples.epochs", "experiment"
  std::string section;  // where a single value goes: "" (top level), "optimizer", "samples"
  std::string name;     // its key there: "epochs", "lr"
};

// The keys --set accepts, for lookups and "allowed:" lists.
std::vector<std::string> OverrideKeys() {
  std::vector<std::string> keys;
  for (const std::string& k : TopLevelKeys()) {
    if (k != "grid" && k != "optimizer" && k != "samples") keys.push_back(k);
  }
  for (const std::string& k : OptimizerKeys()) keys.push_back("optimizer." + k);
  for (const std::string& k : SamplesKeys()) keys.push_back("samples." + k);
  return keys;
}

// Checks an override's value on its own, with the parser's checks and
// wording; problems go to `errors` under `path` ("--set epochs").
void CheckOverrideValue(const OverrideTarget& target, const YAML::Node& value,
                        const std::string& path, ErrorList& errors) {
  if (value.IsNull()) return;  // unsets the setting
  if (target.field == "experiment") {
    if (!value.IsScalar() || !IsExperimentName(value.Scalar())) {
      errors.Add(0, path, value.IsNull() ? "no value" : "invalid name", Show(value), kNameRule);
    }
    return;
  }
  const bool betas = target.field == "optimizer.betas";
  const bool sample_epochs = target.field == "samples.epochs";
  const Field field = betas            ? RealField("optimizer.betas", 0, false, 1, true)
                      : sample_epochs ? IntField("samples.epochs", 1, 100000)
                                      : *FindField(target.field);
  const bool list_ok = betas || sample_epochs || field.axis;
  if (betas && (!value.IsSequence() || value.size() != 2)) {
    errors.Add(0, path, "not a list of two numbers", Show(value),
               absl::StrCat("[beta1, beta2], each ", AllowedText(field)));
    return;
  }
  if (sample_epochs && !value.IsSequence()) {
    errors.Add(0, path, "not a list", Show(value), "a list of epochs, each 1..epochs");
    return;
  }
  if (value.IsMap() || (value.IsSequence() && !list_ok)) {
    errors.Add(0, path, "not a single value", Show(value), AllowedText(field));
    return;
  }
  if (!value.IsSequence()) {
    ParseScalar(field, value, path, 0, errors);
    return;
  }
  if (value.size() == 0 && !sample_epochs) {
    errors.Add(0, path, "empty list", "", "a non-empty list of values");
    return;
  }
  for (size_t i = 0; i < value.size(); ++i) {
    const std::string element_path = absl::StrCat(path, "[", i, "]");
    const YAML::Node element = value[i];
    if (!element.IsScalar() && !element.IsNull()) {
      errors.Add(0, element_path, "not a single value", Show(element), AllowedText(field));
    } else {
      ParseScalar(field, element, element_path, 0, errors);
    }
  }
}

// The map `root[key]` (created when absent or null); nullopt when the spec
// has something else there.
std::optional<YAML::Node> SectionOf(YAML::Node& root, const std::string& key) {
  const YAML::Node& view = root;  // const lookups add no key
  const YAML::Node existing = view[key];
  if (!existing.IsDefined() || existing.IsNull()) {
    root[key] = YAML::Node(YAML::NodeType::Map);
  } else if (!existing.IsMap()) {
    return std::nullopt;
  }
  return root[key];
}

// Removes `key` from `map` if `map` is a map that has it.
void RemoveKey(const YAML::Node& root, const std::string& section, const std::string& key) {
  // Const lookups: a non-const operator[] would add the key it looks for.
  const YAML::Node map = section.empty() ? root : root[section];
  if (!map.IsDefined() || !map.IsMap() || !map[key].IsDefined()) return;
  YAML::Node(map).remove(key);
}

// Applies one checked override to `root`: removes every other place that
// sets the setting, then writes the value at its own place. False if the
// spec's layout makes that impossible (optimizer, samples or grid set to
// something that is not a map).
bool ApplyOverride(YAML::Node& root, const OverrideTarget& target, const std::string& key,
                   const YAML::Node& value) {
  const bool to_grid = value.IsSequence() && target.field != "optimizer.betas" &&
                       target.field != "samples.epochs";
  const std::pair<std::string, std::string> place =
      to_grid ? std::pair<std::string, std::string>{"grid", key}
              : std::pair<std::string, std::string>{target.section, target.name};
  // Where the setting may be: top level (lr for optimizer.lr), its section,
  // grid axes under either name.
  std::vector<std::pair<std::string, std::string>> places;
  const size_t dot = target.field.find('.');
  const std::string top = target.field == "optimizer.lr" ? "lr" : target.field;
  if (dot == std::string::npos || target.field == "optimizer.lr") places.push_back({"", top});
  if (dot != std::string::npos) {
    places.push_back({target.field.substr(0, dot), target.field.substr(dot + 1)});
  }
  places.push_back({"grid", target.field});
  places.push_back({"grid", top});
  for (const auto& [section, name] : places) {
    if (std::pair(section, name) != place || value.IsNull()) RemoveKey(root, section, name);
  }
  if (value.IsNull()) return true;  // unset: back to the default
  if (place.first.empty()) {
    root[place.second] = value;
    return true;
  }
  std::optional<YAML::Node> section = SectionOf(root, place.first);
  if (!section) return false;
  (*section)[place.second] = value;
  return true;
}

// The emitter writes a quoted scalar ("5") plain (5), which would change
// what it parses as; an explicit !!str tag keeps it a string (IsQuoted).
void KeepQuotedScalarsStrings(YAML::Node node) {
  if (node.IsScalar() && node.Tag() == "!") node.SetTag("tag:yaml.org,2002:str");
  if (node.IsSequence()) {
    for (YAML::Node element : node) KeepQuotedScalarsStrings(element);
  } else if (node.IsMap()) {
    for (auto it = node.begin(); it != node.end(); ++it) KeepQuotedScalarsStrings(it->second);
  }
}

}  // namespace

absl::StatusOr<std::string> ApplySpecOverrides(std::string_view yaml_text,
                                               const std::vector<std::string>& assignments) {
  if (assignments.empty()) return std::string(yaml_text);
  ErrorList errors(/*with_lines=*/false);
  const std::vector<std::string> keys = OverrideKeys();
  struct Parsed {
    OverrideTarget target;
    std::string key;
    YAML::Node value;
  };
  std::vector<Parsed> parsed;
  for (const std::string& assignment : assignments) {
    const size_t eq = assignment.find('=');
    const std::string key(
        absl::StripAsciiWhitespace(assignment.substr(0, std::min(eq, assignment.size()))));
    if (eq == std::string::npos || key.empty()) {
      errors.Add(0, absl::StrCat("--set ", Clip(assignment)), "not KEY=VALUE, e.g. epochs=1");
      continue;
    }
    const std::string path = absl::StrCat("--set ", Clip(key));
    if (key == "grid" || key == "optimizer" || key == "samples") {
      if (key == "grid") {
        errors.Add(0, path,
                   "not settable as a whole; to sweep a setting give it a list, e.g. "
                   "--set kl_weight=[1, 0.5]");
      } else {
        std::vector<std::string> sub;
        for (const std::string& k : key == "optimizer" ? OptimizerKeys() : SamplesKeys()) {
          sub.push_back(absl::StrCat(key, ".", k));
        }
        errors.Add(0, path, "a map; set one of its keys", "", absl::StrJoin(sub, ", "));
      }
      continue;
    }
    if (std::find(keys.begin(), keys.end(), key) == keys.end()) {
      errors.Add(0, path, "unknown key" + DidYouMean(Suggest(key, keys)), "",
                 absl::StrJoin(keys, ", "));
      continue;
    }
    YAML::Node value;
    try {
      value = YAML::Load(assignment.substr(eq + 1));
    } catch (const YAML::Exception& e) {
      errors.Add(0, path, absl::StrCat("invalid YAML value: ", e.msg), Clip(assignment.substr(eq + 1)));
      continue;
    }
    const size_t dot = key.find('.');
    OverrideTarget target =
        dot == std::string::npos
            ? OverrideTarget{std::string(FieldKeyFor(key)), "", key}
            : OverrideTarget{key, key.substr(0, dot), key.substr(dot + 1)};
    CheckOverrideValue(target, value, path, errors);
    parsed.push_back({std::move(target), key, value});
  }
  if (!errors.empty()) return absl::InvalidArgumentError(errors.Message());

  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml_text));
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("line ", e.mark.line + 1, ", column ",
                                                   e.mark.column + 1, ": invalid YAML: ", e.msg));
  }
  if (!root.IsMap()) {
    return absl::InvalidArgumentError(
        absl::StrCat("spec: not a map, so --set cannot apply (got ", Show(root), ")"));
  }
  for (const Parsed& p : parsed) {
    if (!ApplyOverride(root, p.target, p.key, p.value)) {
      const std::string where = p.value.IsSequence() ? "grid" : p.target.section;
      errors.Add(0, absl::StrCat("--set ", p.key),
                 absl::StrCat("cannot apply: the spec's ", where, " is not a map"));
    }
  }
  if (!errors.empty()) return absl::InvalidArgumentError(errors.Message());

  KeepQuotedScalarsStrings(root);
  YAML::Emitter emitter;
  emitter << root;
  std::string header = "# with --set";
  for (const std::string& assignment : assignments) absl::StrAppend(&header, " ", assignment);
  std::replace(header.begin(), header.end(), '\n', ' ');
  return absl::StrCat(header, "\n", emitter.c_str(), "\n");
}

OptimizerConfig DefaultOptimizer(Objective objective) {
  OptimizerConfig o;
  switch (objective) {
    case Objective::kGan:
    case Objective::kWganGp:
      o.name = "adam";
      o.lr = 2e-4;
      o.beta1 = 0.5;
      o.beta2 = 0.999;
      break;
    case Objective::kWgan:
      o.name = "rmsprop";
      o.lr = 5e-5;
      o.beta1 = 0.5;
      o.beta2 = 0.999;
      break;
    case Objective::kVae:
    case Objective::kClassifier:
      o.name = "adam";
      o.lr = 1e-3;
      o.beta1 = 0.9;
      o.beta2 = 0.999;
      break;
  }
  return o;
}

int DefaultCriticIters(Objective objective) {
  return objective == Objective::kWgan || objective == Objective::kWganGp ? 5 : 1;
}

}  // namespace gridrun::coordinator
