// Field checks shared by the coordinator's RPC handlers. Each returns OK or
// INVALID_ARGUMENT naming the field ("trial_id: must be a positive integer
// (got -3)"). Thread-safe (pure functions).
#pragma once

#include <cstdint>
#include <string_view>

#include "absl/status/status.h"

namespace gridrun::coordinator {

inline constexpr int64_t kMaxMetricPointsPerBatch = 10'000;
inline constexpr int64_t kMaxSampleBytes = 8 << 20;  // 8 MiB
inline constexpr int64_t kMaxSpecBytes = 1 << 20;    // 1 MiB
inline constexpr int kMaxModelFiles = 64;             // per SubmitGrid (each: modelspec::kMaxModelFileBytes)

absl::Status ValidatePositiveId(const std::string& field, int64_t value);
absl::Status ValidateNonNegative(const std::string& field, int64_t value);
absl::Status ValidateAttempt(int32_t attempt);
// 1..128 characters of [A-Za-z0-9_.:-].
absl::Status ValidateWorkerId(const std::string& worker_id);
// A metric or sample name: 1..128 characters of [A-Za-z0-9_./-].
absl::Status ValidateMetricName(const std::string& field, const std::string& name);
absl::Status ValidateFinite(const std::string& field, double value);
// Non-empty, at most 128 characters (an experiment id or name).
absl::Status ValidateExperimentRef(const std::string& field, const std::string& ref);
// The 8-byte PNG signature and at most kMaxSampleBytes.
absl::Status ValidatePng(const std::string& field, const std::string& bytes);
// 64 lowercase hex characters.
absl::Status ValidateSha256Hex(const std::string& field, const std::string& hex);

}  // namespace gridrun::coordinator
