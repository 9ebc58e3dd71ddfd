// The two TorchScript-file streams as gRPC callback reactors (the pattern
// of checkpoint_streams.h): GridService.UploadTorchScript (client stream:
// a header, then the bytes) and WorkerService.FetchTorchScript (server
// stream). The rules are torchscript_store.h's protocol; these only move
// chunks between gRPC and a TorchScriptStore.
//
// Thread-safety: gRPC calls one reaction of a reactor at a time.
#pragma once

#include <grpcpp/support/server_callback.h>

#include "coordinator/grid_service.h"
#include "coordinator/worker_service.h"
#include "proto/gridrun.pb.h"

namespace gridrun::coordinator {

// Each returns a reactor that deletes itself; `service` must outlive it.
// Without a TorchScript store on the service: UNIMPLEMENTED.
grpc::ServerReadReactor<v1::TorchScriptChunk>* StartUploadTorchScript(
    GridServiceImpl* service, grpc::CallbackServerContext* context,
    v1::UploadTorchScriptResponse* response);
grpc::ServerWriteReactor<v1::TorchScriptChunk>* StartFetchTorchScript(
    WorkerServiceImpl* service, grpc::CallbackServerContext* context,
    const v1::FetchTorchScriptRequest* request);

}  // namespace gridrun::coordinator
