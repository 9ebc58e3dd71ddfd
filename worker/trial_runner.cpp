#include "worker/trial_runner.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <mutex>
#include <optional>
#include <tuple>

#include "common/model_catalog.h"
#include "common/status_macros.h"
#include "models/checkpoint_state.h"
#include "models/dataset.h"
#include "models/eval_classifier_cache.h"
#include "models/image_grid.h"
#include "models/model_factory.h"
#include "models/quality_metrics.h"
#include "models/trainer.h"
#include "models/trained_networks.h"
#include "search/search_types.h"
#include "worker/fused_gradient_sync.h"

namespace gridrun::worker {
namespace {

using models::Batch;
using models::Dataset;
using Clock = std::chrono::steady_clock;

// Flags in the per-step control all-reduce, ahead of the loss terms.
enum ControlSlot { kStop = 0, kPreempt = 1, kError = 2, kNumControl = 3 };

// Data sets decoded once per process: a worker runs many trials on the same
// data, and decoding MNIST takes ~0.5 s, CIFAR-10 more.
absl::StatusOr<const Dataset*> CachedDataset(const std::string& name, const std::string& dir,
                                             models::Split split, int64_t limit) {
  static std::mutex mutex;
  static std::map<std::tuple<std::string, std::string, int, int64_t>, Dataset> cache;
  std::lock_guard<std::mutex> lock(mutex);
  auto key = std::make_tuple(name, dir, static_cast<int>(split), limit);
  auto it = cache.find(key);
  if (it != cache.end()) return &it->second;
  ASSIGN_OR_RETURN(Dataset loaded, models::LoadDataset(name, dir, split, limit));
  return &(cache[key] = std::move(loaded));
}

// Every parameter and buffer of the bundle, in a fixed order.
std::vector<torch::Tensor> ModuleState(const models::ModelBundle& bundle, bool buffers_only) {
  std::vector<torch::Tensor> tensors;
  for (const auto& [role, module] : bundle.Modules()) {
    if (!buffers_only) {
      for (const auto& p : module->parameters()) tensors.push_back(p);
    }
    for (const auto& b : module->buffers()) tensors.push_back(b);
  }
  return tensors;
}

class Runner {
 public:
  Runner(const TrialConfig& config, Communicator& comm, TrialSink* sink,
         const TrialRunOptions& options)
      : config_(config),
        comm_(comm),
        tensor_comm_(options.tensor_comm != nullptr ? *options.tensor_comm : comm),
        sink_(comm.rank() == 0 ? sink : nullptr),
        options_(options),
        sync_(&tensor_comm_) {}

  TrialOutcome Run(const std::string& checkpoint);

 private:
  absl::Status Setup(const std::string& checkpoint);
  // One all-reduce of the control flags and loss terms. Returns the summed
  // control flags; `losses` become the averages over ranks.
  absl::StatusOr<std::array<double, kNumControl>> AllReduceFlagsAndLosses(bool error,
                                                                          models::Metrics& losses);
  // Rank 0: evaluation, quality, samples. Other ranks: nothing.
  absl::Status EndOfEpoch(int64_t epoch);
  // Rank 0: generates config_.samples.count images from the fixed noise and
  // sends them as one PNG grid named `name`.
  absl::Status SendSampleGrid(const std::string& name, int64_t step, int64_t epoch);
  absl::Status SaveCheckpoint(int64_t epoch, int64_t batch_position);
  TrialOutcome Fail(const std::string& error, bool retryable);

  TrialConfig config_;
  Communicator& comm_;         // control flags (CPU)
  Communicator& tensor_comm_;  // model tensors (CPU: MPI; CUDA: NCCL)
  TrialSink* sink_;
  TrialRunOptions options_;
  FusedGradientSync sync_;

  const Dataset* train_ = nullptr;
  const Dataset* test_ = nullptr;
  std::unique_ptr<models::Trainer> trainer_;
  models::Range range_ = models::Range::kZeroOne;
  int64_t start_epoch_ = 1;
  int64_t start_batch_ = 0;
  std::map<std::string, double> last_eval_;
  std::optional<double> best_value_;  // keep_best: the best of this attempt
  torch::Tensor control_;  // [kNumControl + losses], reused every step
};

absl::Status Runner::Setup(const std::string& checkpoint) {
  const DatasetInfo* info = FindDataset(config_.dataset);
  if (info == nullptr) return absl::InvalidArgumentError("unknown data set " + config_.dataset);
  ASSIGN_OR_RETURN(train_, CachedDataset(config_.dataset, options_.data_dir, models::Split::kTrain,
                                         config_.train_size));
  ASSIGN_OR_RETURN(test_, CachedDataset(config_.dataset, options_.data_dir, models::Split::kTest,
                                        config_.test_size));
  if (train_->size() < config_.batch_size) {
    return absl::InvalidArgumentError(
        "batch_size " + std::to_string(config_.batch_size) + " is larger than the " +
        std::to_string(train_->size()) + " training images");
  }

  ASSIGN_OR_RETURN(models::ModelBundle bundle,
                   models::BuildModel(config_, *info,
                                      options_.torchscript != nullptr ? *options_.torchscript
                                                                      : models::TorchScriptFiles{}));
  if (!config_.init_encoder_from.empty()) {
    // The transfer source: the named classifier, trained here for one pass
    // over the same training data from the same seed (deterministic).
    TrialConfig source_config = config_;
    source_config.model = config_.init_encoder_from;
    source_config.latent_size = 0;
    source_config.width = 0;
    source_config.depth = 0;
    ASSIGN_OR_RETURN(models::ModelBundle source, models::BuildModel(source_config, *info));
    models::LocalGradientSync local;
    ASSIGN_OR_RETURN(auto classifier_trainer, models::MakeTrainer(source, source_config, {}));
    ASSIGN_OR_RETURN(const torch::Tensor shard,
                     models::ShardIndices(train_->size(), config_.batch_size, 0, 1,
                                          static_cast<uint64_t>(config_.trial_seed), 1));
    models::BatchIterator it(*train_, shard, models::Range::kZeroOne);
    Batch batch;
    while (it.Next(&batch.images, &batch.labels)) {
      RETURN_IF_ERROR(classifier_trainer->Step(batch).status());
    }
    RETURN_IF_ERROR(models::InitEncoderFrom(source, bundle));
  }
  if (!config_.init_from.empty() && checkpoint.empty()) {
    // A warm start (common/init_from.h); a resumed trial has its own weights.
    RETURN_IF_ERROR(models::ApplyInitFrom(config_.init_from, options_.init_checkpoint, bundle));
  }

  models::TrainerOptions trainer_options;
  trainer_options.rank = comm_.rank();
  trainer_options.world_size = comm_.size();
  trainer_options.gradient_sync = &sync_;
  trainer_options.device = options_.device == "cuda"
                               ? torch::Device(torch::kCUDA, options_.device_index)
                               : torch::Device(torch::kCPU);
  range_ = models::DataRange(bundle.objective);
  ASSIGN_OR_RETURN(trainer_, models::MakeTrainer(std::move(bundle), config_, trainer_options));
  RETURN_IF_ERROR(BroadcastModuleState(tensor_comm_, ModuleState(trainer_->bundle(), false)));
  if (!checkpoint.empty()) {
    ASSIGN_OR_RETURN(const models::CheckpointMeta meta,
                     models::LoadCheckpointState(checkpoint, *trainer_));
    start_epoch_ = std::max<int64_t>(1, meta.epoch);
    auto it = meta.data_position.find("batch");
    start_batch_ = it == meta.data_position.end() ? 0 : it->second;
    if (comm_.rank() == 0) {
      spdlog::info("trial resumes at epoch {} batch {} (step {})", start_epoch_, start_batch_,
                   trainer_->step());
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::array<double, kNumControl>> Runner::AllReduceFlagsAndLosses(
    bool error, models::Metrics& losses) {
  const int64_t n = kNumControl + static_cast<int64_t>(losses.size());
  if (!control_.defined() || control_.numel() != n) control_ = torch::zeros({n}, torch::kFloat64);
  auto* data = control_.data_ptr<double>();
  data[kStop] = (sink_ != nullptr && sink_->ShouldStop()) ? 1 : 0;
  data[kPreempt] = (options_.preempt != nullptr && options_.preempt->load()) ? 1 : 0;
  data[kError] = error ? 1 : 0;
  int64_t i = kNumControl;
  for (const auto& [name, value] : losses) data[i++] = value;
  RETURN_IF_ERROR(comm_.AllReduceSum(control_));
  i = kNumControl;
  for (auto& [name, value] : losses) value = data[i++] / comm_.size();
  return std::array<double, kNumControl>{data[kStop], data[kPreempt], data[kError]};
}

absl::Status Runner::EndOfEpoch(int64_t epoch) {
  // BatchNorm statistics: everyone takes rank 0's (evaluation and checkpoint
  // must not depend on which rank's statistics they see).
  RETURN_IF_ERROR(BroadcastModuleState(tensor_comm_, ModuleState(trainer_->bundle(), true)));
  if (comm_.rank() != 0) return absl::OkStatus();
  const int64_t step = trainer_->step();
  Batch held_out;
  held_out.images = models::Normalize(test_->images, range_);
  held_out.labels = test_->labels;
  ASSIGN_OR_RETURN(last_eval_, trainer_->Evaluate(held_out));
  for (const auto& [name, value] : last_eval_) sink_->Metric(name, step, epoch, value);

  const auto objective = trainer_->bundle().objective;
  const bool generative = objective != Objective::kClassifier;
  if (generative && config_.eval_samples > 1) {
    ASSIGN_OR_RETURN(models::QualityScorer* scorer,
                     models::CachedQualityScorer(config_.dataset, options_.data_dir, *test_));
    ASSIGN_OR_RETURN(const torch::Tensor generated,
                     trainer_->Generate(trainer_->FixedNoise(config_.eval_samples)));
    ASSIGN_OR_RETURN(
        const models::QualityMetrics quality,
        models::ComputeQualityMetrics(scorer->classifier, scorer->real, generated, range_));
    const std::map<std::string, double> q = {{"fid", quality.fid},
                                             {"mode_coverage", quality.mode_coverage},
                                             {"class_kl", quality.class_kl}};
    for (const auto& [name, value] : q) {
      sink_->Metric(name, step, epoch, value);
      last_eval_[name] = value;
    }
  }
  const auto& wanted = config_.samples.epochs;
  if (generative && std::find(wanted.begin(), wanted.end(), epoch) != wanted.end()) {
    RETURN_IF_ERROR(SendSampleGrid("samples", step, epoch));
  }
  if (generative && !options_.keep_best_metric.empty()) {
    auto it = last_eval_.find(options_.keep_best_metric);
    const search::Mode mode = options_.keep_best_maximize ? search::Mode::kMax : search::Mode::kMin;
    if (it != last_eval_.end() &&
        (!best_value_ || search::Better(mode, it->second, *best_value_))) {
      best_value_ = it->second;
      RETURN_IF_ERROR(SendSampleGrid(search::kBestSampleName, step, epoch));
    }
  }
  return absl::OkStatus();
}

absl::Status Runner::SendSampleGrid(const std::string& name, int64_t step, int64_t epoch) {
  const int count = config_.samples.count;
  ASSIGN_OR_RETURN(const torch::Tensor images, trainer_->Generate(trainer_->FixedNoise(count)));
  // Conditional models: one row per class (labels cycle 0..9).
  auto [rows, cols] = trainer_->bundle().conditional
                          ? std::pair<int, int>((count + 9) / 10, std::min(count, 10))
                          : models::SquareGridShape(count);
  const std::string png = models::EncodePngGrid(images, rows, cols, range_);
  // Not fatal: a lost lease reaches every rank through the stop flag of
  // the next step's all-reduce; a sample the coordinator refused is logged.
  if (auto s = sink_->Sample(name, step, epoch, png, rows, cols); !s.ok()) {
    spdlog::warn("sample '{}' at epoch {} not stored: {}", name, epoch, s.ToString());
  }
  return absl::OkStatus();
}

absl::Status Runner::SaveCheckpoint(int64_t epoch, int64_t batch_position) {
  if (comm_.rank() != 0) return absl::OkStatus();
  models::CheckpointMeta meta;
  meta.epoch = epoch;
  meta.data_position["batch"] = batch_position;
  ASSIGN_OR_RETURN(const std::string bytes, models::SaveCheckpointState(*trainer_, meta));
  return sink_->Checkpoint(trainer_->step(), epoch, bytes);
}

TrialOutcome Runner::Fail(const std::string& error, bool retryable) {
  TrialOutcome outcome;
  outcome.kind = TrialOutcome::Kind::kFailed;
  outcome.error = error;
  outcome.retryable = retryable;
  outcome.steps = trainer_ ? trainer_->step() : 0;
  return outcome;
}

TrialOutcome Runner::Run(const std::string& checkpoint) {
  // Set-up errors (missing data, bad model) are the same on every rank and
  // are not worth retrying; every rank returns, nobody waits in a collective.
  if (auto s = Setup(checkpoint); !s.ok()) return Fail(s.ToString(), false);

  const int batches_per_step = trainer_->BatchesPerStep();
  const int64_t batches_per_epoch = train_->size() / config_.batch_size;
  const int64_t steps_per_epoch = batches_per_epoch / batches_per_step;
  if (steps_per_epoch == 0) {
    return Fail("the training set has too few images for one step of " +
                    std::to_string(batches_per_step) + " batches of " +
                    std::to_string(config_.batch_size),
                false);
  }
  const int64_t total_steps = steps_per_epoch * config_.epochs;
  std::vector<Batch> batches(batches_per_step);
  auto window_start = Clock::now();
  int64_t window_steps = 0;
  double steps_per_second = 0;

  // A lease bounded to a rung ends there (a rung is always below epochs).
  const bool bounded = options_.stop_after_epoch > 0 && options_.stop_after_epoch < config_.epochs;
  const int64_t last_epoch = bounded ? options_.stop_after_epoch : config_.epochs;
  for (int64_t epoch = start_epoch_; epoch <= last_epoch; ++epoch) {
    auto shard = models::ShardIndices(train_->size(), config_.batch_size, comm_.rank(),
                                      comm_.size(), static_cast<uint64_t>(config_.trial_seed),
                                      epoch);
    if (!shard.ok()) return Fail(shard.status().ToString(), false);
    // Whole steps only: every rank stops at the same batch.
    const int64_t usable = steps_per_epoch * batches_per_step;
    int64_t position = epoch == start_epoch_ ? start_batch_ : 0;
    models::BatchIterator it(*train_, shard->slice(0, position, usable), range_,
                             trainer_->device());
    while (position < usable) {
      for (int b = 0; b < batches_per_step; ++b) {
        it.Next(&batches[b].images, &batches[b].labels);
        // The iterator reuses its buffers: keep a copy when a step needs
        // several batches at once.
        if (batches_per_step > 1) {
          batches[b].images = batches[b].images.clone();
          batches[b].labels = batches[b].labels.defined() ? batches[b].labels.clone()
                                                          : batches[b].labels;
        }
      }
      auto losses = trainer_->Step(batches);
      const bool failed = !losses.ok() || !sync_.status().ok();
      models::Metrics reported = losses.ok() ? *losses : models::Metrics{};
      auto reduced = AllReduceFlagsAndLosses(failed, reported);
      if (!reduced.ok()) return Fail("collective failed: " + reduced.status().ToString(), true);
      const auto flags = *reduced;
      if (flags[kError] > 0) {
        if (!losses.ok()) return Fail(std::string(losses.status().message()), false);
        if (!sync_.status().ok()) return Fail(sync_.status().ToString(), true);
        return Fail("another rank's training step failed (see its log)", false);
      }
      position += batches_per_step;
      ++window_steps;
      const int64_t step = trainer_->step();
      if (sink_ != nullptr) {
        if (step % options_.metrics_every_steps == 0) {
          for (const auto& [name, value] : reported) sink_->Metric(name, step, epoch, value);
        }
        const double elapsed = std::chrono::duration<double>(Clock::now() - window_start).count();
        if (elapsed >= 1.0) {
          steps_per_second = window_steps / elapsed;
          window_start = Clock::now();
          window_steps = 0;
        }
        sink_->Progress(epoch, step, total_steps, steps_per_second);
      }
      if (flags[kStop] > 0) {
        TrialOutcome outcome;
        outcome.kind = TrialOutcome::Kind::kStopped;
        outcome.steps = step;
        return outcome;
      }
      if (flags[kPreempt] > 0) {
        if (auto s = BroadcastModuleState(tensor_comm_, ModuleState(trainer_->bundle(), true));
            !s.ok()) {
          return Fail(s.ToString(), true);
        }
        if (auto s = SaveCheckpoint(epoch, position); !s.ok()) {
          spdlog::error("checkpoint on preemption failed: {}", s.ToString());
        }
        TrialOutcome outcome;
        outcome.kind = TrialOutcome::Kind::kPreempted;
        outcome.steps = step;
        return outcome;
      }
    }
    // Only rank 0 evaluates and reports: every rank must learn that it
    // failed, or the others would wait in the next collective forever.
    const absl::Status ended = EndOfEpoch(epoch);
    models::Metrics no_losses;
    auto ended_everywhere = AllReduceFlagsAndLosses(!ended.ok(), no_losses);
    if (!ended_everywhere.ok()) {
      return Fail("collective failed: " + ended_everywhere.status().ToString(), true);
    }
    if ((*ended_everywhere)[kError] > 0) {
      return Fail(ended.ok() ? "end of epoch failed on rank 0 (see its log)" : ended.ToString(),
                  false);
    }
    // The checkpoint marks the start of the next epoch.
    if (auto s = SaveCheckpoint(epoch + 1, 0); !s.ok()) {
      // Lease lost or coordinator gone: the sink's stop flag decides next step.
      spdlog::warn("checkpoint after epoch {} failed: {}", epoch, s.ToString());
    }
  }
  TrialOutcome outcome;
  outcome.kind = bounded ? TrialOutcome::Kind::kReachedRung : TrialOutcome::Kind::kCompleted;
  outcome.rung_epoch = bounded ? last_epoch : 0;
  outcome.final_metrics = last_eval_;
  outcome.steps = trainer_->step();
  return outcome;
}

}  // namespace

TrialOutcome RunTrial(const TrialConfig& config, const std::string& checkpoint,
                      Communicator& comm, TrialSink* sink, const TrialRunOptions& options) {
  try {
    Runner runner(config, comm, sink, options);
    return runner.Run(checkpoint);
  } catch (const std::exception& e) {
    // Torch errors the modules did not turn into Status (e.g. out of memory).
    TrialOutcome outcome;
    outcome.kind = TrialOutcome::Kind::kFailed;
    outcome.error = std::string("exception: ") + e.what();
    outcome.retryable = true;
    return outcome;
  }
}

}  // namespace gridrun::worker
