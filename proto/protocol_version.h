// The protocol levels RegisterWorkerResponse.protocol names (proto/gridrun.proto,
// convention 8): what a coordinator says it understands, and what a worker
// checks before it uses a convention that an older coordinator would ignore
// silently. Both ends take the numbers from here. Thread-safe (constants).
#pragma once

#include <cstdint>

namespace gridrun {

// CompleteTrial carries the trial's last points and progress (convention
// 8e). Conventions 8a-8d need no level: their replies show whether the
// coordinator followed them.
inline constexpr int32_t kProtocolCompleteTakesPoints = 3;

// What this build's coordinator answers.
inline constexpr int32_t kCoordinatorProtocol = kProtocolCompleteTakesPoints;

}  // namespace gridrun
