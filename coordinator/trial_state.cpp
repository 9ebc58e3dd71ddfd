#include "coordinator/trial_state.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "coordinator/trial_store.h"

namespace gridrun::coordinator {
namespace {

struct TransitionRule {
  TrialState from;
  TrialEvent event;
  TrialState to;
};

// Every legal transition. Anything not listed is illegal.
constexpr TransitionRule kTransitions[] = {
    {TrialState::kWaiting, TrialEvent::kLease, TrialState::kRunning},
    {TrialState::kWaiting, TrialEvent::kCancel, TrialState::kCancelled},
    {TrialState::kWaiting, TrialEvent::kReuse, TrialState::kComplete},
    {TrialState::kRunning, TrialEvent::kHeartbeat, TrialState::kRunning},
    {TrialState::kRunning, TrialEvent::kComplete, TrialState::kComplete},
    {TrialState::kRunning, TrialEvent::kFailRetryable, TrialState::kWaiting},
    {TrialState::kRunning, TrialEvent::kFailFinal, TrialState::kFailed},
    {TrialState::kRunning, TrialEvent::kLeaseExpired, TrialState::kWaiting},
    {TrialState::kRunning, TrialEvent::kLeaseExpiredFinal, TrialState::kFailed},
    // Cancel only flags a running trial (cancel_requested); the worker learns
    // of it on its next heartbeat and the attempt ends with kFinishCancelled.
    {TrialState::kRunning, TrialEvent::kCancel, TrialState::kRunning},
    {TrialState::kRunning, TrialEvent::kFinishCancelled, TrialState::kCancelled},
    // Early stopping (see the header).
    {TrialState::kRunning, TrialEvent::kRungContinue, TrialState::kWaiting},
    {TrialState::kRunning, TrialEvent::kRungPause, TrialState::kPaused},
    {TrialState::kPaused, TrialEvent::kPromote, TrialState::kWaiting},
    {TrialState::kPaused, TrialEvent::kFinishPaused, TrialState::kStopped},
    {TrialState::kPaused, TrialEvent::kCancel, TrialState::kCancelled},
    {TrialState::kRunning, TrialEvent::kFinishStopped, TrialState::kStopped},
};

}  // namespace

const char* TrialStateName(TrialState state) {
  switch (state) {
    case TrialState::kWaiting:
      return "WAITING";
    case TrialState::kRunning:
      return "RUNNING";
    case TrialState::kComplete:
      return "COMPLETE";
    case TrialState::kFailed:
      return "FAILED";
    case TrialState::kCancelled:
      return "CANCELLED";
    case TrialState::kPaused:
      return "PAUSED";
    case TrialState::kStopped:
      return "STOPPED";
  }
  return "UNKNOWN";
}

std::optional<TrialState> ParseTrialState(std::string_view name) {
  for (TrialState state : kAllTrialStates) {
    if (name == TrialStateName(state)) return state;
  }
  return std::nullopt;
}

bool IsTerminal(TrialState state) {
  return state == TrialState::kComplete || state == TrialState::kFailed ||
         state == TrialState::kCancelled || state == TrialState::kStopped;
}

const char* TrialEventName(TrialEvent event) {
  switch (event) {
    case TrialEvent::kLease:
      return "lease";
    case TrialEvent::kHeartbeat:
      return "heartbeat";
    case TrialEvent::kComplete:
      return "complete";
    case TrialEvent::kFailRetryable:
      return "fail_retryable";
    case TrialEvent::kFailFinal:
      return "fail_final";
    case TrialEvent::kLeaseExpired:
      return "lease_expired";
    case TrialEvent::kLeaseExpiredFinal:
      return "lease_expired_final";
    case TrialEvent::kCancel:
      return "cancel";
    case TrialEvent::kReuse:
      return "reuse";
    case TrialEvent::kFinishCancelled:
      return "finish_cancelled";
    case TrialEvent::kRungContinue:
      return "rung_continue";
    case TrialEvent::kRungPause:
      return "rung_pause";
    case TrialEvent::kPromote:
      return "promote";
    case TrialEvent::kFinishPaused:
      return "finish_paused";
    case TrialEvent::kFinishStopped:
      return "finish_stopped";
  }
  return "unknown";
}

absl::StatusOr<TrialState> Transition(TrialState from, TrialEvent event) {
  for (const TransitionRule& rule : kTransitions) {
    if (rule.from == from && rule.event == event) return rule.to;
  }
  return absl::FailedPreconditionError(absl::StrCat("illegal transition: ", TrialStateName(from),
                                                    " --", TrialEventName(event), "--> ?"));
}

// Declared in coordinator/trial_store.h; defined here beside the trial state
// names so every state spelling lives in one file.
const char* ExperimentStatusName(ExperimentStatus status) {
  switch (status) {
    case ExperimentStatus::kActive:
      return "ACTIVE";
    case ExperimentStatus::kDone:
      return "DONE";
    case ExperimentStatus::kCancelled:
      return "CANCELLED";
  }
  return "UNKNOWN";
}

}  // namespace gridrun::coordinator
