// Random search + ASHA with the real coordinator and a real mpirun worker on
// tiny generated MNIST files: the experiment ends with the STOPPED/COMPLETE
// split the persisted rung results imply, the decisions equal the policy
// replayed on the persisted arrivals, every promoted trial resumes at its
// checkpoint's epoch, each trial keeps one keep_best sample grid, of its
// best epoch, and kill -9 of the coordinator while rungs are being
// decided, or of the worker while a promoted trial resumes, loses and
// duplicates nothing.
#include <gtest/gtest.h>

#include <cmath>
#include <csignal>
#include <map>
#include <set>
#include <thread>

#include "coordinator/sqlite_trial_store.h"
#include "search/asha.h"
#include "tests/integration/coordinator_fixture.h"
#include "tests/integration/process_util.h"
#include "tests/models/fake_data.h"

namespace gridrun::testing {
namespace {
namespace search_process_test {

using coordinator::TrialState;

constexpr int kTrials = 9;
constexpr int kEpochs = 9;  // rungs at epochs 1 and 3 (min_epochs 1, rf 3)
constexpr int64_t kStepsPerEpoch = 512 / 32;

std::string Spec(const std::string& name, int seed) {
  return "experiment: " + name +
         "\n"
         "dataset: mnist\n"
         "model: vae-mlp\n"
         "width: 32\n"
         "latent_size: 4\n"
         "epochs: " + std::to_string(kEpochs) + "\n"
         "batch_size: 32\n"
         "eval_samples: 0\n"
         "samples: {epochs: [1], count: 4}\n"
         "seed: " + std::to_string(seed) + "\n"
         "search: {strategy: random, trials: " + std::to_string(kTrials) + "}\n"
         "scheduler: {type: asha, metric: test/loss, mode: min, min_epochs: 1, "
         "reduction_factor: 3}\n"
         "keep_best: {metric: test/loss, mode: min}\n"
         "grid:\n"
         "  kl_weight: {log_uniform: [0.01, 1.0]}\n"
         "  lr: {log_uniform: [1.0e-4, 1.0e-2]}\n";
}

class SearchProcessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fake_data::WriteFakeMnist(dir_.path() + "/data", /*n_train=*/512, /*n_test=*/64, /*seed=*/5);
    client_.address = "127.0.0.1:" + std::to_string(FreePort());
    StartCoordinator();
  }

  void StartCoordinator() {
    coordinator_ = std::make_unique<ChildProcess>(std::vector<std::string>{
        BuildDir() + "/gridrun-coordinator", "--listen", client_.address, "--db", db_,
        "--lease-timeout", "2s"});
    ASSERT_TRUE(coordinator_->WaitForOutput("listening on")) << coordinator_->output();
  }

  std::unique_ptr<ChildProcess> StartWorker() {
    return std::make_unique<ChildProcess>(std::vector<std::string>{
        "mpirun", "--allow-run-as-root", "--oversubscribe", "--bind-to", "none", "-np", "1",
        BuildDir() + "/gridrun-worker", "--coordinator", client_.address, "--data-dir",
        dir_.path() + "/data", "--threads", "1", "--exit-when-idle", "3"});
  }

  std::unique_ptr<coordinator::SqliteTrialStore> Store() {
    auto store = coordinator::SqliteTrialStore::OpenReadOnly(db_);
    return store.ok() ? std::move(*store) : nullptr;
  }

  int64_t Count(const std::string& sql) {
    auto store = Store();
    if (!store) return -1;
    auto result = store->Query(sql);
    return result.ok() ? result->rows.at(0).at(0).AsInteger().value_or(-1) : -1;
  }

  bool WaitForDone(const std::string& experiment) {
    for (int i = 0; i < 1800; ++i) {
      if (auto store = Store()) {
        auto e = store->GetExperiment(experiment);
        if (e.ok() && e->status == coordinator::ExperimentStatus::kDone) return true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return false;
  }

  // What must hold at the end, killed coordinator or not; returns the
  // number of promotions per rung. `every_best_grid`: every trial has its
  // keep_best sample grid (no process was killed between an epoch's metrics
  // and its grid).
  std::map<int, int> ExpectConsistentEnd(const std::string& experiment,
                                         bool every_best_grid = false) {
    auto store = Store();
    EXPECT_TRUE(store != nullptr);
    if (!store) return {};
    auto trials = store->ListTrials(experiment, {});
    EXPECT_TRUE(trials.ok() && trials->size() == static_cast<size_t>(kTrials));
    if (!trials.ok()) return {};

    // The persisted arrivals, per rung in arrival order, replayed through
    // the pure policy, give exactly the persisted promotions.
    auto rows = store->Query(
        "SELECT r.rung, r.trial_id, printf('%.17g', r.value), r.promoted, r.seq "
        "FROM rung_results AS r "
        "WHERE r.experiment_id = '" + experiment + "' ORDER BY r.rung, r.seq");
    EXPECT_TRUE(rows.ok());
    auto replay = search::AshaScheduler::Create({1, 3, kEpochs, search::Mode::kMin});
    EXPECT_TRUE(replay.ok());
    std::map<std::pair<int, int64_t>, bool> persisted, replayed;
    std::map<int, int> promotions;
    std::map<int, int64_t> last_seq;
    for (const auto& row : rows->rows) {
      const int rung = static_cast<int>(row[0].AsInteger().value_or(-1));
      const int64_t trial = row[1].AsInteger().value_or(-1);
      EXPECT_EQ(row[4].AsInteger(), ++last_seq[rung]) << "gap or repeat in rung " << rung;
      persisted[{rung, trial}] = row[3].AsInteger().value_or(0) != 0;
      replayed[{rung, trial}] = false;
      const double value = row[2].is_null() ? std::nan("") : std::stod(row[2].text);
      auto decisions = replay->Report(trial, rung, value);
      EXPECT_TRUE(decisions.ok()) << decisions.status();  // no trial twice at a rung
      if (!decisions.ok()) continue;
      for (const auto& d : *decisions) {
        if (d.kind == search::AshaDecision::Kind::kPromote) replayed[{rung, d.trial_id}] = true;
      }
    }
    EXPECT_EQ(persisted, replayed);
    for (const auto& [key, promoted] : persisted) promotions[key.first] += promoted;

    // Every trial arrived at rung 0; a trial is at rung 1 only if promoted
    // from rung 0; the winners of rung 1 (the last) are the COMPLETE trials
    // and everything else was stopped.
    int complete = 0, stopped = 0;
    int64_t epochs_run = 0;
    for (const coordinator::TrialRecord& t : *trials) {
      SCOPED_TRACE("trial " + std::to_string(t.trial_id) + " " + TrialStateName(t.state) + " " +
                   t.error);
      EXPECT_TRUE((persisted.contains({0, t.trial_id})));
      if (persisted.contains({1, t.trial_id})) {
        EXPECT_TRUE((persisted[{0, t.trial_id}]));
      }
      const bool won = persisted.contains({1, t.trial_id}) && persisted[{1, t.trial_id}];
      EXPECT_EQ(t.state, won ? TrialState::kComplete : TrialState::kStopped);
      complete += t.state == TrialState::kComplete;
      stopped += t.state == TrialState::kStopped;
      // The training losses of every step it trained, once each, no gap:
      // through the last epoch for the winners, through its rung otherwise.
      const int64_t trained = won ? kEpochs : t.rung_epoch;
      epochs_run += trained;
      auto metrics = store->ListMetrics(t.trial_id);
      EXPECT_TRUE(metrics.ok());
      std::vector<int64_t> steps;
      for (const auto& m : *metrics) {
        if (m.name == "loss/total") steps.push_back(m.step);
      }
      EXPECT_EQ(static_cast<int64_t>(steps.size()), trained * kStepsPerEpoch);
      // keep_best: at most one "best" grid, at the epoch of the lowest
      // test/loss (the earliest among equals).
      std::map<int64_t, double> loss_by_epoch;
      for (const auto& m : *metrics) {
        if (m.name == "test/loss") loss_by_epoch[m.epoch] = m.value;
      }
      int64_t best_epoch = 0;
      for (const auto& [epoch, value] : loss_by_epoch) {
        if (best_epoch == 0 || value < loss_by_epoch[best_epoch]) best_epoch = epoch;
      }
      std::vector<int64_t> best_grids;
      auto samples = store->ListSamples(t.trial_id);
      EXPECT_TRUE(samples.ok());
      for (const auto& x : *samples) {
        if (x.name == "best") best_grids.push_back(x.epoch);
      }
      EXPECT_LE(best_grids.size(), 1u);
      if (!best_grids.empty()) EXPECT_EQ(best_grids[0], best_epoch);
      if (every_best_grid) EXPECT_EQ(best_grids, std::vector<int64_t>{best_epoch});
      for (size_t i = 0; i < steps.size(); ++i) {
        if (steps[i] != static_cast<int64_t>(i) + 1) {
          ADD_FAILURE() << "step " << steps[i] << " at position " << i;
          break;
        }
      }
    }
    EXPECT_GE(complete, 1);
    EXPECT_EQ(complete, promotions[1]);
    EXPECT_EQ(complete + stopped, kTrials);
    auto e = store->GetExperiment(experiment);
    EXPECT_TRUE(e.ok());
    EXPECT_EQ(e->trial_epochs_run, epochs_run);
    EXPECT_EQ(e->trial_epochs_full, kTrials * kEpochs);
    EXPECT_LT(e->trial_epochs_run, e->trial_epochs_full);
    return promotions;
  }

  TempDir dir_;
  std::string db_ = dir_.path() + "/grid.db";
  ClientOptions client_;
  std::unique_ptr<ChildProcess> coordinator_;
};

TEST_F(SearchProcessTest, RandomSearchWithAshaStopsAllButTheRungWinners) {
  const std::string id = SubmitSpec(client_, Spec("asha-split", 3));
  auto worker = StartWorker();
  ASSERT_TRUE(WaitForDone(id)) << worker->output();
  EXPECT_EQ(worker->Wait(std::chrono::seconds(60)), 0) << worker->output();
  const std::map<int, int> promotions = ExpectConsistentEnd(id, /*every_best_grid=*/true);
  // Each promoted trial's next lease resumed from the checkpoint that starts
  // the epoch after its rung (never retraining one): one resume at epoch 2
  // per promotion from rung 0, one at epoch 4 per promotion from rung 1.
  const std::string& log = worker->output();
  auto count = [&](const std::string& text) {
    int n = 0;
    for (size_t at = log.find(text); at != std::string::npos; at = log.find(text, at + 1)) ++n;
    return n;
  };
  EXPECT_EQ(count("resumes at epoch 2 batch 0"), promotions.at(0)) << log;
  EXPECT_EQ(count("resumes at epoch 4 batch 0"), promotions.at(1)) << log;
  EXPECT_EQ(count("resumes at epoch"), promotions.at(0) + promotions.at(1)) << log;
}

TEST_F(SearchProcessTest, KilledCoordinatorDuringRungDecisionsLosesAndDuplicatesNothing) {
  const std::string id = SubmitSpec(client_, Spec("asha-kill", 4));
  auto worker = StartWorker();
  // Kill -9 the coordinator right as rung decisions are being made (just
  // after the decision count moves), three times, restarting it on the same
  // file each time; the worker retries its calls meanwhile.
  const std::string decisions = "SELECT COUNT(*) FROM search_decisions";
  for (int kill = 0; kill < 3; ++kill) {
    const int64_t before = std::max<int64_t>(Count(decisions), 0);
    for (int i = 0; i < 3000 && Count(decisions) <= before; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    coordinator_->Signal(SIGKILL);
    EXPECT_EQ(coordinator_->Wait(), 128 + SIGKILL);
    StartCoordinator();
  }
  ASSERT_TRUE(WaitForDone(id)) << worker->output();
  EXPECT_EQ(worker->Wait(std::chrono::seconds(60)), 0) << worker->output();
  ExpectConsistentEnd(id);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM trials WHERE state IN ('PAUSED', 'WAITING', 'RUNNING')"),
            0);
}

TEST_F(SearchProcessTest, KilledWorkerWhileAPromotedTrialResumesLosesNothing) {
  const std::string id = SubmitSpec(client_, Spec("asha-worker-kill", 5));
  auto first = StartWorker();
  // A promoted trial on its second lease (resumed from its rung checkpoint).
  const std::string resumed =
      "SELECT COUNT(*) FROM trials WHERE state = 'RUNNING' AND attempt >= 2 AND rung_epoch > 0";
  bool seen = false;
  for (int i = 0; i < 3000 && !seen; ++i) {
    seen = Count(resumed) > 0;
    if (!seen) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ASSERT_TRUE(seen) << first->output();
  first->Signal(SIGKILL);  // mpirun and its rank
  first->Wait();
  // After the lease runs out (2 s) another worker takes the trial back up
  // from its newest checkpoint.
  auto second = StartWorker();
  ASSERT_TRUE(WaitForDone(id)) << second->output();
  EXPECT_EQ(second->Wait(std::chrono::seconds(60)), 0) << second->output();
  ExpectConsistentEnd(id);
}

}  // namespace search_process_test
}  // namespace
}  // namespace gridrun::testing
