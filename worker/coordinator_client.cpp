#include "worker/coordinator_client.h"

#include <grpcpp/grpcpp.h>
#include <unistd.h>
#include <spdlog/spdlog.h>

#include <thread>

#include "common/build_info.h"
#include "common/sha256.h"
#include "proto/gridrun.grpc.pb.h"
#include "proto/protocol_version.h"
#include "proto/status_convert.h"

namespace gridrun::worker {
namespace {

constexpr size_t kChunkBytes = 1 << 20;
constexpr auto kCallTimeout = std::chrono::seconds(30);
constexpr auto kMinRetryPause = std::chrono::milliseconds(50);

bool IsTransient(const grpc::Status& status) {
  return status.error_code() == grpc::StatusCode::UNAVAILABLE ||
         status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED ||
         status.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED;
}

template <typename Message>
void SetLease(Message* m, const std::string& worker_id, const LeasedTrial& t) {
  m->set_worker_id(worker_id);
  m->set_trial_id(t.trial_id);
  m->set_attempt(t.attempt);
}

// The one place a LeaseTrialResponse becomes a LeaseReply, on every rank.
LeaseReply ToLeaseReply(const v1::LeaseTrialResponse& response, std::string serialized) {
  LeaseReply reply;
  reply.retry_after_ms = response.retry_after_ms();
  if (response.has_lease()) {
    const v1::TrialLease& l = response.lease();
    LeasedTrial t;
    t.trial_id = l.trial_id();
    t.experiment_id = l.experiment_id();
    t.attempt = l.attempt();
    t.config_json = l.config_json();
    t.lease_expires_ms = l.lease_expires_ms();
    t.has_checkpoint = l.has_checkpoint();
    t.checkpoint_step = l.checkpoint().step();
    t.checkpoint_epoch = l.checkpoint().epoch();
    t.stop_after_epoch = l.stop_after_epoch();
    t.keep_best_metric = l.keep_best_metric();
    t.keep_best_maximize = l.keep_best_maximize();
    reply.trial = std::move(t);
  }
  reply.serialized = std::move(serialized);
  return reply;
}

}  // namespace

absl::StatusOr<LeaseReply> DecodeLeaseReply(std::string serialized) {
  v1::LeaseTrialResponse response;
  if (!response.ParseFromString(serialized)) {
    return absl::InvalidArgumentError("lease of " + std::to_string(serialized.size()) +
                                      " bytes does not parse as a LeaseTrialResponse");
  }
  return ToLeaseReply(response, std::move(serialized));
}

struct WorkerClient::Stub {
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<v1::WorkerService::Stub> service;

  // Calls `call(context)` until it succeeds, fails for good, or `budget` is
  // spent, backing off 50 ms doubling to 2 s between tries. After
  // UNAVAILABLE the backoff is spent waiting for the channel to connect:
  // fail-fast calls alone leave a reconnect to gRPC's 5 s backup poller, so a
  // restarted coordinator would be seen 5-10 s late; WaitForConnected drives
  // the connection attempt and returns as soon as it is up.
  template <typename Call>
  grpc::Status Retry(const ClientOptions& options, std::chrono::milliseconds budget,
                     const char* what, Call call) {
    const auto deadline = std::chrono::steady_clock::now() + budget;
    auto backoff = std::chrono::milliseconds(50);
    while (true) {
      grpc::ClientContext context;
      PrepareContext(&context, options, kCallTimeout);
      grpc::Status status = call(&context);
      if (!IsTransient(status) || std::chrono::steady_clock::now() + backoff > deadline) {
        return status;
      }
      spdlog::warn("{}: {} (coordinator unreachable?); retrying within {} ms", what,
                   status.error_message(), backoff.count());
      const auto paused_from = std::chrono::steady_clock::now();
      if (status.error_code() == grpc::StatusCode::UNAVAILABLE &&
          channel->WaitForConnected(std::chrono::system_clock::now() + backoff)) {
        std::this_thread::sleep_until(paused_from + std::min(backoff, kMinRetryPause));
      } else {
        std::this_thread::sleep_until(paused_from + backoff);  // e.g. a full disk
      }
      backoff = std::min(backoff * 2, std::chrono::milliseconds(2000));
    }
  }
};

namespace {

void SetProgress(v1::Progress* to, const TrialProgress& progress) {
  to->set_epoch(progress.epoch);
  to->set_step(progress.step);
  to->set_total_steps(progress.total_steps);
  to->set_steps_per_second(progress.steps_per_second);
}

}  // namespace

WorkerClient::WorkerClient(const ClientOptions& options, std::chrono::milliseconds retry_budget)
    : stub_(std::make_unique<Stub>()), options_(options), retry_budget_(retry_budget) {
  stub_->channel = CreateCoordinatorChannel(options);
  stub_->service = v1::WorkerService::NewStub(stub_->channel);
}

WorkerClient::~WorkerClient() = default;

absl::Status WorkerClient::Register(const std::string& host, int ranks, const std::string& device,
                                    int gpus) {
  v1::RegisterWorkerRequest request;
  request.set_host(host);
  request.set_ranks(ranks);
  request.set_device(device);
  request.set_gpus(gpus);
  request.set_pid(::getpid());
  request.set_version(kGridrunVersion);
  v1::RegisterWorkerResponse response;
  grpc::Status status = stub_->Retry(options_, retry_budget_, "RegisterWorker", [&](auto* c) {
    return stub_->service->RegisterWorker(c, request, &response);
  });
  if (!status.ok()) return FromGrpcStatus(status);
  worker_id_ = response.worker_id();
  heartbeat_interval_ms_ = response.heartbeat_interval_ms();
  lease_timeout_ms_ = response.lease_timeout_ms();
  protocol_ = response.protocol();
  return absl::OkStatus();
}

bool WorkerClient::completion_takes_points() const {
  return protocol_ >= kProtocolCompleteTakesPoints;
}

absl::StatusOr<LeaseReply> WorkerClient::Lease() {
  v1::LeaseTrialRequest request;
  request.set_worker_id(worker_id_);
  request.set_environment_json(run_environment_json_);
  v1::LeaseTrialResponse response;
  grpc::Status status = stub_->Retry(options_, retry_budget_, "LeaseTrial", [&](auto* c) {
    return stub_->service->LeaseTrial(c, request, &response);
  });
  if (!status.ok()) return FromGrpcStatus(status);
  return ToLeaseReply(response, response.SerializeAsString());
}

absl::StatusOr<HeartbeatReply> WorkerClient::Heartbeat(const LeasedTrial& trial,
                                                       const TrialProgress& progress) {
  v1::HeartbeatRequest request;
  SetLease(&request, worker_id_, trial);
  SetProgress(request.mutable_progress(), progress);
  v1::HeartbeatResponse response;
  grpc::Status status = stub_->Retry(options_, retry_budget_, "Heartbeat", [&](auto* c) {
    return stub_->service->Heartbeat(c, request, &response);
  });
  if (!status.ok()) return FromGrpcStatus(status);
  return HeartbeatReply{response.action() == v1::HeartbeatResponse::CANCEL,
                        response.action() == v1::HeartbeatResponse::STOP,
                        response.lease_expires_ms()};
}

absl::Status WorkerClient::ReportMetrics(const LeasedTrial& trial,
                                         v1::ReportMetricsRequest& request, bool* stop,
                                         const TrialProgress* progress, HeartbeatReply* beat,
                                         bool* beat_answered) {
  SetLease(&request, worker_id_, trial);
  if (progress != nullptr) {
    SetProgress(request.mutable_progress(), *progress);
  } else {
    request.clear_progress();
  }
  v1::ReportMetricsResponse response;
  absl::Status status =
      FromGrpcStatus(stub_->Retry(options_, retry_budget_, "ReportMetrics", [&](auto* c) {
        return stub_->service->ReportMetrics(c, request, &response);
      }));
  if (status.ok() && stop != nullptr && response.stop()) {
    spdlog::info("trial {}: the coordinator stops it early: {}", trial.trial_id,
                 response.stop_reason());
    *stop = true;
  }
  // A coordinator without convention 8 leaves action unset.
  const bool answered =
      status.ok() && progress != nullptr &&
      response.action() != v1::HeartbeatResponse::ACTION_UNSPECIFIED;
  if (beat_answered != nullptr) *beat_answered = answered;
  if (answered && beat != nullptr) {
    *beat = HeartbeatReply{response.action() == v1::HeartbeatResponse::CANCEL,
                           response.action() == v1::HeartbeatResponse::STOP,
                           response.lease_expires_ms()};
  }
  return status;
}

absl::Status WorkerClient::ReportSample(const LeasedTrial& trial, const std::string& name,
                                        int64_t step, int64_t epoch, const std::string& png,
                                        int rows, int cols) {
  v1::ReportSampleRequest request;
  SetLease(&request, worker_id_, trial);
  request.set_name(name);
  request.set_step(step);
  request.set_epoch(epoch);
  request.set_png(png);
  request.set_rows(rows);
  request.set_cols(cols);
  v1::ReportSampleResponse response;
  return FromGrpcStatus(stub_->Retry(options_, retry_budget_, "ReportSample", [&](auto* c) {
    return stub_->service->ReportSample(c, request, &response);
  }));
}

absl::Status WorkerClient::SaveCheckpoint(const LeasedTrial& trial, int64_t step, int64_t epoch,
                                          const std::string& bytes) {
  const std::string sha = Sha256Hex(bytes);
  return FromGrpcStatus(stub_->Retry(options_, retry_budget_, "SaveCheckpoint", [&](auto* c) {
    v1::SaveCheckpointResponse response;
    auto writer = stub_->service->SaveCheckpoint(c, &response);
    v1::CheckpointChunk chunk;
    auto* header = chunk.mutable_header();
    SetLease(header, worker_id_, trial);
    header->set_step(step);
    header->set_epoch(epoch);
    header->set_sha256(sha);
    header->set_total_bytes(static_cast<int64_t>(bytes.size()));
    size_t offset = 0;
    bool ok = true;
    do {
      const size_t n = std::min(kChunkBytes, bytes.size() - offset);
      chunk.set_data(bytes.substr(offset, n));
      ok = writer->Write(chunk);
      chunk.clear_header();
      offset += n;
    } while (ok && offset < bytes.size());
    writer->WritesDone();
    return writer->Finish();
  }));
}

absl::StatusOr<std::string> WorkerClient::FetchCheckpoint(const LeasedTrial& trial,
                                                          int64_t source_trial_id) {
  v1::FetchCheckpointRequest request;
  SetLease(&request, worker_id_, trial);
  request.set_source_trial_id(source_trial_id);
  std::string bytes;
  std::string expected_sha;
  grpc::Status status = stub_->Retry(options_, retry_budget_, "FetchCheckpoint", [&](auto* c) {
    bytes.clear();
    auto reader = stub_->service->FetchCheckpoint(c, request);
    v1::CheckpointChunk chunk;
    while (reader->Read(&chunk)) {
      if (chunk.has_header()) expected_sha = chunk.header().sha256();
      bytes += chunk.data();
    }
    return reader->Finish();
  });
  if (!status.ok()) return FromGrpcStatus(status);
  if (Sha256Hex(bytes) != expected_sha) {
    return absl::DataLossError("checkpoint of trial " + std::to_string(trial.trial_id) +
                               " arrived corrupted (sha256 mismatch)");
  }
  return bytes;
}

absl::StatusOr<std::string> WorkerClient::FetchTorchScript(const std::string& sha256) {
  v1::FetchTorchScriptRequest request;
  request.set_worker_id(worker_id_);
  request.set_sha256(sha256);
  std::string bytes;
  grpc::Status status = stub_->Retry(options_, retry_budget_, "FetchTorchScript", [&](auto* c) {
    bytes.clear();
    auto reader = stub_->service->FetchTorchScript(c, request);
    v1::TorchScriptChunk chunk;
    while (reader->Read(&chunk)) bytes += chunk.data();
    return reader->Finish();
  });
  if (!status.ok()) return FromGrpcStatus(status);
  if (Sha256Hex(bytes) != sha256) {
    return absl::DataLossError("TorchScript file " + sha256 + " arrived corrupted (sha256 mismatch)");
  }
  return bytes;
}

absl::Status WorkerClient::Complete(const LeasedTrial& trial,
                                    const std::map<std::string, double>& final_metrics) {
  v1::CompleteTrialRequest request;
  SetLease(&request, worker_id_, trial);
  for (const auto& [name, value] : final_metrics) (*request.mutable_final_metrics())[name] = value;
  v1::CompleteTrialResponse response;
  return FromGrpcStatus(stub_->Retry(options_, retry_budget_, "CompleteTrial", [&](auto* c) {
    return stub_->service->CompleteTrial(c, request, &response);
  }));
}

absl::StatusOr<std::optional<LeaseReply>> WorkerClient::CompleteAndLease(
    const LeasedTrial& trial, const std::map<std::string, double>& final_metrics,
    v1::ReportMetricsRequest* last, const TrialProgress* progress) {
  if ((last != nullptr || progress != nullptr) && !completion_takes_points()) {
    return absl::FailedPreconditionError(
        "this coordinator does not take points with a completion (convention 8e)");
  }
  v1::CompleteTrialRequest request;
  SetLease(&request, worker_id_, trial);
  for (const auto& [name, value] : final_metrics) (*request.mutable_final_metrics())[name] = value;
  if (last != nullptr) request.mutable_points()->Swap(last->mutable_points());
  if (progress != nullptr) SetProgress(request.mutable_progress(), *progress);
  request.set_lease_next(true);
  request.set_environment_json(run_environment_json_);
  v1::CompleteTrialResponse response;
  grpc::Status status = stub_->Retry(options_, retry_budget_, "CompleteTrial", [&](auto* c) {
    return stub_->service->CompleteTrial(c, request, &response);
  });
  if (!status.ok()) return FromGrpcStatus(status);
  if (!response.has_next()) return std::optional<LeaseReply>();
  return std::optional<LeaseReply>(
      ToLeaseReply(response.next(), response.next().SerializeAsString()));
}

absl::Status WorkerClient::ReachRung(const LeasedTrial& trial, int64_t epoch) {
  v1::ReachRungRequest request;
  SetLease(&request, worker_id_, trial);
  request.set_epoch(epoch);
  v1::ReachRungResponse response;
  absl::Status status =
      FromGrpcStatus(stub_->Retry(options_, retry_budget_, "ReachRung", [&](auto* c) {
        return stub_->service->ReachRung(c, request, &response);
      }));
  if (status.ok()) {
    spdlog::info("trial {}: at its rung (epoch {}): {}", trial.trial_id, epoch,
                 v1::TrialState_Name(response.new_state()));
  }
  return status;
}

absl::Status WorkerClient::Fail(const LeasedTrial& trial, const std::string& error,
                                bool retryable) {
  return SendFail(trial, error, retryable, /*preempted=*/false);
}

absl::Status WorkerClient::HandBack(const LeasedTrial& trial, const std::string& reason) {
  return SendFail(trial, reason, /*retryable=*/true, /*preempted=*/true);
}

absl::Status WorkerClient::SendFail(const LeasedTrial& trial, const std::string& error,
                                    bool retryable, bool preempted) {
  v1::FailTrialRequest request;
  SetLease(&request, worker_id_, trial);
  request.set_error(error);
  request.set_retryable(retryable);
  request.set_preempted(preempted);
  v1::FailTrialResponse response;
  return FromGrpcStatus(stub_->Retry(options_, retry_budget_, "FailTrial", [&](auto* c) {
    return stub_->service->FailTrial(c, request, &response);
  }));
}

}  // namespace gridrun::worker
