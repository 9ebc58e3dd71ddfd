// The real gridrun-coordinator process on loopback with scripted workers:
// kill -9 in the middle of a grid and restart on the same database loses
// nothing that was acknowledged; 32 concurrent workers finish a grid with
// every trial completed exactly once.
#include <gtest/gtest.h>

#include <thread>

#include "coordinator/sqlite_trial_store.h"
#include "tests/integration/coordinator_fixture.h"
#include "tests/integration/process_util.h"
#include "tests/integration/scripted_worker.h"

namespace gridrun::testing {
namespace {
namespace coordinator_process_test {

std::string Grid(const std::string& name, int a, int b) {
  std::string spec = "experiment: " + name + "\ndataset: mnist\nmodel: vae-mlp\nepochs: 1\ngrid:\n";
  spec += "  latent_size: [";
  for (int i = 0; i < a; ++i) spec += (i ? ", " : "") + std::to_string(i + 1);
  spec += "]\n  width: [";
  for (int i = 0; i < b; ++i) spec += (i ? ", " : "") + std::to_string(100 + i);
  return spec + "]\n";
}

class CoordinatorProcessTest : public ::testing::Test {
 protected:
  std::unique_ptr<ChildProcess> StartCoordinator(int port) {
    auto child = std::make_unique<ChildProcess>(std::vector<std::string>{
        BuildDir() + "/gridrun-coordinator", "--listen", "127.0.0.1:" + std::to_string(port),
        "--db", db_, "--lease-timeout", "3s"});
    EXPECT_TRUE(child->WaitForOutput("listening on")) << child->output();
    return child;
  }

  // Checks the database after the coordinator has stopped.
  void ExpectEverythingAcknowledgedIsStored(const std::string& experiment_id, Ledger& ledger,
                                            int expected_trials) {
    auto store = coordinator::SqliteTrialStore::Open(db_);
    ASSERT_TRUE(store.ok()) << store.status();
    auto trials = (*store)->ListTrials(experiment_id, {});
    ASSERT_TRUE(trials.ok());
    ASSERT_EQ(static_cast<int>(trials->size()), expected_trials);
    std::map<std::tuple<int64_t, std::string, int64_t>, double> stored;
    for (const auto& trial : *trials) {
      EXPECT_EQ(trial.state, coordinator::TrialState::kComplete) << "trial " << trial.trial_id;
      EXPECT_LE(ledger.completions[trial.trial_id], 1) << "trial " << trial.trial_id;
      auto metrics = (*store)->ListMetrics(trial.trial_id);
      ASSERT_TRUE(metrics.ok());
      for (const auto& m : *metrics) {
        auto key = std::make_tuple(trial.trial_id, m.name, m.step);
        EXPECT_EQ(stored.count(key), 0u) << "duplicate row";
        stored[key] = m.value;
      }
    }
    for (const auto& [key, value] : ledger.acked_points) {
      auto it = stored.find(key);
      ASSERT_NE(it, stored.end()) << "acknowledged point lost: trial " << std::get<0>(key) << " "
                                  << std::get<1>(key) << " step " << std::get<2>(key);
      EXPECT_EQ(it->second, value);
    }
  }

  TempDir dir_;
  std::string db_ = dir_.path() + "/grid.db";
};

TEST_F(CoordinatorProcessTest, KillNineAndRestartLosesNothingAcknowledged) {
  const int port = FreePort();
  auto coordinator = StartCoordinator(port);
  ClientOptions client;
  client.address = "127.0.0.1:" + std::to_string(port);
  const std::string id = SubmitSpec(client, Grid("crash-grid", 4, 3));

  Ledger ledger;
  std::atomic<bool> stop{false};
  std::vector<std::thread> workers;
  for (int i = 0; i < 4; ++i) {
    workers.emplace_back([&] {
      ScriptedWorker worker(client, &ledger, /*steps_per_trial=*/30, /*points_per_batch=*/4);
      worker.Run(stop, /*stop_when_idle=*/true);
    });
  }
  // Kill the coordinator twice while workers are busy, restarting each time.
  for (int crash = 0; crash < 2; ++crash) {
    const int64_t target = ledger.acked_batches + 40;
    for (int i = 0; i < 500 && ledger.acked_batches < target; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    coordinator->Signal(SIGKILL);
    EXPECT_EQ(coordinator->Wait(), 128 + SIGKILL);
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    coordinator = StartCoordinator(port);
  }
  for (auto& t : workers) t.join();
  EXPECT_EQ(ledger.errors, 0) << ledger.first_error;
  coordinator->Signal(SIGTERM);
  EXPECT_EQ(coordinator->Wait(), 0);
  ExpectEverythingAcknowledgedIsStored(id, ledger, 12);
}

TEST_F(CoordinatorProcessTest, ThirtyTwoConcurrentWorkersFinishEveryTrialOnce) {
  const int port = FreePort();
  auto coordinator = StartCoordinator(port);
  ClientOptions client;
  client.address = "127.0.0.1:" + std::to_string(port);
  const std::string id = SubmitSpec(client, Grid("busy-grid", 8, 12));

  Ledger ledger;
  std::atomic<bool> stop{false};
  std::vector<std::thread> workers;
  for (int i = 0; i < 32; ++i) {
    workers.emplace_back([&] {
      ScriptedWorker worker(client, &ledger, /*steps_per_trial=*/3, /*points_per_batch=*/10);
      worker.Run(stop, /*stop_when_idle=*/true);
    });
  }
  // Bounded: if something hangs, stop the workers after 60 s and fail below.
  std::thread watchdog([&] {
    for (int i = 0; i < 600 && !stop; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    stop = true;
  });
  for (auto& t : workers) t.join();
  stop = true;
  watchdog.join();
  EXPECT_EQ(ledger.errors, 0) << ledger.first_error;
  int completed = 0;
  for (const auto& [trial, count] : ledger.completions) {
    EXPECT_EQ(count, 1) << "trial " << trial;
    completed += count;
  }
  EXPECT_EQ(completed, 96);
  coordinator->Signal(SIGTERM);
  EXPECT_EQ(coordinator->Wait(), 0);
  ExpectEverythingAcknowledgedIsStored(id, ledger, 96);
}

}  // namespace coordinator_process_test
}  // namespace
}  // namespace gridrun::testing
