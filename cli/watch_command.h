// `gridrun watch EXPERIMENT`: follows an experiment live until no trial is
// WAITING or RUNNING, through the coordinator's WatchExperiment stream.
//
// Two displays:
//   * live (stdout is a terminal): trials that finish are printed once, as
//     permanent lines; below them a block of lines, one per RUNNING trial
//     (epoch, step/total, steps/s, ETA) and a totals line, is redrawn in
//     place with ANSI escapes (at most 10 redraws a second);
//   * plain (a pipe or file, e.g. a batch job's log): one line per event --
//     every initial state and state change, and progress at most once per
//     trial per `min_line_interval_ms`.
// Both end with "experiment NAME: N COMPLETE, N FAILED, N CANCELLED".
//
// Exit codes: 0 when every trial ended COMPLETE; 1 when any ended FAILED or
// CANCELLED, the experiment is unknown ("no experiment 'x'"), or the
// coordinator cannot be reached or goes away mid-stream.
//
// Thread-safety: RunWatch and WatchDisplay keep no shared state; one
// WatchDisplay must be used by one thread.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "cli/coordinator_connection.h"
#include "proto/gridrun.pb.h"

namespace gridrun::cli {

struct WatchOptions {
  std::string experiment;               // id or name
  bool live = false;                    // redraw in place (AddWatchCommand: stdout is a tty)
  int64_t min_line_interval_ms = 1000;  // plain mode: progress lines per trial
  ConnectionOptions connection;
};

// Follows the experiment until the stream ends; returns the exit code above.
// `out` gets the display, `err` errors.
int RunWatch(const WatchOptions& options, std::ostream& out, std::ostream& err);

// Adds the `watch` subcommand; `out`/`err` must outlive `app`.
void AddWatchCommand(CLI::App& app, std::ostream& out = std::cout, std::ostream& err = std::cerr);

// Turns TrialEvents into text on `out` (see the modes above). Time is passed
// in, so tests drive the rate limit.
class WatchDisplay {
 public:
  // `param_order`: axis names in grid order (OrderParamNames).
  WatchDisplay(std::ostream& out, bool live, int64_t min_line_interval_ms,
               std::vector<std::string> param_order);

  void OnEvent(const v1::TrialEvent& event, int64_t now_ms);

  // Final redraw (live) and the summary line naming `experiment_name`.
  void Finish(const std::string& experiment_name);

  // Trials seen in each final state (by their latest event).
  int64_t CountInState(v1::TrialState state) const;
  // True when at least one trial was seen and every one is COMPLETE or
  // STOPPED (stopped early, as its spec asked).
  bool AllComplete() const;

  // One trial as a line: "trial 3 (latent_size=2, kl_weight=0.5): RUNNING
  // epoch 2, step 120/1000, 12.5 steps/s, ETA 1m10s".
  std::string TrialLine(const v1::Trial& trial) const;

 private:
  void Redraw(int64_t now_ms, bool force);
  void ClearBlock();

  std::ostream& out_;
  bool live_;
  int64_t min_line_interval_ms_;
  std::vector<std::string> param_order_;
  std::map<int64_t, v1::Trial> trials_;      // by number: latest state
  std::map<int64_t, int64_t> last_line_ms_;  // plain: when a trial last printed
  int block_lines_ = 0;                      // live: lines of the redrawn block
  int64_t last_redraw_ms_ = -1;
};

}  // namespace gridrun::cli
