// The coordinator's two gRPC services on gRPC's callback (reactor) API: no
// thread per call or per stream. Each unary RPC's logic is a method of
// WorkerServiceImpl / GridServiceImpl returning grpc::Status. The workers'
// small write calls (lease, heartbeat, metrics, rung, complete, fail) run on
// the GroupCommitter, many to a transaction, and reply after its commit
// (group_committer.h); the rest run on a fixed HandlerPool (handler_pool.h
// says why not on gRPC's own threads) and reply when they return. The streams
// are reactors: checkpoint_streams.h (upload, download),
// torchscript_streams.h (the same for TorchScript files) and watch_hub.h
// (WatchExperiment, pushed on commit).
//
// Porting a synchronous handler `grpc::Status X(ServerContext*, const Req*,
// Resp*) override` (e.g. from a branch written before this file):
//   1. in *ServiceImpl, drop `override` and take grpc::ServerContextBase*;
//   2. here, add
//        grpc::ServerUnaryReactor* X(grpc::CallbackServerContext* c,
//                                    const v1::Req* q, v1::Resp* r) override {
//          return OnPool(pool_, c, [=, this] { return impl_->X(c, q, r); });
//        }
//      (OnGroupCommit(committer_, ...) instead for a worker's small write
//      that only uses the store);
//   3. a streaming handler becomes a reactor (the pattern is in
//      checkpoint_streams.h).
//
// Thread-safety: as the *ServiceImpl classes (safe from any thread).
#pragma once

#include <grpcpp/support/server_callback.h>

#include <memory>
#include <utility>

#include "coordinator/grid_service.h"
#include "coordinator/group_committer.h"
#include "coordinator/handler_pool.h"
#include "coordinator/watch_hub.h"
#include "coordinator/worker_service.h"
#include "proto/gridrun.grpc.pb.h"
#include "proto/status_convert.h"

namespace gridrun::coordinator {

// Runs a unary call's logic `body` (returning grpc::Status, filling the
// response) on `pool` and finishes the call with its status.
template <typename Body>
grpc::ServerUnaryReactor* OnPool(HandlerPool* pool, grpc::CallbackServerContext* context,
                                 Body body) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  pool->Run([reactor, body = std::move(body)]() mutable { reactor->Finish(body()); });
  return reactor;
}

// Runs a unary call's logic `body` in one of the GroupCommitter's coming
// batches, by `priority` (commit_queue.h), and finishes the call once that
// batch committed: with the body's status, or
// with the commit's error when the batch's writes were not kept.
template <typename Body>
grpc::ServerUnaryReactor* OnGroupCommit(GroupCommitter* committer, CallPriority priority,
                                        grpc::CallbackServerContext* context, Body body) {
  class BodyCall final : public GroupCommitter::Call {
   public:
    BodyCall(grpc::ServerUnaryReactor* reactor, Body body)
        : reactor_(reactor), body_(std::move(body)) {}
    void Run() override { status_ = body_(); }
    void Finish(const absl::Status& commit) override {
      reactor_->Finish(commit.ok() ? status_ : ToGrpcStatus(commit));
    }

   private:
    grpc::ServerUnaryReactor* const reactor_;
    Body body_;
    grpc::Status status_;
  };
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  committer->Submit(std::make_unique<BodyCall>(reactor, std::move(body)), priority);
  return reactor;
}

class WorkerCallbackService final : public v1::WorkerService::CallbackService {
 public:
  WorkerCallbackService(WorkerServiceImpl* impl, HandlerPool* pool, GroupCommitter* committer)
      : impl_(impl), pool_(pool), committer_(committer) {}

  grpc::ServerUnaryReactor* RegisterWorker(grpc::CallbackServerContext* c,
                                           const v1::RegisterWorkerRequest* q,
                                           v1::RegisterWorkerResponse* r) override {
    return OnPool(pool_, c, [=, this] { return impl_->RegisterWorker(c, q, r); });
  }
  grpc::ServerUnaryReactor* LeaseTrial(grpc::CallbackServerContext* c,
                                       const v1::LeaseTrialRequest* q,
                                       v1::LeaseTrialResponse* r) override {
    return OnGroupCommit(committer_, CallPriority::kWaitedOn, c,
                         [=, this] { return impl_->LeaseTrial(c, q, r); });
  }
  grpc::ServerUnaryReactor* Heartbeat(grpc::CallbackServerContext* c,
                                      const v1::HeartbeatRequest* q,
                                      v1::HeartbeatResponse* r) override {
    return OnGroupCommit(committer_, CallPriority::kBackground, c,
                         [=, this] { return impl_->Heartbeat(c, q, r); });
  }
  grpc::ServerUnaryReactor* ReportMetrics(grpc::CallbackServerContext* c,
                                          const v1::ReportMetricsRequest* q,
                                          v1::ReportMetricsResponse* r) override {
    return OnGroupCommit(committer_, CallPriority::kBackground, c,
                         [=, this] { return impl_->ReportMetrics(c, q, r); });
  }
  grpc::ServerUnaryReactor* ReportSample(grpc::CallbackServerContext* c,
                                         const v1::ReportSampleRequest* q,
                                         v1::ReportSampleResponse* r) override {
    return OnPool(pool_, c, [=, this] { return impl_->ReportSample(c, q, r); });
  }
  grpc::ServerUnaryReactor* ReachRung(grpc::CallbackServerContext* c,
                                      const v1::ReachRungRequest* q,
                                      v1::ReachRungResponse* r) override {
    return OnGroupCommit(committer_, CallPriority::kWaitedOn, c,
                         [=, this] { return impl_->ReachRung(c, q, r); });
  }
  grpc::ServerUnaryReactor* CompleteTrial(grpc::CallbackServerContext* c,
                                          const v1::CompleteTrialRequest* q,
                                          v1::CompleteTrialResponse* r) override {
    return OnGroupCommit(committer_, CallPriority::kWaitedOn, c,
                         [=, this] { return impl_->CompleteTrial(c, q, r); });
  }
  grpc::ServerUnaryReactor* FailTrial(grpc::CallbackServerContext* c,
                                      const v1::FailTrialRequest* q,
                                      v1::FailTrialResponse* r) override {
    return OnGroupCommit(committer_, CallPriority::kWaitedOn, c,
                         [=, this] { return impl_->FailTrial(c, q, r); });
  }
  grpc::ServerReadReactor<v1::CheckpointChunk>* SaveCheckpoint(
      grpc::CallbackServerContext* c, v1::SaveCheckpointResponse* r) override;
  grpc::ServerWriteReactor<v1::CheckpointChunk>* FetchCheckpoint(
      grpc::CallbackServerContext* c, const v1::FetchCheckpointRequest* q) override;
  grpc::ServerWriteReactor<v1::TorchScriptChunk>* FetchTorchScript(
      grpc::CallbackServerContext* c, const v1::FetchTorchScriptRequest* q) override;

 private:
  WorkerServiceImpl* impl_;
  HandlerPool* pool_;          // RegisterWorker, ReportSample
  GroupCommitter* committer_;  // the other unary calls
};

class GridCallbackService final : public v1::GridService::CallbackService {
 public:
  GridCallbackService(GridServiceImpl* impl, WatchHub* hub, HandlerPool* pool)
      : impl_(impl), hub_(hub), pool_(pool) {}

  grpc::ServerUnaryReactor* SubmitGrid(grpc::CallbackServerContext* c,
                                       const v1::SubmitGridRequest* q,
                                       v1::SubmitGridResponse* r) override {
    return OnPool(pool_, c, [=, this] { return impl_->SubmitGrid(c, q, r); });
  }
  grpc::ServerUnaryReactor* GetExperiment(grpc::CallbackServerContext* c,
                                          const v1::GetExperimentRequest* q,
                                          v1::Experiment* r) override {
    return OnPool(pool_, c, [=, this] { return impl_->GetExperiment(c, q, r); });
  }
  grpc::ServerUnaryReactor* ListExperiments(grpc::CallbackServerContext* c,
                                            const v1::ListExperimentsRequest* q,
                                            v1::ListExperimentsResponse* r) override {
    return OnPool(pool_, c, [=, this] { return impl_->ListExperiments(c, q, r); });
  }
  grpc::ServerUnaryReactor* ListTrials(grpc::CallbackServerContext* c,
                                       const v1::ListTrialsRequest* q,
                                       v1::ListTrialsResponse* r) override {
    return OnPool(pool_, c, [=, this] { return impl_->ListTrials(c, q, r); });
  }
  grpc::ServerUnaryReactor* GetTrial(grpc::CallbackServerContext* c,
                                     const v1::GetTrialRequest* q, v1::TrialDetail* r) override {
    return OnPool(pool_, c, [=, this] { return impl_->GetTrial(c, q, r); });
  }
  grpc::ServerUnaryReactor* CancelExperiment(grpc::CallbackServerContext* c,
                                             const v1::CancelExperimentRequest* q,
                                             v1::CancelExperimentResponse* r) override {
    return OnPool(pool_, c, [=, this] { return impl_->CancelExperiment(c, q, r); });
  }
  grpc::ServerWriteReactor<v1::TrialEvent>* WatchExperiment(
      grpc::CallbackServerContext* c, const v1::WatchExperimentRequest* q) override;
  grpc::ServerReadReactor<v1::TorchScriptChunk>* UploadTorchScript(
      grpc::CallbackServerContext* c, v1::UploadTorchScriptResponse* r) override;

 private:
  GridServiceImpl* impl_;
  WatchHub* hub_;
  HandlerPool* pool_;
};

}  // namespace gridrun::coordinator
