// One trial trained data-parallel across two hosts: network namespaces
// 10.200.0.1 and 10.200.0.2 on a bridge, one MPI rank in each (mpirun starts
// them through a launcher agent that enters the namespace, as ssh would
// enter a node), the coordinator in the root namespace at 10.200.0.254.
// Shown three ways: the agent launched into both namespaces; each host's
// cable carried at least one gradient buffer per step (the all-reduce); and
// every loss equals, bit for bit, the same trial trained by 2 ranks on one
// host (2-rank sums are exact, so only a missing or wrong all-reduce differs).
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <thread>

#include "coordinator/sqlite_trial_store.h"
#include "tests/cluster/cluster_util.h"
#include "tests/integration/coordinator_fixture.h"
#include "tests/models/fake_data.h"

namespace gridrun::testing {
namespace {
namespace multi_host_test {

using coordinator::TrialState;

constexpr int kTrain = 512, kBatch = 32, kEpochs = 3;
constexpr int64_t kSteps = kEpochs * kTrain / kBatch;
// vae-mlp with width 64, latent 4 has ~102k parameters; a 2-rank all-reduce
// moves at least one 4-byte copy of them through each host's cable per step.
constexpr int64_t kMinGradientBytesPerStep = 75'000 * 4;

class MultiHostTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (const std::string missing = NetnsHosts::Missing(); !missing.empty()) {
      GTEST_SKIP() << "no network namespaces here: " << missing;
    }
    ASSERT_EQ(hosts_.Create(), "");
    fake_data::WriteFakeMnist(dir_.path() + "/data", kTrain, /*n_test=*/64, /*seed=*/9);
    address_ = "10.200.0.254:" + std::to_string(FreePort());
    coordinator_ = std::make_unique<Daemon>(
        std::vector<std::string>{BuildDir() + "/gridrun-coordinator", "--listen", address_, "--db",
                                 db_, "--lease-timeout", "10s"},
        coordinator_log_);
    ASSERT_TRUE(WaitForText(coordinator_log_, "listening on")) << ReadFile(coordinator_log_);
    // The launcher agent: mpirun runs `agent HOST orted ...` as it would run ssh.
    agent_ = dir_.path() + "/nsagent.sh";
    std::ofstream(agent_) << "#!/bin/bash\n"
                          << "host=$1; shift\n"
                          << "case \"$host\" in\n"
                          << "  10.200.0.1) ns=" << hosts_.Namespace(1) << ";;\n"
                          << "  10.200.0.2) ns=" << hosts_.Namespace(2) << ";;\n"
                          << "  *) exit 255;;\n"
                          << "esac\n"
                          << "echo \"$ns\" >> " << dir_.path() << "/launches\n"
                          << "exec ip netns exec \"$ns\" /bin/sh -c \"$*\"\n";
    ::chmod(agent_.c_str(), 0755);
    std::ofstream(dir_.path() + "/hosts") << "10.200.0.1 slots=1\n10.200.0.2 slots=1\n";
  }

  std::string Submit(const std::string& name, bool rerun) {
    const std::string spec = dir_.path() + "/" + name + ".yaml";
    std::ofstream(spec) << "experiment: " << name << "\n"
                        << "dataset: mnist\n"
                        << "model: vae-mlp\n"
                        << "width: 64\n"
                        << "latent_size: 4\n"
                        << "epochs: " << kEpochs << "\n"
                        << "batch_size: " << kBatch << "\n"
                        << "ranks: 2\n"
                        << "eval_samples: 0\n";
    std::vector<std::string> argv = {BuildDir() + "/gridrun", "submit", spec, "--coordinator",
                                     address_};
    if (rerun) argv.push_back("--rerun");
    ChildProcess submit(argv);
    EXPECT_EQ(submit.Wait(std::chrono::seconds(30)), 0) << submit.output();
    const std::string output = submit.output();
    return output.substr(0, output.find('\n'));
  }

  std::vector<std::string> Worker() {
    return {BuildDir() + "/gridrun-worker", "--coordinator",    address_, "--data-dir",
            dir_.path() + "/data",          "--exit-when-idle", "1"};
  }

  coordinator::TrialRecord OnlyTrial(const std::string& experiment) {
    auto store = coordinator::SqliteTrialStore::OpenReadOnly(db_);
    EXPECT_TRUE(store.ok()) << store.status();
    auto trials = (*store)->ListTrials(experiment, {});
    EXPECT_TRUE(trials.ok() && trials->size() == 1);
    return trials->front();
  }

  std::map<int64_t, double> Losses(int64_t trial_id) {
    auto store = coordinator::SqliteTrialStore::OpenReadOnly(db_);
    auto metrics = (*store)->ListMetrics(trial_id);
    EXPECT_TRUE(metrics.ok());
    std::map<int64_t, double> losses;
    for (const auto& m : *metrics) {
      if (m.name == "loss/total") losses[m.step] = m.value;
    }
    return losses;
  }

  // Destroyed bottom-up: the coordinator, any process still left (orteds of
  // a failed run), the namespaces and bridge, then the files.
  TempDir dir_;
  std::string db_ = dir_.path() + "/grid.db";
  std::string coordinator_log_ = dir_.path() + "/coordinator.out";
  std::string address_, agent_;
  NetnsHosts hosts_;
  OrphanReaper reaper_;
  std::unique_ptr<Daemon> coordinator_;
};

TEST_F(MultiHostTest, TrialTrainsWithGradientsAllReducedAcrossTwoHosts) {
  const std::string two_hosts = Submit("two-hosts", /*rerun=*/false);
  const int64_t traffic_before[2] = {hosts_.TrafficBytes(1), hosts_.TrafficBytes(2)};
  // One rank per host: the agent (in place of ssh) starts each host's orted;
  // MPI traffic only over the hosts' network.
  std::vector<std::string> argv = {"mpirun",     "--allow-run-as-root",  "-np",      "2",
                                   "--hostfile", dir_.path() + "/hosts", "--map-by", "node"};
  const std::pair<std::string, std::string> mca[] = {{"plm_rsh_agent", agent_},
                                                     {"plm_rsh_no_tree_spawn", "1"},
                                                     {"btl", "tcp,self"},
                                                     {"btl_tcp_if_include", "10.200.0.0/24"},
                                                     {"oob_tcp_if_include", "10.200.0.0/24"}};
  for (const auto& [name, value] : mca) argv.insert(argv.end(), {"--mca", name, value});
  for (const std::string& a : Worker()) argv.push_back(a);
  {
    ChildProcess mpirun(argv);
    ASSERT_EQ(mpirun.Wait(std::chrono::seconds(90)), 0) << mpirun.output();
  }
  const auto trial = OnlyTrial(two_hosts);
  ASSERT_EQ(trial.state, TrialState::kComplete) << trial.error;
  EXPECT_EQ(trial.step, kSteps);
  auto store = coordinator::SqliteTrialStore::OpenReadOnly(db_);
  auto worker = (*store)->GetWorker(trial.worker_id);
  ASSERT_TRUE(worker.ok()) << worker.status();
  EXPECT_EQ(worker->ranks, 2);  // one MPI world of 2 ranks

  // One rank was started in each namespace ("host").
  const std::string launches = ReadFile(dir_.path() + "/launches");
  EXPECT_NE(launches.find(hosts_.Namespace(1)), std::string::npos) << launches;
  EXPECT_NE(launches.find(hosts_.Namespace(2)), std::string::npos) << launches;
  // The gradients crossed both hosts' cables every step.
  for (int host : {1, 2}) {
    const int64_t bytes = hosts_.TrafficBytes(host) - traffic_before[host - 1];
    EXPECT_GT(bytes, kSteps * kMinGradientBytesPerStep) << "host " << host;
    RecordProperty("host" + std::to_string(host) + "_bytes", std::to_string(bytes));
  }

  // The same trial, 2 ranks on one host (--rerun: train, do not reuse).
  const std::string one_host = Submit("one-host", /*rerun=*/true);
  argv = {"mpirun", "--allow-run-as-root", "--oversubscribe", "--bind-to", "none", "-np", "2"};
  for (const std::string& a : Worker()) argv.push_back(a);
  {
    ChildProcess mpirun(argv);
    ASSERT_EQ(mpirun.Wait(std::chrono::seconds(90)), 0) << mpirun.output();
  }
  const auto local = OnlyTrial(one_host);
  ASSERT_EQ(local.state, TrialState::kComplete) << local.error;
  const auto across = Losses(trial.trial_id), here = Losses(local.trial_id);
  ASSERT_EQ(across.size(), static_cast<size_t>(kSteps));
  ASSERT_EQ(here.size(), static_cast<size_t>(kSteps));
  for (const auto& [step, loss] : across) {
    ASSERT_EQ(loss, here.at(step)) << "step " << step;
  }
  // And training moved: the last loss is below the first.
  EXPECT_LT(across.rbegin()->second, across.begin()->second);
}

}  // namespace multi_host_test
}  // namespace
}  // namespace gridrun::testing
