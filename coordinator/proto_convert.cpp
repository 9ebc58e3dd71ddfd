#include "coordinator/proto_convert.h"

namespace gridrun::coordinator {

v1::TrialState ToProto(TrialState state) {
  switch (state) {
    case TrialState::kWaiting: return v1::TRIAL_WAITING;
    case TrialState::kRunning: return v1::TRIAL_RUNNING;
    case TrialState::kComplete: return v1::TRIAL_COMPLETE;
    case TrialState::kFailed: return v1::TRIAL_FAILED;
    case TrialState::kCancelled: return v1::TRIAL_CANCELLED;
    case TrialState::kPaused: return v1::TRIAL_PAUSED;
    case TrialState::kStopped: return v1::TRIAL_STOPPED;
  }
  return v1::TRIAL_STATE_UNSPECIFIED;
}

TrialState FromProto(v1::TrialState state) {
  switch (state) {
    case v1::TRIAL_RUNNING: return TrialState::kRunning;
    case v1::TRIAL_COMPLETE: return TrialState::kComplete;
    case v1::TRIAL_FAILED: return TrialState::kFailed;
    case v1::TRIAL_CANCELLED: return TrialState::kCancelled;
    case v1::TRIAL_PAUSED: return TrialState::kPaused;
    case v1::TRIAL_STOPPED: return TrialState::kStopped;
    default: return TrialState::kWaiting;
  }
}

v1::ExperimentStatus ToProto(ExperimentStatus status) {
  switch (status) {
    case ExperimentStatus::kActive: return v1::EXPERIMENT_ACTIVE;
    case ExperimentStatus::kDone: return v1::EXPERIMENT_DONE;
    case ExperimentStatus::kCancelled: return v1::EXPERIMENT_CANCELLED;
  }
  return v1::EXPERIMENT_STATUS_UNSPECIFIED;
}

void ToProto(const ExperimentRecord& record, v1::Experiment* out) {
  out->set_experiment_id(record.experiment_id);
  out->set_name(record.name);
  out->set_status(ToProto(record.status));
  out->set_spec_yaml(record.spec_yaml);
  out->set_spec_sha256(record.spec_sha256);
  out->set_created_ms(record.created_ms);
  out->set_total_trials(record.total_trials);
  out->set_trial_epochs_run(record.trial_epochs_run);
  out->set_trained_kept(record.trained_kept);
  out->set_trained_kept_bytes(record.trained_kept_bytes);
  out->set_trial_epochs_full(record.trial_epochs_full);
  for (const auto& [state, count] : record.trial_counts) {
    (*out->mutable_trial_counts())[TrialStateName(state)] = count;
  }
}

void ToProto(const TrialRecord& record, const std::map<std::string, double>& latest_metrics,
             v1::Trial* out) {
  out->set_trial_id(record.trial_id);
  out->set_experiment_id(record.experiment_id);
  out->set_number(record.number);
  out->set_state(ToProto(record.state));
  out->set_attempt(record.attempt);
  out->set_worker_id(record.worker_id);
  out->set_lease_expires_ms(record.lease_expires_ms);
  out->set_config_json(record.config_json);
  out->set_config_sha256(record.config_sha256);
  out->set_error(record.error);
  for (const auto& [name, value] : record.params) (*out->mutable_params())[name] = value;
  auto* progress = out->mutable_progress();
  progress->set_epoch(record.epoch);
  progress->set_step(record.step);
  progress->set_total_steps(record.total_steps);
  progress->set_steps_per_second(record.steps_per_second);
  for (const auto& [name, value] : latest_metrics) (*out->mutable_latest_metrics())[name] = value;
  out->set_reused_from(record.reused_from);
  out->set_created_ms(record.created_ms);
  out->set_started_ms(record.started_ms);
  out->set_finished_ms(record.finished_ms);
  out->set_rung_epoch(record.rung_epoch);
  out->set_stop_after_epoch(record.stop_after_epoch);
}

}  // namespace gridrun::coordinator
