#include "coordinator/worker_service.h"

#include <unistd.h>

#include <spdlog/spdlog.h>

#include <cmath>
#include <optional>
#include <random>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "common/init_from.h"
#include "common/status_macros.h"
#include "common/trial_config.h"
#include "coordinator/proto_convert.h"
#include "coordinator/request_validation.h"
#include "coordinator/status_util.h"
#include "proto/protocol_version.h"

namespace gridrun::coordinator {
namespace {

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

absl::Status ValidateProgress(const v1::Progress& p) {
  RETURN_IF_ERROR(ValidateNonNegative("progress.epoch", p.epoch()));
  RETURN_IF_ERROR(ValidateNonNegative("progress.step", p.step()));
  RETURN_IF_ERROR(ValidateNonNegative("progress.total_steps", p.total_steps()));
  return ValidateFinite("progress.steps_per_second", p.steps_per_second());
}

// What a renewal tells the worker (Heartbeat and convention 8a alike).
v1::HeartbeatResponse::Action HeartbeatAction(const TrialRecord& trial) {
  return trial.cancel_requested ? v1::HeartbeatResponse::CANCEL
         : trial.stop_requested ? v1::HeartbeatResponse::STOP
                                : v1::HeartbeatResponse::CONTINUE;
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

// The points of a ReportMetrics or (convention 8e) CompleteTrial request,
// validated; a point without wall_ms gets `now_ms`.
absl::StatusOr<std::vector<MetricPointRecord>> PointsOf(
    const google::protobuf::RepeatedPtrField<v1::MetricPoint>& wire, int64_t now_ms) {
  if (wire.size() > kMaxMetricPointsPerBatch) {
    return absl::InvalidArgumentError(absl::StrCat("points: ", wire.size(),
                                                   " points is more than the limit of ",
                                                   kMaxMetricPointsPerBatch, " per batch"));
  }
  std::vector<MetricPointRecord> points;
  points.reserve(wire.size());
  for (int i = 0; i < wire.size(); ++i) {
    const v1::MetricPoint& p = wire[i];
    // The field names are built only for a bad point (a batch has
    // many good ones, and four strings per point showed in the profile).
    if (!ValidateMetricName("", p.name()).ok() || p.step() < 0 || p.epoch() < 0 ||
        !std::isfinite(p.value())) {
      const std::string field = absl::StrCat("points[", i, "]");
      RETURN_IF_ERROR(ValidateMetricName(field + ".name", p.name()));
      RETURN_IF_ERROR(ValidateNonNegative(field + ".step", p.step()));
      RETURN_IF_ERROR(ValidateNonNegative(field + ".epoch", p.epoch()));
      RETURN_IF_ERROR(ValidateFinite(field + ".value", p.value()));
    }
    points.push_back(MetricPointRecord{p.name(), p.step(), p.epoch(), p.value(),
                                       p.wall_ms() > 0 ? p.wall_ms() : now_ms});
  }
  return points;
}

}  // namespace

grpc::Status WorkerServiceImpl::RegisterWorker(grpc::ServerContextBase* context,
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
  response->set_protocol(kCoordinatorProtocol);
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

grpc::Status WorkerServiceImpl::LeaseTrial(grpc::ServerContextBase* context,
                                           const v1::LeaseTrialRequest* request,
                                           v1::LeaseTrialResponse* response) {
  RETURN_GRPC_IF_ERROR(auth_->Check(*context));
  RETURN_GRPC_IF_ERROR(ValidateWorkerId(request->worker_id()));
  RETURN_GRPC_IF_ERROR(ValidateEnvironmentJson(request->environment_json()));
  return LeaseFor(request->worker_id(), request->environment_json(), response);
}

grpc::Status WorkerServiceImpl::LeaseFor(const std::string& worker_id,
                                         const std::string& environment_json,
                                         v1::LeaseTrialResponse* response) {
  auto worker = FindWorker(worker_id);
  RETURN_GRPC_IF_ERROR(worker.status());
  SweepIfDue();
  const int64_t now_ms = clock_->NowMs();
  // One transaction: the claim, the attempt's record and the checkpoint
  // lookup (nested in CompleteTrial's when it leases the next trial).
  std::optional<TrialRecord> claimed;
  std::vector<CheckpointRecord> checkpoints;
  RETURN_GRPC_IF_ERROR(store_->Atomically([&]() -> absl::Status {
    ASSIGN_OR_RETURN(claimed, store_->ClaimNextTrial(worker->worker_id, worker->ranks,
                                                     worker->device, now_ms,
                                                     options_.lease_timeout_ms));
    if (!claimed.has_value()) return absl::OkStatus();
    // Where the attempt runs is a record, not a condition of the lease: if
    // it cannot be written the worker still gets the trial.
    if (absl::Status recorded = store_->RecordAttempt(
            MakeLease(worker->worker_id, claimed->trial_id, claimed->attempt), environment_json,
            now_ms);
        !recorded.ok()) {
      spdlog::error("trial {} attempt {}: recording its environment failed: {}",
                    claimed->trial_id, claimed->attempt, recorded.ToString());
    }
    // Checkpoints are only stored under a lease, so a first attempt has none.
    if (claimed->attempt > 1) {
      ASSIGN_OR_RETURN(checkpoints, store_->ListCheckpoints(claimed->trial_id));
    }
    return absl::OkStatus();
  }));
  if (!claimed.has_value()) {
    response->set_retry_after_ms(options_.retry_after_ms);
    return grpc::Status::OK;
  }
  const TrialRecord& trial = *claimed;
  auto* lease = response->mutable_lease();
  lease->set_trial_id(trial.trial_id);
  lease->set_experiment_id(trial.experiment_id);
  lease->set_attempt(trial.attempt);
  lease->set_config_json(trial.config_json);
  lease->set_lease_expires_ms(trial.lease_expires_ms);
  lease->set_stop_after_epoch(trial.stop_after_epoch);
  lease->set_keep_best_metric(trial.keep_best_metric);
  lease->set_keep_best_maximize(trial.keep_best_maximize);
  if (!checkpoints.empty()) {
    const CheckpointRecord& newest = checkpoints.front();
    auto* info = lease->mutable_checkpoint();
    info->set_step(newest.step);
    info->set_epoch(newest.epoch);
    info->set_sha256(newest.sha256);
    info->set_size_bytes(newest.size_bytes);
  }
  spdlog::info("trial {} (experiment {} #{}): WAITING -> RUNNING on worker {}, attempt {}{}",
               trial.trial_id, trial.experiment_id, trial.number, worker->worker_id,
               trial.attempt,
               checkpoints.empty() ? ""
                                   : absl::StrCat(", resuming from step ",
                                                  checkpoints.front().step));
  return grpc::Status::OK;
}

grpc::Status WorkerServiceImpl::Heartbeat(grpc::ServerContextBase* context,
                                          const v1::HeartbeatRequest* request,
                                          v1::HeartbeatResponse* response) {
  RETURN_GRPC_IF_ERROR(auth_->Check(*context));
  RETURN_GRPC_IF_ERROR(ValidateLease(request->worker_id(), request->trial_id(), request->attempt()));
  const v1::Progress& p = request->progress();
  RETURN_GRPC_IF_ERROR(ValidateProgress(p));
  auto trial = store_->RenewLease(
      MakeLease(request->worker_id(), request->trial_id(), request->attempt()), clock_->NowMs(),
      options_.lease_timeout_ms, p.epoch(), p.step(), p.total_steps(), p.steps_per_second());
  RETURN_GRPC_IF_ERROR(trial.status());
  response->set_action(HeartbeatAction(*trial));
  response->set_lease_expires_ms(trial->lease_expires_ms);
  return grpc::Status::OK;
}

absl::StatusOr<std::optional<std::string>> WorkerServiceImpl::StoreReport(
    const LeaseRef& lease, const std::vector<MetricPointRecord>& points,
    const v1::Progress* progress, v1::ReportMetricsResponse* response) {
  ASSIGN_OR_RETURN(const int64_t stored, store_->WriteMetrics(lease, points));
  response->set_stored(stored);
  if (progress != nullptr) {
    ASSIGN_OR_RETURN(const TrialRecord trial,
                     store_->RenewLease(lease, clock_->NowMs(), options_.lease_timeout_ms,
                                        progress->epoch(), progress->step(),
                                        progress->total_steps(), progress->steps_per_second()));
    response->set_action(HeartbeatAction(trial));
    response->set_lease_expires_ms(trial.lease_expires_ms);
  }
  return store_->ApplyStopRules(lease, clock_->NowMs());
}

grpc::Status WorkerServiceImpl::ReportMetrics(grpc::ServerContextBase* context,
                                              const v1::ReportMetricsRequest* request,
                                              v1::ReportMetricsResponse* response) {
  RETURN_GRPC_IF_ERROR(auth_->Check(*context));
  RETURN_GRPC_IF_ERROR(ValidateLease(request->worker_id(), request->trial_id(), request->attempt()));
  const absl::StatusOr<std::vector<MetricPointRecord>> points =
      PointsOf(request->points(), clock_->NowMs());
  RETURN_GRPC_IF_ERROR(points.status());
  const LeaseRef lease = MakeLease(request->worker_id(), request->trial_id(), request->attempt());
  if (request->has_progress()) RETURN_GRPC_IF_ERROR(ValidateProgress(request->progress()));
  // One transaction: the points, the renewal (convention 8a) and the stop
  // decision (7b) commit together, before the worker hears any of them.
  std::optional<std::string> stop;
  RETURN_GRPC_IF_ERROR(store_->Atomically([&]() -> absl::Status {
    ASSIGN_OR_RETURN(stop, StoreReport(lease, *points,
                                       request->has_progress() ? &request->progress() : nullptr,
                                       response));
    return absl::OkStatus();
  }));
  if (stop.has_value()) {
    response->set_stop(true);
    response->set_stop_reason(*stop);
    spdlog::info("trial {}: stop requested: {}", request->trial_id(), *stop);
  }
  return grpc::Status::OK;
}

grpc::Status WorkerServiceImpl::ReportSample(grpc::ServerContextBase* context,
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

grpc::Status WorkerServiceImpl::ReachRung(grpc::ServerContextBase* context,
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

grpc::Status WorkerServiceImpl::CompleteTrial(grpc::ServerContextBase* context,
                                              const v1::CompleteTrialRequest* request,
                                              v1::CompleteTrialResponse* response) {
  RETURN_GRPC_IF_ERROR(auth_->Check(*context));
  RETURN_GRPC_IF_ERROR(ValidateLease(request->worker_id(), request->trial_id(), request->attempt()));
  if (request->lease_next()) {
    RETURN_GRPC_IF_ERROR(ValidateEnvironmentJson(request->environment_json()));
  }
  std::map<std::string, double> final_metrics;
  for (const auto& [name, value] : request->final_metrics()) {
    RETURN_GRPC_IF_ERROR(ValidateMetricName("final_metrics.name", name));
    RETURN_GRPC_IF_ERROR(ValidateFinite("final_metrics[" + name + "]", value));
    final_metrics[name] = value;
  }
  const absl::StatusOr<std::vector<MetricPointRecord>> points =
      PointsOf(request->points(), clock_->NowMs());
  RETURN_GRPC_IF_ERROR(points.status());
  if (request->has_progress()) RETURN_GRPC_IF_ERROR(ValidateProgress(request->progress()));
  const LeaseRef lease = MakeLease(request->worker_id(), request->trial_id(), request->attempt());
  // One transaction: the last report (convention 8e, as ReportMetrics
  // stores it), the completion and (8b) the next lease. A lease that fails
  // leaves the rest standing (its savepoint alone rolls back).
  TrialState state = TrialState::kComplete;
  grpc::Status leased = grpc::Status::OK;
  RETURN_GRPC_IF_ERROR(store_->Atomically([&]() -> absl::Status {
    if (!points->empty() || request->has_progress()) {
      v1::ReportMetricsResponse report;
      RETURN_IF_ERROR(StoreReport(lease, *points,
                                  request->has_progress() ? &request->progress() : nullptr,
                                  &report)
                          .status());
      response->set_stored(report.stored());
    }
    ASSIGN_OR_RETURN(state, store_->CompleteTrial(lease, final_metrics, clock_->NowMs()));
    if (request->lease_next()) {
      leased = LeaseFor(request->worker_id(), request->environment_json(),
                        response->mutable_next());
    }
    return absl::OkStatus();
  }));
  spdlog::info("trial {}: RUNNING -> {} (worker {}, attempt {})", request->trial_id(),
               TrialStateName(state), request->worker_id(), request->attempt());
  response->set_new_state(ToProto(state));
  if (state == TrialState::kComplete) {
    // The trial's final checkpoint is its trained model: keep it (and
    // bound what its experiment keeps). The trial is complete either way.
    auto dropped = store_->RetainTrained(request->trial_id(), options_.keep_trained);
    if (!dropped.ok()) {
      spdlog::warn("trial {}: keeping its trained model: {}", request->trial_id(),
                   dropped.status().ToString());
    } else if (!dropped->empty()) {
      // Under group commit (group_committer.h) the rows are gone only once
      // the batch commits; the files go after that.
      store_->RunAfterCommit([this, paths = *std::move(dropped)] {
        for (const std::string& path : paths) checkpoints_->Remove(path);
      });
    }
  }
  if (request->lease_next() && !leased.ok()) {
    spdlog::error("trial {}: leasing worker {}'s next trial after completion failed: {}",
                  request->trial_id(), request->worker_id(), leased.error_message());
    response->clear_next();
    response->mutable_next()->set_retry_after_ms(options_.retry_after_ms);
  }
  return grpc::Status::OK;
}

grpc::Status WorkerServiceImpl::FailTrial(grpc::ServerContextBase* context,
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
