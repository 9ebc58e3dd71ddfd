#include "coordinator/grid_service.h"

#include "modelspec/model_file.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <functional>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "coordinator/grid_expand.h"
#include "coordinator/grid_spec.h"
#include "coordinator/init_from_resolve.h"
#include "coordinator/proto_convert.h"
#include "coordinator/request_validation.h"
#include "coordinator/status_util.h"

namespace gridrun::coordinator {

grpc::Status GridServiceImpl::SubmitGrid(grpc::ServerContextBase* context,
                                         const v1::SubmitGridRequest* request,
                                         v1::SubmitGridResponse* response) {
  RETURN_GRPC_IF_ERROR(auth_->Check(*context));
  if (static_cast<int64_t>(request->spec_yaml().size()) > kMaxSpecBytes) {
    return ToGrpcStatus(absl::InvalidArgumentError(
        absl::StrCat("spec_yaml: ", request->spec_yaml().size(),
                     " bytes is larger than the limit of ", kMaxSpecBytes, " bytes")));
  }
  if (request->spec_yaml().empty()) {
    return ToGrpcStatus(absl::InvalidArgumentError("spec_yaml: is empty"));
  }
  // A client that has gone (deadline passed, call cancelled) stops the work:
  // parsing and expansion poll this, and nothing is stored after it.
  const std::function<bool()> client_gone = [context] { return context->IsCancelled(); };
  if (request->model_files_size() > kMaxModelFiles) {
    return ToGrpcStatus(absl::InvalidArgumentError(absl::StrCat(
        "model_files: ", request->model_files_size(), " files; at most ", kMaxModelFiles)));
  }
  ModelFileTexts model_files;
  for (const auto& [path, text] : request->model_files()) {
    if (text.size() > modelspec::kMaxModelFileBytes) {
      return ToGrpcStatus(absl::InvalidArgumentError(
          absl::StrCat("model_files[", path, "]: ", text.size(), " bytes is larger than the limit of ",
                       modelspec::kMaxModelFileBytes, " bytes")));
    }
    model_files.emplace(path, text);
  }
  GridLimits limits;
  limits.cancelled = client_gone;
  limits.max_model_parameters = options_.max_model_parameters;
  auto spec = ParseGridSpec(request->spec_yaml(), limits, model_files);
  RETURN_GRPC_IF_ERROR(spec.status());
  // Every TorchScript file the model files name must be stored intact.
  if (torchscript_ != nullptr) RETURN_GRPC_IF_ERROR(torchscript_->CheckModelFiles(model_files));
  auto experiment_or = ToNewExperiment(*spec, request->spec_yaml(), client_gone);
  RETURN_GRPC_IF_ERROR(experiment_or.status());
  // Warm starts name stored trials: checked against the database here.
  RETURN_GRPC_IF_ERROR(ResolveInitFrom(*store_, *experiment_or));
  const NewExperiment& experiment = *experiment_or;
  if (client_gone()) {
    spdlog::info("SubmitGrid '{}': client gone before the store; nothing stored", experiment.name);
    return ToGrpcStatus(
        absl::CancelledError("SubmitGrid: the client cancelled or its deadline passed"));
  }
  auto result = store_->SubmitExperiment(experiment, request->rerun(), clock_->NowMs());
  RETURN_GRPC_IF_ERROR(result.status());
  response->set_experiment_id(result->experiment_id);
  response->set_trial_count(result->trial_count);
  response->set_already_existed(result->already_existed);
  response->set_reused_trials(result->reused_trials);
  spdlog::info("experiment {} '{}': {} ({} trials, {} reused from earlier results)",
               result->experiment_id, experiment.name,
               result->already_existed ? "resubmitted, unchanged" : "submitted",
               result->trial_count, result->reused_trials);
  return grpc::Status::OK;
}

grpc::Status GridServiceImpl::GetExperiment(grpc::ServerContextBase* context,
                                            const v1::GetExperimentRequest* request,
                                            v1::Experiment* response) {
  RETURN_GRPC_IF_ERROR(auth_->Check(*context));
  RETURN_GRPC_IF_ERROR(ValidateExperimentRef("experiment_id", request->experiment_id()));
  auto experiment = store_->GetExperiment(request->experiment_id());
  RETURN_GRPC_IF_ERROR(experiment.status());
  ToProto(*experiment, response);
  return grpc::Status::OK;
}

grpc::Status GridServiceImpl::ListExperiments(grpc::ServerContextBase* context,
                                              const v1::ListExperimentsRequest* request,
                                              v1::ListExperimentsResponse* response) {
  RETURN_GRPC_IF_ERROR(auth_->Check(*context));
  int64_t page_size = request->page_size();
  if (page_size < 0 || page_size > 1000) {
    return ToGrpcStatus(absl::InvalidArgumentError(
        absl::StrCat("page_size: must be 0..1000 (got ", page_size, ")")));
  }
  if (page_size == 0) page_size = 100;
  int64_t offset = 0;
  if (!request->page_token().empty()) {
    char* end = nullptr;
    offset = std::strtoll(request->page_token().c_str(), &end, 10);
    if (*end != '\0' || offset < 0) {
      return ToGrpcStatus(absl::InvalidArgumentError("page_token: not a token from this server"));
    }
  }
  // One extra row tells whether another page exists.
  auto experiments = store_->ListExperiments(offset, page_size + 1);
  RETURN_GRPC_IF_ERROR(experiments.status());
  for (int64_t i = 0; i < static_cast<int64_t>(experiments->size()) && i < page_size; ++i) {
    ToProto((*experiments)[i], response->add_experiments());
  }
  if (static_cast<int64_t>(experiments->size()) > page_size) {
    response->set_next_page_token(std::to_string(offset + page_size));
  }
  return grpc::Status::OK;
}

grpc::Status GridServiceImpl::ListTrials(grpc::ServerContextBase* context,
                                         const v1::ListTrialsRequest* request,
                                         v1::ListTrialsResponse* response) {
  RETURN_GRPC_IF_ERROR(auth_->Check(*context));
  RETURN_GRPC_IF_ERROR(ValidateExperimentRef("experiment_id", request->experiment_id()));
  std::vector<TrialState> states;
  for (int state : request->states()) {
    if (state < v1::TRIAL_WAITING || state > v1::TRIAL_CANCELLED) {
      return ToGrpcStatus(absl::InvalidArgumentError(
          absl::StrCat("states: unknown trial state ", state)));
    }
    states.push_back(FromProto(static_cast<v1::TrialState>(state)));
  }
  auto trials = store_->ListTrials(request->experiment_id(), states);
  RETURN_GRPC_IF_ERROR(trials.status());
  for (const TrialRecord& trial : *trials) {
    auto latest = store_->LatestMetrics(trial.trial_id);
    RETURN_GRPC_IF_ERROR(latest.status());
    ToProto(trial, *latest, response->add_trials());
  }
  return grpc::Status::OK;
}

grpc::Status GridServiceImpl::GetTrial(grpc::ServerContextBase* context,
                                       const v1::GetTrialRequest* request,
                                       v1::TrialDetail* response) {
  RETURN_GRPC_IF_ERROR(auth_->Check(*context));
  RETURN_GRPC_IF_ERROR(ValidateExperimentRef("experiment_id", request->experiment_id()));
  auto trials = store_->ListTrials(request->experiment_id(), {});
  RETURN_GRPC_IF_ERROR(trials.status());
  auto trial = std::find_if(trials->begin(), trials->end(), [&](const TrialRecord& t) {
    return t.number == request->number();
  });
  if (trial == trials->end()) {
    return ToGrpcStatus(absl::NotFoundError(absl::StrCat(
        "experiment '", request->experiment_id(), "' has no trial number ", request->number(),
        " (it has ", trials->size(), ")")));
  }
  auto latest = store_->LatestMetrics(trial->trial_id);
  RETURN_GRPC_IF_ERROR(latest.status());
  ToProto(*trial, *latest, response->mutable_trial());
  auto attempts = store_->ListAttempts(trial->trial_id);
  RETURN_GRPC_IF_ERROR(attempts.status());
  for (const AttemptRecord& attempt : *attempts) {
    v1::TrialAttempt* out = response->add_attempts();
    out->set_attempt(attempt.attempt);
    out->set_worker_id(attempt.worker_id);
    out->set_started_ms(attempt.started_ms);
    out->set_environment_json(attempt.environment_json);
  }
  auto checkpoints = store_->ListCheckpoints(trial->trial_id);
  RETURN_GRPC_IF_ERROR(checkpoints.status());
  for (const CheckpointRecord& checkpoint : *checkpoints) {
    v1::CheckpointInfo* out = response->add_checkpoints();
    out->set_step(checkpoint.step);
    out->set_epoch(checkpoint.epoch);
    out->set_sha256(checkpoint.sha256);
    out->set_size_bytes(checkpoint.size_bytes);
  }
  return grpc::Status::OK;
}

grpc::Status GridServiceImpl::CancelExperiment(grpc::ServerContextBase* context,
                                               const v1::CancelExperimentRequest* request,
                                               v1::CancelExperimentResponse* response) {
  RETURN_GRPC_IF_ERROR(auth_->Check(*context));
  RETURN_GRPC_IF_ERROR(ValidateExperimentRef("experiment_id", request->experiment_id()));
  auto counts = store_->CancelExperiment(request->experiment_id(), clock_->NowMs());
  RETURN_GRPC_IF_ERROR(counts.status());
  response->set_cancelled_waiting(counts->first);
  response->set_stopping_running(counts->second);
  spdlog::info("experiment {}: cancelled ({} waiting trials cancelled, {} running told to stop)",
               request->experiment_id(), counts->first, counts->second);
  return grpc::Status::OK;
}

absl::StatusOr<std::string> GridServiceImpl::ResolveWatch(
    grpc::ServerContextBase* context, const v1::WatchExperimentRequest* request) {
  RETURN_IF_ERROR(auth_->Check(*context));
  RETURN_IF_ERROR(ValidateExperimentRef("experiment_id", request->experiment_id()));
  auto experiment = store_->GetExperiment(request->experiment_id());
  RETURN_IF_ERROR(experiment.status());
  return experiment->experiment_id;
}

}  // namespace gridrun::coordinator
