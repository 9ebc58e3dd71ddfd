// SpecParser: the state of one ParseGridSpec call (internal to
// coordinator/grid_spec.cpp, which reads the YAML tree into it, and
// coordinator/spec_rules.cpp, which checks the rules that involve several
// settings and builds the GridSpec). Every problem goes to one ErrorList, so
// the caller sees all of them at once.
//
// Work is bounded by the spec's size: the tree was size-checked before
// (spec_limits.h), values are kept distinct with a map, and the checks that
// pair values of two settings stop once ErrorList is truncated.
// Thread-safety: one parser per call, used by one thread.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "common/model_catalog.h"
#include "common/trial_fields.h"
#include "coordinator/grid_spec.h"
#include "coordinator/spec_errors.h"
#include "modelspec/model_file.h"

namespace gridrun::coordinator {

// Helpers of the search keys' readers (spec_search.cpp, spec_sampling.cpp).
//
// A stand-in field for a search setting, so ParseScalar checks it with the
// spec's usual wording.
TrialField NumberField(FieldKind kind, FieldRange range);

// One key of a section map: its value and line.
struct KeyedNode {
  YAML::Node node;
  int line = 0;
};

// Reads the keys of the section map `node` at `prefix` ("scheduler"),
// reporting a node that is no map, unknown keys (with a suggestion) and
// repeated keys to `errors`; returns key -> (value, line) for the known
// ones.
std::map<std::string, KeyedNode> ReadSection(const YAML::Node& node, const std::string& prefix,
                                             int line, const std::vector<std::string>& keys,
                                             ErrorList& errors);

class SpecParser {
 public:
  SpecParser(const GridLimits& limits, const ModelFileTexts& model_files)
      : limits_(limits), model_file_texts_(model_files) {}

  // Reads `root` (a loaded, size-checked spec) and checks every rule.
  absl::StatusOr<GridSpec> Parse(const YAML::Node& root);

 private:
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

  // Valid values of a list, kept distinct (the map finds a repeat).
  struct DistinctChoices {
    std::vector<Choice> list;
    std::map<SpecValue, size_t> index;  // value -> its position in list
  };

  struct AxisState {
    GridAxis axis;
    std::string path;  // "grid.kl_weight"
    int line = 0;
    size_t written = 0;     // values written, valid or not
    DistinctChoices valid;  // the valid ones, for cross-field checks
    // A distribution (spec_search.cpp): `valid` then holds the values that
    // bound it (its ends, or its choices) for the cross-field checks, and
    // the axis counts as one value in the grid's product.
    bool sampled = false;
    search::Distribution distribution;
  };

  // grid_spec.cpp: reading the tree.
  absl::Status Fail();
  bool Cancelled() const;
  bool CheckDuplicate(std::map<std::string, int>& seen, const std::string& name,
                      const std::string& path, int line);
  bool Claim(std::string_view field, const std::string& path, int line, bool in_grid);
  void ParseExperiment(const YAML::Node& value, int line);
  void ParseFixed(const TrialField& field, const YAML::Node& value, const std::string& path,
                  int line);
  void ParseSubMap(const YAML::Node& node, const std::string& prefix, int line,
                   const std::vector<std::string>& keys);
  void ParseBetas(const YAML::Node& node, int line);
  void ParseSampleEpochs(const YAML::Node& node, int line);
  bool AddDistinct(DistinctChoices& choices, Choice choice);
  void ParseGrid(const YAML::Node& node, int line);
  void ReadAxisValues(const TrialField& field, const YAML::Node& list, const std::string& path,
                      int line, AxisState& state);
  void ParseAxis(const TrialField& field, const std::string& name, const YAML::Node& node,
                 const std::string& path, int line);

  // spec_search.cpp: search, scheduler, stop, keep_best; spec_sampling.cpp:
  // distribution axes and the sampled points.
  void ParseSearch(const YAML::Node& node, int line);
  void ParseScheduler(const YAML::Node& node, int line);
  void ParseStopRules(const YAML::Node& node, int line);
  void ParseKeepBest(const YAML::Node& node, int line);
  void ParseKeepTrained(const YAML::Node& node, int line);
  // spec_init_from.cpp: init_from {trial, network, into, layers}.
  void ParseInitFrom(const YAML::Node& node, int line);
  void ParseDistributionAxis(const TrialField& field, const std::string& name,
                             const YAML::Node& node, const std::string& path, int line);
  std::optional<std::string> ParseMetric(const YAML::Node& node, const std::string& path,
                                         int line);
  std::optional<search::Mode> ParseModeKey(const YAML::Node& node, const std::string& path,
                                           int line);
  void CheckSearch();
  int64_t SampleCount() const;  // search.trials when sampling, else 1
  void BuildSampled(GridSpec& spec) const;

  // spec_rules.cpp: rules over several settings, and the result.
  void CheckRequired(int root_line);
  void CheckTrialCount();
  std::string AxisProduct() const;
  std::vector<Choice> ChoicesFor(std::string_view field,
                                 std::optional<SpecValue> fallback = std::nullopt) const;
  const Origin* OriginOf(std::string_view field) const;
  void CheckCrossFields();
  void CheckBatchAgainstRanks();
  void CheckSampleEpochs();
  void CheckShapes(const std::vector<Choice>& models, const std::vector<Choice>& datasets);
  void CheckHyperparameters(const ModelInfo& model);
  void CheckOptimizerFields(const ModelInfo& model);
  GridSpec Build() const;

  // spec_models.cpp: the models a spec names, built-in or the user's files.
  // The catalog row of `name`, or nullptr when it is neither a built-in
  // model nor a model file that parsed.
  const ModelInfo* LookupModel(std::string_view name) const;
  // The model values that LookupModel knows (the others have errors).
  std::vector<Choice> ModelChoices() const;
  // Parses each model file the spec names; errors for files that were not
  // sent or do not parse.
  void CheckModelFiles();
  // Resolves every model for every combination of data set and sizes.
  void CheckModelsBuild();

  const GridLimits& limits_;
  const ModelFileTexts& model_file_texts_;
  // Model files that parsed, by path as written, with their catalog rows.
  std::map<std::string, std::shared_ptr<const modelspec::ModelFile>, std::less<>> model_files_;
  std::map<std::string, ModelInfo, std::less<>> model_file_infos_;
  ErrorList errors_;
  std::map<std::string, Origin> claims_;  // field -> where it was set
  std::string experiment_;
  std::map<std::string, Choice> fixed_;  // field -> its valid single value
  std::optional<std::pair<double, double>> betas_;
  std::optional<DistinctChoices> sample_epochs_;  // set when all are valid
  std::vector<AxisState> axes_;
  int grid_line_ = 1;
  int64_t trial_count_ = 1;
  // spec_search.cpp
  search::SearchSettings search_;
  int search_line_ = 0;          // 0: no `search` key
  int trials_line_ = 0;          // search.trials
  bool seed_given_ = false;      // search.seed
  int scheduler_line_ = 0;       // 0: no `scheduler` key
  std::string scheduler_metric_path_;
  int scheduler_metric_line_ = 0;
  int min_epochs_line_ = 0;
  int distributions_written_ = 0;  // grid entries written as maps, valid or not
  bool strategy_ok_ = true;        // search.strategy absent or valid
};

}  // namespace gridrun::coordinator
