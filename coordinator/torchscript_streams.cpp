#include "coordinator/torchscript_streams.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "common/status_macros.h"
#include "coordinator/chunked_bytes_writer.h"
#include "coordinator/request_validation.h"
#include "coordinator/status_util.h"

namespace gridrun::coordinator {
namespace {

absl::Status NoStore() {
  return absl::UnimplementedError("this coordinator stores no TorchScript files");
}

class UploadReactor final : public grpc::ServerReadReactor<v1::TorchScriptChunk> {
 public:
  UploadReactor(GridServiceImpl* service, grpc::CallbackServerContext* context,
                v1::UploadTorchScriptResponse* response)
      : store_(service->torchscript_store()), context_(context), response_(response) {
    absl::Status status = service->auth()->Check(*context);
    if (status.ok() && store_ == nullptr) status = NoStore();
    if (!status.ok()) {
      Finish(ToGrpcStatus(status));
      return;
    }
    StartRead(&chunk_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) {
      absl::Status status = End();
      Finish(status.ok() ? grpc::Status::OK : ToGrpcStatus(status));
      return;
    }
    const bool first = !started_;
    absl::Status status = first ? Begin() : Append();
    if (!status.ok()) {
      Finish(ToGrpcStatus(status));
    } else if (first && upload_ == nullptr) {
      response_->set_already_stored(true);  // the same bytes are stored: send nothing
      Finish(grpc::Status::OK);
    } else {
      StartRead(&chunk_);
    }
  }

  void OnDone() override { delete this; }

 private:
  absl::Status Begin() {
    started_ = true;
    if (!chunk_.has_header()) {
      return absl::InvalidArgumentError(
          "header: the first chunk must carry the TorchScript header");
    }
    header_ = chunk_.header();
    ASSIGN_OR_RETURN(upload_, store_->Begin(header_.sha256(), header_.total_bytes(), header_.name()));
    if (upload_ == nullptr) return absl::OkStatus();
    return upload_->Append(chunk_.data());
  }

  absl::Status Append() {
    if (chunk_.has_header()) {
      return absl::InvalidArgumentError("header: only the first chunk may carry it");
    }
    return upload_->Append(chunk_.data());
  }

  // The client closed its side: check size and hash, record the file.
  absl::Status End() {
    if (!started_) {
      return absl::InvalidArgumentError(
          "header: the first chunk must carry the TorchScript header");
    }
    if (context_->IsCancelled()) {
      return absl::CancelledError("UploadTorchScript: the client cancelled the upload");
    }
    RETURN_IF_ERROR(upload_->Commit());
    spdlog::info("stored TorchScript file {} ({} bytes, sha256 {})", header_.name(),
                 header_.total_bytes(), header_.sha256());
    return absl::OkStatus();
  }

  TorchScriptStore* const store_;
  grpc::CallbackServerContext* const context_;
  v1::UploadTorchScriptResponse* const response_;
  v1::TorchScriptChunk chunk_;
  v1::TorchScriptHeader header_;
  bool started_ = false;
  std::unique_ptr<TorchScriptStore::Upload> upload_;
};

class FetchReactor final : public ChunkedBytesWriter<v1::TorchScriptChunk> {
 public:
  FetchReactor(WorkerServiceImpl* service, grpc::CallbackServerContext* context,
               const v1::FetchTorchScriptRequest* request) {
    Start(Prepare(service, *context, *request));
  }

 private:
  absl::Status Prepare(WorkerServiceImpl* service, const grpc::CallbackServerContext& context,
                       const v1::FetchTorchScriptRequest& request) {
    RETURN_IF_ERROR(service->auth()->Check(context));
    RETURN_IF_ERROR(ValidateSha256Hex("sha256", request.sha256()));
    if (service->torchscript_store() == nullptr) return NoStore();
    ASSIGN_OR_RETURN(bytes_, service->torchscript_store()->Read(request.sha256()));
    chunk_.mutable_header()->set_sha256(request.sha256());
    chunk_.mutable_header()->set_total_bytes(static_cast<int64_t>(bytes_.size()));
    return absl::OkStatus();
  }
};

}  // namespace

grpc::ServerReadReactor<v1::TorchScriptChunk>* StartUploadTorchScript(
    GridServiceImpl* service, grpc::CallbackServerContext* context,
    v1::UploadTorchScriptResponse* response) {
  return new UploadReactor(service, context, response);
}

grpc::ServerWriteReactor<v1::TorchScriptChunk>* StartFetchTorchScript(
    WorkerServiceImpl* service, grpc::CallbackServerContext* context,
    const v1::FetchTorchScriptRequest* request) {
  return new FetchReactor(service, context, request);
}

}  // namespace gridrun::coordinator
