// The TrialStore contract suite: one set of tests every TrialStore
// implementation must pass (coordinator/trial_store.h states the contracts).
//
// An implementation joins by defining a traits type
//
//   struct MyStoreTraits {
//     static constexpr const char* kName = "MyStore";
//     // Opens the store kept under `dir` (a fresh, empty directory per test).
//     static absl::StatusOr<std::unique_ptr<TrialStore>> Open(const std::filesystem::path& dir);
//   };
//
// and instantiating the suites in its own test file:
//
//   INSTANTIATE_TYPED_TEST_SUITE_P(My, TrialStoreContractTest,
//                                  ::testing::Types<MyStoreTraits>, TrialStoreTraitsNames);
//   // Only for stores that persist (opening `dir` again sees the same data,
//   // and two stores opened on `dir` at once share it):
//   INSTANTIATE_TYPED_TEST_SUITE_P(My, PersistentTrialStoreContractTest, ...);
//
// Header-only: include it from exactly one *_test.cpp per binary.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/clock.h"
#include "common/sha256.h"
#include "common/trial_config.h"
#include "coordinator/trial_state.h"
#include "coordinator/trial_store.h"
#include "search/search_settings.h"

namespace gridrun::coordinator::store_test {

// Names instantiations after Traits::kName.
struct TrialStoreTraitsNames {
  template <typename Traits>
  static std::string GetName(int /*index*/) {
    return Traits::kName;
  }
};

// One grid point of a test experiment.
struct TestPoint {
  double kl_weight = 1.0;
  int latent_size = 2;
  int ranks = 1;
  std::string device = "cpu";
};

// A fresh directory under the gtest temp dir, removed by the destructor.
class ScratchDir {
 public:
  ScratchDir() {
    static std::atomic<int> counter{0};
    const ::testing::TestInfo* info = ::testing::UnitTest::GetInstance()->current_test_info();
    std::string name = std::string("gridrun-store-") + std::to_string(getpid()) + "-" +
                       std::to_string(counter++) + "-" + (info ? info->name() : "test");
    std::replace(name.begin(), name.end(), '/', '_');
    path_ = std::filesystem::path(::testing::TempDir()) / name;
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~ScratchDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;

  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

inline NewTrial MakeTestTrial(const std::string& experiment, int64_t number,
                              const TestPoint& point) {
  TrialConfig config;
  config.experiment = experiment;
  config.dataset = "mnist";
  config.model = "vae-mlp";
  config.kl_weight = point.kl_weight;
  config.latent_size = point.latent_size;
  config.ranks = point.ranks;
  config.device = point.device;
  NewTrial trial;
  trial.number = number;
  trial.config_json = ToCanonicalJson(config);
  trial.config_sha256 = ConfigSha256(config);
  std::string kl = std::to_string(point.kl_weight);
  kl.erase(kl.find_last_not_of('0') + 1);  // "0.500000" -> "0.5", "1.000000" -> "1."
  if (!kl.empty() && kl.back() == '.') kl += '0';
  trial.params = {{"kl_weight", kl}, {"latent_size", std::to_string(point.latent_size)}};
  trial.ranks = point.ranks;
  trial.device = point.device;
  return trial;
}

inline NewExperiment MakeTestExperiment(const std::string& name,
                                        const std::vector<TestPoint>& points,
                                        const std::string& spec_yaml = "spec: 1\n") {
  NewExperiment experiment;
  experiment.name = name;
  experiment.spec_yaml = spec_yaml;
  experiment.spec_sha256 = Sha256Hex(spec_yaml);
  for (size_t i = 0; i < points.size(); ++i) {
    experiment.trials.push_back(MakeTestTrial(name, static_cast<int64_t>(i), points[i]));
  }
  return experiment;
}

inline LeaseRef LeaseOf(const TrialRecord& trial) {
  return LeaseRef{trial.trial_id, trial.worker_id, trial.attempt};
}

template <typename Traits>
class TrialStoreContractTest : public ::testing::Test {
 protected:
  static constexpr int64_t kLeaseMs = 30'000;
  static constexpr int kMaxAttempts = 3;

  void SetUp() override { store_ = OpenStore(); }
  void TearDown() override { store_.reset(); }

  // Another store on the same directory (same data when the store persists).
  std::unique_ptr<TrialStore> OpenStore() {
    absl::StatusOr<std::unique_ptr<TrialStore>> store = Traits::Open(dir_.path());
    EXPECT_TRUE(store.ok()) << store.status();
    return store.ok() ? *std::move(store) : nullptr;
  }
  void Reopen() {
    store_.reset();
    store_ = OpenStore();
  }

  TrialStore& store() { return *store_; }
  int64_t now() const { return clock_.NowMs(); }

  SubmitResult Submit(const std::string& name, const std::vector<TestPoint>& points,
                      bool rerun = false) {
    absl::StatusOr<SubmitResult> result =
        store_->SubmitExperiment(MakeTestExperiment(name, points), rerun, now());
    EXPECT_TRUE(result.ok()) << result.status();
    return result.ok() ? *result : SubmitResult{};
  }

  // Claims the next trial for `worker_id`; fails the test if there is none.
  TrialRecord Claim(const std::string& worker_id, int ranks = 1,
                    const std::string& device = "cpu") {
    absl::StatusOr<std::optional<TrialRecord>> claimed =
        store_->ClaimNextTrial(worker_id, ranks, device, now(), kLeaseMs);
    EXPECT_TRUE(claimed.ok()) << claimed.status();
    if (!claimed.ok() || !claimed->has_value()) {
      ADD_FAILURE() << "nothing to claim for " << worker_id;
      return TrialRecord{};
    }
    return **claimed;
  }

  bool NothingToClaim(const std::string& worker_id, int ranks = 1,
                      const std::string& device = "cpu") {
    absl::StatusOr<std::optional<TrialRecord>> claimed =
        store_->ClaimNextTrial(worker_id, ranks, device, now(), kLeaseMs);
    EXPECT_TRUE(claimed.ok()) << claimed.status();
    return claimed.ok() && !claimed->has_value();
  }

  TrialRecord Trial(int64_t trial_id) {
    absl::StatusOr<TrialRecord> trial = store_->GetTrial(trial_id);
    EXPECT_TRUE(trial.ok()) << trial.status();
    return trial.ok() ? *trial : TrialRecord{};
  }

  ExperimentRecord Experiment(const std::string& id_or_name) {
    absl::StatusOr<ExperimentRecord> experiment = store_->GetExperiment(id_or_name);
    EXPECT_TRUE(experiment.ok()) << experiment.status();
    return experiment.ok() ? *experiment : ExperimentRecord{};
  }

  std::vector<TrialRecord> Trials(const std::string& id_or_name,
                                  const std::vector<TrialState>& states = {}) {
    absl::StatusOr<std::vector<TrialRecord>> trials = store_->ListTrials(id_or_name, states);
    EXPECT_TRUE(trials.ok()) << trials.status();
    return trials.ok() ? *trials : std::vector<TrialRecord>{};
  }

  void Complete(const TrialRecord& trial, const std::map<std::string, double>& final = {}) {
    absl::StatusOr<TrialState> s = store_->CompleteTrial(LeaseOf(trial), final, now());
    ASSERT_TRUE(s.ok()) << s.status();
    // The returned state is the stored one (COMPLETE, or CANCELLED after a cancel).
    EXPECT_EQ(*s, Trial(trial.trial_id).state);
  }

  void WriteMetric(const TrialRecord& trial, const std::string& name, int64_t step, double value) {
    absl::StatusOr<int64_t> n =
        store_->WriteMetrics(LeaseOf(trial), {{name, step, /*epoch=*/step / 10, value, now()}});
    EXPECT_TRUE(n.ok()) << n.status();
  }

  CheckpointRecord Checkpoint(const TrialRecord& trial, int64_t step) {
    const std::string key = std::to_string(trial.trial_id) + "-" + std::to_string(step);
    CheckpointRecord checkpoint;
    checkpoint.trial_id = trial.trial_id;
    checkpoint.step = step;
    checkpoint.epoch = step / 10;
    checkpoint.sha256 = Sha256Hex(key);
    checkpoint.size_bytes = 1000 + step;
    checkpoint.path = "ckpt/" + key;
    checkpoint.created_ms = now();
    return checkpoint;
  }

  FakeClock clock_;
  ScratchDir dir_;
  std::unique_ptr<TrialStore> store_;
};

TYPED_TEST_SUITE_P(TrialStoreContractTest);

TYPED_TEST_P(TrialStoreContractTest, SubmitStoresTheExperimentAndItsTrialsInGridOrder) {
  SubmitResult submitted = this->Submit("vae-kl", {{1.0}, {0.5}, {0.25}});
  EXPECT_FALSE(submitted.already_existed);
  EXPECT_EQ(submitted.trial_count, 3);
  EXPECT_EQ(submitted.reused_trials, 0);
  EXPECT_EQ(submitted.experiment_id.rfind("exp-", 0), 0u) << submitted.experiment_id;

  for (const std::string& key : {submitted.experiment_id, std::string("vae-kl")}) {
    ExperimentRecord e = this->Experiment(key);
    EXPECT_EQ(e.experiment_id, submitted.experiment_id);
    EXPECT_EQ(e.name, "vae-kl");
    EXPECT_EQ(e.spec_yaml, "spec: 1\n");
    EXPECT_EQ(e.spec_sha256, Sha256Hex("spec: 1\n"));
    EXPECT_EQ(e.status, ExperimentStatus::kActive);
    EXPECT_EQ(e.created_ms, this->now());
    EXPECT_EQ(e.total_trials, 3);
    EXPECT_EQ(e.trial_counts[TrialState::kWaiting], 3);
    EXPECT_EQ(e.trial_counts[TrialState::kRunning], 0);
  }

  const NewExperiment expected = MakeTestExperiment("vae-kl", {{1.0}, {0.5}, {0.25}});
  std::vector<TrialRecord> trials = this->Trials("vae-kl");
  ASSERT_EQ(trials.size(), 3u);
  for (size_t i = 0; i < trials.size(); ++i) {
    const TrialRecord& t = trials[i];
    EXPECT_EQ(t.number, static_cast<int64_t>(i));
    EXPECT_EQ(t.experiment_id, submitted.experiment_id);
    EXPECT_EQ(t.state, TrialState::kWaiting);
    EXPECT_EQ(t.attempt, 0);
    EXPECT_EQ(t.worker_id, "");
    EXPECT_EQ(t.config_json, expected.trials[i].config_json);
    EXPECT_EQ(t.config_sha256, expected.trials[i].config_sha256);
    EXPECT_EQ(t.params, expected.trials[i].params);
    EXPECT_EQ(t.ranks, 1);
    EXPECT_EQ(t.device, "cpu");
    EXPECT_EQ(t.reused_from, 0);
    EXPECT_FALSE(t.cancel_requested);
    EXPECT_EQ(t.created_ms, this->now());
    EXPECT_EQ(t.started_ms, 0);
    EXPECT_EQ(t.finished_ms, 0);
    TrialRecord single = this->Trial(t.trial_id);
    EXPECT_EQ(single.params, t.params);
    EXPECT_EQ(single.config_json, t.config_json);
  }
  EXPECT_EQ(trials[1].params.at("kl_weight"), "0.5");
}

TYPED_TEST_P(TrialStoreContractTest, ResubmittingTheSameSpecChangesNothing) {
  SubmitResult first = this->Submit("grid", {{1.0}, {0.5}});
  this->clock_.AdvanceMs(1000);
  SubmitResult again = this->Submit("grid", {{1.0}, {0.5}});
  EXPECT_TRUE(again.already_existed);
  EXPECT_EQ(again.experiment_id, first.experiment_id);
  EXPECT_EQ(again.trial_count, 2);
  absl::StatusOr<std::vector<ExperimentRecord>> all = this->store().ListExperiments(0, 0);
  ASSERT_TRUE(all.ok()) << all.status();
  ASSERT_EQ(all->size(), 1u);
  EXPECT_EQ(all->front().created_ms, this->now() - 1000);
  EXPECT_EQ(this->Trials("grid").size(), 2u);
}

TYPED_TEST_P(TrialStoreContractTest, SameNameWithADifferentSpecIsAlreadyExists) {
  SubmitResult first = this->Submit("grid", {{1.0}});
  absl::StatusOr<SubmitResult> clash = this->store().SubmitExperiment(
      MakeTestExperiment("grid", {{0.5}}, "spec: 2\n"), false, this->now());
  ASSERT_FALSE(clash.ok());
  EXPECT_EQ(clash.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_NE(clash.status().message().find(first.experiment_id), std::string::npos)
      << clash.status();
  EXPECT_EQ(this->Trials("grid").size(), 1u);
}

TYPED_TEST_P(TrialStoreContractTest, UnknownIdsAreNotFound) {
  this->Submit("grid", {{1.0}});
  auto expect_not_found = [](const absl::Status& s) {
    EXPECT_EQ(s.code(), absl::StatusCode::kNotFound) << s;
  };
  expect_not_found(this->store().GetExperiment("nope").status());
  expect_not_found(this->store().ListTrials("nope", {}).status());
  expect_not_found(this->store().CancelExperiment("nope", this->now()).status());
  expect_not_found(this->store().GetTrial(987654).status());
  expect_not_found(this->store().GetWorker("w-none").status());
  const LeaseRef ghost{987654, "w-1", 1};
  expect_not_found(this->store().RenewLease(ghost, this->now(), 1000, 0, 0, 0, 0).status());
  expect_not_found(this->store().CompleteTrial(ghost, {}, this->now()).status());
  expect_not_found(this->store().FailTrial(ghost, "x", true, 3, this->now()).status());
  expect_not_found(this->store().HandBackTrial(ghost, "x", this->now()).status());
  expect_not_found(this->store().WriteMetrics(ghost, {{"loss", 1, 0, 1.0, 0}}).status());
  expect_not_found(this->store().WriteSample(ghost, {"grid", 1, 0, "png", 1, 1}));
  expect_not_found(this->store().AddCheckpoint(ghost, {}, 2).status());
  expect_not_found(this->store().ListCheckpoints(987654).status());
  expect_not_found(this->store().DeleteCheckpoint(987654, "abc"));
  expect_not_found(this->store().ListMetrics(987654).status());
  expect_not_found(this->store().LatestMetrics(987654).status());
  expect_not_found(this->store().ListSamples(987654).status());
}

TYPED_TEST_P(TrialStoreContractTest, ListExperimentsIsNewestFirstAndPages) {
  for (int i = 0; i < 5; ++i) {
    this->Submit("exp" + std::to_string(i), {{1.0 + i}});
    this->clock_.AdvanceMs(10);
  }
  absl::StatusOr<std::vector<ExperimentRecord>> all = this->store().ListExperiments(0, 0);
  ASSERT_TRUE(all.ok()) << all.status();
  ASSERT_EQ(all->size(), 5u);
  for (int i = 0; i < 5; ++i) EXPECT_EQ((*all)[i].name, "exp" + std::to_string(4 - i));
  EXPECT_EQ((*all)[0].total_trials, 1);

  absl::StatusOr<std::vector<ExperimentRecord>> page = this->store().ListExperiments(1, 2);
  ASSERT_TRUE(page.ok()) << page.status();
  ASSERT_EQ(page->size(), 2u);
  EXPECT_EQ((*page)[0].name, "exp3");
  EXPECT_EQ((*page)[1].name, "exp2");
  absl::StatusOr<std::vector<ExperimentRecord>> past_end = this->store().ListExperiments(5, 2);
  ASSERT_TRUE(past_end.ok());
  EXPECT_TRUE(past_end->empty());
}

TYPED_TEST_P(TrialStoreContractTest, ListTrialsFiltersByState) {
  this->Submit("grid", {{1.0}, {0.5}, {0.25}});
  TrialRecord running = this->Claim("w-1");
  std::vector<TrialRecord> waiting = this->Trials("grid", {TrialState::kWaiting});
  ASSERT_EQ(waiting.size(), 2u);
  EXPECT_EQ(waiting[0].number, 1);
  EXPECT_EQ(waiting[1].number, 2);
  std::vector<TrialRecord> active =
      this->Trials("grid", {TrialState::kRunning, TrialState::kWaiting});
  EXPECT_EQ(active.size(), 3u);
  std::vector<TrialRecord> only_running = this->Trials("grid", {TrialState::kRunning});
  ASSERT_EQ(only_running.size(), 1u);
  EXPECT_EQ(only_running[0].trial_id, running.trial_id);
  EXPECT_EQ(only_running[0].params.at("kl_weight"), "1.0");
  EXPECT_TRUE(this->Trials("grid", {TrialState::kComplete}).empty());
}

TYPED_TEST_P(TrialStoreContractTest, CompleteTrialsAreReusedByLaterExperiments) {
  this->Submit("first", {{1.0}, {0.5}});
  TrialRecord original = this->Claim("w-1");  // kl 1.0
  ASSERT_TRUE(this->store()
                  .RenewLease(LeaseOf(original), this->now(), this->kLeaseMs, 20, 2000, 2000, 50)
                  .ok());
  this->WriteMetric(original, "test_elbo", 2000, -101.5);
  this->Complete(original, {{"fid", 12.5}});
  this->clock_.AdvanceMs(100);

  // kl 1.0 was trained; kl 0.5 is still WAITING in "first", so not reusable.
  SubmitResult second = this->Submit("second", {{0.5}, {1.0}, {0.1}});
  EXPECT_EQ(second.trial_count, 3);
  EXPECT_EQ(second.reused_trials, 1);
  std::vector<TrialRecord> trials = this->Trials("second");
  ASSERT_EQ(trials.size(), 3u);
  EXPECT_EQ(trials[0].state, TrialState::kWaiting);
  EXPECT_EQ(trials[2].state, TrialState::kWaiting);
  const TrialRecord& reused = trials[1];
  EXPECT_EQ(reused.state, TrialState::kComplete);
  EXPECT_EQ(reused.reused_from, original.trial_id);
  EXPECT_NE(reused.trial_id, original.trial_id);
  EXPECT_EQ(reused.config_sha256, original.config_sha256);
  EXPECT_EQ(reused.step, 2000);
  EXPECT_EQ(reused.finished_ms, this->now());
  EXPECT_EQ(this->Experiment("second").trial_counts[TrialState::kComplete], 1);

  // Reads of a reused trial show the source trial's rows.
  absl::StatusOr<std::map<std::string, double>> latest =
      this->store().LatestMetrics(reused.trial_id);
  ASSERT_TRUE(latest.ok()) << latest.status();
  EXPECT_EQ(*latest, (std::map<std::string, double>{{"test_elbo", -101.5}}));

  // A third experiment reuses the ORIGINAL, never the reused copy.
  this->clock_.AdvanceMs(100);
  SubmitResult third = this->Submit("third", {{1.0}});
  EXPECT_EQ(third.reused_trials, 1);
  std::vector<TrialRecord> third_trials = this->Trials("third");
  ASSERT_EQ(third_trials.size(), 1u);
  EXPECT_EQ(third_trials[0].reused_from, original.trial_id);
  // Nothing left to run: DONE at once.
  EXPECT_EQ(this->Experiment("third").status, ExperimentStatus::kDone);
}

TYPED_TEST_P(TrialStoreContractTest, ReuseTakesTheNewestOriginal) {
  this->Submit("a", {{1.0}});
  TrialRecord older = this->Claim("w-1");
  this->Complete(older);
  this->clock_.AdvanceMs(100);
  this->Submit("b", {{1.0}}, /*rerun=*/true);
  TrialRecord newer = this->Claim("w-1");
  EXPECT_EQ(newer.config_sha256, older.config_sha256);
  this->clock_.AdvanceMs(100);
  this->Complete(newer);
  this->Submit("c", {{1.0}});
  EXPECT_EQ(this->Trials("c")[0].reused_from, newer.trial_id);
}

TYPED_TEST_P(TrialStoreContractTest, RerunDoesNotReuse) {
  this->Submit("first", {{1.0}});
  this->Complete(this->Claim("w-1"));
  SubmitResult rerun = this->Submit("again", {{1.0}}, /*rerun=*/true);
  EXPECT_EQ(rerun.reused_trials, 0);
  std::vector<TrialRecord> trials = this->Trials("again");
  ASSERT_EQ(trials.size(), 1u);
  EXPECT_EQ(trials[0].state, TrialState::kWaiting);
  EXPECT_EQ(trials[0].reused_from, 0);
  EXPECT_EQ(this->Experiment("again").status, ExperimentStatus::kActive);
}

TYPED_TEST_P(TrialStoreContractTest, ClaimFollowsSubmissionOrderThenGridOrder) {
  this->Submit("early", {{1.0}, {0.5}});
  this->Submit("late", {{0.25}, {0.125}});
  std::vector<std::pair<std::string, int64_t>> order;
  std::map<std::string, std::string> names = {{this->Experiment("early").experiment_id, "early"},
                                              {this->Experiment("late").experiment_id, "late"}};
  for (int i = 0; i < 4; ++i) {
    TrialRecord t = this->Claim("w-" + std::to_string(i));
    order.emplace_back(names[t.experiment_id], t.number);
  }
  EXPECT_EQ(order, (std::vector<std::pair<std::string, int64_t>>{
                       {"early", 0}, {"early", 1}, {"late", 0}, {"late", 1}}));
  EXPECT_TRUE(this->NothingToClaim("w-9"));
}

TYPED_TEST_P(TrialStoreContractTest, ClaimMatchesRanksAndDevice) {
  this->Submit("mixed", {{1.0, 2, 1, "cpu"}, {0.5, 2, 2, "cpu"}, {0.25, 2, 2, "cuda"}});
  EXPECT_TRUE(this->NothingToClaim("w-gpu4", 4, "cuda"));
  TrialRecord gpu = this->Claim("w-gpu2", 2, "cuda");
  EXPECT_EQ(gpu.number, 2);
  EXPECT_EQ(gpu.device, "cuda");
  EXPECT_EQ(gpu.ranks, 2);
  TrialRecord cpu2 = this->Claim("w-cpu2", 2, "cpu");
  EXPECT_EQ(cpu2.number, 1);
  EXPECT_TRUE(this->NothingToClaim("w-cpu2b", 2, "cpu"));
  TrialRecord cpu1 = this->Claim("w-cpu1", 1, "cpu");
  EXPECT_EQ(cpu1.number, 0);
}

TYPED_TEST_P(TrialStoreContractTest, ClaimLeasesTheTrial) {
  this->Submit("grid", {{1.0}});
  TrialRecord t = this->Claim("w-1");
  EXPECT_EQ(t.state, TrialState::kRunning);
  EXPECT_EQ(t.attempt, 1);
  EXPECT_EQ(t.worker_id, "w-1");
  EXPECT_EQ(t.lease_expires_ms, this->now() + this->kLeaseMs);
  EXPECT_EQ(t.started_ms, this->now());
  EXPECT_FALSE(t.config_json.empty());
  EXPECT_EQ(this->Trial(t.trial_id).state, TrialState::kRunning);
  EXPECT_TRUE(this->NothingToClaim("w-2"));
  ExperimentRecord e = this->Experiment("grid");
  EXPECT_EQ(e.trial_counts[TrialState::kRunning], 1);
  EXPECT_EQ(e.trial_counts[TrialState::kWaiting], 0);
  EXPECT_EQ(e.status, ExperimentStatus::kActive);
}

TYPED_TEST_P(TrialStoreContractTest, ConcurrentClaimsOfOneTrialHaveExactlyOneWinner) {
  constexpr int kThreads = 8;
  constexpr int kRounds = 10;
  for (int round = 0; round < kRounds; ++round) {
    this->Submit("race" + std::to_string(round), {{1.0 + round}});
    std::atomic<bool> go{false};
    std::atomic<int> winners{0};
    std::atomic<int> errors{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < kThreads; ++i) {
      threads.emplace_back([&, i] {
        while (!go.load()) std::this_thread::yield();
        absl::StatusOr<std::optional<TrialRecord>> claimed = this->store().ClaimNextTrial(
            "w-" + std::to_string(i), 1, "cpu", this->now(), this->kLeaseMs);
        if (!claimed.ok()) {
          ++errors;
        } else if (claimed->has_value()) {
          ++winners;
        }
      });
    }
    go = true;
    for (std::thread& t : threads) t.join();
    EXPECT_EQ(errors.load(), 0);
    EXPECT_EQ(winners.load(), 1) << "round " << round;
    EXPECT_EQ(this->Trials("race" + std::to_string(round))[0].attempt, 1);
  }
}

TYPED_TEST_P(TrialStoreContractTest, StaleLeasesAreAbortedAndChangeNothing) {
  this->Submit("grid", {{1.0}});
  TrialRecord t = this->Claim("w-1");
  ASSERT_TRUE(this->store().WriteMetrics(LeaseOf(t), {{"loss", 1, 0, 0.5, 0}}).ok());
  const TrialRecord before = this->Trial(t.trial_id);
  for (const LeaseRef& stale :
       {LeaseRef{t.trial_id, "w-2", t.attempt}, LeaseRef{t.trial_id, "w-1", t.attempt + 1},
        LeaseRef{t.trial_id, "w-1", t.attempt - 1}}) {
    SCOPED_TRACE(stale.worker_id + " attempt " + std::to_string(stale.attempt));
    auto expect_aborted = [](const absl::Status& s) {
      EXPECT_EQ(s.code(), absl::StatusCode::kAborted) << s;
    };
    absl::StatusOr<TrialRecord> renewed =
        this->store().RenewLease(stale, this->now() + 5, this->kLeaseMs, 9, 9, 9, 9);
    expect_aborted(renewed.status());
    EXPECT_NE(renewed.status().message().find("lease lost: trial " + std::to_string(t.trial_id)),
              std::string::npos)
        << renewed.status();
    expect_aborted(this->store().CompleteTrial(stale, {{"fid", 1}}, this->now()).status());
    expect_aborted(this->store().FailTrial(stale, "boom", false, 3, this->now()).status());
    expect_aborted(this->store().WriteMetrics(stale, {{"loss", 1, 0, 99.0, 0}}).status());
    expect_aborted(this->store().WriteSample(stale, {"grid", 1, 0, "png", 1, 1}));
    expect_aborted(this->store().AddCheckpoint(stale, this->Checkpoint(t, 10), 2).status());
  }
  const TrialRecord after = this->Trial(t.trial_id);
  EXPECT_EQ(after.state, TrialState::kRunning);
  EXPECT_EQ(after.worker_id, before.worker_id);
  EXPECT_EQ(after.attempt, before.attempt);
  EXPECT_EQ(after.lease_expires_ms, before.lease_expires_ms);
  EXPECT_EQ(after.step, before.step);
  EXPECT_EQ(after.error, "");
  absl::StatusOr<std::vector<MetricPointRecord>> metrics = this->store().ListMetrics(t.trial_id);
  ASSERT_TRUE(metrics.ok());
  ASSERT_EQ(metrics->size(), 1u);
  EXPECT_EQ((*metrics)[0].value, 0.5);
  EXPECT_TRUE(this->store().ListSamples(t.trial_id)->empty());
  EXPECT_TRUE(this->store().ListCheckpoints(t.trial_id)->empty());
}

TYPED_TEST_P(TrialStoreContractTest, LeaseCallsOnAFinishedTrialAreAborted) {
  this->Submit("grid", {{1.0}});
  TrialRecord t = this->Claim("w-1");
  this->Complete(t);
  EXPECT_EQ(this->store().CompleteTrial(LeaseOf(t), {}, this->now()).status().code(),
            absl::StatusCode::kAborted);
  EXPECT_EQ(this->store().RenewLease(LeaseOf(t), this->now(), 1000, 0, 0, 0, 0).status().code(),
            absl::StatusCode::kAborted);
  EXPECT_EQ(this->Trial(t.trial_id).state, TrialState::kComplete);
}

TYPED_TEST_P(TrialStoreContractTest, RenewLeaseExtendsTheDeadlineAndRecordsProgress) {
  this->Submit("grid", {{1.0}});
  TrialRecord t = this->Claim("w-1");
  this->clock_.AdvanceMs(10'000);
  absl::StatusOr<TrialRecord> renewed =
      this->store().RenewLease(LeaseOf(t), this->now(), this->kLeaseMs, 3, 1500, 6000, 42.5);
  ASSERT_TRUE(renewed.ok()) << renewed.status();
  EXPECT_EQ(renewed->lease_expires_ms, this->now() + this->kLeaseMs);
  EXPECT_EQ(renewed->epoch, 3);
  EXPECT_EQ(renewed->step, 1500);
  EXPECT_EQ(renewed->total_steps, 6000);
  EXPECT_DOUBLE_EQ(renewed->steps_per_second, 42.5);
  EXPECT_EQ(renewed->state, TrialState::kRunning);
  EXPECT_EQ(renewed->attempt, 1);
  EXPECT_FALSE(renewed->cancel_requested);
  EXPECT_EQ(this->Trial(t.trial_id).step, 1500);
}

TYPED_TEST_P(TrialStoreContractTest, CompletingTheLastTrialFinishesTheExperiment) {
  this->Submit("grid", {{1.0}, {0.5}});
  TrialRecord a = this->Claim("w-1");
  TrialRecord b = this->Claim("w-2");
  this->clock_.AdvanceMs(500);
  this->Complete(a, {{"fid", 3.5}, {"test_elbo", -99}});
  EXPECT_EQ(this->Experiment("grid").status, ExperimentStatus::kActive);
  TrialRecord done = this->Trial(a.trial_id);
  EXPECT_EQ(done.state, TrialState::kComplete);
  EXPECT_EQ(done.finished_ms, this->now());
  EXPECT_EQ(done.worker_id, "w-1");
  this->Complete(b);
  ExperimentRecord e = this->Experiment("grid");
  EXPECT_EQ(e.status, ExperimentStatus::kDone);
  EXPECT_EQ(e.trial_counts[TrialState::kComplete], 2);
}

TYPED_TEST_P(TrialStoreContractTest, RetryableFailuresRequeueUntilMaxAttempts) {
  this->Submit("grid", {{1.0}});
  for (int attempt = 1; attempt <= this->kMaxAttempts; ++attempt) {
    TrialRecord t = this->Claim("w-" + std::to_string(attempt));
    EXPECT_EQ(t.attempt, attempt);
    absl::StatusOr<TrialState> state = this->store().FailTrial(
        LeaseOf(t), "CUDA out of memory", /*retryable=*/true, this->kMaxAttempts, this->now());
    ASSERT_TRUE(state.ok()) << state.status();
    const TrialState expected =
        attempt < this->kMaxAttempts ? TrialState::kWaiting : TrialState::kFailed;
    EXPECT_EQ(*state, expected);
    TrialRecord stored = this->Trial(t.trial_id);
    EXPECT_EQ(stored.state, expected);
    EXPECT_EQ(stored.error, "CUDA out of memory");
  }
  EXPECT_TRUE(this->NothingToClaim("w-9"));
  ExperimentRecord e = this->Experiment("grid");
  EXPECT_EQ(e.status, ExperimentStatus::kDone);
  EXPECT_EQ(e.trial_counts[TrialState::kFailed], 1);
}

TYPED_TEST_P(TrialStoreContractTest, NonRetryableFailureIsFinal) {
  this->Submit("grid", {{1.0}});
  TrialRecord t = this->Claim("w-1");
  absl::StatusOr<TrialState> state =
      this->store().FailTrial(LeaseOf(t), "bad config", false, this->kMaxAttempts, this->now());
  ASSERT_TRUE(state.ok()) << state.status();
  EXPECT_EQ(*state, TrialState::kFailed);
  TrialRecord stored = this->Trial(t.trial_id);
  EXPECT_EQ(stored.error, "bad config");
  EXPECT_EQ(stored.finished_ms, this->now());
  EXPECT_TRUE(this->NothingToClaim("w-2"));
}

TYPED_TEST_P(TrialStoreContractTest, ExpiredLeasesRequeueThenFail) {
  this->Submit("grid", {{1.0}});
  for (int attempt = 1; attempt <= this->kMaxAttempts; ++attempt) {
    TrialRecord t = this->Claim("w-" + std::to_string(attempt));
    EXPECT_EQ(t.attempt, attempt);
    // Exactly at the deadline the lease still holds.
    this->clock_.AdvanceMs(this->kLeaseMs);
    absl::StatusOr<std::vector<ExpiredLease>> none =
        this->store().ExpireLeases(this->now(), this->kMaxAttempts);
    ASSERT_TRUE(none.ok()) << none.status();
    EXPECT_TRUE(none->empty());
    this->clock_.AdvanceMs(1);
    absl::StatusOr<std::vector<ExpiredLease>> expired =
        this->store().ExpireLeases(this->now(), this->kMaxAttempts);
    ASSERT_TRUE(expired.ok()) << expired.status();
    ASSERT_EQ(expired->size(), 1u);
    const ExpiredLease& e = expired->front();
    EXPECT_EQ(e.trial_id, t.trial_id);
    EXPECT_EQ(e.worker_id, t.worker_id);
    EXPECT_EQ(e.attempt, attempt);
    const TrialState expected =
        attempt < this->kMaxAttempts ? TrialState::kWaiting : TrialState::kFailed;
    EXPECT_EQ(e.new_state, expected);
    TrialRecord stored = this->Trial(t.trial_id);
    EXPECT_EQ(stored.state, expected);
    EXPECT_NE(stored.error.find("lease expired"), std::string::npos) << stored.error;
    // The old holder is locked out.
    EXPECT_EQ(this->store().RenewLease(LeaseOf(t), this->now(), 1000, 0, 0, 0, 0).status().code(),
              absl::StatusCode::kAborted);
  }
  EXPECT_TRUE(this->NothingToClaim("w-9"));
  EXPECT_EQ(this->Experiment("grid").status, ExperimentStatus::kDone);
}

TYPED_TEST_P(TrialStoreContractTest, LiveLeasesDoNotExpire) {
  this->Submit("grid", {{1.0}, {0.5}});
  TrialRecord a = this->Claim("w-1");
  this->clock_.AdvanceMs(20'000);
  TrialRecord b = this->Claim("w-2");
  this->clock_.AdvanceMs(15'000);  // a is 35 s old, b 15 s
  ASSERT_TRUE(this->store().RenewLease(LeaseOf(b), this->now(), this->kLeaseMs, 0, 0, 0, 0).ok());
  absl::StatusOr<std::vector<ExpiredLease>> expired =
      this->store().ExpireLeases(this->now(), this->kMaxAttempts);
  ASSERT_TRUE(expired.ok()) << expired.status();
  ASSERT_EQ(expired->size(), 1u);
  EXPECT_EQ(expired->front().trial_id, a.trial_id);
  EXPECT_EQ(this->Trial(b.trial_id).state, TrialState::kRunning);
}

TYPED_TEST_P(TrialStoreContractTest, LateWorkerCannotOverwriteTheNewHolder) {
  this->Submit("grid", {{1.0}});
  TrialRecord first = this->Claim("w-slow");
  this->clock_.AdvanceMs(this->kLeaseMs + 1);
  ASSERT_TRUE(this->store().ExpireLeases(this->now(), this->kMaxAttempts).ok());
  TrialRecord second = this->Claim("w-fast");
  EXPECT_EQ(second.trial_id, first.trial_id);
  EXPECT_EQ(second.attempt, 2);
  EXPECT_EQ(this->store().CompleteTrial(LeaseOf(first), {}, this->now()).status().code(),
            absl::StatusCode::kAborted);
  EXPECT_EQ(this->store().WriteMetrics(LeaseOf(first), {{"loss", 5, 0, 9.0, 0}}).status().code(),
            absl::StatusCode::kAborted);
  EXPECT_EQ(this->Trial(first.trial_id).worker_id, "w-fast");
  this->Complete(second);
  EXPECT_EQ(this->Trial(first.trial_id).state, TrialState::kComplete);
}

TYPED_TEST_P(TrialStoreContractTest, CancelStopsWaitingTrialsAndFlagsRunningOnes) {
  this->Submit("grid", {{1.0}, {0.5}, {0.25}});
  TrialRecord running = this->Claim("w-1");
  absl::StatusOr<std::pair<int64_t, int64_t>> counts =
      this->store().CancelExperiment("grid", this->now());
  ASSERT_TRUE(counts.ok()) << counts.status();
  EXPECT_EQ(counts->first, 2);
  EXPECT_EQ(counts->second, 1);
  EXPECT_EQ(this->Experiment("grid").status, ExperimentStatus::kCancelled);
  EXPECT_EQ(this->Trials("grid", {TrialState::kCancelled}).size(), 2u);
  EXPECT_TRUE(this->NothingToClaim("w-2"));

  absl::StatusOr<TrialRecord> renewed =
      this->store().RenewLease(LeaseOf(running), this->now(), this->kLeaseMs, 1, 10, 100, 1);
  ASSERT_TRUE(renewed.ok()) << renewed.status();
  EXPECT_TRUE(renewed->cancel_requested);
  EXPECT_EQ(renewed->state, TrialState::kRunning);

  this->Complete(running);
  EXPECT_EQ(this->Trial(running.trial_id).state, TrialState::kCancelled);
  ExperimentRecord e = this->Experiment("grid");
  EXPECT_EQ(e.status, ExperimentStatus::kCancelled);
  EXPECT_EQ(e.trial_counts[TrialState::kCancelled], 3);

  // Cancelling again is harmless.
  absl::StatusOr<std::pair<int64_t, int64_t>> again =
      this->store().CancelExperiment(e.experiment_id, this->now());
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(*again, std::make_pair(int64_t{0}, int64_t{0}));
}

// A preempted worker (SIGTERM, with a checkpoint) hands its trial back: it
// waits again however often that happens, and only failures and expired
// leases count toward max attempts.
TYPED_TEST_P(TrialStoreContractTest, HandBacksDoNotUseUpAttempts) {
  this->Submit("grid", {{1.0}});
  const int hand_backs = this->kMaxAttempts + 2;
  for (int attempt = 1; attempt <= hand_backs; ++attempt) {
    TrialRecord t = this->Claim("w-" + std::to_string(attempt));
    EXPECT_EQ(t.attempt, attempt);
    absl::StatusOr<TrialState> state =
        this->store().HandBackTrial(LeaseOf(t), "preempted (SIGTERM) at step 7", this->now());
    ASSERT_TRUE(state.ok()) << state.status();
    EXPECT_EQ(*state, TrialState::kWaiting);
    TrialRecord stored = this->Trial(t.trial_id);
    EXPECT_EQ(stored.state, TrialState::kWaiting);
    EXPECT_EQ(stored.preemptions, attempt);
    EXPECT_EQ(stored.error, "preempted (SIGTERM) at step 7");
    // The holder is locked out once it has handed the trial back.
    EXPECT_EQ(this->store().HandBackTrial(LeaseOf(t), "again", this->now()).status().code(),
              absl::StatusCode::kAborted);
  }
  // Failures still count: max_attempts - 1 retryable failures requeue ...
  for (int failure = 1; failure < this->kMaxAttempts; ++failure) {
    TrialRecord t = this->Claim("w-f" + std::to_string(failure));
    EXPECT_EQ(t.attempt, hand_backs + failure);
    absl::StatusOr<TrialState> state = this->store().FailTrial(
        LeaseOf(t), "CUDA out of memory", /*retryable=*/true, this->kMaxAttempts, this->now());
    ASSERT_TRUE(state.ok()) << state.status();
    EXPECT_EQ(*state, TrialState::kWaiting) << "failure " << failure;
  }
  // ... and the last one, an expired lease here, is final.
  TrialRecord last = this->Claim("w-last");
  this->clock_.AdvanceMs(this->kLeaseMs + 1);
  absl::StatusOr<std::vector<ExpiredLease>> expired =
      this->store().ExpireLeases(this->now(), this->kMaxAttempts);
  ASSERT_TRUE(expired.ok()) << expired.status();
  ASSERT_EQ(expired->size(), 1u);
  EXPECT_EQ(expired->front().new_state, TrialState::kFailed);
  TrialRecord stored = this->Trial(last.trial_id);
  EXPECT_EQ(stored.attempt, hand_backs + this->kMaxAttempts);
  EXPECT_EQ(stored.preemptions, hand_backs);
  EXPECT_NE(stored.error.find("failure " + std::to_string(this->kMaxAttempts) + " of " +
                              std::to_string(this->kMaxAttempts)),
            std::string::npos)
      << stored.error;
  EXPECT_TRUE(this->NothingToClaim("w-9"));
}

TYPED_TEST_P(TrialStoreContractTest, HandBackOfACancelRequestedTrialCancelsIt) {
  this->Submit("grid", {{1.0}});
  TrialRecord t = this->Claim("w-1");
  ASSERT_TRUE(this->store().CancelExperiment("grid", this->now()).ok());
  absl::StatusOr<TrialState> state =
      this->store().HandBackTrial(LeaseOf(t), "preempted (SIGTERM)", this->now());
  ASSERT_TRUE(state.ok()) << state.status();
  EXPECT_EQ(*state, TrialState::kCancelled);
  EXPECT_EQ(this->Trial(t.trial_id).state, TrialState::kCancelled);
  EXPECT_EQ(this->Trial(t.trial_id).preemptions, 1);
}

TYPED_TEST_P(TrialStoreContractTest, CancelRequestedTrialThatFailsOrExpiresIsCancelled) {
  this->Submit("grid", {{1.0}, {0.5}});
  TrialRecord failing = this->Claim("w-1");
  TrialRecord vanishing = this->Claim("w-2");
  ASSERT_TRUE(this->store().CancelExperiment("grid", this->now()).ok());
  absl::StatusOr<TrialState> state =
      this->store().FailTrial(LeaseOf(failing), "stopped", true, this->kMaxAttempts, this->now());
  ASSERT_TRUE(state.ok()) << state.status();
  EXPECT_EQ(*state, TrialState::kCancelled);
  this->clock_.AdvanceMs(this->kLeaseMs + 1);
  absl::StatusOr<std::vector<ExpiredLease>> expired =
      this->store().ExpireLeases(this->now(), this->kMaxAttempts);
  ASSERT_TRUE(expired.ok()) << expired.status();
  ASSERT_EQ(expired->size(), 1u);
  EXPECT_EQ(expired->front().new_state, TrialState::kCancelled);
  EXPECT_EQ(this->Trial(vanishing.trial_id).state, TrialState::kCancelled);
  EXPECT_EQ(this->Experiment("grid").trial_counts[TrialState::kCancelled], 2);
}

TYPED_TEST_P(TrialStoreContractTest, CancellingAFinishedExperimentKeepsItDone) {
  this->Submit("grid", {{1.0}});
  this->Complete(this->Claim("w-1"));
  absl::StatusOr<std::pair<int64_t, int64_t>> counts =
      this->store().CancelExperiment("grid", this->now());
  ASSERT_TRUE(counts.ok()) << counts.status();
  EXPECT_EQ(*counts, std::make_pair(int64_t{0}, int64_t{0}));
  EXPECT_EQ(this->Experiment("grid").status, ExperimentStatus::kDone);
}

TYPED_TEST_P(TrialStoreContractTest, MetricRewritesAreIdempotent) {
  this->Submit("grid", {{1.0}});
  TrialRecord t = this->Claim("w-1");
  const LeaseRef lease = LeaseOf(t);
  ASSERT_TRUE(this->store().WriteMetrics(lease, {{"loss", 100, 1, 0.9, 1000}}).ok());
  ASSERT_TRUE(this->store().WriteMetrics(lease, {{"loss", 100, 1, 0.9, 1000}}).ok());
  absl::StatusOr<int64_t> written =
      this->store().WriteMetrics(lease, {{"loss", 100, 2, 0.7, 2000}, {"acc", 100, 2, 0.5, 2000}});
  ASSERT_TRUE(written.ok()) << written.status();
  EXPECT_EQ(*written, 2);
  absl::StatusOr<std::vector<MetricPointRecord>> metrics = this->store().ListMetrics(t.trial_id);
  ASSERT_TRUE(metrics.ok()) << metrics.status();
  ASSERT_EQ(metrics->size(), 2u);
  const MetricPointRecord& loss = (*metrics)[1];  // (name, step) order: acc, loss
  EXPECT_EQ(loss.name, "loss");
  EXPECT_EQ(loss.step, 100);
  EXPECT_EQ(loss.epoch, 2);
  EXPECT_EQ(loss.value, 0.7);
  EXPECT_EQ(loss.wall_ms, 2000);
}

TYPED_TEST_P(TrialStoreContractTest, AThousandPointBatchIsOneCall) {
  this->Submit("grid", {{1.0}});
  TrialRecord t = this->Claim("w-1");
  std::vector<MetricPointRecord> points;
  for (int i = 0; i < 1000; ++i) {
    points.push_back({i % 2 == 0 ? "loss_g" : "loss_d", i / 2, i / 100, i * 0.5, 1000 + i});
  }
  absl::StatusOr<int64_t> written = this->store().WriteMetrics(LeaseOf(t), points);
  ASSERT_TRUE(written.ok()) << written.status();
  EXPECT_EQ(*written, 1000);
  // Retried whole: still 1000 rows.
  ASSERT_TRUE(this->store().WriteMetrics(LeaseOf(t), points).ok());
  absl::StatusOr<std::vector<MetricPointRecord>> metrics = this->store().ListMetrics(t.trial_id);
  ASSERT_TRUE(metrics.ok()) << metrics.status();
  EXPECT_EQ(metrics->size(), 1000u);
  absl::StatusOr<std::map<std::string, double>> latest = this->store().LatestMetrics(t.trial_id);
  ASSERT_TRUE(latest.ok());
  EXPECT_EQ(*latest, (std::map<std::string, double>{{"loss_d", 999 * 0.5}, {"loss_g", 998 * 0.5}}));
}

TYPED_TEST_P(TrialStoreContractTest, AnInvalidPointWritesNothing) {
  this->Submit("grid", {{1.0}});
  TrialRecord t = this->Claim("w-1");
  absl::StatusOr<int64_t> written =
      this->store().WriteMetrics(LeaseOf(t), {{"loss", 1, 0, 1.0, 0}, {"", 2, 0, 1.0, 0}});
  EXPECT_EQ(written.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(this->store().ListMetrics(t.trial_id)->empty());
}

TYPED_TEST_P(TrialStoreContractTest, LatestMetricsTakesTheHighestStep) {
  this->Submit("grid", {{1.0}});
  TrialRecord t = this->Claim("w-1");
  // Written out of order; a diverged loss is NaN.
  ASSERT_TRUE(this->store()
                  .WriteMetrics(LeaseOf(t), {{"loss", 300, 3, 0.3, 0},
                                             {"loss", 100, 1, 0.1, 0},
                                             {"elbo", 50, 0, -200, 0},
                                             {"loss", 200, 2, 0.2, 0},
                                             {"gan_loss", 10, 0, std::nan(""), 0}})
                  .ok());
  absl::StatusOr<std::map<std::string, double>> latest = this->store().LatestMetrics(t.trial_id);
  ASSERT_TRUE(latest.ok()) << latest.status();
  ASSERT_EQ(latest->size(), 3u);
  EXPECT_EQ(latest->at("loss"), 0.3);
  EXPECT_EQ(latest->at("elbo"), -200);
  EXPECT_TRUE(std::isnan(latest->at("gan_loss")));
}

TYPED_TEST_P(TrialStoreContractTest, SamplesAreIdempotent) {
  this->Submit("grid", {{1.0}});
  TrialRecord t = this->Claim("w-1");
  std::string png("\x89PNG\r\n\x1a\n\0\x01\x02", 11);
  ASSERT_TRUE(this->store().WriteSample(LeaseOf(t), {"samples", 500, 5, png, 8, 8}).ok());
  png += "more";
  ASSERT_TRUE(this->store().WriteSample(LeaseOf(t), {"samples", 500, 5, png, 4, 16}).ok());
  ASSERT_TRUE(this->store().WriteSample(LeaseOf(t), {"samples", 100, 1, "x", 1, 1}).ok());
  absl::StatusOr<std::vector<SampleRecord>> samples = this->store().ListSamples(t.trial_id);
  ASSERT_TRUE(samples.ok()) << samples.status();
  ASSERT_EQ(samples->size(), 2u);
  EXPECT_EQ((*samples)[0].step, 100);
  const SampleRecord& s = (*samples)[1];
  EXPECT_EQ(s.name, "samples");
  EXPECT_EQ(s.step, 500);
  EXPECT_EQ(s.epoch, 5);
  EXPECT_EQ(s.png, png);
  EXPECT_EQ(s.rows, 4);
  EXPECT_EQ(s.cols, 16);
}

// Issue 16, item 2: a COMPLETE trial keeps its final checkpoint (its trained
// model), whatever the running-time `keep`; retention bounds an experiment.
TYPED_TEST_P(TrialStoreContractTest, CompleteTrialsKeepTheirFinalCheckpoint) {
  this->Submit("grid", {{1.0}, {0.5}});
  std::vector<std::string> dropped_all;
  int64_t kept_bytes = 0;
  for (int i = 0; i < 2; ++i) {
    TrialRecord t = this->Claim("w-1");
    for (int64_t step : {100, 200}) {
      ASSERT_TRUE(this->store().AddCheckpoint(LeaseOf(t), this->Checkpoint(t, step), 2).ok());
    }
    // Not COMPLETE yet: nothing to keep.
    EXPECT_EQ(this->store().RetainTrained(t.trial_id, -1).status().code(),
              absl::StatusCode::kFailedPrecondition);
    this->Complete(t);
    absl::StatusOr<std::vector<std::string>> dropped = this->store().RetainTrained(t.trial_id, -1);
    ASSERT_TRUE(dropped.ok()) << dropped.status();
    EXPECT_EQ(*dropped, std::vector<std::string>{this->Checkpoint(t, 100).path});
    auto kept = this->store().ListCheckpoints(t.trial_id);
    ASSERT_TRUE(kept.ok()) << kept.status();
    ASSERT_EQ(kept->size(), 1u);
    EXPECT_EQ(kept->front().step, 200);
    kept_bytes += kept->front().size_bytes;
    this->clock_.AdvanceMs(1000);
  }
  const ExperimentRecord e = this->Experiment("grid");
  EXPECT_EQ(e.trained_kept, 2);
  EXPECT_EQ(e.trained_kept_bytes, kept_bytes);
}

TYPED_TEST_P(TrialStoreContractTest, RetentionKeepsTheNewestFinishedTrials) {
  // The coordinator's default (2) bounds an experiment without keep_trained;
  // a spec's keep_trained (1) overrides it.
  for (const char* name : {"by-default", "by-spec"}) {
    NewExperiment experiment = MakeTestExperiment(name, {{1.0}, {0.5}, {0.25}});
    if (std::string(name) == "by-spec") {
      search::SearchSettings settings;
      settings.keep_trained = 1;
      experiment.search_json = search::SearchSettingsToJson(settings);
      experiment.spec_yaml = "spec: 2\n";
      experiment.spec_sha256 = Sha256Hex(experiment.spec_yaml);
    }
    ASSERT_TRUE(this->store().SubmitExperiment(experiment, /*rerun=*/true, this->now()).ok());
    std::vector<TrialRecord> done;
    std::vector<std::string> dropped_all;
    for (int i = 0; i < 3; ++i) {
      TrialRecord t = this->Claim("w-1");
      ASSERT_TRUE(this->store().AddCheckpoint(LeaseOf(t), this->Checkpoint(t, 100), 2).ok());
      this->Complete(t);
      auto dropped = this->store().RetainTrained(t.trial_id, /*default_keep=*/2);
      ASSERT_TRUE(dropped.ok()) << dropped.status();
      dropped_all.insert(dropped_all.end(), dropped->begin(), dropped->end());
      done.push_back(t);
      this->clock_.AdvanceMs(1000);
    }
    const int keep = std::string(name) == "by-spec" ? 1 : 2;
    // The first-finished trials lose theirs (the files are named for deletion).
    std::vector<std::string> expected;
    for (int i = 0; i < 3 - keep; ++i) expected.push_back(this->Checkpoint(done[i], 100).path);
    EXPECT_EQ(dropped_all, expected) << name;
    for (int i = 0; i < 3; ++i) {
      auto kept = this->store().ListCheckpoints(done[i].trial_id);
      ASSERT_TRUE(kept.ok());
      EXPECT_EQ(kept->size(), i >= 3 - keep ? 1u : 0u) << name << " trial " << i;
    }
    EXPECT_EQ(this->Experiment(name).trained_kept, keep) << name;
  }
}

// A trained model that an unfinished trial's warm start (init_from) names
// outlives its experiment's keep_trained until that trial finishes.
TYPED_TEST_P(TrialStoreContractTest, RetentionKeepsAWarmStartSourceUntilItsTrialFinishes) {
  NewExperiment source = MakeTestExperiment("source", {{1.0}, {0.5}, {0.25}});
  search::SearchSettings settings;
  settings.keep_trained = 1;
  source.search_json = search::SearchSettingsToJson(settings);
  ASSERT_TRUE(this->store().SubmitExperiment(source, /*rerun=*/false, this->now()).ok());
  auto finish = [&](const TrialRecord& t) {
    EXPECT_TRUE(this->store().AddCheckpoint(LeaseOf(t), this->Checkpoint(t, 100), 2).ok());
    this->Complete(t);
    absl::StatusOr<std::vector<std::string>> dropped =
        this->store().RetainTrained(t.trial_id, /*default_keep=*/-1);
    EXPECT_TRUE(dropped.ok()) << dropped.status();
    this->clock_.AdvanceMs(1000);
    return dropped.ok() ? *dropped : std::vector<std::string>{};
  };
  const TrialRecord first = this->Claim("w-1");
  EXPECT_EQ(finish(first), std::vector<std::string>{});
  // A second experiment warm-starts from the first trial's model.
  NewExperiment warm = MakeTestExperiment("warm", {{2.0}}, "spec: warm\n");
  warm.trials[0].init_from_trial = first.trial_id;
  ASSERT_TRUE(this->store().SubmitExperiment(warm, /*rerun=*/false, this->now()).ok());

  // Past keep_trained, but the WAITING warm trial still needs it.
  const TrialRecord second = this->Claim("w-1");
  EXPECT_EQ(finish(second), std::vector<std::string>{});
  auto kept = this->store().ListCheckpoints(first.trial_id);
  ASSERT_TRUE(kept.ok()) << kept.status();
  EXPECT_EQ(kept->size(), 1u);

  // Once the warm trial has finished, the next completion applies the bound.
  const TrialRecord third = this->Claim("w-1");
  const TrialRecord warm_trial = this->Claim("w-2");
  EXPECT_EQ(warm_trial.experiment_id, this->Experiment("warm").experiment_id);
  finish(warm_trial);
  EXPECT_EQ(finish(third), (std::vector<std::string>{this->Checkpoint(second, 100).path,
                                                     this->Checkpoint(first, 100).path}));
  EXPECT_EQ(this->Experiment("source").trained_kept, 1);
}

TYPED_TEST_P(TrialStoreContractTest, CheckpointsKeepTheNewest) {
  this->Submit("grid", {{1.0}});
  TrialRecord t = this->Claim("w-1");
  std::vector<std::string> all_dropped;
  for (int64_t step : {100, 200, 300, 400}) {
    absl::StatusOr<std::vector<std::string>> dropped =
        this->store().AddCheckpoint(LeaseOf(t), this->Checkpoint(t, step), /*keep=*/2);
    ASSERT_TRUE(dropped.ok()) << dropped.status();
    all_dropped.insert(all_dropped.end(), dropped->begin(), dropped->end());
  }
  EXPECT_EQ(all_dropped, (std::vector<std::string>{this->Checkpoint(t, 100).path,
                                                   this->Checkpoint(t, 200).path}));
  absl::StatusOr<std::vector<CheckpointRecord>> kept = this->store().ListCheckpoints(t.trial_id);
  ASSERT_TRUE(kept.ok()) << kept.status();
  ASSERT_EQ(kept->size(), 2u);
  const CheckpointRecord expected = this->Checkpoint(t, 400);
  const CheckpointRecord& newest = kept->front();
  EXPECT_EQ(newest.trial_id, t.trial_id);
  EXPECT_EQ(newest.step, 400);
  EXPECT_EQ(newest.epoch, expected.epoch);
  EXPECT_EQ(newest.sha256, expected.sha256);
  EXPECT_EQ(newest.size_bytes, expected.size_bytes);
  EXPECT_EQ(newest.path, expected.path);
  EXPECT_EQ(newest.created_ms, expected.created_ms);
  EXPECT_EQ((*kept)[1].step, 300);
  EXPECT_EQ(this->store().AddCheckpoint(LeaseOf(t), this->Checkpoint(t, 500), 0).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TYPED_TEST_P(TrialStoreContractTest, ACheckpointAtTheSameStepReplacesTheRow) {
  this->Submit("grid", {{1.0}});
  TrialRecord t = this->Claim("w-1");
  CheckpointRecord c = this->Checkpoint(t, 100);
  ASSERT_TRUE(this->store().AddCheckpoint(LeaseOf(t), c, 2).ok());
  // Same step and path (a resumed worker saving again): nothing to delete.
  c.sha256 = Sha256Hex("rewritten");
  absl::StatusOr<std::vector<std::string>> dropped = this->store().AddCheckpoint(LeaseOf(t), c, 2);
  ASSERT_TRUE(dropped.ok()) << dropped.status();
  EXPECT_TRUE(dropped->empty());
  // Same step, new path: the old file goes.
  CheckpointRecord moved = c;
  moved.path = c.path + ".v2";
  dropped = this->store().AddCheckpoint(LeaseOf(t), moved, 2);
  ASSERT_TRUE(dropped.ok()) << dropped.status();
  EXPECT_EQ(*dropped, std::vector<std::string>{c.path});
  absl::StatusOr<std::vector<CheckpointRecord>> kept = this->store().ListCheckpoints(t.trial_id);
  ASSERT_EQ(kept->size(), 1u);
  EXPECT_EQ(kept->front().sha256, Sha256Hex("rewritten"));
  EXPECT_EQ(kept->front().path, moved.path);
}

TYPED_TEST_P(TrialStoreContractTest, DeleteCheckpointRemovesOneRow) {
  this->Submit("grid", {{1.0}});
  TrialRecord t = this->Claim("w-1");
  ASSERT_TRUE(this->store().AddCheckpoint(LeaseOf(t), this->Checkpoint(t, 100), 3).ok());
  ASSERT_TRUE(this->store().AddCheckpoint(LeaseOf(t), this->Checkpoint(t, 200), 3).ok());
  ASSERT_TRUE(this->store().DeleteCheckpoint(t.trial_id, this->Checkpoint(t, 200).sha256).ok());
  absl::StatusOr<std::vector<CheckpointRecord>> kept = this->store().ListCheckpoints(t.trial_id);
  ASSERT_EQ(kept->size(), 1u);
  EXPECT_EQ(kept->front().step, 100);
  EXPECT_EQ(this->store().DeleteCheckpoint(t.trial_id, this->Checkpoint(t, 200).sha256).code(),
            absl::StatusCode::kNotFound);
}

TYPED_TEST_P(TrialStoreContractTest, WorkersAreUpserted) {
  WorkerRecord w{"w-1", "node07", 2, "cuda", 2, 4242, this->now()};
  ASSERT_TRUE(this->store().UpsertWorker(w).ok());
  w.host = "node08";
  w.last_seen_ms += 5;
  ASSERT_TRUE(this->store().UpsertWorker(w).ok());
  absl::StatusOr<WorkerRecord> stored = this->store().GetWorker("w-1");
  ASSERT_TRUE(stored.ok()) << stored.status();
  EXPECT_EQ(stored->host, "node08");
  EXPECT_EQ(stored->ranks, 2);
  EXPECT_EQ(stored->device, "cuda");
  EXPECT_EQ(stored->gpus, 2);
  EXPECT_EQ(stored->pid, 4242);
  EXPECT_EQ(stored->last_seen_ms, w.last_seen_ms);
  EXPECT_EQ(this->store().UpsertWorker(WorkerRecord{}).code(), absl::StatusCode::kInvalidArgument);
}

TYPED_TEST_P(TrialStoreContractTest, AttemptsRecordWhereTheyRan) {
  const SubmitResult submitted = this->Submit("env", {{0.5, 2}});
  const TrialRecord first = this->Claim("w-1");
  const std::string env1 = R"({"build_commit":"abc1234","hosts":["node1"],"ranks":1})";
  ASSERT_TRUE(this->store().RecordAttempt(LeaseOf(first), env1, this->now()).ok());
  // Recording the same attempt again replaces its row.
  ASSERT_TRUE(this->store().RecordAttempt(LeaseOf(first), env1, this->now() + 1).ok());
  ASSERT_EQ(this->store().FailTrial(LeaseOf(first), "oom", true, this->kMaxAttempts, this->now())
                .value_or(TrialState::kFailed),
            TrialState::kWaiting);
  // A worker that did not report its environment: stored as unknown ("").
  const TrialRecord second = this->Claim("w-2");
  ASSERT_EQ(second.trial_id, first.trial_id);
  ASSERT_TRUE(this->store().RecordAttempt(LeaseOf(second), "", this->now() + 2).ok());

  absl::StatusOr<std::vector<AttemptRecord>> attempts =
      this->store().ListAttempts(first.trial_id);
  ASSERT_TRUE(attempts.ok()) << attempts.status();
  ASSERT_EQ(attempts->size(), 2u);
  EXPECT_EQ(attempts->at(0).trial_id, first.trial_id);
  EXPECT_EQ(attempts->at(0).attempt, 1);
  EXPECT_EQ(attempts->at(0).worker_id, "w-1");
  EXPECT_EQ(attempts->at(0).environment_json, env1);
  EXPECT_EQ(attempts->at(0).started_ms, this->now() + 1);
  EXPECT_EQ(attempts->at(1).attempt, 2);
  EXPECT_EQ(attempts->at(1).worker_id, "w-2");
  EXPECT_EQ(attempts->at(1).environment_json, "");
  EXPECT_EQ(attempts->at(1).started_ms, this->now() + 2);
  EXPECT_EQ(submitted.trial_count, 1);
}

TYPED_TEST_P(TrialStoreContractTest, AttemptsNeedTheCurrentLease) {
  this->Submit("env-lease", {{0.5, 2}});
  const TrialRecord trial = this->Claim("w-1");
  LeaseRef stale = LeaseOf(trial);
  stale.attempt += 1;
  EXPECT_EQ(this->store().RecordAttempt(stale, "{}", this->now()).code(),
            absl::StatusCode::kAborted);
  LeaseRef other = LeaseOf(trial);
  other.worker_id = "w-9";
  EXPECT_EQ(this->store().RecordAttempt(other, "{}", this->now()).code(),
            absl::StatusCode::kAborted);
  EXPECT_EQ(this->store().RecordAttempt({999999, "w-1", 1}, "{}", this->now()).code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(this->store().ListAttempts(999999).status().code(), absl::StatusCode::kNotFound);
  absl::StatusOr<std::vector<AttemptRecord>> attempts = this->store().ListAttempts(trial.trial_id);
  ASSERT_TRUE(attempts.ok()) << attempts.status();
  EXPECT_TRUE(attempts->empty());
}

TYPED_TEST_P(TrialStoreContractTest, AReusedTrialShowsItsSourcesAttempts) {
  this->Submit("env-source", {{0.5, 2}});
  const TrialRecord source = this->Claim("w-1");
  ASSERT_TRUE(this->store().RecordAttempt(LeaseOf(source), R"({"hosts":["a"]})", this->now()).ok());
  ASSERT_TRUE(this->store().CompleteTrial(LeaseOf(source), {}, this->now()).ok());
  this->Submit("env-reuse", {{0.5, 2}});
  const std::vector<TrialRecord> reused = this->Trials("env-reuse");
  ASSERT_EQ(reused.size(), 1u);
  ASSERT_EQ(reused[0].reused_from, source.trial_id);
  absl::StatusOr<std::vector<AttemptRecord>> attempts =
      this->store().ListAttempts(reused[0].trial_id);
  ASSERT_TRUE(attempts.ok()) << attempts.status();
  ASSERT_EQ(attempts->size(), 1u);
  EXPECT_EQ(attempts->at(0).trial_id, source.trial_id);
  EXPECT_EQ(attempts->at(0).environment_json, R"({"hosts":["a"]})");
}

TYPED_TEST_P(TrialStoreContractTest, AtomicallyCommitsTogetherAndAFailedCallChangesNothing) {
  this->Submit("atomic", {{1.0}, {0.5}});
  const TrialRecord first = this->Claim("w-1");
  absl::Status status = this->store().Atomically([&]() -> absl::Status {
    EXPECT_TRUE(this->store().WriteMetrics(LeaseOf(first), {{"loss", 1, 0, 0.5, 1}}).ok());
    // A call that fails inside: it changes nothing, and the others stand.
    LeaseRef stale = LeaseOf(first);
    stale.attempt += 1;
    EXPECT_EQ(this->store().WriteMetrics(stale, {{"loss", 2, 0, 0.25, 1}}).status().code(),
              absl::StatusCode::kAborted);
    absl::StatusOr<TrialState> done = this->store().CompleteTrial(LeaseOf(first), {}, this->now());
    EXPECT_TRUE(done.ok()) << done.status();
    absl::StatusOr<std::optional<TrialRecord>> next =
        this->store().ClaimNextTrial("w-1", 1, "cpu", this->now(), this->kLeaseMs);
    EXPECT_TRUE(next.ok() && next->has_value());
    return absl::OkStatus();
  });
  ASSERT_TRUE(status.ok()) << status;
  EXPECT_EQ(this->Trial(first.trial_id).state, TrialState::kComplete);
  auto metrics = this->store().ListMetrics(first.trial_id);
  ASSERT_TRUE(metrics.ok());
  ASSERT_EQ(metrics->size(), 1u);
  EXPECT_EQ(metrics->at(0).step, 1);
  EXPECT_EQ(this->Experiment("atomic").trial_counts[TrialState::kRunning], 1);
}

TYPED_TEST_P(TrialStoreContractTest, AtomicallyRollsEverythingBackWhenFnFails) {
  this->Submit("atomic-undo", {{1.0}});
  const TrialRecord trial = this->Claim("w-1");
  absl::Status status = this->store().Atomically([&]() -> absl::Status {
    EXPECT_TRUE(this->store().WriteMetrics(LeaseOf(trial), {{"loss", 1, 0, 0.5, 1}}).ok());
    EXPECT_TRUE(this->store().CompleteTrial(LeaseOf(trial), {}, this->now()).ok());
    return absl::DataLossError("the caller changed its mind");
  });
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(this->Trial(trial.trial_id).state, TrialState::kRunning);
  auto metrics = this->store().ListMetrics(trial.trial_id);
  ASSERT_TRUE(metrics.ok());
  EXPECT_TRUE(metrics->empty());
}

TYPED_TEST_P(TrialStoreContractTest, RunAfterCommitWaitsForTheCommitAndSkipsWhatRolledBack) {
  this->Submit("after", {{1.0}});
  const TrialRecord trial = this->Claim("w-1");
  std::vector<std::string> ran;
  // Outside a transaction: at once.
  this->store().RunAfterCommit([&] { ran.push_back("outside"); });
  EXPECT_EQ(ran, std::vector<std::string>{"outside"});
  ran.clear();
  absl::Status status = this->store().Atomically([&]() -> absl::Status {
    EXPECT_TRUE(this->store().WriteMetrics(LeaseOf(trial), {{"loss", 1, 0, 0.5, 1}}).ok());
    this->store().RunAfterCommit([&] {
      ran.push_back("kept");
      // It runs once the writes are committed, and may use the store.
      auto metrics = this->store().ListMetrics(trial.trial_id);
      EXPECT_TRUE(metrics.ok() && metrics->size() == 1u);
    });
    // A call that fails takes the work it left with it.
    EXPECT_FALSE(this->store()
                     .Atomically([&]() -> absl::Status {
                       this->store().RunAfterCommit([&] { ran.push_back("failed call"); });
                       return absl::AbortedError("this call fails");
                     })
                     .ok());
    EXPECT_TRUE(ran.empty()) << "ran before the commit";
    return absl::OkStatus();
  });
  ASSERT_TRUE(status.ok()) << status;
  EXPECT_EQ(ran, std::vector<std::string>{"kept"});
  ran.clear();
  // A transaction that rolls back runs none of it.
  EXPECT_FALSE(this->store()
                   .Atomically([&]() -> absl::Status {
                     this->store().RunAfterCommit([&] { ran.push_back("rolled back"); });
                     return absl::DataLossError("undo");
                   })
                   .ok());
  EXPECT_TRUE(ran.empty());
}

// Records what the commit feed delivers.
class RecordingListener : public TrialCommitListener {
 public:
  bool active() const override { return true; }
  void OnCommitted(std::vector<TrialChange> changes) override {
    for (TrialChange& c : changes) states.emplace_back(c.trial.trial_id, c.trial.state);
  }
  void OnSnapshot(const std::string&, std::vector<TrialChange> trials) override {
    snapshot_size = static_cast<int>(trials.size());
    states.clear();
  }
  void AfterCommit() override { ++after_commits; }
  std::vector<std::pair<int64_t, TrialState>> states;
  int snapshot_size = -1;
  int after_commits = 0;
};

TYPED_TEST_P(TrialStoreContractTest, TheCommitFeedHearsEveryCommittedChangeInOrder) {
  RecordingListener listener;
  this->store().SetCommitListener(&listener);
  const std::string id = this->Submit("feed", {{1.0}, {0.5}}).experiment_id;
  ASSERT_TRUE(this->store().PublishSnapshot(id).ok());
  EXPECT_EQ(listener.snapshot_size, 2);
  const TrialRecord t = this->Claim("w-1");
  // A rolled-back transaction is never heard.
  EXPECT_FALSE(this->store()
                   .Atomically([&]() -> absl::Status {
                     EXPECT_TRUE(this->store().CompleteTrial(LeaseOf(t), {}, this->now()).ok());
                     return absl::AbortedError("undo");
                   })
                   .ok());
  this->Complete(t);
  EXPECT_EQ(listener.states,
            (std::vector<std::pair<int64_t, TrialState>>{{t.trial_id, TrialState::kRunning},
                                                         {t.trial_id, TrialState::kComplete}}));
  EXPECT_GE(listener.after_commits, 3);  // snapshot + two commits
  EXPECT_EQ(this->store().PublishSnapshot("no-such-experiment").code(),
            absl::StatusCode::kNotFound);
  this->store().SetCommitListener(nullptr);
}

REGISTER_TYPED_TEST_SUITE_P(
    TrialStoreContractTest, SubmitStoresTheExperimentAndItsTrialsInGridOrder,
    ResubmittingTheSameSpecChangesNothing, SameNameWithADifferentSpecIsAlreadyExists,
    UnknownIdsAreNotFound, ListExperimentsIsNewestFirstAndPages, ListTrialsFiltersByState,
    CompleteTrialsAreReusedByLaterExperiments, ReuseTakesTheNewestOriginal, RerunDoesNotReuse,
    ClaimFollowsSubmissionOrderThenGridOrder, ClaimMatchesRanksAndDevice, ClaimLeasesTheTrial,
    ConcurrentClaimsOfOneTrialHaveExactlyOneWinner, StaleLeasesAreAbortedAndChangeNothing,
    LeaseCallsOnAFinishedTrialAreAborted, RenewLeaseExtendsTheDeadlineAndRecordsProgress,
    CompletingTheLastTrialFinishesTheExperiment, RetryableFailuresRequeueUntilMaxAttempts,
    NonRetryableFailureIsFinal, ExpiredLeasesRequeueThenFail, HandBacksDoNotUseUpAttempts,
    HandBackOfACancelRequestedTrialCancelsIt, LiveLeasesDoNotExpire,
    LateWorkerCannotOverwriteTheNewHolder, CancelStopsWaitingTrialsAndFlagsRunningOnes,
    CancelRequestedTrialThatFailsOrExpiresIsCancelled, CancellingAFinishedExperimentKeepsItDone,
    MetricRewritesAreIdempotent, AThousandPointBatchIsOneCall, AnInvalidPointWritesNothing,
    LatestMetricsTakesTheHighestStep, SamplesAreIdempotent, CheckpointsKeepTheNewest,
    CompleteTrialsKeepTheirFinalCheckpoint, RetentionKeepsTheNewestFinishedTrials,
    RetentionKeepsAWarmStartSourceUntilItsTrialFinishes,
    ACheckpointAtTheSameStepReplacesTheRow, DeleteCheckpointRemovesOneRow, WorkersAreUpserted,
    AttemptsRecordWhereTheyRan, AttemptsNeedTheCurrentLease, AReusedTrialShowsItsSourcesAttempts,
    AtomicallyCommitsTogetherAndAFailedCallChangesNothing, AtomicallyRollsEverythingBackWhenFnFails,
    RunAfterCommitWaitsForTheCommitAndSkipsWhatRolledBack,
    TheCommitFeedHearsEveryCommittedChangeInOrder);

// Contracts of stores that persist: a restarted coordinator carries on, and
// two stores on the same data (two processes) stay consistent.
template <typename Traits>
class PersistentTrialStoreContractTest : public TrialStoreContractTest<Traits> {};

TYPED_TEST_SUITE_P(PersistentTrialStoreContractTest);

TYPED_TEST_P(PersistentTrialStoreContractTest, AReopenedStoreHasEverything) {
  this->Submit("first", {{1.0}, {0.5}});
  TrialRecord done = this->Claim("w-1");
  ASSERT_TRUE(this->store().WriteMetrics(LeaseOf(done), {{"loss", 10, 1, 0.25, 5}}).ok());
  ASSERT_TRUE(this->store().WriteSample(LeaseOf(done), {"grid", 10, 1, "png-bytes", 2, 2}).ok());
  ASSERT_TRUE(this->store().AddCheckpoint(LeaseOf(done), this->Checkpoint(done, 10), 2).ok());
  ASSERT_TRUE(this->store().RecordAttempt(LeaseOf(done), R"({"hosts":["node0"]})", 3).ok());
  this->Complete(done, {{"fid", 7}});
  TrialRecord running = this->Claim("w-2");
  ASSERT_TRUE(this->store().UpsertWorker({"w-2", "node1", 1, "cpu", 0, 77, this->now()}).ok());
  this->Submit("second", {{1.0}});
  ASSERT_TRUE(this->store().CancelExperiment("second", this->now()).ok());

  this->Reopen();

  ExperimentRecord first = this->Experiment("first");
  EXPECT_EQ(first.status, ExperimentStatus::kActive);
  EXPECT_EQ(first.trial_counts[TrialState::kComplete], 1);
  EXPECT_EQ(first.trial_counts[TrialState::kRunning], 1);
  EXPECT_EQ(this->Experiment("second").status, ExperimentStatus::kDone);  // all reused
  TrialRecord stored = this->Trial(running.trial_id);
  EXPECT_EQ(stored.state, TrialState::kRunning);
  EXPECT_EQ(stored.worker_id, "w-2");
  EXPECT_EQ(stored.lease_expires_ms, running.lease_expires_ms);
  EXPECT_EQ(this->store().ListMetrics(done.trial_id)->size(), 1u);
  EXPECT_EQ(this->store().ListSamples(done.trial_id)->front().png, "png-bytes");
  EXPECT_EQ(this->store().ListCheckpoints(done.trial_id)->size(), 1u);
  EXPECT_EQ(this->store().GetWorker("w-2")->pid, 77);
  EXPECT_EQ(this->Trials("first")[1].params.at("kl_weight"), "0.5");
  EXPECT_EQ(this->store().ListAttempts(done.trial_id)->at(0).environment_json,
            R"({"hosts":["node0"]})");

  // The lease survives the restart: its holder carries on.
  ASSERT_TRUE(
      this->store().RenewLease(LeaseOf(running), this->now(), this->kLeaseMs, 1, 1, 1, 1).ok());
  this->Complete(running);
  EXPECT_EQ(this->Experiment("first").status, ExperimentStatus::kDone);
  // Ids keep growing after a restart.
  SubmitResult third = this->Submit("third", {{0.125}});
  EXPECT_GT(this->Trials("third")[0].trial_id, running.trial_id);
  EXPECT_EQ(third.trial_count, 1);
}

TYPED_TEST_P(PersistentTrialStoreContractTest, TwoStoresRacingForOneTrialHaveOneWinner) {
  std::unique_ptr<TrialStore> other = this->OpenStore();
  ASSERT_NE(other, nullptr);
  constexpr int kRounds = 20;
  for (int round = 0; round < kRounds; ++round) {
    this->Submit("race" + std::to_string(round), {{1.0 + round}});
    std::atomic<bool> go{false};
    std::atomic<int> winners{0};
    std::atomic<int> errors{0};
    auto claim = [&](TrialStore* store, const std::string& worker) {
      while (!go.load()) std::this_thread::yield();
      absl::StatusOr<std::optional<TrialRecord>> claimed =
          store->ClaimNextTrial(worker, 1, "cpu", this->now(), this->kLeaseMs);
      if (!claimed.ok()) {
        ADD_FAILURE() << claimed.status();
        ++errors;
      } else if (claimed->has_value()) {
        ++winners;
      }
    };
    std::thread a(claim, &this->store(), "w-a");
    std::thread b(claim, other.get(), "w-b");
    go = true;
    a.join();
    b.join();
    EXPECT_EQ(errors.load(), 0);
    EXPECT_EQ(winners.load(), 1) << "round " << round;
  }
  // Both connections see the same final state.
  for (int round = 0; round < kRounds; ++round) {
    absl::StatusOr<std::vector<TrialRecord>> mine =
        this->store().ListTrials("race" + std::to_string(round), {});
    absl::StatusOr<std::vector<TrialRecord>> theirs =
        other->ListTrials("race" + std::to_string(round), {});
    ASSERT_TRUE(mine.ok() && theirs.ok());
    EXPECT_EQ(mine->at(0).worker_id, theirs->at(0).worker_id);
    EXPECT_EQ(mine->at(0).attempt, 1);
  }
}

TYPED_TEST_P(PersistentTrialStoreContractTest, ALeaseTakenThroughOneStoreIsCheckedByTheOther) {
  std::unique_ptr<TrialStore> other = this->OpenStore();
  ASSERT_NE(other, nullptr);
  this->Submit("grid", {{1.0}});
  TrialRecord t = this->Claim("w-1");
  // The other connection expires it and hands it to w-2...
  this->clock_.AdvanceMs(this->kLeaseMs + 1);
  ASSERT_TRUE(other->ExpireLeases(this->now(), this->kMaxAttempts).ok());
  absl::StatusOr<std::optional<TrialRecord>> again =
      other->ClaimNextTrial("w-2", 1, "cpu", this->now(), this->kLeaseMs);
  ASSERT_TRUE(again.ok() && again->has_value());
  // ...so w-1 is locked out through this one.
  EXPECT_EQ(this->store().CompleteTrial(LeaseOf(t), {}, this->now()).status().code(),
            absl::StatusCode::kAborted);
  EXPECT_TRUE(this->store().CompleteTrial(LeaseOf(**again), {}, this->now()).ok());
}

REGISTER_TYPED_TEST_SUITE_P(PersistentTrialStoreContractTest, AReopenedStoreHasEverything,
                            TwoStoresRacingForOneTrialHaveOneWinner,
                            ALeaseTakenThroughOneStoreIsCheckedByTheOther);

}  // namespace gridrun::coordinator::store_test
