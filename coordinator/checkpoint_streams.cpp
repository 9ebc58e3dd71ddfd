#include "coordinator/checkpoint_streams.h"

#include <spdlog/spdlog.h>

#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/init_from.h"
#include "common/status_macros.h"
#include "common/trial_config.h"
#include "coordinator/chunked_bytes_writer.h"
#include "coordinator/request_validation.h"
#include "coordinator/status_util.h"

namespace gridrun::coordinator {
namespace {

absl::Status ValidateLeaseTriple(const std::string& worker_id, int64_t trial_id,
                                 int32_t attempt) {
  RETURN_IF_ERROR(ValidateWorkerId(worker_id));
  RETURN_IF_ERROR(ValidatePositiveId("trial_id", trial_id));
  return ValidateAttempt(attempt);
}

// ABORTED unless the trial is RUNNING under exactly this lease (checked
// before megabytes move; the store checks again when it records).
absl::Status CheckHeld(TrialStore* store, const std::string& worker_id, int64_t trial_id,
                       int32_t attempt) {
  auto trial = store->GetTrial(trial_id);
  RETURN_IF_ERROR(trial.status());
  if (trial->state != TrialState::kRunning || trial->worker_id != worker_id ||
      trial->attempt != attempt) {
    return absl::AbortedError(absl::StrCat("lease lost: trial ", trial_id, " attempt ", attempt,
                                           " is not held by worker ", worker_id));
  }
  return absl::OkStatus();
}

class SaveReactor final : public grpc::ServerReadReactor<v1::CheckpointChunk> {
 public:
  SaveReactor(WorkerServiceImpl* service, grpc::CallbackServerContext* context,
              v1::SaveCheckpointResponse* response)
      : service_(service), context_(context), response_(response) {
    if (absl::Status auth = service_->auth()->Check(*context); !auth.ok()) {
      Finish(ToGrpcStatus(auth));
      return;
    }
    StartRead(&chunk_);
  }

  void OnReadDone(bool ok) override {
    absl::Status status = ok ? (upload_ == nullptr ? Begin() : Append()) : End();
    if (!status.ok()) {
      Finish(ToGrpcStatus(status));
    } else if (ok) {
      StartRead(&chunk_);
    } else {
      Finish(grpc::Status::OK);
    }
  }

  void OnDone() override { delete this; }

 private:
  absl::Status Begin() {
    if (!chunk_.has_header()) {
      return absl::InvalidArgumentError(
          "header: the first chunk must carry the checkpoint header");
    }
    header_ = chunk_.header();
    RETURN_IF_ERROR(ValidateLeaseTriple(header_.worker_id(), header_.trial_id(), header_.attempt()));
    RETURN_IF_ERROR(ValidateNonNegative("header.step", header_.step()));
    RETURN_IF_ERROR(ValidateNonNegative("header.epoch", header_.epoch()));
    RETURN_IF_ERROR(ValidateSha256Hex("header.sha256", header_.sha256()));
    const int64_t limit = service_->options().max_checkpoint_bytes;
    if (header_.total_bytes() < 0 || header_.total_bytes() > limit) {
      return absl::InvalidArgumentError(absl::StrCat("header.total_bytes: must be 0..", limit,
                                                     " (got ", header_.total_bytes(), ")"));
    }
    RETURN_IF_ERROR(
        CheckHeld(service_->store(), header_.worker_id(), header_.trial_id(), header_.attempt()));
    ASSIGN_OR_RETURN(upload_, service_->checkpoints()->BeginUpload(header_.trial_id(),
                                                                   header_.step()));
    return upload_->Append(chunk_.data());
  }

  absl::Status Append() {
    if (chunk_.has_header()) {
      return absl::InvalidArgumentError("header: only the first chunk may carry it");
    }
    if (upload_->bytes_written() + static_cast<int64_t>(chunk_.data().size()) >
        header_.total_bytes()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "data: more bytes than header.total_bytes (", header_.total_bytes(), ")"));
    }
    return upload_->Append(chunk_.data());
  }

  // The client closed its side: commit the file, then the row.
  absl::Status End() {
    if (upload_ == nullptr) {
      return absl::InvalidArgumentError(
          "header: the first chunk must carry the checkpoint header");
    }
    if (context_->IsCancelled()) {
      return absl::CancelledError("SaveCheckpoint: the client cancelled the upload");
    }
    ASSIGN_OR_RETURN(const std::string path,
                     upload_->Commit(header_.total_bytes(), header_.sha256()));
    const LeaseRef lease{header_.trial_id(), header_.worker_id(), header_.attempt()};
    CheckpointRecord record{header_.trial_id(), header_.step(),        header_.epoch(),
                            header_.sha256(),   header_.total_bytes(), path,
                            service_->clock()->NowMs()};
    auto dropped =
        service_->store()->AddCheckpoint(lease, record, service_->options().keep_checkpoints);
    if (!dropped.ok()) {
      service_->checkpoints()->Remove(path);  // not recorded: the file must not linger
      return dropped.status();
    }
    for (const std::string& old : *dropped) service_->checkpoints()->Remove(old);
    auto* info = response_->mutable_checkpoint();
    info->set_step(header_.step());
    info->set_epoch(header_.epoch());
    info->set_sha256(header_.sha256());
    info->set_size_bytes(header_.total_bytes());
    spdlog::info("trial {}: checkpoint at step {} (epoch {}, {} bytes)", header_.trial_id(),
                 header_.step(), header_.epoch(), header_.total_bytes());
    return absl::OkStatus();
  }

  WorkerServiceImpl* const service_;
  grpc::CallbackServerContext* const context_;
  v1::SaveCheckpointResponse* const response_;
  v1::CheckpointChunk chunk_;
  v1::CheckpointHeader header_;
  std::unique_ptr<CheckpointFiles::Upload> upload_;
};

class FetchReactor final : public ChunkedBytesWriter<v1::CheckpointChunk> {
 public:
  FetchReactor(WorkerServiceImpl* service, grpc::CallbackServerContext* context,
               const v1::FetchCheckpointRequest* request) {
    Start(Prepare(service, *context, *request));
  }

 private:
  // Newest first; a corrupt file is dropped and the previous one is tried, so
  // a damaged checkpoint never reaches a worker. A warm start's source
  // (request.source_trial_id, common/init_from.h): only the checkpoint the
  // leased trial's init_from names, never any other trial's.
  absl::Status Prepare(WorkerServiceImpl* service, const grpc::CallbackServerContext& context,
                       const v1::FetchCheckpointRequest& request) {
    RETURN_IF_ERROR(service->auth()->Check(context));
    RETURN_IF_ERROR(
        ValidateLeaseTriple(request.worker_id(), request.trial_id(), request.attempt()));
    RETURN_IF_ERROR(
        CheckHeld(service->store(), request.worker_id(), request.trial_id(), request.attempt()));
    const int64_t from_trial =
        request.source_trial_id() != 0 ? request.source_trial_id() : request.trial_id();
    std::string wanted_sha;
    if (request.source_trial_id() != 0) {
      ASSIGN_OR_RETURN(const TrialRecord trial, service->store()->GetTrial(request.trial_id()));
      ASSIGN_OR_RETURN(const TrialConfig config, TrialConfigFromJson(trial.config_json));
      auto init = config.init_from.empty()
                      ? absl::StatusOr<InitFrom>(absl::InvalidArgumentError("it has none"))
                      : InitFromFromJson(config.init_from);
      if (!init.ok() || init->trial != request.source_trial_id()) {
        return absl::InvalidArgumentError(absl::StrCat(
            "source_trial_id: trial ", request.trial_id(), "'s init_from does not name trial ",
            request.source_trial_id()));
      }
      wanted_sha = init->checkpoint_sha256;
    }
    ASSIGN_OR_RETURN(const std::vector<CheckpointRecord> checkpoints,
                     service->store()->ListCheckpoints(from_trial));
    for (const CheckpointRecord& checkpoint : checkpoints) {
      if (!wanted_sha.empty() && checkpoint.sha256 != wanted_sha) continue;
      auto bytes = service->checkpoints()->ReadVerified(checkpoint.path, checkpoint.sha256);
      if (!bytes.ok()) {
        spdlog::error("trial {}: {}; falling back to an older checkpoint", from_trial,
                      std::string(bytes.status().message()));
        (void)service->store()->DeleteCheckpoint(from_trial, checkpoint.sha256);
        service->checkpoints()->Remove(checkpoint.path);
        continue;
      }
      bytes_ = *std::move(bytes);
      auto* header = chunk_.mutable_header();
      header->set_worker_id(request.worker_id());
      header->set_trial_id(request.trial_id());
      header->set_attempt(request.attempt());
      header->set_step(checkpoint.step);
      header->set_epoch(checkpoint.epoch);
      header->set_sha256(checkpoint.sha256);
      header->set_total_bytes(static_cast<int64_t>(bytes_.size()));
      return absl::OkStatus();
    }
    if (!wanted_sha.empty()) {
      return absl::NotFoundError(absl::StrCat(
          "init_from: trial ", from_trial, " no longer keeps checkpoint ",
          wanted_sha.substr(0, 12), " (retention removed it, or it was corrupt)"));
    }
    return absl::NotFoundError(
        absl::StrCat("trial ", request.trial_id(), " has no usable checkpoint"));
  }
};

}  // namespace

grpc::ServerReadReactor<v1::CheckpointChunk>* StartSaveCheckpoint(
    WorkerServiceImpl* service, grpc::CallbackServerContext* context,
    v1::SaveCheckpointResponse* response) {
  return new SaveReactor(service, context, response);
}

grpc::ServerWriteReactor<v1::CheckpointChunk>* StartFetchCheckpoint(
    WorkerServiceImpl* service, grpc::CallbackServerContext* context,
    const v1::FetchCheckpointRequest* request) {
  return new FetchReactor(service, context, request);
}

}  // namespace gridrun::coordinator
