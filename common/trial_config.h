// TrialConfig: the fully resolved settings of one trial.
//
// The coordinator produces it (grid expansion fills every default from the
// model catalog), stores it as canonical JSON in trials.config_json, and sends
// it to workers; the worker and models/ consume it. The JSON form is the
// contract: keys are sorted, every field is present, and
// ConfigSha256() hashes everything that changes what training computes
// (every field except the experiment name), so two experiments that ask for
// the same trial share a hash and the second can reuse the first's results.
// Thread-safe: plain value type.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace gridrun {

struct OptimizerConfig {
  std::string name = "adam";  // adam | rmsprop | sgd
  double lr = 2e-4;
  double beta1 = 0.5;  // adam
  double beta2 = 0.999;
  double momentum = 0.0;  // sgd, rmsprop
  double weight_decay = 0.0;

  bool operator==(const OptimizerConfig&) const = default;
};

struct SampleConfig {
  std::vector<int> epochs;  // 1-based epochs at which to store a sample grid
  int count = 64;           // images per grid (fixed noise, same z each time)

  bool operator==(const SampleConfig&) const = default;
};

struct TrialConfig {
  std::string experiment;  // experiment name (not part of the hash)
  std::string dataset;     // see DatasetCatalog()
  std::string model;       // see ModelCatalog()
  int epochs = 1;
  int batch_size = 64;  // global batch, split across ranks
  int ranks = 1;
  std::string device = "cpu";  // cpu | cuda
  int64_t seed = 0;            // the experiment's seed
  int64_t trial_seed = 0;      // derived from seed and the rest of the config
  int latent_size = 0;
  int width = 0;
  int depth = 0;
  double kl_weight = 1.0;          // VAE
  std::string recon_loss = "bce";  // VAE: bce | mse
  int critic_iters = 1;            // GAN/WGAN: critic steps per generator step
  double clip_value = 0.01;        // WGAN weight clipping
  double gp_weight = 10.0;         // WGAN-GP gradient penalty
  OptimizerConfig optimizer;
  SampleConfig samples;
  int64_t train_size = 0;  // training images used (0 = all)
  int64_t test_size = 0;   // held-out images used for evaluation (0 = all)
  int eval_samples = 1000;  // generated images scored per evaluation
  std::string init_encoder_from;  // "" or a classifier model to copy from

  bool operator==(const TrialConfig&) const = default;
};

// Canonical JSON text: sorted keys, every field, no whitespace.
std::string ToCanonicalJson(const TrialConfig& config);

// Parses JSON produced by ToCanonicalJson (missing keys keep their defaults;
// a key of the wrong type is an InvalidArgument naming the key).
absl::StatusOr<TrialConfig> TrialConfigFromJson(const std::string& json_text);

// Hex SHA-256 of the canonical JSON without "experiment".
std::string ConfigSha256(const TrialConfig& config);

}  // namespace gridrun
