#include "coordinator/callback_services.h"

#include "coordinator/checkpoint_streams.h"
#include "coordinator/torchscript_streams.h"
#include "proto/status_convert.h"

namespace gridrun::coordinator {
namespace {

// A stream that ends at once with an error (bad request, NOT_FOUND).
class FailedWriter final : public grpc::ServerWriteReactor<v1::TrialEvent> {
 public:
  explicit FailedWriter(const grpc::Status& status) { Finish(status); }
  void OnDone() override { delete this; }
};

}  // namespace

grpc::ServerReadReactor<v1::CheckpointChunk>* WorkerCallbackService::SaveCheckpoint(
    grpc::CallbackServerContext* c, v1::SaveCheckpointResponse* r) {
  return StartSaveCheckpoint(impl_, c, r);
}

grpc::ServerWriteReactor<v1::CheckpointChunk>* WorkerCallbackService::FetchCheckpoint(
    grpc::CallbackServerContext* c, const v1::FetchCheckpointRequest* q) {
  return StartFetchCheckpoint(impl_, c, q);
}

grpc::ServerWriteReactor<v1::TorchScriptChunk>* WorkerCallbackService::FetchTorchScript(
    grpc::CallbackServerContext* c, const v1::FetchTorchScriptRequest* q) {
  return StartFetchTorchScript(impl_, c, q);
}

grpc::ServerReadReactor<v1::TorchScriptChunk>* GridCallbackService::UploadTorchScript(
    grpc::CallbackServerContext* c, v1::UploadTorchScriptResponse* r) {
  return StartUploadTorchScript(impl_, c, r);
}

grpc::ServerWriteReactor<v1::TrialEvent>* GridCallbackService::WatchExperiment(
    grpc::CallbackServerContext* c, const v1::WatchExperimentRequest* q) {
  absl::StatusOr<std::string> id = impl_->ResolveWatch(c, q);
  if (!id.ok()) return new FailedWriter(ToGrpcStatus(id.status()));
  return hub_->Watch(*id);
}

}  // namespace gridrun::coordinator
