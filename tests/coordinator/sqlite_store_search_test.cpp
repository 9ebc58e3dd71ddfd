// Early stopping in the store (coordinator/sqlite_store_search.cpp): rung
// leases, ASHA decisions persisted with their state changes, promotions of
// paused trials, the experiment's end, stop rules and the median rule, and
// the v5 -> v6 migration of a database with trials in it.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <string>

#include "coordinator/grid_expand.h"
#include "coordinator/grid_spec.h"
#include "coordinator/sqlite_schema.h"
#include "coordinator/sqlite_trial_store.h"
#include "search/asha.h"
#include "search/search_types.h"

namespace gridrun::coordinator {
namespace {
namespace sqlite_store_search_test {

constexpr int64_t kLeaseMs = 60'000;

class StoreSearchTest : public testing::Test {
 protected:
  void SetUp() override {
    auto store = SqliteTrialStore::Open(":memory:");
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
    ASSERT_TRUE(store_->UpsertWorker({"w", "host", 1, "cpu", 0, 1, 0}).ok());
  }

  // Submits `n` trials of a 9-epoch VAE grid with the given search keys.
  void Submit(int n, const std::string& search_keys) {
    std::string values;
    for (int i = 0; i < n; ++i) values += (i ? ", " : "") + std::to_string(i + 1);
    const std::string yaml = "experiment: e\ndataset: mnist\nmodel: vae-mlp\nepochs: 9\n" +
                             search_keys + "grid:\n  latent_size: [" + values + "]\n";
    auto spec = ParseGridSpec(yaml);
    ASSERT_TRUE(spec.ok()) << spec.status();
    auto submitted = store_->SubmitExperiment(ToNewExperiment(*spec, yaml), false, now_++);
    ASSERT_TRUE(submitted.ok()) << submitted.status();
    experiment_ = submitted->experiment_id;
  }

  LeaseRef Claim() {
    auto claimed = store_->ClaimNextTrial("w", 1, "cpu", now_++, kLeaseMs);
    EXPECT_TRUE(claimed.ok() && claimed->has_value()) << claimed.status();
    if (!claimed.ok() || !claimed->has_value()) return {};
    const TrialRecord& t = **claimed;
    stop_after_[t.trial_id] = t.stop_after_epoch;
    return LeaseRef{t.trial_id, t.worker_id, t.attempt};
  }

  void Metric(const LeaseRef& lease, const std::string& name, int64_t epoch, double value) {
    ASSERT_TRUE(store_->WriteMetrics(lease, {{name, epoch * 100, epoch, value, 0}}).ok());
  }

  TrialState Rung(const LeaseRef& lease, double value) {
    const int64_t epoch = stop_after_.at(lease.trial_id);
    Metric(lease, "test/loss", epoch, value);
    auto state = store_->ReachRung(lease, epoch, now_++);
    EXPECT_TRUE(state.ok()) << state.status();
    return state.ok() ? *state : TrialState::kFailed;
  }

  TrialRecord Trial(int64_t id) { return *store_->GetTrial(id); }

  std::unique_ptr<SqliteTrialStore> store_;
  std::string experiment_;
  std::map<int64_t, int64_t> stop_after_;
  int64_t now_ = 1000;
};

constexpr char kAsha[] =
    "scheduler: {type: asha, metric: test/loss, mode: min, min_epochs: 1, reduction_factor: 3}\n";

// Three trials, one worker: the decisions of search/asha.h step by step,
// with every state change, the rung table and the log in the store.
TEST_F(StoreSearchTest, AshaRungsPauseAndPromoteInTheStore) {
  Submit(3, kAsha);
  // Rungs at epochs 1 and 3 of 9.
  const LeaseRef a = Claim();
  EXPECT_EQ(stop_after_[a.trial_id], 1);
  EXPECT_EQ(Rung(a, 1.0), TrialState::kPaused);  // first arrival: floor(1/3) = 0
  const LeaseRef b = Claim();
  EXPECT_EQ(Rung(b, 2.0), TrialState::kPaused);
  const LeaseRef c = Claim();
  // The third arrival promotes the best so far, trial a (a late promotion).
  EXPECT_EQ(Rung(c, 3.0), TrialState::kPaused);
  EXPECT_EQ(Trial(a.trial_id).state, TrialState::kWaiting);
  EXPECT_EQ(Trial(a.trial_id).stop_after_epoch, 3);
  EXPECT_EQ(Trial(a.trial_id).rung_epoch, 1);
  EXPECT_EQ(Trial(b.trial_id).state, TrialState::kPaused);

  // a resumes (the next lease is a's, bounded to rung 1 at epoch 3) and is
  // the only arrival there: paused; then nothing is left to run, so every
  // paused trial becomes STOPPED and the experiment is DONE.
  const LeaseRef a2 = Claim();
  EXPECT_EQ(a2.trial_id, a.trial_id);
  EXPECT_EQ(a2.attempt, 2);
  EXPECT_EQ(Rung(a2, 0.5), TrialState::kPaused);
  for (int64_t id : {a.trial_id, b.trial_id, c.trial_id}) {
    const TrialRecord t = Trial(id);
    EXPECT_EQ(t.state, TrialState::kStopped) << id;
    EXPECT_NE(t.error.find("paused at an ASHA rung"), std::string::npos) << t.error;
  }
  auto experiment = store_->GetExperiment(experiment_);
  ASSERT_TRUE(experiment.ok());
  EXPECT_EQ(experiment->status, ExperimentStatus::kDone);
  EXPECT_EQ(experiment->trial_counts[TrialState::kStopped], 3);
  // Epochs run: 3 (a) + 1 + 1; the full grid would be 27.
  EXPECT_EQ(experiment->trial_epochs_run, 5);
  EXPECT_EQ(experiment->trial_epochs_full, 27);

  auto log = store_->ListSearchDecisions(experiment_);
  ASSERT_TRUE(log.ok());
  std::vector<std::string> kinds;
  for (const SearchDecisionRecord& d : *log) kinds.push_back(d.kind);
  EXPECT_EQ(kinds, (std::vector<std::string>{"PAUSE", "PAUSE", "PAUSE", "PROMOTE", "PAUSE",
                                             "FINISH_PAUSED", "FINISH_PAUSED", "FINISH_PAUSED"}));
  auto rows = store_->Query("SELECT rung, seq, trial_id, promoted FROM rung_results "
                            "ORDER BY rung, seq");
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->rows.size(), 4u);
}

// Replaying the persisted arrivals through search::AshaScheduler gives the
// persisted promotions: the store decides exactly as the pure policy.
TEST_F(StoreSearchTest, PersistedDecisionsMatchThePolicyReplayed) {
  Submit(9, kAsha);
  const double values[] = {5, 3, 8, 1, 9, 2, 7, 4, 6};
  // Nine workers' leases at once (the same worker id serves), reporting in
  // this order.
  std::vector<LeaseRef> leases;
  for (int i = 0; i < 9; ++i) leases.push_back(Claim());
  for (size_t i = 0; i < leases.size(); ++i) Rung(leases[i], values[i]);
  auto replay = search::AshaScheduler::Create({1, 3, 9, search::Mode::kMin});
  ASSERT_TRUE(replay.ok());
  std::map<int64_t, bool> promoted;
  for (size_t i = 0; i < leases.size(); ++i) {
    auto decisions = replay->Report(leases[i].trial_id, 0, values[i]);
    ASSERT_TRUE(decisions.ok());
    for (const auto& d : *decisions) {
      if (d.kind == search::AshaDecision::Kind::kPromote) promoted[d.trial_id] = true;
    }
  }
  // 5, 3, 8 promote 3; 1 promotes itself; 2 arrives as the second of the
  // top 2 of six: three promotions in all.
  EXPECT_EQ(promoted.size(), 3u);
  for (const LeaseRef& lease : leases) {
    const TrialRecord t = Trial(lease.trial_id);
    // Promoted trials wait for their next lease; the rest are paused.
    EXPECT_EQ(t.state, promoted.contains(lease.trial_id) ? TrialState::kWaiting
                                                         : TrialState::kPaused)
        << lease.trial_id;
  }
}

TEST_F(StoreSearchTest, ReachRungRefusesAnotherEpochAndARetriedReport) {
  Submit(3, kAsha);
  const LeaseRef a = Claim();
  Metric(a, "test/loss", 2, 1.0);
  auto wrong = store_->ReachRung(a, 2, now_++);
  EXPECT_EQ(wrong.status().code(), absl::StatusCode::kFailedPrecondition) << wrong.status();
  EXPECT_EQ(Rung(a, 1.0), TrialState::kPaused);
  // The same report again (a worker retrying after a lost response): the
  // lease has moved on, nothing is decided twice.
  auto again = store_->ReachRung(a, 1, now_++);
  EXPECT_EQ(again.status().code(), absl::StatusCode::kAborted);
  auto rows = store_->Query("SELECT COUNT(*) FROM rung_results");
  ASSERT_TRUE(rows.ok());
  EXPECT_EQ(rows->rows[0][0].AsInteger(), 1);
}

TEST_F(StoreSearchTest, DivergenceStopRuleStopsTheTrialWithItsReason) {
  Submit(1, "stop:\n  - {metric: test/loss, mode: min, diverged: {factor: 2, epochs: 2}}\n");
  const LeaseRef a = Claim();
  EXPECT_EQ(stop_after_[a.trial_id], 0);  // no scheduler: unbounded
  Metric(a, "test/loss", 1, 10);
  EXPECT_FALSE(store_->ApplyStopRules(a, now_++)->has_value());
  Metric(a, "test/loss", 2, 25);
  EXPECT_FALSE(store_->ApplyStopRules(a, now_++)->has_value());
  Metric(a, "test/loss", 3, 30);
  auto reason = store_->ApplyStopRules(a, now_++);
  ASSERT_TRUE(reason.ok() && reason->has_value()) << reason.status();
  EXPECT_NE((*reason)->find("diverged"), std::string::npos) << **reason;
  EXPECT_TRUE(Trial(a.trial_id).stop_requested);
  // The heartbeat sees it; the worker's FailTrial ends it STOPPED.
  auto renewed = store_->RenewLease(a, now_++, kLeaseMs, 3, 300, 900, 1);
  ASSERT_TRUE(renewed.ok());
  EXPECT_TRUE(renewed->stop_requested);
  auto state = store_->FailTrial(a, "stopped early", false, 3, now_++);
  ASSERT_TRUE(state.ok());
  EXPECT_EQ(*state, TrialState::kStopped);
  EXPECT_EQ(Trial(a.trial_id).error, **reason);
  EXPECT_EQ(store_->GetExperiment(experiment_)->status, ExperimentStatus::kDone);
}

TEST_F(StoreSearchTest, NonFiniteRuleTurnsATrainersRefusalIntoAStop) {
  Submit(2, "stop:\n  - {metric: test/loss, non_finite: true}\n");
  const LeaseRef a = Claim();
  auto state = store_->FailTrial(a, "non-finite loss/total at step 17", false, 3, now_++);
  ASSERT_TRUE(state.ok());
  EXPECT_EQ(*state, TrialState::kStopped);
  const LeaseRef b = Claim();
  state = store_->FailTrial(b, "out of memory", false, 3, now_++);
  ASSERT_TRUE(state.ok());
  EXPECT_EQ(*state, TrialState::kFailed);
}

TEST_F(StoreSearchTest, MedianRuleStopsATrialWorseThanTheMedian) {
  Submit(4, "scheduler: {type: median, metric: test/loss, min_epochs: 1, min_trials: 3}\n");
  std::vector<LeaseRef> leases;
  for (int i = 0; i < 4; ++i) leases.push_back(Claim());
  for (int i = 0; i < 3; ++i) {
    Metric(leases[i], "test/loss", 1, 1.0 + i);
    EXPECT_FALSE(store_->ApplyStopRules(leases[i], now_++)->has_value());
  }
  Metric(leases[3], "test/loss", 1, 5.0);  // median of 1, 2, 3 is 2
  auto reason = store_->ApplyStopRules(leases[3], now_++);
  ASSERT_TRUE(reason.ok() && reason->has_value());
  EXPECT_NE((*reason)->find("median 2 of 3"), std::string::npos) << **reason;
}

TEST_F(StoreSearchTest, CancellingCancelsPausedTrials) {
  Submit(3, kAsha);
  const LeaseRef a = Claim();
  EXPECT_EQ(Rung(a, 1.0), TrialState::kPaused);
  ASSERT_TRUE(store_->CancelExperiment(experiment_, now_++).ok());
  EXPECT_EQ(Trial(a.trial_id).state, TrialState::kCancelled);
}

// keep_best: the checkpoint saved after the best epoch survives retention
// besides the newest others; a better epoch later takes its place.
TEST_F(StoreSearchTest, KeepBestKeepsTheBestEpochsCheckpoint) {
  Submit(1, "keep_best: {metric: test/loss, mode: min}\n");
  const LeaseRef a = Claim();
  const double losses[] = {5, 2, 4, 6, 7, 1.5, 8};
  std::vector<std::string> dropped;
  for (int epoch = 1; epoch <= 7; ++epoch) {
    Metric(a, "test/loss", epoch, losses[epoch - 1]);  // at step epoch * 100
    CheckpointRecord c;
    c.step = epoch * 100;
    c.epoch = epoch + 1;
    c.sha256 = std::string(64, 'a' + epoch);
    c.path = "ckpt-" + std::to_string(epoch);
    auto gone = store_->AddCheckpoint(a, c, /*keep=*/2);
    ASSERT_TRUE(gone.ok()) << gone.status();
    dropped.insert(dropped.end(), gone->begin(), gone->end());
    auto kept = store_->ListCheckpoints(a.trial_id);
    ASSERT_TRUE(kept.ok());
    std::vector<std::string> paths;
    std::string best;
    for (const CheckpointRecord& k : *kept) {
      paths.push_back(k.path);
      if (k.best) best = k.path;
    }
    if (epoch == 4) {
      // Newest two (4, 3) and the best so far (epoch 2).
      EXPECT_EQ(paths, (std::vector<std::string>{"ckpt-4", "ckpt-3", "ckpt-2"}));
      EXPECT_EQ(best, "ckpt-2");
    }
    if (epoch == 7) {
      // The best (epoch 6) and the newest two others (7, 5).
      EXPECT_EQ(paths, (std::vector<std::string>{"ckpt-7", "ckpt-6", "ckpt-5"}));
      EXPECT_EQ(best, "ckpt-6");
    }
  }
  EXPECT_EQ(dropped, (std::vector<std::string>{"ckpt-1", "ckpt-3", "ckpt-2", "ckpt-4"}));
}

// keep_best's sample grid (proto convention 7d): the lease names the metric;
// a "best" grid is stored only for the trial's best epoch so far, replacing
// the previous one; a stale candidate (a resumed worker's first epoch) and
// other names are judged by nothing but their own rules.
TEST_F(StoreSearchTest, KeepBestKeepsOnlyTheBestEpochsSampleGrid) {
  Submit(1, "keep_best: {metric: test/loss, mode: max}\n");
  auto claimed = store_->ClaimNextTrial("w", 1, "cpu", now_++, kLeaseMs);
  ASSERT_TRUE(claimed.ok() && claimed->has_value()) << claimed.status();
  EXPECT_EQ((*claimed)->keep_best_metric, "test/loss");
  EXPECT_TRUE((*claimed)->keep_best_maximize);
  const LeaseRef a{(*claimed)->trial_id, "w", (*claimed)->attempt};
  auto best_grids = [&] {
    std::vector<int64_t> epochs;
    auto samples = store_->ListSamples(a.trial_id);
    EXPECT_TRUE(samples.ok()) << samples.status();
    for (const SampleRecord& x : *samples) {
      if (x.name == search::kBestSampleName) epochs.push_back(x.epoch);
    }
    return epochs;
  };
  auto send = [&](const std::string& name, int64_t epoch) {
    SampleRecord sample{name, epoch * 100, epoch, std::string("\x89PNG", 4), 1, 1};
    ASSERT_TRUE(store_->WriteSample(a, sample).ok());
  };
  Metric(a, "test/loss", 1, 3);
  send(search::kBestSampleName, 1);
  EXPECT_EQ(best_grids(), (std::vector<int64_t>{1}));
  Metric(a, "test/loss", 2, 5);
  send(search::kBestSampleName, 2);
  EXPECT_EQ(best_grids(), (std::vector<int64_t>{2})) << "the better epoch replaces the old grid";
  Metric(a, "test/loss", 3, 4);
  send(search::kBestSampleName, 3);  // not the best: dropped
  EXPECT_EQ(best_grids(), (std::vector<int64_t>{2}));
  send(search::kBestSampleName, 9);  // no value at that epoch: dropped
  EXPECT_EQ(best_grids(), (std::vector<int64_t>{2}));
  send("samples", 3);  // other names are stored as always
  auto all = store_->ListSamples(a.trial_id);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), 2u);
}

TEST_F(StoreSearchTest, WithoutKeepBestNoBestGridIsKept) {
  Submit(1, "");
  auto claimed = store_->ClaimNextTrial("w", 1, "cpu", now_++, kLeaseMs);
  ASSERT_TRUE(claimed.ok() && claimed->has_value());
  EXPECT_EQ((*claimed)->keep_best_metric, "");
  const LeaseRef a{(*claimed)->trial_id, "w", (*claimed)->attempt};
  Metric(a, "test/loss", 1, 3);
  ASSERT_TRUE(
      store_->WriteSample(a, {search::kBestSampleName, 100, 1, std::string("\x89PNG", 4), 1, 1})
          .ok());
  EXPECT_TRUE(store_->ListSamples(a.trial_id)->empty());
}

// A version-5 database with trials migrates to 6 and then takes the new
// states (the widened CHECK constraint) and keeps every row.
TEST(StoreSearchMigrationTest, Version5DatabaseTakesPausedAndStopped) {
  const std::string path =
      (std::filesystem::temp_directory_path() / ("search_v5_" + std::to_string(::getpid()) + ".db"))
          .string();
  std::filesystem::remove(path);
  {
    SQLite::Database db(path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    db.exec("PRAGMA foreign_keys = ON");
    const std::vector<Migration> v5(SchemaMigrations().begin(), SchemaMigrations().begin() + 5);
    ASSERT_TRUE(ApplyMigrations(db, v5).ok());
    db.exec(
        "INSERT INTO experiments (experiment_id, name, spec_yaml, spec_sha256, status, "
        "created_ms, seq) VALUES ('exp-1', 'old', 'spec', 'sha', 'ACTIVE', 1, 1);"
        "INSERT INTO trials (trial_id, experiment_id, experiment_seq, number, state, "
        "config_json, config_sha256, created_ms) VALUES (1, 'exp-1', 1, 0, 'WAITING', '{}', 'a', 1);"
        "INSERT INTO trial_params VALUES (1, 'kl_weight', '1');");
    EXPECT_THROW(db.exec("UPDATE trials SET state = 'PAUSED' WHERE trial_id = 1"),
                 SQLite::Exception);
  }
  {
    auto store = SqliteTrialStore::Open(path);
    ASSERT_TRUE(store.ok()) << store.status();
    auto trial = (*store)->GetTrial(1);
    ASSERT_TRUE(trial.ok());
    EXPECT_EQ(trial->params.at("kl_weight"), "1");
    EXPECT_EQ(trial->stop_after_epoch, 0);
  }
  {
    SQLite::Database db(path, SQLite::OPEN_READWRITE);
    db.exec("UPDATE trials SET state = 'PAUSED' WHERE trial_id = 1");
    db.exec("UPDATE trials SET state = 'STOPPED' WHERE trial_id = 1");
    EXPECT_THROW(db.exec("UPDATE trials SET state = 'ASLEEP' WHERE trial_id = 1"),
                 SQLite::Exception);
    EXPECT_EQ(db.execAndGet("PRAGMA integrity_check").getString(), "ok");
    EXPECT_EQ(db.execAndGet("SELECT COUNT(*) FROM trial_params").getInt(), 1);
  }
  std::filesystem::remove(path);
}

}  // namespace sqlite_store_search_test
}  // namespace
}  // namespace gridrun::coordinator
