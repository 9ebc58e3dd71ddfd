// GridService: the client-facing RPCs (submit, inspect, cancel, watch).
//
// A thin adapter: validates each request's fields, calls the TrialStore and
// maps absl::Status to grpc::Status. Never throws. Thread-safe (the store is).
// gRPC serves it through GridCallbackService (coordinator/callback_services.h);
// WatchExperiment streams are WatchHub's reactors (coordinator/watch_hub.h).
//
// Adding an RPC: its logic here as
//   grpc::Status Name(grpc::ServerContextBase* context, const Req*, Resp*);
// and a one-line binding in GridCallbackService.
#pragma once

#include "common/clock.h"
#include "coordinator/auth.h"
#include "coordinator/coordinator_options.h"
#include "coordinator/torchscript_store.h"
#include "coordinator/trial_store.h"
#include "proto/gridrun.grpc.pb.h"

namespace gridrun::coordinator {

class GridServiceImpl final {
 public:
  GridServiceImpl(TrialStore* store, const Clock* clock, const TokenAuthenticator* auth,
                  const CoordinatorOptions& options)
      : store_(store), clock_(clock), auth_(auth), options_(options) {}

  grpc::Status SubmitGrid(grpc::ServerContextBase* context, const v1::SubmitGridRequest* request,
                          v1::SubmitGridResponse* response);
  grpc::Status GetExperiment(grpc::ServerContextBase* context,
                             const v1::GetExperimentRequest* request,
                             v1::Experiment* response);
  grpc::Status ListExperiments(grpc::ServerContextBase* context,
                               const v1::ListExperimentsRequest* request,
                               v1::ListExperimentsResponse* response);
  grpc::Status ListTrials(grpc::ServerContextBase* context, const v1::ListTrialsRequest* request,
                          v1::ListTrialsResponse* response);
  grpc::Status GetTrial(grpc::ServerContextBase* context, const v1::GetTrialRequest* request,
                        v1::TrialDetail* response);
  grpc::Status CancelExperiment(grpc::ServerContextBase* context,
                                const v1::CancelExperimentRequest* request,
                                v1::CancelExperimentResponse* response);
  // Checks a WatchExperiment request (auth, field, NOT_FOUND) and returns
  // the experiment's id for WatchHub::Watch.
  absl::StatusOr<std::string> ResolveWatch(grpc::ServerContextBase* context,
                                           const v1::WatchExperimentRequest* request);

  // The TorchScript files (server.cpp sets it; nullptr: none accepted). The
  // UploadTorchScript stream is a reactor (torchscript_streams.h).
  void set_torchscript_store(TorchScriptStore* torchscript) { torchscript_ = torchscript; }
  TorchScriptStore* torchscript_store() const { return torchscript_; }
  const TokenAuthenticator* auth() const { return auth_; }

 private:
  TrialStore* store_;
  const Clock* clock_;
  const TokenAuthenticator* auth_;
  CoordinatorOptions options_;
  TorchScriptStore* torchscript_ = nullptr;
};

}  // namespace gridrun::coordinator
