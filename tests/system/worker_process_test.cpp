// The real worker under mpirun against the real coordinator on loopback, on
// tiny generated MNIST files: kill -9 of a worker mid-trial (the trial is
// re-leased after the lease timeout and resumes from its checkpoint), SIGTERM
// (checkpoint, exit 0, resume later) and cancel (every rank stops).
#include <gtest/gtest.h>

#include <gmock/gmock.h>

#include <csignal>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "common/build_info.h"
#include "coordinator/sqlite_trial_store.h"
#include "tests/integration/coordinator_fixture.h"
#include "tests/integration/process_util.h"
#include "tests/models/fake_data.h"

namespace gridrun::testing {
namespace {
namespace worker_process_test {

using coordinator::TrialState;

class WorkerProcessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fake_data::WriteFakeMnist(dir_.path() + "/data", /*n_train=*/1024, /*n_test=*/64,
                              /*seed=*/5);
    port_ = FreePort();
    client_.address = "127.0.0.1:" + std::to_string(port_);
    coordinator_ = std::make_unique<ChildProcess>(std::vector<std::string>{
        BuildDir() + "/gridrun-coordinator", "--listen", client_.address, "--db", db_,
        "--lease-timeout", "2s"});
    ASSERT_TRUE(coordinator_->WaitForOutput("listening on")) << coordinator_->output();
  }

  // One 2-rank VAE trial, long enough (many epochs) to be interrupted.
  std::string Submit(int epochs) {
    const std::string spec =
        "experiment: worker-test\n"
        "dataset: mnist\n"
        "model: vae-mlp\n"
        "width: 64\n"
        "latent_size: 4\n"
        "epochs: " + std::to_string(epochs) + "\n"
        "batch_size: 32\n"
        "ranks: 2\n"
        "eval_samples: 0\n"
        "samples: {epochs: [1], count: 16}\n";
    return SubmitSpec(client_, spec);
  }

  std::unique_ptr<ChildProcess> StartWorker(double exit_when_idle_s = 2) {
    return std::make_unique<ChildProcess>(std::vector<std::string>{
        "mpirun", "--allow-run-as-root", "--oversubscribe", "--bind-to", "none", "-np", "2",
        BuildDir() + "/gridrun-worker", "--coordinator", client_.address, "--data-dir",
        dir_.path() + "/data", "--exit-when-idle", std::to_string(exit_when_idle_s)});
  }

  std::unique_ptr<coordinator::SqliteTrialStore> Store() {
    auto store = coordinator::SqliteTrialStore::OpenReadOnly(db_);
    EXPECT_TRUE(store.ok()) << store.status();
    return store.ok() ? std::move(*store) : nullptr;
  }

  coordinator::TrialRecord OnlyTrial(const std::string& experiment) {
    auto trials = Store()->ListTrials(experiment, {});
    EXPECT_TRUE(trials.ok() && trials->size() == 1);
    return trials->front();
  }

  // Polls until `predicate(trial)` holds (or 60 s pass).
  template <typename Predicate>
  bool WaitForTrial(const std::string& experiment, Predicate predicate) {
    for (int i = 0; i < 600; ++i) {
      if (predicate(OnlyTrial(experiment))) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return false;
  }

  bool WaitForCheckpoint(int64_t trial_id) {
    for (int i = 0; i < 600; ++i) {
      auto checkpoints = Store()->ListCheckpoints(trial_id);
      if (checkpoints.ok() && !checkpoints->empty()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return false;
  }

  // Every metric has exactly one row per step, steps 1..last without a gap.
  void ExpectNoGapsOrDuplicates(int64_t trial_id, int64_t expected_last_step) {
    auto metrics = Store()->ListMetrics(trial_id);
    ASSERT_TRUE(metrics.ok());
    std::map<std::string, std::vector<int64_t>> steps;
    for (const auto& m : *metrics) steps[m.name].push_back(m.step);
    ASSERT_TRUE(steps.count("loss/total")) << "no training losses stored";
    auto& train = steps["loss/total"];
    std::sort(train.begin(), train.end());
    ASSERT_EQ(static_cast<int64_t>(train.size()), expected_last_step);
    for (int64_t i = 0; i < expected_last_step; ++i) ASSERT_EQ(train[i], i + 1);
  }

  TempDir dir_;
  std::string db_ = dir_.path() + "/grid.db";
  int port_ = 0;
  ClientOptions client_;
  std::unique_ptr<ChildProcess> coordinator_;
};

constexpr int64_t kStepsPerEpoch = 1024 / 32;
// An epoch takes ~50 ms on an idle machine: 48 of them leave the test well
// over a second to interrupt the trial before it ends by itself.
constexpr int kLongEpochs = 48;

TEST_F(WorkerProcessTest, KilledWorkerTrialResumesFromCheckpointElsewhere) {
  const std::string id = Submit(kLongEpochs);
  auto first = StartWorker();
  ASSERT_TRUE(WaitForTrial(id, [](const auto& t) { return t.state == TrialState::kRunning; }));
  const int64_t trial_id = OnlyTrial(id).trial_id;
  ASSERT_TRUE(WaitForCheckpoint(trial_id)) << first->output();
  first->Signal(SIGKILL);  // mpirun and both ranks
  first->Wait();

  // After the lease runs out (2 s) the second worker re-leases and resumes.
  auto second = StartWorker(/*exit_when_idle_s=*/4);
  ASSERT_TRUE(WaitForTrial(id, [](const auto& t) { return t.state == TrialState::kComplete; }))
      << second->output();
  EXPECT_EQ(second->Wait(std::chrono::seconds(60)), 0) << second->output();
  EXPECT_NE(second->output().find("resumes at epoch"), std::string::npos) << second->output();
  const auto trial = OnlyTrial(id);
  EXPECT_EQ(trial.attempt, 2);
  ExpectNoGapsOrDuplicates(trial_id, kLongEpochs * kStepsPerEpoch);
  auto samples = Store()->ListSamples(trial_id);
  ASSERT_TRUE(samples.ok());
  ASSERT_EQ(samples->size(), 1u);
  EXPECT_EQ(samples->front().png.substr(1, 3), "PNG");
  // Each attempt recorded where it ran: this build's commit, LibTorch, the
  // BLAS library mapped, MPI, and both ranks' host.
  auto attempts = Store()->ListAttempts(trial_id);
  ASSERT_TRUE(attempts.ok()) << attempts.status();
  ASSERT_EQ(attempts->size(), 2u);
  for (const coordinator::AttemptRecord& attempt : *attempts) {
    SCOPED_TRACE(attempt.environment_json);
    const nlohmann::json environment = nlohmann::json::parse(attempt.environment_json);
    EXPECT_EQ(environment.at("build_commit"), kGridrunBuildCommit);
    EXPECT_NE(environment.at("build_commit"), "unknown");
    EXPECT_EQ(environment.at("gridrun_version"), kGridrunVersion);
    EXPECT_THAT(environment.at("torch_version").get<std::string>(),
                ::testing::MatchesRegex("[0-9]+\\.[0-9]+\\.[0-9]+.*"));
    EXPECT_THAT(environment.at("blas").get<std::string>(),
                ::testing::MatchesRegex("/.*blas.*"));  // a resolved path
    EXPECT_THAT(environment.at("mpi").get<std::string>(), ::testing::HasSubstr("MPI"));
    EXPECT_EQ(environment.at("mpi").get<std::string>().find('\0'), std::string::npos);
    // "none" without the CUDA path; its runtime version where it was built.
    EXPECT_THAT(environment.at("cuda").get<std::string>(),
                ::testing::MatchesRegex("none|[0-9]+\\.[0-9]+.*"));
    EXPECT_EQ(environment.at("world_size"), 2);
    ASSERT_EQ(environment.at("ranks").size(), 2u);
    const std::string host = environment.at("ranks")[0].at("host");
    EXPECT_FALSE(host.empty());
    EXPECT_EQ(environment.at("ranks")[1].at("host"), host);  // one machine
    EXPECT_EQ(environment.at("hosts"), nlohmann::json::array({host}));
  }
  EXPECT_EQ(attempts->at(1).attempt, 2);
}

TEST_F(WorkerProcessTest, SigtermCheckpointsAndExitsCleanly) {
  const std::string id = Submit(kLongEpochs);
  auto worker = StartWorker();
  ASSERT_TRUE(WaitForTrial(id, [](const auto& t) { return t.step > kStepsPerEpoch; }));
  const auto started = std::chrono::steady_clock::now();
  // Preemption signals the worker processes (the ranks). mpirun itself would
  // report any signal it receives as a failed job, whatever the ranks do.
  const std::vector<pid_t> ranks = ChildPids(worker->pid());
  ASSERT_FALSE(ranks.empty());
  for (pid_t rank : ranks) ASSERT_EQ(::kill(rank, SIGTERM), 0);
  EXPECT_EQ(worker->Wait(std::chrono::seconds(30)), 0) << worker->output();
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(10));
  const auto trial = OnlyTrial(id);
  EXPECT_EQ(trial.state, TrialState::kWaiting) << trial.error;
  EXPECT_NE(trial.error.find("preempted"), std::string::npos) << trial.error;
  EXPECT_EQ(trial.preemptions, 1);
  auto checkpoints = Store()->ListCheckpoints(trial.trial_id);
  ASSERT_TRUE(checkpoints.ok() && !checkpoints->empty());
  const int64_t saved_step = checkpoints->front().step;
  EXPECT_GT(saved_step, kStepsPerEpoch);  // a mid-epoch checkpoint on SIGTERM

  auto resumed = StartWorker(/*exit_when_idle_s=*/2);
  ASSERT_TRUE(WaitForTrial(id, [](const auto& t) { return t.state == TrialState::kComplete; }))
      << resumed->output();
  EXPECT_EQ(resumed->Wait(std::chrono::seconds(60)), 0);
  ExpectNoGapsOrDuplicates(trial.trial_id, kLongEpochs * kStepsPerEpoch);
}

TEST_F(WorkerProcessTest, CancelStopsTheRunningTrialOnEveryRank) {
  const std::string id = Submit(/*epochs=*/200);
  auto worker = StartWorker(/*exit_when_idle_s=*/1);
  ASSERT_TRUE(WaitForTrial(id, [](const auto& t) { return t.step > 0; }));
  auto stub = v1::GridService::NewStub(CreateCoordinatorChannel(client_));
  grpc::ClientContext context;
  PrepareContext(&context, client_, std::chrono::seconds(10));
  v1::CancelExperimentRequest request;
  request.set_experiment_id(id);
  v1::CancelExperimentResponse response;
  ASSERT_TRUE(stub->CancelExperiment(&context, request, &response).ok());
  EXPECT_EQ(response.stopping_running(), 1);
  // The next heartbeat (lease 2 s / 3) carries the cancel; both ranks stop at
  // the next step boundary and the worker, idle, exits.
  ASSERT_TRUE(WaitForTrial(id, [](const auto& t) { return t.state == TrialState::kCancelled; }))
      << worker->output();
  EXPECT_EQ(worker->Wait(std::chrono::seconds(30)), 0) << worker->output();
  EXPECT_LT(OnlyTrial(id).step, 200 * kStepsPerEpoch);
}

}  // namespace worker_process_test
}  // namespace
}  // namespace gridrun::testing
