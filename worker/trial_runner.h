// Runs one trial on every rank of a worker job: the data-parallel training
// loop between "the trial's config has been broadcast" and "the trial is
// over". Leasing and talking to the coordinator stay outside (rank 0 passes a
// TrialSink), so this file needs no gRPC.
//
// Per trial, on every rank:
//   1. Load the data set (decoded once per process and reused by later
//      trials), build the model from trial_seed, then make every parameter
//      and buffer equal to rank 0's (broadcast).
//   2. Resume: if checkpoint bytes were given, load them (model, optimizers,
//      step counter, epoch and position in the epoch).
//   3. Each epoch: the same permutation on every rank (trial_seed, epoch),
//      each global batch split into disjoint rank shards; a step is
//      BatchesPerStep() batches. After each step one small all-reduce carries
//      the loss terms (averaged for reporting) and three flags: stop (rank 0's
//      sink says cancel / lease lost), preempt (any rank got SIGTERM), error
//      (any rank's step failed). So every rank leaves the loop at the same
//      step boundary.
//   4. End of epoch: BatchNorm statistics from rank 0 to all; rank 0 scores
//      the held-out data and sample quality (the evaluation classifier of
//      models/eval_classifier_cache.h), stores the sample grid if the spec
//      asks for this epoch, and saves a checkpoint.
//   5. On preemption: a checkpoint of the current position, then return.
// Thread-safety: one call at a time per process (it owns the training thread).
#pragma once

#include <atomic>
#include <map>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "common/trial_config.h"
#include "worker/communicator.h"
#include "worker/trial_sink.h"

namespace gridrun::worker {

struct TrialRunOptions {
  // The bytes of the TorchScript files the trial's model names, by sha256
  // (worker/torchscript_cache.h); nullptr: none.
  const std::map<std::string, std::string>* torchscript = nullptr;
  std::string data_dir;
  std::string device = "cpu";
  int device_index = 0;                   // CUDA device of this rank
  // Collectives on model tensors (gradients, parameters): NCCL for CUDA
  // trials. nullptr: the control communicator passed to RunTrial (CPU).
  Communicator* tensor_comm = nullptr;
  const std::atomic<bool>* preempt = nullptr;  // set by the SIGTERM handler
  int64_t metrics_every_steps = 1;        // training losses every N steps
  // > 0: the lease is bounded to an ASHA rung (proto/gridrun.proto,
  // convention 7a): train through this epoch (evaluate, checkpoint the start
  // of the next), then return kReachedRung. A checkpoint that already starts
  // after it returns kReachedRung without training.
  int64_t stop_after_epoch = 0;
  // keep_best (convention 7d): after an epoch that improves this metric
  // over the best of this attempt, rank 0 sends a sample grid named
  // search::kBestSampleName ("": none). Larger is better when maximize.
  std::string keep_best_metric;
  bool keep_best_maximize = false;
  // The warm-start source's checkpoint bytes (TrialConfig::init_from; set by
  // the worker loop for a trial without its own checkpoint), or "error:
  // REASON" when they could not be fetched.
  std::string init_checkpoint;
};

struct TrialOutcome {
  enum class Kind {
    kCompleted,  // trained every epoch
    kStopped,    // cancelled or lease lost: report nothing more
    kPreempted,  // SIGTERM: checkpoint written, give the trial back
    kFailed,     // error (see retryable)
    kReachedRung,  // trained through stop_after_epoch: report the rung
  };
  Kind kind = Kind::kCompleted;
  std::map<std::string, double> final_metrics;  // rank 0: last evaluation
  std::string error;
  bool retryable = false;
  int64_t steps = 0;
  int64_t rung_epoch = 0;  // kReachedRung: the epoch trained through
};

// `comm` carries the per-step control all-reduce (CPU tensors) and must be
// an MPI (or local) communicator. `sink` is required on rank 0 and ignored
// elsewhere. `checkpoint` holds the resume bytes on every rank (empty: start
// fresh).
TrialOutcome RunTrial(const TrialConfig& config, const std::string& checkpoint,
                      Communicator& comm, TrialSink* sink, const TrialRunOptions& options);

}  // namespace gridrun::worker
