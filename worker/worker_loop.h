// The worker job's main loop, on every rank.
//
//   1. Rank 0 registers with the coordinator (ranks = the job's size).
//   2. Rank 0 leases a trial (backing off by the coordinator's retry hint
//      while there is none) and fetches its checkpoint if it has one. It
//      broadcasts the lease as the coordinator sent it (the serialized
//      LeaseTrialResponse, read on every rank by DecodeLeaseReply), then the
//      checkpoint bytes (empty: start fresh). To end the job it broadcasts a
//      LeaseTrialResponse without a lease instead: after --max-trials
//      trials, --exit-when-idle seconds without work, a SIGTERM, or a failed
//      registration.
//   3. Every rank runs the trial (worker/trial_runner.h); decisions taken
//      during it (stop, preempt, error) travel in its per-step all-reduce.
//   4. Rank 0 reports the outcome: CompleteTrial; FailTrial (retryable or
//      not; a cancelled trial is failed and becomes CANCELLED); nothing if the
//      lease was lost; after SIGTERM a hand-back (FailTrial with preempted,
//      which uses up no attempt), whose checkpoint lets the next worker
//      resume. The queued metrics and the last progress go first; a
//      completion that also leases the next trial (proto convention 8b)
//      carries them itself when the coordinator takes them (8e), else they
//      are sent just before it. Then back to 2 (with 8b's lease in hand,
//      straight to broadcasting it).
// Thread-safety: called once, from main, on every rank.
#pragma once

#include <atomic>
#include <string>

#include "proto/client_channel.h"
#include "worker/communicator.h"

namespace gridrun::worker {

struct WorkerOptions {
  ClientOptions coordinator;
  std::string data_dir;
  std::string device = "cpu";
  int device_index = 0;  // this rank's CUDA device (NcclCommunicator picks it)
  int threads = 1;
  int64_t max_trials = 0;        // 0: no limit
  double exit_when_idle_s = -1;  // < 0: never
  int64_t metrics_every_steps = 1;
};

// Returns the process exit code (0 on a clean exit, including SIGTERM).
// `preempt` is set by the SIGTERM handler.
int RunWorker(const WorkerOptions& options, Communicator& comm, Communicator* tensor_comm,
              const std::atomic<bool>& preempt);

}  // namespace gridrun::worker
