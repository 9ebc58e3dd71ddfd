#include "cli/watch_command.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <utility>

#include "cli/status_command.h"

namespace gridrun::cli {
namespace {

// Live mode redraws at most this often (state changes redraw at once).
constexpr int64_t kRedrawIntervalMs = 100;

bool IsFinal(v1::TrialState state) {
  return state == v1::TRIAL_COMPLETE || state == v1::TRIAL_FAILED || state == v1::TRIAL_CANCELLED;
}

int64_t SteadyNowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Width of the terminal on stdout, 0 if unknown.
int TerminalColumns() {
  winsize size{};
  if (::ioctl(STDOUT_FILENO, TIOCGWINSZ, &size) == 0) return size.ws_col;
  return 0;
}

}  // namespace

WatchDisplay::WatchDisplay(std::ostream& out, bool live, int64_t min_line_interval_ms,
                           std::vector<std::string> param_order)
    : out_(out),
      live_(live),
      min_line_interval_ms_(min_line_interval_ms),
      param_order_(std::move(param_order)) {}

std::string WatchDisplay::TrialLine(const v1::Trial& trial) const {
  std::string line = "trial " + std::to_string(trial.number());
  const std::string params = ParamsText(ParamsOf(trial), param_order_);
  if (!params.empty()) line += " (" + params + ")";
  line += ": ";
  line += TrialStateText(trial.state());
  const v1::Progress& progress = trial.progress();
  switch (trial.state()) {
    case v1::TRIAL_RUNNING: {
      line += " epoch " + std::to_string(progress.epoch()) + ", step " +
              std::to_string(progress.step());
      if (progress.total_steps() > 0) line += "/" + std::to_string(progress.total_steps());
      if (progress.steps_per_second() > 0) {
        line += ", " + ShortNumber(progress.steps_per_second()) + " steps/s";
        if (progress.total_steps() > progress.step()) {
          line += ", ETA " + ShortDuration((progress.total_steps() - progress.step()) /
                                           progress.steps_per_second());
        }
      }
      if (trial.attempt() > 1) line += ", attempt " + std::to_string(trial.attempt());
      break;
    }
    case v1::TRIAL_COMPLETE: {
      std::string metrics;
      for (const std::string& name : KeyMetricNames()) {
        auto it = trial.latest_metrics().find(name);
        if (it == trial.latest_metrics().end()) continue;
        metrics += (metrics.empty() ? "" : ", ") + name + "=" + ShortNumber(it->second);
      }
      if (!metrics.empty()) line += " " + metrics;
      if (trial.reused_from() != 0) {
        line += " (reused trial " + std::to_string(trial.reused_from()) + ")";
      }
      break;
    }
    case v1::TRIAL_FAILED:
    case v1::TRIAL_PAUSED:   // why: the rung and the value that did not make the cut
    case v1::TRIAL_STOPPED:  // why: the rule or rung that stopped it
      if (!trial.error().empty()) line += ": " + trial.error();
      break;
    case v1::TRIAL_WAITING:
      if (trial.attempt() > 0 && !trial.error().empty()) {
        line += " (attempt " + std::to_string(trial.attempt()) + " failed: " + trial.error() +
                "; will retry)";
      }
      break;
    default:
      break;
  }
  return line;
}

void WatchDisplay::OnEvent(const v1::TrialEvent& event, int64_t now_ms) {
  const v1::Trial& trial = event.trial();
  const int64_t number = trial.number();
  auto previous = trials_.find(number);
  const bool changed = previous == trials_.end() || previous->second.state() != trial.state() ||
                       event.kind() != v1::TrialEvent::PROGRESS;
  trials_[number] = trial;

  if (!live_) {
    auto last = last_line_ms_.find(number);
    if (!changed && last != last_line_ms_.end() && now_ms - last->second < min_line_interval_ms_) {
      return;  // rate-limited progress
    }
    last_line_ms_[number] = now_ms;
    out_ << TrialLine(trial) << "\n";
    out_.flush();
    return;
  }
  if (changed && IsFinal(trial.state())) {
    ClearBlock();
    out_ << TrialLine(trial) << "\n";
    Redraw(now_ms, /*force=*/true);
    return;
  }
  Redraw(now_ms, changed);
}

void WatchDisplay::ClearBlock() {
  if (block_lines_ > 0) {
    // Cursor to the start of the block's first line, then erase to the end.
    out_ << "\x1b[" << block_lines_ << "F\x1b[J";
    block_lines_ = 0;
  }
}

void WatchDisplay::Redraw(int64_t now_ms, bool force) {
  if (!force && last_redraw_ms_ >= 0 && now_ms - last_redraw_ms_ < kRedrawIntervalMs) return;
  last_redraw_ms_ = now_ms;
  const int columns = TerminalColumns();
  std::vector<std::string> lines;
  for (const auto& [number, trial] : trials_) {
    if (trial.state() == v1::TRIAL_RUNNING) lines.push_back(TrialLine(trial));
  }
  std::string totals;
  for (v1::TrialState state : {v1::TRIAL_RUNNING, v1::TRIAL_WAITING, v1::TRIAL_COMPLETE,
                               v1::TRIAL_FAILED, v1::TRIAL_CANCELLED}) {
    totals += (totals.empty() ? "" : ", ") + std::to_string(CountInState(state)) + " " +
              TrialStateText(state);
  }
  lines.push_back(totals + " of " + std::to_string(trials_.size()));
  ClearBlock();
  for (std::string& line : lines) {
    // A wrapped line would break the cursor arithmetic.
    if (columns > 1 && static_cast<int>(line.size()) >= columns) line.resize(columns - 1);
    out_ << line << "\n";
  }
  block_lines_ = static_cast<int>(lines.size());
  out_.flush();
}

void WatchDisplay::Finish(const std::string& experiment_name) {
  if (live_) ClearBlock();
  out_ << "experiment " << experiment_name << ": " << CountInState(v1::TRIAL_COMPLETE)
       << " COMPLETE, " << CountInState(v1::TRIAL_FAILED) << " FAILED, "
       << CountInState(v1::TRIAL_CANCELLED) << " CANCELLED";
  if (const int64_t stopped = CountInState(v1::TRIAL_STOPPED); stopped > 0) {
    out_ << ", " << stopped << " STOPPED early";
  }
  const int64_t open = CountInState(v1::TRIAL_WAITING) + CountInState(v1::TRIAL_RUNNING);
  if (open > 0) out_ << ", " << open << " not finished";
  out_ << "\n";
  out_.flush();
}

int64_t WatchDisplay::CountInState(v1::TrialState state) const {
  int64_t count = 0;
  for (const auto& [number, trial] : trials_) count += trial.state() == state ? 1 : 0;
  return count;
}

bool WatchDisplay::AllComplete() const {
  // A trial stopped early ended as its spec asked.
  return !trials_.empty() && CountInState(v1::TRIAL_COMPLETE) + CountInState(v1::TRIAL_STOPPED) ==
                                 static_cast<int64_t>(trials_.size());
}

int RunWatch(const WatchOptions& options, std::ostream& out, std::ostream& err) {
  auto connected = ConnectToExperiment(options.connection, options.experiment);
  if (!connected.ok()) {
    err << "gridrun watch: " << connected.status().message() << "\n";
    return 1;
  }
  CoordinatorConnection& coordinator = *connected->coordinator;
  const v1::Experiment& experiment = connected->experiment;
  WatchDisplay display(out, options.live, options.min_line_interval_ms,
                       GridAxisNames(experiment.spec_yaml()));

  v1::WatchExperimentRequest request;
  request.set_experiment_id(experiment.experiment_id());
  auto context = coordinator.NewStreamContext();
  auto reader = coordinator.grid().WatchExperiment(context.get(), request);
  v1::TrialEvent event;
  int64_t events = 0;
  while (reader->Read(&event)) {
    display.OnEvent(event, SteadyNowMs());
    ++events;
  }
  const grpc::Status status = reader->Finish();
  if (!status.ok()) {
    std::string why = coordinator.Explain(status, options.experiment);
    if (events > 0 && (status.error_code() == grpc::StatusCode::UNAVAILABLE ||
                       status.error_code() == grpc::StatusCode::CANCELLED)) {
      why = "lost the connection to the coordinator at " + coordinator.address() + ": " +
            status.error_message();
    }
    if (options.live) out << "\n";
    err << "gridrun watch: " << why << "\n";
    return 1;
  }
  display.Finish(experiment.name());
  if (display.CountInState(v1::TRIAL_STOPPED) > 0) {
    // The final tally of the compute early stopping saved.
    v1::GetExperimentRequest get;
    get.set_experiment_id(experiment.experiment_id());
    v1::Experiment final_state;
    if (coordinator.grid()
            .GetExperiment(coordinator.NewCallContext().get(), get, &final_state)
            .ok()) {
      out << ComputeSavedText(final_state) << "\n";
    }
  }
  return display.AllComplete() ? 0 : 1;
}

void AddWatchCommand(CLI::App& app, std::ostream& out, std::ostream& err) {
  auto options = std::make_shared<WatchOptions>();
  CLI::App* cmd = app.add_subcommand(
      "watch", "follow an experiment's running trials live until every trial has finished");
  cmd->add_option("experiment", options->experiment, "experiment id or name")->required();
  AddConnectionOptions(cmd, &options->connection);
  cmd->callback([options, &out, &err] {
    options->live = &out == &std::cout && ::isatty(STDOUT_FILENO) == 1;
    const int code = RunWatch(*options, out, err);
    if (code != 0) throw CLI::RuntimeError(code);
  });
}

}  // namespace gridrun::cli
