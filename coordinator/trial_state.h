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
// Early stopping (search/, coordinator/sqlite_store_search.cpp):
//   RUNNING --rung_continue--> WAITING  reached an ASHA rung and promoted at once
//   RUNNING --rung_pause--> PAUSED      reached a rung outside the top 1/rf
//   PAUSED --promote--> WAITING         a later arrival made it promotable;
//                                       it resumes from its checkpoint
//   PAUSED --finish_paused--> STOPPED   nothing else of its experiment can run
//   PAUSED --cancel--> CANCELLED
//   RUNNING --finish_stopped--> STOPPED the attempt of a stop-requested trial
//                                       (a stop rule or the median rule) ended
// A stop works like a cancel: the trial stays RUNNING with stop_requested
// set, its worker learns of it on its next heartbeat or metrics report, and
// whichever way the attempt ends the store raises kFinishStopped. PAUSED and
// STOPPED trials keep their metrics, samples and checkpoints.
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

enum class TrialState {
  kWaiting,
  kRunning,
  kComplete,
  kFailed,
  kCancelled,
  kPaused,   // stopped at an ASHA rung; may be promoted later
  kStopped,  // stopped early for good (rung, stop rule, median rule)
};

inline constexpr std::array<TrialState, 7> kAllTrialStates = {
    TrialState::kWaiting,   TrialState::kRunning, TrialState::kComplete, TrialState::kFailed,
    TrialState::kCancelled, TrialState::kPaused,  TrialState::kStopped,
};

// "WAITING", "RUNNING", "COMPLETE", "FAILED", "CANCELLED", "PAUSED",
// "STOPPED": the spelling stored in trials.state and shown to users.
const char* TrialStateName(TrialState state);

// Inverse of TrialStateName (exact, upper case). std::nullopt for anything
// else.
std::optional<TrialState> ParseTrialState(std::string_view name);

// COMPLETE, FAILED, CANCELLED and STOPPED: no event leaves them.
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
  kRungContinue,       // reached a rung and was promoted at once
  kRungPause,          // reached a rung and was not promoted
  kPromote,            // a paused trial became promotable
  kFinishPaused,       // its experiment has nothing else to run
  kFinishStopped,      // the attempt of a stop-requested trial ended
};

inline constexpr std::array<TrialEvent, 15> kAllTrialEvents = {
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
    TrialEvent::kRungContinue,
    TrialEvent::kRungPause,
    TrialEvent::kPromote,
    TrialEvent::kFinishPaused,
    TrialEvent::kFinishStopped,
};

// "lease", "heartbeat", "complete", "fail_retryable", "fail_final",
// "lease_expired", "lease_expired_final", "cancel", "reuse",
// "finish_cancelled", "rung_continue", "rung_pause", "promote",
// "finish_paused", "finish_stopped".
const char* TrialEventName(TrialEvent event);

// The state `event` moves a trial in state `from` to. FAILED_PRECONDITION
// ("illegal transition: COMPLETE --lease--> ?") when the table has no such
// transition.
absl::StatusOr<TrialState> Transition(TrialState from, TrialEvent event);

}  // namespace gridrun::coordinator
