// WorkerClient: rank 0's connection to the coordinator's WorkerService.
//
// Plain structs in, plain structs out, so training code never includes gRPC
// or protobuf headers (compile time, and torch/protobuf header clashes). Two
// things travel in their protobuf form without exposing it: a lease's
// serialized bytes (LeaseReply::serialized, what rank 0 broadcasts to the
// other ranks) and a batch of metric points (the TrialReporter builds each
// point once, straight into a forward-declared v1::ReportMetricsRequest).
// Transient failures (coordinator restarting: UNAVAILABLE, or a timeout) are
// retried with capped exponential backoff until `retry_budget` runs out;
// everything else returns at once. ABORTED from any trial call means the
// lease is gone: stop the trial and report nothing more about it.
// Thread-safety: all methods may be called concurrently (gRPC stubs are
// thread-safe); the worker id is set once by Register().
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "proto/client_channel.h"

namespace gridrun::v1 {
class ReportMetricsRequest;
}  // namespace gridrun::v1

namespace gridrun::worker {

struct LeasedTrial {
  int64_t trial_id = 0;
  std::string experiment_id;
  int attempt = 0;
  std::string config_json;
  int64_t lease_expires_ms = 0;
  bool has_checkpoint = false;
  int64_t checkpoint_step = 0;
  int64_t checkpoint_epoch = 0;
  // > 0: train through this epoch only, then ReachRung (the lease is
  // bounded to an ASHA rung; proto/gridrun.proto convention 7a).
  int64_t stop_after_epoch = 0;
  // keep_best (convention 7d): the metric whose improvements get a "best"
  // sample grid ("" for none), and whether larger is better.
  std::string keep_best_metric;
  bool keep_best_maximize = false;
};

struct LeaseReply {
  std::optional<LeasedTrial> trial;  // empty: nothing to do now
  int64_t retry_after_ms = 0;
  // The v1::LeaseTrialResponse this reply was read from, serialized: the
  // bytes rank 0 broadcasts so that every rank reads the same lease with
  // DecodeLeaseReply. Empty for a response without a lease or retry hint.
  std::string serialized;
};

// Reads a serialized v1::LeaseTrialResponse (LeaseReply::serialized, as
// broadcast by rank 0) into the LeaseReply WorkerClient::Lease returned for
// it; empty bytes give a reply without a trial. INVALID_ARGUMENT if the bytes
// do not parse as a LeaseTrialResponse.
absl::StatusOr<LeaseReply> DecodeLeaseReply(std::string serialized);

struct HeartbeatReply {
  bool cancel = false;
  bool stop = false;  // stopped early (convention 7b): end the trial
  int64_t lease_expires_ms = 0;
};

struct TrialProgress {
  int64_t epoch = 0;
  int64_t step = 0;
  int64_t total_steps = 0;
  double steps_per_second = 0;
};

class WorkerClient {
 public:
  explicit WorkerClient(const ClientOptions& options,
                        std::chrono::milliseconds retry_budget = std::chrono::seconds(60));
  ~WorkerClient();

  absl::Status Register(const std::string& host, int ranks, const std::string& device, int gpus);
  const std::string& worker_id() const { return worker_id_; }
  int64_t heartbeat_interval_ms() const { return heartbeat_interval_ms_; }
  int64_t lease_timeout_ms() const { return lease_timeout_ms_; }

  // Sends the run environment set below (empty: none, stored as unknown).
  absl::StatusOr<LeaseReply> Lease();
  absl::StatusOr<HeartbeatReply> Heartbeat(const LeasedTrial& trial, const TrialProgress& progress);
  // Sends the points of `request` (its worker and lease fields are set here
  // from this worker and `trial`); the points stay in `request`. `stop`
  // (if set) becomes true when the coordinator asks the trial to stop early
  // (convention 7b).
  // With `progress` set the call is also the heartbeat (convention 8a);
  // `beat` (if set) then receives Heartbeat's answer, and *beat_answered
  // says whether the coordinator gave one (false: a coordinator without
  // convention 8, so call Heartbeat()).
  absl::Status ReportMetrics(const LeasedTrial& trial, v1::ReportMetricsRequest& request,
                             bool* stop = nullptr, const TrialProgress* progress = nullptr,
                             HeartbeatReply* beat = nullptr, bool* beat_answered = nullptr);
  absl::Status ReportSample(const LeasedTrial& trial, const std::string& name, int64_t step,
                            int64_t epoch, const std::string& png, int rows, int cols);
  absl::Status SaveCheckpoint(const LeasedTrial& trial, int64_t step, int64_t epoch,
                              const std::string& bytes);
  // The newest valid checkpoint's bytes (the coordinator verified its hash).
  // With source_trial_id: the warm-start source's checkpoint that the trial's
  // init_from names (common/init_from.h).
  absl::StatusOr<std::string> FetchCheckpoint(const LeasedTrial& trial,
                                              int64_t source_trial_id = 0);
  // The TorchScript file with this sha256 (worker/torchscript_cache.h),
  // checked against the hash (DATA_LOSS). FAILED_PRECONDITION when the
  // coordinator does not have it intact.
  absl::StatusOr<std::string> FetchTorchScript(const std::string& sha256);
  absl::Status Complete(const LeasedTrial& trial, const std::map<std::string, double>& final_metrics);
  // Complete, and lease this worker's next trial in the same call
  // (proto convention 8b). The reply is what Lease() would have returned
  // (with its serialized bytes), or std::nullopt when the coordinator does
  // not speak convention 8 (it ignored lease_next): then call Lease().
  // `last` and `progress` (convention 8e; only when
  // completion_takes_points(), else FAILED_PRECONDITION): the trial's last
  // points, moved out of `last`, and its progress, stored with the
  // completion in one transaction.
  absl::StatusOr<std::optional<LeaseReply>> CompleteAndLease(
      const LeasedTrial& trial, const std::map<std::string, double>& final_metrics,
      v1::ReportMetricsRequest* last = nullptr, const TrialProgress* progress = nullptr);
  // The coordinator said (at Register) that CompleteTrial takes points and
  // progress (convention 8e); an older one would drop them.
  bool completion_takes_points() const;
  // The trial trained through its lease's stop_after_epoch `epoch`
  // (convention 7a); the coordinator decides whether it continues.
  absl::Status ReachRung(const LeasedTrial& trial, int64_t epoch);
  absl::Status Fail(const LeasedTrial& trial, const std::string& error, bool retryable);
  // After SIGTERM, with a checkpoint saved: the trial goes back to the queue
  // without using up one of its attempts.
  absl::Status HandBack(const LeasedTrial& trial, const std::string& reason);

  // Where this job runs (RunEnvironmentJson(), worker/run_environment.h),
  // sent with every lease request and stored per attempt. Set once, before
  // the first Lease().
  void set_run_environment_json(std::string json) { run_environment_json_ = std::move(json); }

  // Changes how long transient failures are retried (e.g. shorter while a
  // lease is about to run out).
  void set_retry_budget(std::chrono::milliseconds budget) { retry_budget_ = budget; }

 private:
  struct Stub;
  absl::Status SendFail(const LeasedTrial& trial, const std::string& error, bool retryable,
                        bool preempted);

  std::unique_ptr<Stub> stub_;
  ClientOptions options_;
  std::chrono::milliseconds retry_budget_;
  std::string worker_id_;
  std::string run_environment_json_;
  int64_t heartbeat_interval_ms_ = 10'000;
  int64_t lease_timeout_ms_ = 30'000;
  int32_t protocol_ = 0;  // RegisterWorkerResponse.protocol
};

}  // namespace gridrun::worker
