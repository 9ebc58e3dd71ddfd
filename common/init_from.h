// Warm starts (TrialConfig::init_from): a trial's networks start from a
// stored trial's trained network instead of fresh weights -- a classifier's
// first layers into a VAE encoder (seed 001's transfer), or a finished GAN
// continued for more epochs: one mechanism.
//
//   init_from: {trial: 42}                                  every network, by name
//   init_from: {trial: 42, network: generator}              one network whole
//   init_from: {trial: 7, network: classifier, into: encoder, layers: 1}
//
// The protocol:
//   1. The spec parser (coordinator/grid_spec.cpp) checks the keys and types
//      and stores the canonical JSON of {trial, network, into, layers} in
//      every trial's config.
//   2. At submit, the coordinator (coordinator/init_from_resolve.h) checks
//      the source against its database -- the trial exists, is COMPLETE,
//      keeps its final checkpoint, has the network, and the target model
//      has `into` -- and adds the source's identity: the sha256 of that
//      checkpoint and of the source's config. Both are part of the trial's
//      config and so of its config hash: a trial warm-started from another
//      checkpoint is another trial. Configs without init_from leave the key
//      out of their JSON, so their hashes are unchanged.
//   3. The worker (rank 0) fetches exactly that checkpoint
//      (FetchCheckpointRequest.source_trial_id; the coordinator serves only
//      the one the leased trial's init_from names), every rank gets the
//      bytes, and models/trained_networks.h ApplyWarmStart copies the
//      weights into the freshly built model before training starts (not
//      when the trial resumes its own checkpoint). Optimizer state starts
//      fresh.
//
// Thread-safety: plain values and pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace gridrun {

struct InitFrom {
  int64_t trial = 0;        // the source trial's id (>= 1)
  std::string network;      // "" : every network of the model, by name
  std::string into;         // "" : the same network name
  int64_t layers = 0;       // the first N layers with weights; 0: all
  // Filled in at submit (step 2).
  std::string checkpoint_sha256;
  std::string source_config_sha256;

  bool operator==(const InitFrom&) const = default;
};

// The network names init_from accepts, as model files call them:
// generator, critic, encoder, decoder, classifier.
const std::vector<std::string>& InitFromNetworkNames();

// Canonical JSON (sorted keys; empty strings and 0 layers left out).
std::string InitFromToJson(const InitFrom& init_from);
// INVALID_ARGUMENT naming the key for text InitFromToJson would not write.
absl::StatusOr<InitFrom> InitFromFromJson(const std::string& json);

}  // namespace gridrun
