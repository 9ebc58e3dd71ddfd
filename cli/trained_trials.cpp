#include "cli/trained_trials.h"

#include <cstdlib>
#include <filesystem>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status_macros.h"
#include "common/subprocess.h"
#include "common/trial_config.h"
#include "modelspec/model_file.h"

namespace gridrun::cli {

namespace fs = std::filesystem;

absl::StatusOr<std::string> LocateCheckpointFile(const std::string& db_path,
                                                 const std::string& stored_path) {
  std::vector<fs::path> candidates = {fs::path(stored_path)};
  const fs::path db(db_path);
  if (fs::path(stored_path).is_relative()) {
    candidates.push_back(db.parent_path() / stored_path);
  }
  candidates.push_back(fs::path(db_path + ".checkpoints") / fs::path(stored_path).filename());
  std::error_code ec;
  std::vector<std::string> tried;
  for (const fs::path& p : candidates) {
    if (fs::is_regular_file(p, ec)) return p.string();
    tried.push_back(p.string());
  }
  return absl::NotFoundError(absl::StrCat("checkpoint file ", stored_path,
                                          " not found (tried ", absl::StrJoin(tried, ", "), ")"));
}

absl::StatusOr<TrainedTrial> ReadTrainedTrial(coordinator::ResultsReader& reader,
                                              const std::string& db_path,
                                              const std::string& experiment, int64_t number) {
  ASSIGN_OR_RETURN(const coordinator::ExperimentInfo info, reader.FindExperiment(experiment));
  ASSIGN_OR_RETURN(coordinator::TrialDetail detail, reader.ReadTrialDetail(experiment, number));
  TrainedTrial t;
  t.experiment_id = info.experiment_id;
  t.experiment_name = info.name;
  t.trial_id = detail.row.trial_id;
  t.number = number;
  t.state = detail.row.state;
  t.reused_from = detail.row.reused_from;
  t.config_json = detail.config_json;
  t.params = detail.row.params;
  t.metrics = detail.row.metrics;
  const std::string what =
      absl::StrCat("trial ", number, " (id ", t.trial_id, ") of experiment '", info.name, "'");
  if (t.state != "COMPLETE") {
    return absl::FailedPreconditionError(
        absl::StrCat(what, " is ", t.state, ", not COMPLETE: it has no trained model yet"));
  }
  if (detail.checkpoints.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        what, " has no kept checkpoint (the retention setting, keep_trained or the "
              "coordinator's --keep-trained, removed it)"));
  }
  t.checkpoint = detail.checkpoints.back();  // ascending step: the final one
  ASSIGN_OR_RETURN(t.checkpoint.path, LocateCheckpointFile(db_path, t.checkpoint.path));
  ASSIGN_OR_RETURN(const TrialConfig config, TrialConfigFromJson(t.config_json));
  if (!config.model_source.empty()) {
    ASSIGN_OR_RETURN(auto file, modelspec::ParseModelFile(config.model, config.model_source));
    for (const modelspec::NetworkDecl& network : file->networks) {
      if (!network.is_torchscript()) continue;
      const std::string& sha = network.torchscript_sha256;
      // A parsed hash is 64 hex digits (ParseModelFile), safe to quote.
      if (sha.size() != 64 || sha.find_first_not_of("0123456789abcdef") != std::string::npos) {
        return absl::FailedPreconditionError(
            absl::StrCat(what, ": its model file names ", network.torchscript,
                         " without a stored sha256"));
      }
      ASSIGN_OR_RETURN(const coordinator::QueryResult rows,
                       reader.Query(absl::StrCat(
                           "SELECT path FROM torchscript_files WHERE sha256 = '", sha, "'")));
      if (rows.rows.empty()) {
        return absl::NotFoundError(absl::StrCat(what, ": the coordinator has no TorchScript file ",
                                                network.torchscript, " (sha256 ", sha, ")"));
      }
      ASSIGN_OR_RETURN(std::string path, LocateCheckpointFile(db_path, rows.rows[0][0].text));
      t.torchscript_paths.push_back(std::move(path));
    }
  }
  return t;
}

std::vector<std::string> ModelToolInputArgs(const TrainedTrial& trial,
                                            const std::string& config_path) {
  std::vector<std::string> args = {"--config", config_path, "--checkpoint",
                                   trial.checkpoint.path, "--sha256", trial.checkpoint.sha256};
  for (const std::string& path : trial.torchscript_paths) {
    args.insert(args.end(), {"--torchscript", path});
  }
  return args;
}

absl::StatusOr<std::pair<std::string, int64_t>> ResolveTrialName(
    coordinator::ResultsReader& reader, const std::string& text) {
  const size_t colon = text.rfind(':');
  int64_t value = 0;
  if (colon != std::string::npos) {
    if (!absl::SimpleAtoi(text.substr(colon + 1), &value) || value < 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "trial '", text, "': expected EXPERIMENT:NUMBER (a number after the colon)"));
    }
    ASSIGN_OR_RETURN(const coordinator::ExperimentInfo info,
                     reader.FindExperiment(text.substr(0, colon)));
    return std::make_pair(info.experiment_id, value);
  }
  if (!absl::SimpleAtoi(text, &value) || value < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("trial '", text, "': expected a trial id or EXPERIMENT:NUMBER"));
  }
  ASSIGN_OR_RETURN(const coordinator::QueryResult result,
                   reader.Query(absl::StrCat(
                       "SELECT experiment_id, number FROM trials WHERE trial_id = ", value)));
  if (result.rows.empty()) {
    return absl::NotFoundError(absl::StrCat("no trial with id ", value));
  }
  return std::make_pair(result.rows[0][0].text, result.rows[0][1].AsInteger().value_or(0));
}

absl::StatusOr<int> RunModelTool(const std::vector<std::string>& args, std::ostream& out,
                                 std::ostream& err) {
  const char* env = std::getenv("GRIDRUN_WORKER");
  std::vector<std::string> argv = {env != nullptr && *env != '\0'
                                       ? std::string(env)
                                       : SiblingProgram("gridrun-worker"),
                                   "model-tool"};
  argv.insert(argv.end(), args.begin(), args.end());
  ASSIGN_OR_RETURN(const ProcessResult result, RunProcess(argv));
  out << result.out;
  err << result.err;
  return result.exit_code;
}

}  // namespace gridrun::cli
