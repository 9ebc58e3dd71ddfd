// GridService: the client-facing RPCs (submit, inspect, cancel, watch).
//
// A thin adapter: validates each request's fields, calls the TrialStore and
// maps absl::Status to grpc::Status. Never throws. Thread-safe (the store is).
#pragma once

#include "common/clock.h"
#include "coordinator/auth.h"
#include "coordinator/coordinator_options.h"
#include "coordinator/torchscript_store.h"
#include "coordinator/trial_store.h"
#include "proto/gridrun.grpc.pb.h"

namespace gridrun::coordinator {

class GridServiceImpl final : public v1::GridService::Service {
 public:
  GridServiceImpl(TrialStore* store, const Clock* clock, const TokenAuthenticator* auth,
                  const CoordinatorOptions& options)
      : store_(store), clock_(clock), auth_(auth), options_(options) {}

  grpc::Status SubmitGrid(grpc::ServerContext* context, const v1::SubmitGridRequest* request,
                          v1::SubmitGridResponse* response) override;
  grpc::Status GetExperiment(grpc::ServerContext* context,
                             const v1::GetExperimentRequest* request,
                             v1::Experiment* response) override;
  grpc::Status ListExperiments(grpc::ServerContext* context,
                               const v1::ListExperimentsRequest* request,
                               v1::ListExperimentsResponse* response) override;
  grpc::Status ListTrials(grpc::ServerContext* context, const v1::ListTrialsRequest* request,
                          v1::ListTrialsResponse* response) override;
  grpc::Status GetTrial(grpc::ServerContext* context, const v1::GetTrialRequest* request,
                        v1::TrialDetail* response) override;
  grpc::Status CancelExperiment(grpc::ServerContext* context,
                                const v1::CancelExperimentRequest* request,
                                v1::CancelExperimentResponse* response) override;
  grpc::Status UploadTorchScript(grpc::ServerContext* context,
                                 grpc::ServerReader<v1::TorchScriptChunk>* reader,
                                 v1::UploadTorchScriptResponse* response) override;
  // The TorchScript files (server.cpp sets it; nullptr: none accepted).
  void set_torchscript_store(TorchScriptStore* torchscript) { torchscript_ = torchscript; }
  grpc::Status WatchExperiment(grpc::ServerContext* context,
                               const v1::WatchExperimentRequest* request,
                               grpc::ServerWriter<v1::TrialEvent>* writer) override;

  // How often WatchExperiment polls the store for changes.
  void set_watch_poll_ms(int64_t ms) { watch_poll_ms_ = ms; }

 private:
  TrialStore* store_;
  const Clock* clock_;
  const TokenAuthenticator* auth_;
  CoordinatorOptions options_;
  TorchScriptStore* torchscript_ = nullptr;
  int64_t watch_poll_ms_ = 250;
};

}  // namespace gridrun::coordinator
