#include "coordinator/worker_service.h"

#include <unistd.h>

#include <spdlog/spdlog.h>

#include <random>

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "common/init_from.h"
#include "common/status_macros.h"
#include "common/trial_config.h"
#include "coordinator/proto_convert.h"
#include "coordinator/request_validation.h"
#include "coordinator/status_util.h"

namespace gridrun::coordinator {
namespace {

constexpr size_t kChunkBytes = 1 << 20;

std::string NewWorkerId() {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id = "w-";
  uint64_t bits = rng();
  for (int i = 0; i < 12; ++i, bits >>= 4) id += kHex[bits & 0xf];
  return id;
}

// Validates the (worker_id, trial_id, attempt) triple every lease call names.
absl::Status ValidateLease(const std::string& worker_id, int64_t trial_id, int32_t attempt) {
  RETURN_IF_ERROR(ValidateWorkerId(worker_id));
  RETURN_IF_ERROR(ValidatePositiveId("trial_id", trial_id));
  return ValidateAttempt(attempt);
}

LeaseRef MakeLease(const std::string& worker_id, int64_t trial_id, int32_t attempt) {
  return LeaseRef{trial_id, worker_id, attempt};
}

constexpr size_t kMaxEnvironmentBytes = 64 << 10;

// LeaseTrialRequest.environment_json: empty (unknown), or a JSON object of at
// most kMaxEnvironmentBytes.
absl::Status ValidateEnvironmentJson(const std::string& text) {
  if (text.empty()) return absl::OkStatus();
  if (text.size() > kMaxEnvironmentBytes) {
    return absl::InvalidArgumentError(absl::StrCat("environment_json: ", text.size(),
                                                   " bytes is more than the limit of ",
                                                   kMaxEnvironmentBytes));
  }
  const nlohmann::json parsed = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!parsed.is_object()) {
    return absl::InvalidArgumentError("environment_json: must be a JSON object");
  }
  return absl::OkStatus();
}

}  // namespace

grpc::Status WorkerServiceImpl::RegisterWorker(grpc::ServerContext* context,
                                               const v1::RegisterWorkerRequest* request,
                                               v1::RegisterWorkerResponse* response) {
  RETURN_GRPC_IF_ERROR(auth_->Check(*context));
  if (request->host().empty() || request->host().size() > 255) {
    return ToGrpcStatus(absl::InvalidArgumentError("host: must be 1-255 characters"));
  }
  if (request->ranks() < 1 || request->ranks() > 65536) {
    return ToGrpcStatus(absl::InvalidArgumentError(
        absl::StrCat("ranks: must be 1..65536 (got ", request->ranks(), ")")));
  }
  const std::string device = request->device().empty() ? "cpu" : request->device();
  if (device != "cpu" && device != "cuda") {
    return ToGrpcStatus(absl::InvalidArgumentError(
        absl::StrCat("device: must be cpu or cuda (got '", device, "')")));
  }
  if (request->gpus() < 0) {
    return ToGrpcStatus(absl::InvalidArgumentError("gpus: must be >= 0"));
  }
  WorkerRecord worker;
  worker.worker_id = NewWorkerId();
  worker.host = request->host();
  worker.ranks = request->ranks();
  worker.device = device;
  worker.gpus = request->gpus();
  worker.pid = request->pid();
  worker.last_seen_ms = clock_->NowMs();
  RETURN_GRPC_IF_ERROR(store_->UpsertWorker(worker));
  {
    std::lock_guard<std::mutex> lock(workers_mu_);
    workers_[worker.worker_id] = worker;
  }
  response->set_worker_id(worker.worker_id);
  response->set_lease_timeout_ms(options_.lease_timeout_ms);
  response->set_heartbeat_interval_ms(std::max<int64_t>(options_.lease_timeout_ms / 3, 10));
  spdlog::info("worker {} registered: host {} pid {} ranks {} device {}", worker.worker_id,
               worker.host, worker.pid, worker.ranks, worker.device);
  return grpc::Status::OK;
}

void WorkerServiceImpl::SweepExpiredLeases() {
  auto expired = store_->ExpireLeases(clock_->NowMs(), options_.max_attempts);
  if (!expired.ok()) {
    spdlog::error("sweeping expired leases failed: {}", expired.status().ToString());
    return;
  }
  for (const ExpiredLease& e : *expired) {
    spdlog::warn("trial {}: lease of worker {} (attempt {}) expired -> {}", e.trial_id,
                 e.worker_id, e.attempt, TrialStateName(e.new_state));
  }
}

void WorkerServiceImpl::SweepIfDue() {
  constexpr int64_t kSweepIntervalMs = 100;
  const int64_t now = clock_->NowMs();
  int64_t due = next_sweep_ms_.load();
  // One caller wins the slot; the others lease without waiting for it.
  if (now < due || !next_sweep_ms_.compare_exchange_strong(due, now + kSweepIntervalMs)) return;
  SweepExpiredLeases();
}

absl::StatusOr<WorkerRecord> WorkerServiceImpl::FindWorker(const std::string& worker_id) {
  {
    std::lock_guard<std::mutex> lock(workers_mu_);
    if (auto it = workers_.find(worker_id); it != workers_.end()) return it->second;
  }
  // Registered before a coordinator restart: the store has it.
  auto worker = store_->GetWorker(worker_id);
  if (worker.ok()) {
    std::lock_guard<std::mutex> lock(workers_mu_);
    workers_.emplace(worker_id, *worker);
  }
  return worker;
}

grpc::Status WorkerServiceImpl::LeaseTrial(grpc::ServerContext* context,
                                           const v1::LeaseTrialRequest* request,
                                           v1::LeaseTrialResponse* response) {
  RETURN_GRPC_IF_ERROR(auth_->Check(*context));
  RETURN_GRPC_IF_ERROR(ValidateWorkerId(request->worker_id()));
  RETURN_GRPC_IF_ERROR(ValidateEnvironmentJson(request->environment_json()));
  auto worker = FindWorker(request->worker_id());
  RETURN_GRPC_IF_ERROR(worker.status());
  SweepIfDue();
  const int64_t now_ms = clock_->NowMs();
  auto claimed = store_->ClaimNextTrial(worker->worker_id, worker->ranks, worker->device, now_ms,
                                        options_.lease_timeout_ms);
  RETURN_GRPC_IF_ERROR(claimed.status());
  if (!claimed->has_value()) {
    response->set_retry_after_ms(options_.retry_after_ms);
    return grpc::Status::OK;
  }
  const TrialRecord& trial = **claimed;
  // Where the attempt runs is a record, not a condition of the lease: if it
  // cannot be written the worker still gets the trial.
  if (absl::Status recorded = store_->RecordAttempt(
          MakeLease(worker->worker_id, trial.trial_id, trial.attempt),
          request->environment_json(), now_ms);
      !recorded.ok()) {
    spdlog::error("trial {} attempt {}: recording its environment failed: {}", trial.trial_id,
                  trial.attempt, recorded.ToString());
  }
  auto* lease = response->mutable_lease();
  lease->set_trial_id(trial.trial_id);
  lease->set_experiment_id(trial.experiment_id);
  lease->set_attempt(trial.attempt);
  lease->set_config_json(trial.config_json);
  lease->set_lease_expires_ms(trial.lease_expires_ms);
  lease->set_stop_after_epoch(trial.stop_after_epoch);
  // Checkpoints are only stored under a lease, so a first attempt has none.
  absl::StatusOr<std::vector<CheckpointRecord>> checkpoints = std::vector<CheckpointRecord>();
  if (trial.attempt > 1) checkpoints = store_->ListCheckpoints(trial.trial_id);
  RETURN_GRPC_IF_ERROR(checkpoints.status());
  if (!checkpoints->empty()) {
    const CheckpointRecord& newest = checkpoints->front();
    auto* info = lease->mutable_checkpoint();
    info->set_step(newest.step);
    info->set_epoch(newest.epoch);
    info->set_sha256(newest.sha256);
    info->set_size_bytes(newest.size_bytes);
  }
  spdlog::info("trial {} (experiment {} #{}): WAITING -> RUNNING on worker {}, attempt {}{}",
               trial.trial_id, trial.experiment_id, trial.number, worker->worker_id,
               trial.attempt,
               checkpoints->empty() ? ""
                                    : absl::StrCat(", resuming from step ",
                                                   checkpoints->front().step));
  return grpc::Status::OK;
}

grpc::Status WorkerServiceImpl::Heartbeat(grpc::ServerContext* context,
                                          const v1::HeartbeatRequest* request,
                                          v1::HeartbeatResponse* response) {
  RETURN_GRPC_IF_ERROR(auth_->Check(*context));
  RETURN_GRPC_IF_ERROR(ValidateLease(request->worker_id(), request->trial_id(), request->attempt()));
  const v1::Progress& p = request->progress();
  RETURN_GRPC_IF_ERROR(ValidateNonNegative("progress.epoch", p.epoch()));
  RETURN_GRPC_IF_ERROR(ValidateNonNegative("progress.step", p.step()));
  RETURN_GRPC_IF_ERROR(ValidateNonNegative("progress.total_steps", p.total_steps()));
  RETURN_GRPC_IF_ERROR(ValidateFinite("progress.steps_per_second", p.steps_per_second()));
  auto trial = store_->RenewLease(
      MakeLease(request->worker_id(), request->trial_id(), request->attempt()), clock_->NowMs(),
      options_.lease_timeout_ms, p.epoch(), p.step(), p.total_steps(), p.steps_per_second());
  RETURN_GRPC_IF_ERROR(trial.status());
  response->set_action(trial->cancel_requested  ? v1::HeartbeatResponse::CANCEL
                       : trial->stop_requested ? v1::HeartbeatResponse::STOP
                                               : v1::HeartbeatResponse::CONTINUE);
  response->set_lease_expires_ms(trial->lease_expires_ms);
  return grpc::Status::OK;
}

grpc::Status WorkerServiceImpl::ReportMetrics(grpc::ServerContext* context,
                                              const v1::ReportMetricsRequest* request,
                                              v1::ReportMetricsResponse* response) {
  RETURN_GRPC_IF_ERROR(auth_->Check(*context));
  RETURN_GRPC_IF_ERROR(ValidateLease(request->worker_id(), request->trial_id(), request->attempt()));
  if (request->points_size() > kMaxMetricPointsPerBatch) {
    return ToGrpcStatus(absl::InvalidArgumentError(
        absl::StrCat("points: ", request->points_size(), " points is more than the limit of ",
                     kMaxMetricPointsPerBatch, " per batch")));
  }
  std::vector<MetricPointRecord> points;
  points.reserve(request->points_size());
  for (int i = 0; i < request->points_size(); ++i) {
    const v1::MetricPoint& p = request->points(i);
    const std::string field = absl::StrCat("points[", i, "]");
    RETURN_GRPC_IF_ERROR(ValidateMetricName(field + ".name", p.name()));
    RETURN_GRPC_IF_ERROR(ValidateNonNegative(field + ".step", p.step()));
    RETURN_GRPC_IF_ERROR(ValidateNonNegative(field + ".epoch", p.epoch()));
    RETURN_GRPC_IF_ERROR(ValidateFinite(field + ".value", p.value()));
    points.push_back(MetricPointRecord{p.name(), p.step(), p.epoch(), p.value(),
                                       p.wall_ms() > 0 ? p.wall_ms() : clock_->NowMs()});
  }
  const LeaseRef lease = MakeLease(request->worker_id(), request->trial_id(), request->attempt());
  auto stored = store_->WriteMetrics(lease, points);
  RETURN_GRPC_IF_ERROR(stored.status());
  response->set_stored(*stored);
  // Convention 7b: the stop decision is committed before the worker hears it.
  auto stop = store_->ApplyStopRules(lease, clock_->NowMs());
  RETURN_GRPC_IF_ERROR(stop.status());
  if (stop->has_value()) {
    response->set_stop(true);
    response->set_stop_reason(**stop);
    spdlog::info("trial {}: stop requested: {}", request->trial_id(), **stop);
  }
  return grpc::Status::OK;
}

grpc::Status WorkerServiceImpl::ReportSample(grpc::ServerContext* context,
                                             const v1::ReportSampleRequest* request,
                                             v1::ReportSampleResponse* /*response*/) {
  RETURN_GRPC_IF_ERROR(auth_->Check(*context));
  RETURN_GRPC_IF_ERROR(ValidateLease(request->worker_id(), request->trial_id(), request->attempt()));
  RETURN_GRPC_IF_ERROR(ValidateMetricName("name", request->name()));
  RETURN_GRPC_IF_ERROR(ValidateNonNegative("step", request->step()));
  RETURN_GRPC_IF_ERROR(ValidateNonNegative("epoch", request->epoch()));
  RETURN_GRPC_IF_ERROR(ValidatePng("png", request->png()));
  if (request->rows() < 0 || request->rows() > 1024 || request->cols() < 0 ||
      request->cols() > 1024) {
    return ToGrpcStatus(absl::InvalidArgumentError("rows, cols: must be 0..1024"));
  }
  SampleRecord sample{request->name(), request->step(), request->epoch(), request->png(),
                      request->rows(), request->cols()};
  RETURN_GRPC_IF_ERROR(store_->WriteSample(
      MakeLease(request->worker_id(), request->trial_id(), request->attempt()), sample));
  return grpc::Status::OK;
}

grpc::Status WorkerServiceImpl::SaveCheckpoint(grpc::ServerContext* context,
                                               grpc::ServerReader<v1::CheckpointChunk>* reader,
                                               v1::SaveCheckpointResponse* response) {
  RETURN_GRPC_IF_ERROR(auth_->Check(*context));
  v1::CheckpointChunk chunk;
  if (!reader->Read(&chunk) || !chunk.has_header()) {
    return ToGrpcStatus(
        absl::InvalidArgumentError("header: the first chunk must carry the checkpoint header"));
  }
  const v1::CheckpointHeader header = chunk.header();
  RETURN_GRPC_IF_ERROR(ValidateLease(header.worker_id(), header.trial_id(), header.attempt()));
  RETURN_GRPC_IF_ERROR(ValidateNonNegative("header.step", header.step()));
  RETURN_GRPC_IF_ERROR(ValidateNonNegative("header.epoch", header.epoch()));
  RETURN_GRPC_IF_ERROR(ValidateSha256Hex("header.sha256", header.sha256()));
  if (header.total_bytes() < 0 || header.total_bytes() > options_.max_checkpoint_bytes) {
    return ToGrpcStatus(absl::InvalidArgumentError(
        absl::StrCat("header.total_bytes: must be 0..", options_.max_checkpoint_bytes, " (got ",
                     header.total_bytes(), ")")));
  }
  const LeaseRef lease = MakeLease(header.worker_id(), header.trial_id(), header.attempt());
  // Refuse early (before receiving megabytes) if the lease is already gone.
  auto trial = store_->GetTrial(header.trial_id());
  RETURN_GRPC_IF_ERROR(trial.status());
  if (trial->state != TrialState::kRunning || trial->worker_id != header.worker_id() ||
      trial->attempt != header.attempt()) {
    return ToGrpcStatus(absl::AbortedError(absl::StrCat(
        "lease lost: trial ", header.trial_id(), " attempt ", header.attempt(),
        " is not held by worker ", header.worker_id())));
  }
  auto upload = checkpoints_->BeginUpload(header.trial_id(), header.step());
  RETURN_GRPC_IF_ERROR(upload.status());
  RETURN_GRPC_IF_ERROR((*upload)->Append(chunk.data()));
  while (reader->Read(&chunk)) {
    if (chunk.has_header()) {
      return ToGrpcStatus(absl::InvalidArgumentError("header: only the first chunk may carry it"));
    }
    if ((*upload)->bytes_written() + static_cast<int64_t>(chunk.data().size()) >
        header.total_bytes()) {
      return ToGrpcStatus(absl::InvalidArgumentError(absl::StrCat(
          "data: more bytes than header.total_bytes (", header.total_bytes(), ")")));
    }
    RETURN_GRPC_IF_ERROR((*upload)->Append(chunk.data()));
  }
  auto path = (*upload)->Commit(header.total_bytes(), header.sha256());
  RETURN_GRPC_IF_ERROR(path.status());
  CheckpointRecord record{header.trial_id(), header.step(),        header.epoch(),
                          header.sha256(),   header.total_bytes(), *path,
                          clock_->NowMs()};
  auto dropped = store_->AddCheckpoint(lease, record, options_.keep_checkpoints);
  if (!dropped.ok()) {
    checkpoints_->Remove(*path);  // not recorded: the file must not linger
    return ToGrpcStatus(dropped.status());
  }
  for (const std::string& old : *dropped) checkpoints_->Remove(old);
  auto* info = response->mutable_checkpoint();
  info->set_step(header.step());
  info->set_epoch(header.epoch());
  info->set_sha256(header.sha256());
  info->set_size_bytes(header.total_bytes());
  spdlog::info("trial {}: checkpoint at step {} (epoch {}, {} bytes)", header.trial_id(),
               header.step(), header.epoch(), header.total_bytes());
  return grpc::Status::OK;
}

grpc::Status WorkerServiceImpl::FetchCheckpoint(grpc::ServerContext* context,
                                                const v1::FetchCheckpointRequest* request,
                                                grpc::ServerWriter<v1::CheckpointChunk>* writer) {
  RETURN_GRPC_IF_ERROR(auth_->Check(*context));
  RETURN_GRPC_IF_ERROR(ValidateLease(request->worker_id(), request->trial_id(), request->attempt()));
  auto trial = store_->GetTrial(request->trial_id());
  RETURN_GRPC_IF_ERROR(trial.status());
  if (trial->state != TrialState::kRunning || trial->worker_id != request->worker_id() ||
      trial->attempt != request->attempt()) {
    return ToGrpcStatus(absl::AbortedError(absl::StrCat(
        "lease lost: trial ", request->trial_id(), " attempt ", request->attempt(),
        " is not held by worker ", request->worker_id())));
  }
  // A warm start's source (common/init_from.h): only the checkpoint the
  // leased trial's init_from names, never any other trial's.
  const int64_t from_trial =
      request->source_trial_id() != 0 ? request->source_trial_id() : request->trial_id();
  std::string wanted_sha;
  if (request->source_trial_id() != 0) {
    auto config = TrialConfigFromJson(trial->config_json);
    RETURN_GRPC_IF_ERROR(config.status());
    auto init = config->init_from.empty()
                    ? absl::StatusOr<InitFrom>(absl::InvalidArgumentError("it has none"))
                    : InitFromFromJson(config->init_from);
    if (!init.ok() || init->trial != request->source_trial_id()) {
      return ToGrpcStatus(absl::InvalidArgumentError(absl::StrCat(
          "source_trial_id: trial ", request->trial_id(), "'s init_from does not name trial ",
          request->source_trial_id())));
    }
    wanted_sha = init->checkpoint_sha256;
  }
  auto checkpoints = store_->ListCheckpoints(from_trial);
  RETURN_GRPC_IF_ERROR(checkpoints.status());
  // Newest first; a corrupt file is dropped and the previous one is tried, so
  // a damaged checkpoint never reaches a worker.
  for (const CheckpointRecord& checkpoint : *checkpoints) {
    if (!wanted_sha.empty() && checkpoint.sha256 != wanted_sha) continue;
    auto bytes = checkpoints_->ReadVerified(checkpoint.path, checkpoint.sha256);
    if (!bytes.ok()) {
      spdlog::error("trial {}: {}; falling back to an older checkpoint", from_trial,
                    std::string(bytes.status().message()));
      (void)store_->DeleteCheckpoint(from_trial, checkpoint.sha256);
      checkpoints_->Remove(checkpoint.path);
      continue;
    }
    v1::CheckpointChunk chunk;
    auto* header = chunk.mutable_header();
    header->set_worker_id(request->worker_id());
    header->set_trial_id(request->trial_id());
    header->set_attempt(request->attempt());
    header->set_step(checkpoint.step);
    header->set_epoch(checkpoint.epoch);
    header->set_sha256(checkpoint.sha256);
    header->set_total_bytes(static_cast<int64_t>(bytes->size()));
    size_t offset = 0;
    do {
      const size_t n = std::min(kChunkBytes, bytes->size() - offset);
      chunk.set_data(bytes->substr(offset, n));
      if (!writer->Write(chunk)) return grpc::Status::OK;  // client went away
      chunk.clear_header();
      offset += n;
    } while (offset < bytes->size());
    return grpc::Status::OK;
  }
  if (!wanted_sha.empty()) {
    return ToGrpcStatus(absl::NotFoundError(absl::StrCat(
        "init_from: trial ", from_trial, " no longer keeps checkpoint ", wanted_sha.substr(0, 12),
        " (retention removed it, or it was corrupt)")));
  }
  return ToGrpcStatus(absl::NotFoundError(
      absl::StrCat("trial ", request->trial_id(), " has no usable checkpoint")));
}

grpc::Status WorkerServiceImpl::ReachRung(grpc::ServerContext* context,
                                          const v1::ReachRungRequest* request,
                                          v1::ReachRungResponse* response) {
  RETURN_GRPC_IF_ERROR(auth_->Check(*context));
  RETURN_GRPC_IF_ERROR(ValidateLease(request->worker_id(), request->trial_id(), request->attempt()));
  RETURN_GRPC_IF_ERROR(ValidateNonNegative("epoch", request->epoch()));
  auto state = store_->ReachRung(
      MakeLease(request->worker_id(), request->trial_id(), request->attempt()), request->epoch(),
      clock_->NowMs());
  RETURN_GRPC_IF_ERROR(state.status());
  response->set_new_state(ToProto(*state));
  spdlog::info("trial {}: reached its rung at epoch {} -> {}", request->trial_id(),
               request->epoch(), TrialStateName(*state));
  return grpc::Status::OK;
}

grpc::Status WorkerServiceImpl::CompleteTrial(grpc::ServerContext* context,
                                              const v1::CompleteTrialRequest* request,
                                              v1::CompleteTrialResponse* /*response*/) {
  RETURN_GRPC_IF_ERROR(auth_->Check(*context));
  RETURN_GRPC_IF_ERROR(ValidateLease(request->worker_id(), request->trial_id(), request->attempt()));
  std::map<std::string, double> final_metrics;
  for (const auto& [name, value] : request->final_metrics()) {
    RETURN_GRPC_IF_ERROR(ValidateMetricName("final_metrics.name", name));
    RETURN_GRPC_IF_ERROR(ValidateFinite("final_metrics[" + name + "]", value));
    final_metrics[name] = value;
  }
  auto state = store_->CompleteTrial(
      MakeLease(request->worker_id(), request->trial_id(), request->attempt()), final_metrics,
      clock_->NowMs());
  RETURN_GRPC_IF_ERROR(state.status());
  spdlog::info("trial {}: RUNNING -> {} (worker {}, attempt {})", request->trial_id(),
               TrialStateName(*state), request->worker_id(), request->attempt());
  if (*state == TrialState::kComplete) {
    // The trial's final checkpoint is its trained model: keep it (and
    // bound what its experiment keeps). The trial is complete either way.
    auto dropped = store_->RetainTrained(request->trial_id(), options_.keep_trained);
    if (!dropped.ok()) {
      spdlog::warn("trial {}: keeping its trained model: {}", request->trial_id(),
                   dropped.status().ToString());
    } else {
      for (const std::string& path : *dropped) checkpoints_->Remove(path);
    }
  }
  return grpc::Status::OK;
}

grpc::Status WorkerServiceImpl::FailTrial(grpc::ServerContext* context,
                                          const v1::FailTrialRequest* request,
                                          v1::FailTrialResponse* response) {
  RETURN_GRPC_IF_ERROR(auth_->Check(*context));
  RETURN_GRPC_IF_ERROR(ValidateLease(request->worker_id(), request->trial_id(), request->attempt()));
  // Cut to 4096 bytes for the database and the log alike (a worker's error
  // text may be megabytes).
  const std::string error = request->error().empty() ? "worker reported failure"
                                                     : request->error().substr(0, 4096);
  const LeaseRef lease = MakeLease(request->worker_id(), request->trial_id(), request->attempt());
  if (request->preempted()) {
    auto state = store_->HandBackTrial(lease, error, clock_->NowMs());
    RETURN_GRPC_IF_ERROR(state.status());
    response->set_new_state(ToProto(*state));
    spdlog::info("trial {}: attempt {} handed back by worker {} ({}) -> {}", request->trial_id(),
                 request->attempt(), request->worker_id(), error, TrialStateName(*state));
    return grpc::Status::OK;
  }
  auto state = store_->FailTrial(lease, error, request->retryable(), options_.max_attempts,
                                 clock_->NowMs());
  RETURN_GRPC_IF_ERROR(state.status());
  response->set_new_state(ToProto(*state));
  spdlog::warn("trial {}: attempt {} failed on worker {} ({}) -> {}", request->trial_id(),
               request->attempt(), request->worker_id(), error, TrialStateName(*state));
  return grpc::Status::OK;
}

}  // namespace gridrun::coordinator
