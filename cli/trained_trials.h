// A trained trial's networks, for `gridrun export --models` and `gridrun
// sample`: finding a trial's kept final checkpoint in the database and
// running the torch tool on it.
//
// The CLI stays torch-free (see worker/model_tool.h for why): it reads the
// database here, writes the trial's config beside the output, and runs
// `gridrun-worker model-tool ...` (the worker program beside `gridrun`, or
// the one GRIDRUN_WORKER names) for the tensors.
//
// Thread-safety: no shared state.
#pragma once

#include <cstdint>
#include <map>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "coordinator/results_reader.h"

namespace gridrun::cli {

struct TrainedTrial {
  std::string experiment_id;
  std::string experiment_name;
  int64_t trial_id = 0;
  int64_t number = 0;
  std::string state;
  int64_t reused_from = 0;
  std::string config_json;
  std::map<std::string, std::string> params;
  std::map<std::string, double> metrics;  // last values (NaN for NULL)
  coordinator::CheckpointRecord checkpoint;  // the newest kept one; path resolved
  // The coordinator's copies of the TorchScript files its model file names
  // (schema v8, torchscript_files), paths resolved as the checkpoint's.
  std::vector<std::string> torchscript_paths;
};

// Reads trial `number` of experiment `experiment` (id or name). Errors, each
// naming the trial: no such experiment or trial (NOT_FOUND); a trial that
// is not COMPLETE (FAILED_PRECONDITION, with its state); no kept checkpoint
// (FAILED_PRECONDITION: retention removed it); the checkpoint file or a
// TorchScript file missing (NOT_FOUND, with the paths tried).
absl::StatusOr<TrainedTrial> ReadTrainedTrial(coordinator::ResultsReader& reader,
                                              const std::string& db_path,
                                              const std::string& experiment, int64_t number);

// A trial named on the command line: "EXPERIMENT:NUMBER" (the number in the
// grid, as `gridrun status EXP NUMBER` shows it) or a trial id ("42", the id
// `init_from: {trial: 42}` and `gridrun status` use). Returns
// (experiment id, number); NOT_FOUND for an unknown id; INVALID_ARGUMENT
// for text of neither form.
absl::StatusOr<std::pair<std::string, int64_t>> ResolveTrialName(
    coordinator::ResultsReader& reader, const std::string& text);

// Where a stored checkpoint path points from here: as stored (relative to the
// coordinator's working directory), else relative to the database's folder,
// else the same file name in `<db>.checkpoints/`. NOT_FOUND listing them.
absl::StatusOr<std::string> LocateCheckpointFile(const std::string& db_path,
                                                 const std::string& stored_path);

// The model tool's arguments naming the trial's model: --config
// `config_path` (where the caller wrote trial.config_json), --checkpoint,
// --sha256 and one --torchscript per TorchScript file.
std::vector<std::string> ModelToolInputArgs(const TrainedTrial& trial,
                                            const std::string& config_path);

// Runs `gridrun-worker model-tool ARGS...` and copies what it printed to
// `out` and `err`. Returns its exit code; an error when it cannot be started.
absl::StatusOr<int> RunModelTool(const std::vector<std::string>& args, std::ostream& out,
                                 std::ostream& err);

}  // namespace gridrun::cli
