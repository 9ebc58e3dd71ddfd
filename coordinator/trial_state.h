// The trial state machine: the states a trial can be in, the events that move
// it, and the one table of legal transitions.
//
//   WAITING --lease--> RUNNING --complete--> COMPLETE
//                        |  ^ heartbeat, cancel (sets cancel_requested)
//                        |--fail_retryable, lease_expired--> WAITING
//                        |--fail_final, lease_expired_final--> FAILED
//                        '--finish_cancelled--> CANCELLED
//   WAITING --cancel--> CANCELLED
//   WAITING --reuse--> COMPLETE   (a new trial whose config already completed)
//
// Cancelling a RUNNING trial cannot stop its worker at once: the trial stays
// RUNNING with cancel_requested set (the next heartbeat tells the worker to
// stop). When that attempt ends -- complete, fail or lease expiry alike -- the
// store raises kFinishCancelled instead of the ordinary event, and the trial
// becomes CANCELLED.
//
// Transition() is the single source of truth: every state change the store
// makes is the result of calling it, so a transition missing from the table
// can never happen.
//
// Thread-safety: pure functions over constant data; safe from any thread.
#pragma once

#include <array>
#include <optional>
#include <string_view>

#include "absl/status/statusor.h"

namespace gridrun::coordinator {

enum class TrialState { kWaiting, kRunning, kComplete, kFailed, kCancelled };

inline constexpr std::array<TrialState, 5> kAllTrialStates = {
    TrialState::kWaiting, TrialState::kRunning,   TrialState::kComplete,
    TrialState::kFailed,  TrialState::kCancelled,
};

// "WAITING", "RUNNING", "COMPLETE", "FAILED", "CANCELLED": the spelling stored
// in trials.state and shown to users.
const char* TrialStateName(TrialState state);

// Inverse of TrialStateName (exact, upper case). std::nullopt for anything
// else.
std::optional<TrialState> ParseTrialState(std::string_view name);

// COMPLETE, FAILED and CANCELLED: no event leaves them.
bool IsTerminal(TrialState state);

enum class TrialEvent {
  kLease,              // a worker claimed the trial
  kHeartbeat,          // the lease holder renewed its lease
  kComplete,           // the lease holder finished training
  kFailRetryable,      // the attempt failed and attempts remain
  kFailFinal,          // the attempt failed for good (or no attempts remain)
  kLeaseExpired,       // the holder stopped heartbeating; attempts remain
  kLeaseExpiredFinal,  // the holder stopped heartbeating on the last attempt
  kCancel,             // the user cancelled the experiment
  kReuse,              // a completed trial with the same config was found
  kFinishCancelled,    // the attempt of a cancel-requested trial ended
};

inline constexpr std::array<TrialEvent, 10> kAllTrialEvents = {
    TrialEvent::kLease,
    TrialEvent::kHeartbeat,
    TrialEvent::kComplete,
    TrialEvent::kFailRetryable,
    TrialEvent::kFailFinal,
    TrialEvent::kLeaseExpired,
    TrialEvent::kLeaseExpiredFinal,
    TrialEvent::kCancel,
    TrialEvent::kReuse,
    TrialEvent::kFinishCancelled,
};

// "lease", "heartbeat", "complete", "fail_retryable", "fail_final",
// "lease_expired", "lease_expired_final", "cancel", "reuse",
// "finish_cancelled".
const char* TrialEventName(TrialEvent event);

// The state `event` moves a trial in state `from` to. FAILED_PRECONDITION
// ("illegal transition: COMPLETE --lease--> ?") when the table has no such
// transition.
absl::StatusOr<TrialState> Transition(TrialState from, TrialEvent event);

}  // namespace gridrun::coordinator
