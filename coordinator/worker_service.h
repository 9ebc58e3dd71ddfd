// WorkerService: the RPCs rank 0 of a worker job calls (register, lease,
// heartbeat, report, checkpoint, finish) -- their logic. gRPC serves them
// through WorkerCallbackService (coordinator/callback_services.h); the
// checkpoint streams are reactors in coordinator/checkpoint_streams.h.
//
// The lease protocol, as the coordinator keeps it:
//   1. RegisterWorker gives the job an id and the heartbeat interval
//      (a third of the lease timeout).
//   2. LeaseTrial first sweeps expired leases (at most every 100 ms), then
//      hands out the oldest
//      experiment's next WAITING trial the worker can run, with its newest
//      checkpoint's description if it has one; or retry_after_ms. A granted
//      lease records the attempt with the environment_json the worker sent
//      (TrialStore::RecordAttempt; empty from older workers: unknown).
//   3. Heartbeat renews the lease and carries progress; CANCEL in the reply
//      tells the worker to stop the trial.
//   4. Reports and the final Complete/Fail are accepted only under the
//      current lease (ABORTED otherwise, nothing changes).
//   5. Protocol v2 (proto convention 8): ReportMetrics with progress is also
//      the heartbeat (metrics, then renewal, then stop rules, each committed
//      before the reply); CompleteTrial with lease_next runs step 2 for the
//      same worker after the completion committed and returns its answer;
//      CompleteTrial with points (8e) first stores them as ReportMetrics
//      would, in the same transaction.
// A reaper thread (CoordinatorServer) also sweeps expired leases, so trials
// of dead workers return to WAITING even when nobody is leasing.
//
// Thread-safe: handlers run on the HandlerPool or, for the small writes, on
// the GroupCommitter's thread inside a transaction shared with other calls
// (callback_services.h); the store serialises writes. A handler's effects
// outside the store that must follow its commit go through
// TrialStore::RunAfterCommit.
//
// Adding an RPC: write its logic here as
//   grpc::Status Name(grpc::ServerContextBase* context, const Req*, Resp*);
// (auth check first, then validation, then the store) and add the one-line
// binding to WorkerCallbackService; a streaming RPC gets a reactor beside
// the checkpoint ones (checkpoint_streams.h shows reading and writing).
#pragma once

#include <atomic>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/clock.h"
#include "coordinator/auth.h"
#include "coordinator/checkpoint_files.h"
#include "coordinator/coordinator_options.h"
#include "coordinator/torchscript_store.h"
#include "coordinator/trial_store.h"
#include "proto/gridrun.grpc.pb.h"

namespace gridrun::coordinator {

class WorkerServiceImpl final {
 public:
  WorkerServiceImpl(TrialStore* store, CheckpointFiles* checkpoints, const Clock* clock,
                    const TokenAuthenticator* auth, const CoordinatorOptions& options)
      : store_(store),
        checkpoints_(checkpoints),
        clock_(clock),
        auth_(auth),
        options_(options) {}

  grpc::Status RegisterWorker(grpc::ServerContextBase* context,
                              const v1::RegisterWorkerRequest* request,
                              v1::RegisterWorkerResponse* response);
  grpc::Status LeaseTrial(grpc::ServerContextBase* context, const v1::LeaseTrialRequest* request,
                          v1::LeaseTrialResponse* response);
  grpc::Status Heartbeat(grpc::ServerContextBase* context, const v1::HeartbeatRequest* request,
                         v1::HeartbeatResponse* response);
  grpc::Status ReportMetrics(grpc::ServerContextBase* context,
                             const v1::ReportMetricsRequest* request,
                             v1::ReportMetricsResponse* response);
  grpc::Status ReportSample(grpc::ServerContextBase* context, const v1::ReportSampleRequest* request,
                            v1::ReportSampleResponse* response);
  grpc::Status ReachRung(grpc::ServerContextBase* context, const v1::ReachRungRequest* request,
                         v1::ReachRungResponse* response);
  grpc::Status CompleteTrial(grpc::ServerContextBase* context,
                             const v1::CompleteTrialRequest* request,
                             v1::CompleteTrialResponse* response);
  grpc::Status FailTrial(grpc::ServerContextBase* context, const v1::FailTrialRequest* request,
                         v1::FailTrialResponse* response);

  // Sends expired leases back to WAITING (or FAILED) and logs each change.
  void SweepExpiredLeases();

  // What the checkpoint stream reactors share with the unary handlers.
  TrialStore* store() const { return store_; }
  CheckpointFiles* checkpoints() const { return checkpoints_; }
  const Clock* clock() const { return clock_; }
  const TokenAuthenticator* auth() const { return auth_; }
  const CoordinatorOptions& options() const { return options_; }
  // The TorchScript files (server.cpp sets it; nullptr: none served). The
  // FetchTorchScript stream is a reactor (torchscript_streams.h).
  void set_torchscript_store(TorchScriptStore* torchscript) { torchscript_ = torchscript; }
  TorchScriptStore* torchscript_store() const { return torchscript_; }

 private:
  // The registered worker (ranks and device never change after
  // registration, so one read of the store serves every later lease).
  absl::StatusOr<WorkerRecord> FindWorker(const std::string& worker_id);
  // SweepExpiredLeases() when the last sweep is 100 ms old: a sweep is a
  // write transaction, too costly for every one of many leases per second.
  void SweepIfDue();
  // Inside the caller's transaction: stores a report's validated points,
  // renews the lease with `progress` (convention 8a; null: no renewal), then
  // runs the stop rules (7b). Fills `response`'s stored and, with progress,
  // action and lease_expires_ms. Returns the stop reason, if the trial must
  // stop. ReportMetrics and CompleteTrial (8e) both store reports so.
  absl::StatusOr<std::optional<std::string>> StoreReport(
      const LeaseRef& lease, const std::vector<MetricPointRecord>& points,
      const v1::Progress* progress, v1::ReportMetricsResponse* response);
  // LeaseTrial's step 2 for a validated, registered worker.
  grpc::Status LeaseFor(const std::string& worker_id, const std::string& environment_json,
                        v1::LeaseTrialResponse* response);

  std::mutex workers_mu_;
  std::unordered_map<std::string, WorkerRecord> workers_;  // guarded by workers_mu_
  std::atomic<int64_t> next_sweep_ms_{0};

  TrialStore* store_;
  CheckpointFiles* checkpoints_;
  const Clock* clock_;
  const TokenAuthenticator* auth_;
  CoordinatorOptions options_;
  TorchScriptStore* torchscript_ = nullptr;
};

}  // namespace gridrun::coordinator
