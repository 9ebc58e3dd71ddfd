// WorkerService: the RPCs rank 0 of a worker job calls (register, lease,
// heartbeat, report, checkpoint, finish).
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
// A reaper thread (CoordinatorServer) also sweeps expired leases, so trials
// of dead workers return to WAITING even when nobody is leasing.
//
// Thread-safe: handlers run on gRPC's threads; the store serialises writes.
#pragma once

#include <atomic>
#include <mutex>
#include <string>
#include <unordered_map>

#include "common/clock.h"
#include "coordinator/auth.h"
#include "coordinator/checkpoint_files.h"
#include "coordinator/coordinator_options.h"
#include "coordinator/torchscript_store.h"
#include "coordinator/trial_store.h"
#include "proto/gridrun.grpc.pb.h"

namespace gridrun::coordinator {

class WorkerServiceImpl final : public v1::WorkerService::Service {
 public:
  WorkerServiceImpl(TrialStore* store, CheckpointFiles* checkpoints, const Clock* clock,
                    const TokenAuthenticator* auth, const CoordinatorOptions& options)
      : store_(store),
        checkpoints_(checkpoints),
        clock_(clock),
        auth_(auth),
        options_(options) {}

  grpc::Status RegisterWorker(grpc::ServerContext* context,
                              const v1::RegisterWorkerRequest* request,
                              v1::RegisterWorkerResponse* response) override;
  grpc::Status LeaseTrial(grpc::ServerContext* context, const v1::LeaseTrialRequest* request,
                          v1::LeaseTrialResponse* response) override;
  grpc::Status Heartbeat(grpc::ServerContext* context, const v1::HeartbeatRequest* request,
                         v1::HeartbeatResponse* response) override;
  grpc::Status ReportMetrics(grpc::ServerContext* context,
                             const v1::ReportMetricsRequest* request,
                             v1::ReportMetricsResponse* response) override;
  grpc::Status ReportSample(grpc::ServerContext* context, const v1::ReportSampleRequest* request,
                            v1::ReportSampleResponse* response) override;
  grpc::Status SaveCheckpoint(grpc::ServerContext* context,
                              grpc::ServerReader<v1::CheckpointChunk>* reader,
                              v1::SaveCheckpointResponse* response) override;
  grpc::Status FetchTorchScript(grpc::ServerContext* context,
                                const v1::FetchTorchScriptRequest* request,
                                grpc::ServerWriter<v1::TorchScriptChunk>* writer) override;
  void set_torchscript_store(TorchScriptStore* torchscript) { torchscript_ = torchscript; }
  grpc::Status FetchCheckpoint(grpc::ServerContext* context,
                               const v1::FetchCheckpointRequest* request,
                               grpc::ServerWriter<v1::CheckpointChunk>* writer) override;
  grpc::Status ReachRung(grpc::ServerContext* context, const v1::ReachRungRequest* request,
                         v1::ReachRungResponse* response) override;
  grpc::Status CompleteTrial(grpc::ServerContext* context,
                             const v1::CompleteTrialRequest* request,
                             v1::CompleteTrialResponse* response) override;
  grpc::Status FailTrial(grpc::ServerContext* context, const v1::FailTrialRequest* request,
                         v1::FailTrialResponse* response) override;

  // Sends expired leases back to WAITING (or FAILED) and logs each change.
  void SweepExpiredLeases();

 private:
  // The registered worker (ranks and device never change after
  // registration, so one read of the store serves every later lease).
  absl::StatusOr<WorkerRecord> FindWorker(const std::string& worker_id);
  // SweepExpiredLeases() when the last sweep is 100 ms old: a sweep is a
  // write transaction, too costly for every one of many leases per second.
  void SweepIfDue();

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
