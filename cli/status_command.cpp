#include "cli/status_command.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <iterator>
#include <memory>
#include <nlohmann/json.hpp>
#include <utility>

#include "absl/strings/ascii.h"
#include "cli/run_environment_text.h"
#include "cli/table_format.h"
#include "coordinator/compute_saved.h"
#include "coordinator/grid_spec.h"
#include "coordinator/proto_convert.h"
#include "coordinator/trial_state.h"

namespace gridrun::cli {
namespace {

SqlValue RealValue(double value, bool for_people) {
  if (!std::isfinite(value)) return SqlValue{};  // NULL: JSON has no NaN
  return SqlValue{SqlValue::Type::kReal, for_people ? ShortNumber(value) : ExactNumber(value)};
}
const char* ExperimentStatusText(v1::ExperimentStatus status) {
  switch (status) {
    case v1::EXPERIMENT_ACTIVE:
      return "ACTIVE";
    case v1::EXPERIMENT_DONE:
      return "DONE";
    case v1::EXPERIMENT_CANCELLED:
      return "CANCELLED";
    default:
      return "UNKNOWN";
  }
}

int64_t CountOf(const v1::Experiment& experiment, const std::string& state) {
  auto it = experiment.trial_counts().find(state);
  return it == experiment.trial_counts().end() ? 0 : it->second;
}

// "exp-1a2b 'name' ACTIVE, 4 trials: 1 COMPLETE, 3 WAITING"
std::string ExperimentSummary(const v1::Experiment& experiment) {
  std::string line = experiment.experiment_id() + " '" + experiment.name() + "' " +
                     ExperimentStatusText(experiment.status()) + ", " +
                     std::to_string(experiment.total_trials()) + " trial" +
                     (experiment.total_trials() == 1 ? "" : "s");
  std::string counts;
  for (coordinator::TrialState state : coordinator::kAllTrialStates) {
    const int64_t n = CountOf(experiment, coordinator::TrialStateName(state));
    if (n == 0) continue;
    counts +=
        (counts.empty() ? "" : ", ") + std::to_string(n) + " " + coordinator::TrialStateName(state);
  }
  if (!counts.empty()) line += ": " + counts;
  return line;
}

}  // namespace

std::string ComputeSavedText(const v1::Experiment& experiment) {
  return "compute: " + coordinator::ComputeSavedText(experiment.trial_epochs_run(),
                                                     experiment.trial_epochs_full());
}

std::string ByteSizeText(int64_t bytes) {
  char buffer[32];
  if (bytes < 1024) return std::to_string(bytes) + " B";
  const char* units[] = {"KiB", "MiB", "GiB", "TiB"};
  double value = static_cast<double>(bytes) / 1024.0;
  int unit = 0;
  while (value >= 1024.0 && unit < 3) {
    value /= 1024.0;
    ++unit;
  }
  std::snprintf(buffer, sizeof buffer, "%.1f %s", value, units[unit]);
  return buffer;
}

std::string TrainedKeptText(const v1::Experiment& experiment) {
  const int64_t complete = CountOf(experiment, "COMPLETE");
  return "trained models kept: " + std::to_string(experiment.trained_kept()) + " of " +
         std::to_string(complete) + " COMPLETE trials (" +
         ByteSizeText(experiment.trained_kept_bytes()) +
         "; `gridrun export --models`, `gridrun sample`)";
}

namespace {

int ListExperiments(CoordinatorConnection& connection, OutputFormat format, std::ostream& out,
                    std::ostream& err) {
  QueryResult result;
  result.columns = {"id", "name", "status"};
  for (coordinator::TrialState state : coordinator::kAllTrialStates) {
    result.columns.push_back(absl::AsciiStrToLower(coordinator::TrialStateName(state)));
  }
  result.columns.push_back("total");
  result.columns.push_back("created");
  std::string page_token;
  // Bounded: 1,000 pages of 1,000 experiments.
  for (int page = 0; page < 1000; ++page) {
    v1::ListExperimentsRequest request;
    request.set_page_size(1000);
    request.set_page_token(page_token);
    v1::ListExperimentsResponse response;
    grpc::Status status =
        connection.grid().ListExperiments(connection.NewCallContext().get(), request, &response);
    if (!status.ok()) {
      err << "gridrun status: " << connection.Explain(status) << "\n";
      return 1;
    }
    for (const v1::Experiment& experiment : response.experiments()) {
      std::vector<SqlValue> row = {SqlValue::Text(experiment.experiment_id()),
                                   SqlValue::Text(experiment.name()),
                                   SqlValue::Text(ExperimentStatusText(experiment.status()))};
      for (coordinator::TrialState state : coordinator::kAllTrialStates) {
        row.push_back(SqlValue::Integer(CountOf(experiment, coordinator::TrialStateName(state))));
      }
      row.push_back(SqlValue::Integer(experiment.total_trials()));
      row.push_back(SqlValue::Text(LocalTimeText(experiment.created_ms())));
      result.rows.push_back(std::move(row));
    }
    page_token = response.next_page_token();
    if (page_token.empty()) break;
  }
  if (result.rows.empty() && format == OutputFormat::kTable) {
    err << "gridrun status: no experiments yet (submit one with `gridrun submit GRID.yaml`)\n";
    return 0;
  }
  out << FormatResult(result, format);
  return 0;
}

int ShowExperiment(CoordinatorConnection& connection, const std::string& experiment_ref,
                   const v1::Experiment& experiment, OutputFormat format, std::ostream& out,
                   std::ostream& err) {
  v1::ListTrialsRequest list;
  list.set_experiment_id(experiment.experiment_id());
  v1::ListTrialsResponse trials;
  const grpc::Status status =
      connection.grid().ListTrials(connection.NewCallContext().get(), list, &trials);
  if (!status.ok()) {
    err << "gridrun status: " << connection.Explain(status, experiment_ref) << "\n";
    return 1;
  }

  std::set<std::string> param_names, metric_names;
  // Early stopping: a rung column, and what it saved.
  bool early_stopping = CountOf(experiment, "PAUSED") + CountOf(experiment, "STOPPED") > 0;
  for (const v1::Trial& trial : trials.trials()) {
    if (trial.rung_epoch() > 0 || trial.stop_after_epoch() > 0) early_stopping = true;
    for (const auto& [name, value] : trial.params()) param_names.insert(name);
    for (const auto& [name, value] : trial.latest_metrics()) metric_names.insert(name);
  }
  const std::vector<std::string> params = OrderParamNames(experiment.spec_yaml(), param_names);
  std::vector<std::string> metrics;
  for (const std::string& name : KeyMetricNames()) {
    if (metric_names.count(name)) metrics.push_back(name);
  }

  const bool people = format == OutputFormat::kTable;
  QueryResult result;
  if (!people) result.columns.push_back("trial_id");
  for (const char* column : {"number", "state", "attempt", "worker", "epoch", "step"}) {
    result.columns.push_back(column);
  }
  if (!people) result.columns.push_back("total_steps");
  if (early_stopping) result.columns.push_back("rung");
  for (const std::string& name : params) result.columns.push_back(name);
  for (const std::string& name : metrics) result.columns.push_back(name);
  if (!people) {
    result.columns.push_back("reused_from");
    result.columns.push_back("error");
  }

  std::vector<std::string> failures;
  for (const v1::Trial& trial : trials.trials()) {
    std::vector<SqlValue> row;
    if (!people) row.push_back(SqlValue::Integer(trial.trial_id()));
    row.push_back(SqlValue::Integer(trial.number()));
    std::string state = TrialStateText(trial.state());
    if (people && trial.reused_from() != 0) state += " (reused)";
    row.push_back(SqlValue::Text(state));
    row.push_back(SqlValue::Integer(trial.attempt()));
    row.push_back(SqlValue::Text(trial.worker_id()));
    row.push_back(SqlValue::Integer(trial.progress().epoch()));
    if (people) {
      std::string step = std::to_string(trial.progress().step());
      if (trial.progress().total_steps() > 0) {
        step += "/" + std::to_string(trial.progress().total_steps());
      }
      row.push_back(SqlValue{SqlValue::Type::kInteger, step});
    } else {
      row.push_back(SqlValue::Integer(trial.progress().step()));
      row.push_back(SqlValue::Integer(trial.progress().total_steps()));
    }
    // The highest rung epoch reached ("" before the first).
    if (early_stopping) {
      row.push_back(trial.rung_epoch() > 0 ? SqlValue::Integer(trial.rung_epoch()) : SqlValue{});
    }
    for (const std::string& name : params) {
      auto it = trial.params().find(name);
      row.push_back(it == trial.params().end() ? SqlValue{} : ParamQueryValue(it->second));
    }
    for (const std::string& name : metrics) {
      auto it = trial.latest_metrics().find(name);
      row.push_back(it == trial.latest_metrics().end() ? SqlValue{}
                                                       : RealValue(it->second, people));
    }
    if (!people) {
      row.push_back(SqlValue::Integer(trial.reused_from()));
      row.push_back(SqlValue::Text(trial.error()));
    } else if (!trial.error().empty()) {
      failures.push_back("trial " + std::to_string(trial.number()) + " (" +
                         TrialStateText(trial.state()) + "): " + trial.error());
    }
    result.rows.push_back(std::move(row));
  }
  if (people) out << ExperimentSummary(experiment) << "\n";
  if (people && early_stopping) out << ComputeSavedText(experiment) << "\n";
  out << FormatResult(result, format);
  for (const std::string& line : failures) out << line << "\n";
  // Once trials are COMPLETE: what retention keeps of their trained models.
  if (people && CountOf(experiment, "COMPLETE") > 0) out << TrainedKeptText(experiment) << "\n";
  return 0;
}

int ShowTrial(CoordinatorConnection& connection, const StatusOptions& options,
              OutputFormat format, std::ostream& out, std::ostream& err) {
  v1::GetTrialRequest request;
  request.set_experiment_id(options.experiment);
  request.set_number(options.trial);
  v1::TrialDetail detail;
  grpc::Status status =
      connection.grid().GetTrial(connection.NewCallContext().get(), request, &detail);
  if (!status.ok()) {
    // NOT_FOUND names what is missing (the experiment or the trial number).
    err << "gridrun status: " << connection.Explain(status) << "\n";
    return 1;
  }
  const v1::Trial& trial = detail.trial();
  QueryResult result;
  result.columns = {"attempt", "worker", "started"};
  for (const EnvironmentField& field : DescribeRunEnvironment("")) {
    result.columns.push_back(field.key);
  }
  std::vector<std::vector<EnvironmentField>> environments;
  for (const v1::TrialAttempt& attempt : detail.attempts()) {
    std::vector<SqlValue> row = {SqlValue::Integer(attempt.attempt()),
                                 SqlValue::Text(attempt.worker_id()),
                                 SqlValue::Text(LocalTimeText(attempt.started_ms()))};
    environments.push_back(DescribeRunEnvironment(attempt.environment_json()));
    for (const EnvironmentField& field : environments.back()) {
      row.push_back(SqlValue::Text(field.value));
    }
    result.rows.push_back(std::move(row));
  }
  if (format != OutputFormat::kTable) {
    out << FormatResult(result, format);
    return 0;
  }
  out << "trial " << trial.number() << " (id " << trial.trial_id() << ") of "
      << trial.experiment_id() << ": " << TrialStateText(trial.state());
  if (trial.reused_from() != 0) out << " (reused from trial id " << trial.reused_from() << ")";
  out << ", attempt " << trial.attempt();
  if (!trial.worker_id().empty()) out << ", worker " << trial.worker_id();
  out << "\n";
  const std::map<std::string, std::string> params = ParamsOf(trial);
  if (!params.empty()) out << "params: " << ParamsText(params, {}) << "\n";
  for (const std::string& name : KeyMetricNames()) {
    auto it = trial.latest_metrics().find(name);
    if (it != trial.latest_metrics().end()) {
      out << name << ": " << ShortNumber(it->second) << "\n";
    }
  }
  if (!trial.error().empty()) out << "error: " << trial.error() << "\n";
  if (detail.checkpoints().empty()) {
    out << "checkpoints kept: none"
        << (trial.state() == v1::TRIAL_COMPLETE ? " (no trained model: retention removed it)" : "")
        << "\n";
  }
  for (const v1::CheckpointInfo& checkpoint : detail.checkpoints()) {
    const bool model = trial.state() == v1::TRIAL_COMPLETE;
    out << (model ? "trained model kept: " : "checkpoint kept: ") << "step " << checkpoint.step()
        << " (epoch " << checkpoint.epoch() << "), " << ByteSizeText(checkpoint.size_bytes())
        << ", sha256 " << checkpoint.sha256().substr(0, 12) << "\n";
  }
  if (result.rows.empty()) {
    out << "attempts: none recorded\n";
    return 0;
  }
  for (size_t i = 0; i < result.rows.size(); ++i) {
    const std::vector<SqlValue>& row = result.rows[i];
    out << "attempt " << row[0].text << " on worker " << row[1].text << ", started "
        << row[2].text << "\n";
    for (const EnvironmentField& field : environments[i]) {
      out << "  " << field.label << ": " << field.value << "\n";
    }
  }
  return 0;
}

}  // namespace

int RunStatus(const StatusOptions& options, std::ostream& out, std::ostream& err) {
  auto format = ParseOutputFormat(options.format);
  if (!format.ok()) {
    err << "gridrun status: " << format.status().message() << "\n";
    return 1;
  }
  if (options.experiment.empty()) {
    auto connection = CoordinatorConnection::Open(options.connection);
    if (!connection.ok()) {
      err << "gridrun status: " << connection.status().message() << "\n";
      return 1;
    }
    return ListExperiments(**connection, *format, out, err);
  }
  auto connected = ConnectToExperiment(options.connection, options.experiment);
  if (!connected.ok()) {
    err << "gridrun status: " << connected.status().message() << "\n";
    return 1;
  }
  if (options.trial >= 0) {
    return ShowTrial(*connected->coordinator, options, *format, out, err);
  }
  return ShowExperiment(*connected->coordinator, options.experiment, connected->experiment, *format,
                        out, err);
}

void AddStatusCommand(CLI::App& app, std::ostream& out, std::ostream& err) {
  auto options = std::make_shared<StatusOptions>();
  CLI::App* cmd = app.add_subcommand(
      "status", "list experiments, or show the trials of one (state, progress, key metrics)");
  cmd->add_option("experiment", options->experiment, "experiment id or name (omit to list all)");
  cmd->add_option("trial", options->trial,
                  "trial number in the grid: show its attempts and where they ran")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--format", options->format, "table, csv or json")->capture_default_str();
  AddConnectionOptions(cmd, &options->connection);
  cmd->callback([options, &out, &err] {
    const int code = RunStatus(*options, out, err);
    if (code != 0) throw CLI::RuntimeError(code);
  });
}

const std::vector<std::string>& KeyMetricNames() {
  static const std::vector<std::string> kNames = {"loss/total",    "loss/g", "loss/d",
                                                  "test/neg_elbo", "fid",    "mode_coverage"};
  return kNames;
}

std::vector<std::string> GridAxisNames(const std::string& spec_yaml) {
  std::vector<std::string> axes;
  if (spec_yaml.empty()) return axes;
  coordinator::GridLimits structure_only;
  structure_only.structure_only = true;
  auto spec = coordinator::ParseGridSpec(spec_yaml, structure_only);
  if (!spec.ok()) return axes;
  for (const coordinator::GridAxis& axis : spec->axes) axes.push_back(axis.name);
  return axes;
}

std::vector<std::string> OrderParamNames(const std::string& spec_yaml,
                                         const std::set<std::string>& names) {
  std::vector<std::string> ordered;
  std::set<std::string> placed;
  for (const std::string& axis : GridAxisNames(spec_yaml)) {
    if (names.count(axis) && placed.insert(axis).second) ordered.push_back(axis);
  }
  for (const std::string& name : names) {
    if (placed.insert(name).second) ordered.push_back(name);
  }
  return ordered;
}

std::string ParamsText(const std::map<std::string, std::string>& params,
                       const std::vector<std::string>& order) {
  std::string text;
  std::set<std::string> done;
  auto add = [&](const std::string& name, const std::string& value) {
    text += (text.empty() ? "" : ", ") + name + "=" + value;
    done.insert(name);
  };
  for (const std::string& name : order) {
    auto it = params.find(name);
    if (it != params.end() && !done.count(name)) add(name, it->second);
  }
  for (const auto& [name, value] : params) {
    if (!done.count(name)) add(name, value);
  }
  return text;
}

SqlValue ParamQueryValue(const std::string& text) {
  if (text.empty()) return SqlValue::Text(text);
  int64_t integer = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), integer);
  if (error == std::errc() && end == text.data() + text.size()) {
    return SqlValue{SqlValue::Type::kInteger, text};
  }
  double real = 0;
  auto [rend, rerror] = std::from_chars(text.data(), text.data() + text.size(), real);
  if (rerror == std::errc() && rend == text.data() + text.size() && std::isfinite(real)) {
    return SqlValue{SqlValue::Type::kReal, text};
  }
  return SqlValue::Text(text);
}

std::map<std::string, std::string> ParamsOf(const v1::Trial& trial) {
  return std::map<std::string, std::string>(trial.params().begin(), trial.params().end());
}

const char* TrialStateText(v1::TrialState state) {
  if (state == v1::TRIAL_STATE_UNSPECIFIED || !v1::TrialState_IsValid(state)) return "UNKNOWN";
  return coordinator::TrialStateName(coordinator::FromProto(state));
}

std::string ShortNumber(double value) {
  char buffer[64];
  std::snprintf(buffer, sizeof(buffer), "%.6g", value);
  return buffer;
}

std::string ExactNumber(double value) {
  char buffer[64];
  auto [end, error] = std::to_chars(buffer, buffer + sizeof(buffer), value);
  if (error != std::errc()) return ShortNumber(value);
  return std::string(buffer, end);
}

std::string ShortDuration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  const int64_t s = static_cast<int64_t>(std::llround(seconds));
  char buffer[64];
  if (s < 60) {
    std::snprintf(buffer, sizeof(buffer), "%llds", static_cast<long long>(s));
  } else if (s < 3600) {
    std::snprintf(buffer, sizeof(buffer), "%lldm%02llds", static_cast<long long>(s / 60),
                  static_cast<long long>(s % 60));
  } else if (s < 86400) {
    std::snprintf(buffer, sizeof(buffer), "%lldh%02lldm", static_cast<long long>(s / 3600),
                  static_cast<long long>(s % 3600 / 60));
  } else {
    std::snprintf(buffer, sizeof(buffer), "%lldd%02lldh", static_cast<long long>(s / 86400),
                  static_cast<long long>(s % 86400 / 3600));
  }
  return buffer;
}

std::string LocalTimeText(int64_t ms) {
  if (ms <= 0) return "";
  const std::time_t seconds = static_cast<std::time_t>(ms / 1000);
  std::tm local{};
  if (localtime_r(&seconds, &local) == nullptr) return std::to_string(ms);
  char buffer[32];
  std::strftime(buffer, sizeof(buffer), "%Y-%m-%d %H:%M:%S", &local);
  return buffer;
}

}  // namespace gridrun::cli
