#include "coordinator/trial_state.h"

#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "coordinator/trial_store.h"

namespace gridrun::coordinator {
namespace {
namespace trial_state_test {

using S = TrialState;
using E = TrialEvent;

// The expected result of every legal (state, event) pair, written out
// independently of the table in trial_state.cpp. Pairs not listed must be
// illegal.
const std::map<std::pair<S, E>, S>& ExpectedTransitions() {
  static const std::map<std::pair<S, E>, S> kExpected = {
      {{S::kWaiting, E::kLease}, S::kRunning},
      {{S::kWaiting, E::kCancel}, S::kCancelled},
      {{S::kWaiting, E::kReuse}, S::kComplete},
      {{S::kRunning, E::kHeartbeat}, S::kRunning},
      {{S::kRunning, E::kComplete}, S::kComplete},
      {{S::kRunning, E::kFailRetryable}, S::kWaiting},
      {{S::kRunning, E::kFailFinal}, S::kFailed},
      {{S::kRunning, E::kLeaseExpired}, S::kWaiting},
      {{S::kRunning, E::kLeaseExpiredFinal}, S::kFailed},
      {{S::kRunning, E::kCancel}, S::kRunning},
      {{S::kRunning, E::kFinishCancelled}, S::kCancelled},
      {{S::kRunning, E::kRungContinue}, S::kWaiting},
      {{S::kRunning, E::kRungPause}, S::kPaused},
      {{S::kPaused, E::kPromote}, S::kWaiting},
      {{S::kPaused, E::kFinishPaused}, S::kStopped},
      {{S::kPaused, E::kCancel}, S::kCancelled},
      {{S::kRunning, E::kFinishStopped}, S::kStopped},
  };
  return kExpected;
}

TEST(TrialStateTest, EveryStateEventPairMatchesTheExpectedTable) {
  int legal = 0;
  int illegal = 0;
  for (S from : kAllTrialStates) {
    for (E event : kAllTrialEvents) {
      SCOPED_TRACE(std::string(TrialStateName(from)) + " --" + TrialEventName(event) + "-->");
      absl::StatusOr<S> to = Transition(from, event);
      auto expected = ExpectedTransitions().find({from, event});
      if (expected != ExpectedTransitions().end()) {
        ASSERT_TRUE(to.ok()) << to.status();
        EXPECT_EQ(*to, expected->second) << TrialStateName(*to);
        ++legal;
      } else {
        ASSERT_FALSE(to.ok()) << "unexpectedly legal, goes to " << TrialStateName(*to);
        EXPECT_EQ(to.status().code(), absl::StatusCode::kFailedPrecondition);
        EXPECT_EQ(to.status().message(), std::string("illegal transition: ") +
                                             TrialStateName(from) + " --" + TrialEventName(event) +
                                             "--> ?");
        ++illegal;
      }
    }
  }
  EXPECT_EQ(legal, static_cast<int>(ExpectedTransitions().size()));
  EXPECT_EQ(legal + illegal, static_cast<int>(kAllTrialStates.size() * kAllTrialEvents.size()));
}

TEST(TrialStateTest, IllegalTransitionMessageNamesStateAndEvent) {
  absl::StatusOr<S> to = Transition(S::kComplete, E::kLease);
  ASSERT_FALSE(to.ok());
  EXPECT_EQ(to.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(to.status().message(), "illegal transition: COMPLETE --lease--> ?");
}

TEST(TrialStateTest, TerminalStatesHaveNoWayOut) {
  for (S from : kAllTrialStates) {
    bool has_exit = false;
    for (E event : kAllTrialEvents) {
      absl::StatusOr<S> to = Transition(from, event);
      if (to.ok() && *to != from) has_exit = true;
    }
    EXPECT_EQ(IsTerminal(from), !has_exit) << TrialStateName(from);
  }
}

TEST(TrialStateTest, EveryStateIsReachableFromWaiting) {
  std::set<S> reached = {S::kWaiting};
  bool grew = true;
  while (grew) {
    grew = false;
    for (S from : std::set<S>(reached)) {
      for (E event : kAllTrialEvents) {
        absl::StatusOr<S> to = Transition(from, event);
        if (to.ok() && reached.insert(*to).second) grew = true;
      }
    }
  }
  EXPECT_EQ(reached.size(), kAllTrialStates.size());
}

TEST(TrialStateTest, StateNamesRoundTrip) {
  const std::map<S, std::string> kNames = {{S::kWaiting, "WAITING"},
                                           {S::kRunning, "RUNNING"},
                                           {S::kComplete, "COMPLETE"},
                                           {S::kFailed, "FAILED"},
                                           {S::kCancelled, "CANCELLED"},
                                           {S::kPaused, "PAUSED"},
                                           {S::kStopped, "STOPPED"}};
  for (S state : kAllTrialStates) {
    EXPECT_EQ(TrialStateName(state), kNames.at(state));
    EXPECT_EQ(ParseTrialState(TrialStateName(state)), state);
  }
  EXPECT_EQ(ParseTrialState("waiting"), std::nullopt);
  EXPECT_EQ(ParseTrialState(""), std::nullopt);
  EXPECT_EQ(ParseTrialState("DONE"), std::nullopt);
}

TEST(TrialStateTest, EventNamesAreDistinct) {
  std::set<std::string> names;
  for (E event : kAllTrialEvents) names.insert(TrialEventName(event));
  EXPECT_EQ(names.size(), kAllTrialEvents.size());
}

TEST(TrialStateTest, ExperimentStatusNames) {
  EXPECT_STREQ(ExperimentStatusName(ExperimentStatus::kActive), "ACTIVE");
  EXPECT_STREQ(ExperimentStatusName(ExperimentStatus::kDone), "DONE");
  EXPECT_STREQ(ExperimentStatusName(ExperimentStatus::kCancelled), "CANCELLED");
}

}  // namespace trial_state_test
}  // namespace
}  // namespace gridrun::coordinator
