#include "worker/worker_loop.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <chrono>
#include <map>
#include <optional>
#include <thread>
#include <utility>

#include "common/init_from.h"
#include "common/status_macros.h"
#include "common/trial_config.h"
#include "worker/coordinator_client.h"
#include "worker/coordinator_sink.h"
#include "worker/run_environment.h"
#include "worker/torchscript_cache.h"
#include "worker/trial_runner.h"

namespace gridrun::worker {
namespace {

using SteadyClock = std::chrono::steady_clock;

std::string HostName() {
  char name[256] = {};
  ::gethostname(name, sizeof(name) - 1);
  return name;
}

// Rank 0: waits for a trial and fetches its checkpoint. Returns the lease
// as the coordinator sent it, or a reply without a trial when it is time to
// stop.
// A lease that came with a completion but will not be run (the worker is
// exiting): back to the queue at once, without using up an attempt.
void HandBackUnstarted(WorkerClient& client, std::optional<LeaseReply> lease) {
  if (!lease.has_value() || !lease->trial.has_value()) return;
  absl::Status status = client.HandBack(*lease->trial, "worker exiting before starting it");
  if (!status.ok()) {
    spdlog::warn("trial {}: handing back the unstarted lease failed: {}", lease->trial->trial_id,
                 status.ToString());
  }
}

// `prefetched`: the lease CompleteTrial's reply carried (convention 8b),
// used instead of the first LeaseTrial call.
LeaseReply NextLease(WorkerClient& client, const WorkerOptions& options, int64_t trials_done,
                     const std::atomic<bool>& preempt, std::string* checkpoint,
                     std::string* init_checkpoint, std::optional<LeaseReply> prefetched) {
  if (options.max_trials > 0 && trials_done >= options.max_trials) {
    spdlog::info("ran {} trials (--max-trials); exiting", trials_done);
    HandBackUnstarted(client, std::move(prefetched));
    return {};
  }
  if (preempt) {
    HandBackUnstarted(client, std::move(prefetched));
    return {};
  }
  const auto idle_since = SteadyClock::now();
  while (!preempt) {
    absl::StatusOr<LeaseReply> reply =
        prefetched.has_value() ? *std::move(prefetched) : client.Lease();
    prefetched.reset();
    int64_t wait_ms = 1000;
    if (!reply.ok()) {
      spdlog::warn("LeaseTrial failed: {}", reply.status().ToString());
    } else if (reply->trial) {
      const LeasedTrial& trial = *reply->trial;
      if (trial.has_checkpoint) {
        auto bytes = client.FetchCheckpoint(trial);
        if (bytes.ok()) {
          *checkpoint = std::move(*bytes);
        } else {
          // No usable checkpoint (e.g. corrupt on the coordinator): start over.
          spdlog::warn("trial {}: cannot fetch its checkpoint ({}); starting from scratch",
                       trial.trial_id, bytes.status().ToString());
          checkpoint->clear();
        }
      }
      if (checkpoint->empty()) {
        // A fresh start of a warm-started trial: its source's weights. A
        // failed fetch leaves the bytes empty; the runner fails the trial
        // with the reason.
        auto config = TrialConfigFromJson(trial.config_json);
        if (config.ok() && !config->init_from.empty()) {
          auto init = InitFromFromJson(config->init_from);
          auto bytes = init.ok() ? client.FetchCheckpoint(trial, init->trial)
                                 : absl::StatusOr<std::string>(init.status());
          if (bytes.ok()) {
            *init_checkpoint = std::move(*bytes);
          } else {
            spdlog::error("trial {}: cannot fetch its init_from checkpoint: {}", trial.trial_id,
                          bytes.status().ToString());
            *init_checkpoint = "error: " + std::string(bytes.status().message());
          }
        }
      }
      return *std::move(reply);
    } else {
      wait_ms = std::max<int64_t>(reply->retry_after_ms, 10);
    }
    const double idle = std::chrono::duration<double>(SteadyClock::now() - idle_since).count();
    if (options.exit_when_idle_s >= 0 && idle >= options.exit_when_idle_s) {
      spdlog::info("no trial for {:.1f} s (--exit-when-idle); exiting", idle);
      return {};
    }
    // Sleep in small slices so SIGTERM is noticed quickly.
    const auto until = SteadyClock::now() + std::chrono::milliseconds(wait_ms);
    while (!preempt && SteadyClock::now() < until) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  return {};
}

// `next` (may be null): where a completion that also leased the next trial
// (convention 8b) leaves that lease; null asks for no lease.
void ReportOutcome(WorkerClient& client, CoordinatorSink& sink, const LeasedTrial& trial,
                   const TrialOutcome& outcome, std::optional<LeaseReply>* next) {
  if (sink.lease_lost()) {
    spdlog::warn("trial {}: lease lost; reporting nothing more", trial.trial_id);
    return;
  }
  // Convention 8e: a completion that also leases carries the last points
  // and progress itself; every other outcome sends them first.
  const bool last_on_completion = outcome.kind == TrialOutcome::Kind::kCompleted &&
                                  next != nullptr && client.completion_takes_points();
  absl::Status flushed = last_on_completion ? absl::OkStatus() : sink.Flush();
  absl::Status status;
  switch (outcome.kind) {
    case TrialOutcome::Kind::kCompleted:
      if (!flushed.ok()) {
        // Every metric must be stored before the trial counts as complete.
        status = client.Fail(trial, "could not store metrics: " + flushed.ToString(), true);
        break;
      }
      if (next != nullptr) {
        auto completed = last_on_completion
                             ? sink.CompleteAndLease(outcome.final_metrics)
                             : client.CompleteAndLease(trial, outcome.final_metrics);
        status = completed.status();
        if (completed.ok()) *next = *std::move(completed);  // nullopt: a v1 coordinator
      } else {
        status = client.Complete(trial, outcome.final_metrics);
      }
      spdlog::info("trial {}: complete after {} steps", trial.trial_id, outcome.steps);
      break;
    case TrialOutcome::Kind::kReachedRung:
      if (!flushed.ok()) {
        // The rung decision reads the stored metric: it must be there.
        status = client.Fail(trial, "could not store metrics: " + flushed.ToString(), true);
        break;
      }
      status = client.ReachRung(trial, outcome.rung_epoch);
      break;
    case TrialOutcome::Kind::kStopped:
      if (sink.stop_requested() && !sink.cancel_requested()) {
        // The store records the stop's reason; this text is not kept.
        status = client.Fail(trial, "stopped early", /*retryable=*/false);
        spdlog::info("trial {}: stopped early at step {}", trial.trial_id, outcome.steps);
        break;
      }
      status = client.Fail(trial, "cancelled", /*retryable=*/false);
      spdlog::info("trial {}: stopped (cancelled) at step {}", trial.trial_id, outcome.steps);
      break;
    case TrialOutcome::Kind::kPreempted:
      status = client.HandBack(trial, "preempted (SIGTERM) at step " + std::to_string(outcome.steps));
      spdlog::info("trial {}: preempted at step {}; checkpoint saved", trial.trial_id,
                   outcome.steps);
      break;
    case TrialOutcome::Kind::kFailed:
      status = client.Fail(trial, outcome.error, outcome.retryable);
      spdlog::error("trial {}: failed ({}): {}", trial.trial_id,
                    outcome.retryable ? "will retry" : "final", outcome.error);
      break;
  }
  if (!status.ok()) {
    spdlog::warn("trial {}: reporting the outcome failed: {}", trial.trial_id, status.ToString());
  }
}

// The TorchScript files `config` names, on every rank: rank 0 reads its
// cache or fetches them, then broadcasts each file's bytes (empty: failed;
// collective, so every rank takes the same path).
absl::Status FetchTorchScriptFiles(const TrialConfig& config, const WorkerOptions& options,
                                   WorkerClient* client, Communicator& comm,
                                   std::map<std::string, std::string>& files) {
  for (const std::string& sha : TorchScriptHashes(config)) {
    std::string bytes;
    absl::Status status = absl::OkStatus();
    if (comm.rank() == 0) {
      auto got = CachedTorchScript(TorchScriptCacheDir(options.data_dir), sha,
                                   [client](const std::string& h) {
                                     return client->FetchTorchScript(h);
                                   });
      if (got.ok()) {
        bytes = *std::move(got);
      } else {
        status = got.status();
      }
    }
    RETURN_IF_ERROR(comm.BroadcastBytes(bytes, 0));
    if (bytes.empty()) {
      if (!status.ok()) return status;
      return absl::UnavailableError("rank 0 could not fetch TorchScript file " + sha);
    }
    files.emplace(sha, std::move(bytes));
  }
  return absl::OkStatus();
}

}  // namespace

int RunWorker(const WorkerOptions& options, Communicator& comm, Communicator* tensor_comm,
              const std::atomic<bool>& preempt) {
  // Collective: every rank reports its host and device; rank 0 sends the
  // whole environment with each lease request.
  absl::StatusOr<RunEnvironment> environment =
      CollectRunEnvironment(comm, options.device, options.device_index);
  if (!environment.ok()) {
    spdlog::error("collecting the run environment failed: {}", environment.status().ToString());
    return 1;
  }
  std::unique_ptr<WorkerClient> client;
  if (comm.rank() == 0) {
    client = std::make_unique<WorkerClient>(options.coordinator);
    client->set_run_environment_json(RunEnvironmentJson(*environment));
    absl::Status registered = client->Register(HostName(), comm.size(), options.device,
                                               options.device == "cuda" ? comm.size() : 0);
    if (!registered.ok()) {
      spdlog::error("cannot register with the coordinator at {}: {}",
                    options.coordinator.address, registered.ToString());
    } else {
      spdlog::info("registered as worker {} ({} ranks, {})", client->worker_id(), comm.size(),
                   options.device);
    }
    if (!registered.ok()) client.reset();
  }
  TrialRunOptions run_options;
  run_options.data_dir = options.data_dir;
  run_options.device = options.device;
  run_options.device_index = options.device_index;
  run_options.preempt = &preempt;
  run_options.tensor_comm = tensor_comm;
  run_options.metrics_every_steps = options.metrics_every_steps;

  int64_t trials_done = 0;
  std::optional<LeaseReply> next_lease;  // from the last CompleteTrial (rank 0)
  while (true) {
    // Rank 0 decides; every rank reads its decision from the same bytes: the
    // serialized LeaseTrialResponse, whose lease is the next trial (no lease:
    // exit).
    LeaseReply lease;
    std::string checkpoint, init_checkpoint;
    if (comm.rank() == 0 && client) {
      lease = NextLease(*client, options, trials_done, preempt, &checkpoint, &init_checkpoint,
                        std::exchange(next_lease, std::nullopt));
    }
    if (auto s = comm.BroadcastBytes(lease.serialized, 0); !s.ok()) {
      spdlog::error("broadcasting the next trial failed: {}", s.ToString());
      return 1;
    }
    if (comm.rank() != 0) {
      auto decoded = DecodeLeaseReply(std::move(lease.serialized));
      if (!decoded.ok()) {
        spdlog::error("the lease broadcast by rank 0 is unreadable: {}",
                      decoded.status().ToString());
        return 1;
      }
      lease = *std::move(decoded);
    }
    if (!lease.trial) break;
    const LeasedTrial& trial = *lease.trial;
    if (auto s = comm.BroadcastBytes(checkpoint, 0); !s.ok()) {
      spdlog::error("broadcasting the checkpoint failed: {}", s.ToString());
      return 1;
    }
    if (auto s = comm.BroadcastBytes(init_checkpoint, 0); !s.ok()) {
      spdlog::error("broadcasting the init_from checkpoint failed: {}", s.ToString());
      return 1;
    }
    auto config = TrialConfigFromJson(trial.config_json);
    std::unique_ptr<CoordinatorSink> sink;
    if (comm.rank() == 0) sink = std::make_unique<CoordinatorSink>(client.get(), trial);
    TrialOutcome outcome;
    std::map<std::string, std::string> torchscript;  // models::TorchScriptFiles
    absl::Status fetched = absl::OkStatus();
    if (config.ok()) {
      fetched = FetchTorchScriptFiles(*config, options, client.get(), comm, torchscript);
    }
    if (!config.ok()) {
      outcome.kind = TrialOutcome::Kind::kFailed;
      outcome.error = config.status().ToString();
    } else if (!fetched.ok()) {
      outcome.kind = TrialOutcome::Kind::kFailed;
      outcome.error = std::string(fetched.message());
      outcome.retryable = !absl::IsFailedPrecondition(fetched);
    } else {
      run_options.torchscript = &torchscript;
      run_options.stop_after_epoch = trial.stop_after_epoch;
      run_options.keep_best_metric = trial.keep_best_metric;
      run_options.keep_best_maximize = trial.keep_best_maximize;
      run_options.init_checkpoint = std::move(init_checkpoint);
      outcome = RunTrial(*config, checkpoint, comm, sink.get(), run_options);
    }
    // The next lease comes with the completion unless this was the last
    // trial (--max-trials) or the job is being preempted.
    const bool wants_next =
        !preempt && (options.max_trials <= 0 || trials_done + 1 < options.max_trials);
    if (comm.rank() == 0) {
      ReportOutcome(*client, *sink, trial, outcome, wants_next ? &next_lease : nullptr);
    }
    ++trials_done;
    if (outcome.kind == TrialOutcome::Kind::kPreempted || preempt) break;
  }
  if (comm.rank() == 0 && client) HandBackUnstarted(*client, std::exchange(next_lease, std::nullopt));
  return 0;
}

}  // namespace gridrun::worker
