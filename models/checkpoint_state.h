// A trainer's complete training state as bytes, for the coordinator's
// checkpoints table (SaveCheckpoint) and for resuming a re-leased trial.
//
// The bytes are a torch::serialize archive (the format of torch::save) with:
// every module of the bundle (parameters and buffers, e.g. BatchNorm running
// statistics), every optimizer (Adam moments, step counts, ...), the
// trainer's step counter and trial_seed (its noise streams are a function of
// (trial_seed, rank, step), see models/trainer.h, so restoring the step
// restores every rank's RNG state), and the caller's epoch and data position.
// Loading into a fresh trainer built from the same TrialConfig and then
// training M steps gives the same losses and parameters as never stopping
// (exact on CPU; tests/models/resume_test.cpp).
//
// Thread-safety: use from the trainer's thread.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "models/trainer.h"

namespace gridrun::models {

// What the caller keeps besides the trainer: the epoch and where in it the
// data iterator stood (e.g. {"batch": 117}). Keys: non-empty, no '\n'.
struct CheckpointMeta {
  int64_t epoch = 0;
  std::map<std::string, int64_t> data_position;

  bool operator==(const CheckpointMeta&) const = default;
};

// Serialises `trainer` and `meta`. INVALID_ARGUMENT for a bad data_position
// key; INTERNAL on torch errors.
absl::StatusOr<std::string> SaveCheckpointState(const Trainer& trainer, const CheckpointMeta& meta);

// Restores bytes from SaveCheckpointState into `trainer` (built from the same
// config; tensors are mapped to the trainer's device) and returns the meta.
// DATA_LOSS for bytes that are not such a checkpoint; FAILED_PRECONDITION when
// it is for another model or trial_seed. On error the trainer may be partly
// loaded: discard it.
absl::StatusOr<CheckpointMeta> LoadCheckpointState(std::string_view bytes, Trainer& trainer);

}  // namespace gridrun::models
