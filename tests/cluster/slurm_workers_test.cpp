// gridrun on a real (one-node) Slurm cluster started by the test: the grid is
// submitted with `gridrun submit --slurm`, its workers run as a job array
// (`srun --mpi=pmix`, 2 ranks each), and a worker job killed with `scancel`
// mid-trial hands its trial, through a checkpoint, to the next array element.
// Then the time-limit path: USR1 to the batch script checkpoints the trial
// and requeues the job.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <regex>
#include <thread>

#include "coordinator/sqlite_trial_store.h"
#include "tests/cluster/cluster_util.h"
#include "tests/integration/coordinator_fixture.h"
#include "tests/models/fake_data.h"

namespace gridrun::testing {
namespace {
namespace slurm_workers_test {

using coordinator::TrialState;
using Clock = std::chrono::steady_clock;

constexpr int kTrain = 512, kBatch = 32;
constexpr int64_t kStepsPerEpoch = kTrain / kBatch;
// Long enough to be interrupted after its first epoch, before it ends: the
// test sees the step only through heartbeats (about once a second), and an
// idle 2-core machine trains ~640 of these steps a second, so 4,800 steps
// leave ~6 s for the scancel to land.
constexpr int kLongEpochs = 300;
constexpr int64_t kLongSteps = kLongEpochs * kStepsPerEpoch;

class SlurmWorkersTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (const std::string missing = SlurmCluster::Missing(); !missing.empty()) {
      GTEST_SKIP() << "no Slurm here: " << missing;
    }
    // munged runs as the munge user: it must reach its files under here.
    std::filesystem::permissions(
        dir_.path(), std::filesystem::perms::others_exec | std::filesystem::perms::group_exec,
        std::filesystem::perm_options::add);
    fake_data::WriteFakeMnist(dir_.path() + "/data", kTrain, /*n_test=*/64, /*seed=*/3);
    // Two CPUs: one 2-rank worker at a time, so array element 1 waits for 0.
    const std::string error = cluster_.Start(dir_.path() + "/cluster", /*cpus=*/2);
    ASSERT_EQ(error, "");
    address_ = "127.0.0.1:" + std::to_string(FreePort());
    coordinator_ = std::make_unique<Daemon>(
        std::vector<std::string>{BuildDir() + "/gridrun-coordinator", "--listen", address_, "--db",
                                 db_, "--lease-timeout", "3s"},
        coordinator_log_);
    ASSERT_TRUE(WaitForText(coordinator_log_, "listening on")) << ReadFile(coordinator_log_);
  }

  // `gridrun submit --slurm` of a grid of 2-rank VAE trials, one per value of
  // `epochs`; returns {experiment id, Slurm job id}.
  std::pair<std::string, std::string> SubmitWithSlurm(const std::string& name,
                                                      const std::string& epochs, int array) {
    const std::string spec = dir_.path() + "/" + name + ".yaml";
    std::ofstream(spec) << "experiment: " << name << "\n"
                        << "dataset: mnist\n"
                        << "model: vae-mlp\n"
                        << "width: 64\n"
                        << "latent_size: 4\n"
                        << "batch_size: " << kBatch << "\n"
                        << "ranks: 2\n"
                        << "eval_samples: 0\n"
                        << "grid:\n"
                        << "  epochs: [" << epochs << "]\n";
    ChildProcess submit({BuildDir() + "/gridrun", "submit", spec, "--coordinator", address_,
                         "--slurm", "--ranks-per-node", "2", "--array", std::to_string(array),
                         "--exit-when-idle", "3", "--data-dir", dir_.path() + "/data", "--log-dir",
                         dir_.path(), "--slurm-script", dir_.path() + "/" + name + ".sh"});
    EXPECT_EQ(submit.Wait(std::chrono::seconds(30)), 0) << submit.output();
    // stdout (the experiment id, then the job id) and stderr come merged.
    std::string experiment, job;
    std::istringstream lines(submit.output());
    for (std::string line; std::getline(lines, line);) {
      if (line.rfind("exp-", 0) == 0) experiment = line;
      if (!line.empty() && line.find_first_not_of("0123456789") == std::string::npos) job = line;
    }
    EXPECT_FALSE(experiment.empty() || job.empty()) << submit.output();
    return {experiment, job};
  }

  std::unique_ptr<coordinator::SqliteTrialStore> Store() {
    auto store = coordinator::SqliteTrialStore::OpenReadOnly(db_);
    EXPECT_TRUE(store.ok()) << store.status();
    return store.ok() ? std::move(*store) : nullptr;
  }

  std::vector<coordinator::TrialRecord> Trials(const std::string& experiment) {
    auto trials = Store()->ListTrials(experiment, {});
    EXPECT_TRUE(trials.ok()) << trials.status();
    return trials.ok() ? *trials : std::vector<coordinator::TrialRecord>{};
  }

  // Polls (every 100 ms, up to `timeout`) until `done()`.
  template <typename Predicate>
  static bool WaitFor(Predicate done, std::chrono::seconds timeout = std::chrono::seconds(90)) {
    const auto deadline = Clock::now() + timeout;
    while (Clock::now() < deadline) {
      if (done()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return false;
  }

  // Waits until a trial of `total_steps` steps runs past its first epoch;
  // returns it.
  coordinator::TrialRecord WaitUntilMidTrial(const std::string& experiment, int64_t total_steps) {
    coordinator::TrialRecord found;
    EXPECT_TRUE(WaitFor([&] {
      for (const auto& t : Trials(experiment)) {
        if (t.state == TrialState::kRunning && t.total_steps == total_steps &&
            t.step > kStepsPerEpoch) {
          found = t;
          return true;
        }
      }
      return false;
    })) << Logs();
    return found;
  }

  // Every training-loss step 1..last exactly once: the resumed attempt went on
  // from the checkpoint, neither repeating nor skipping steps.
  void ExpectStepsWithoutGapsOrDuplicates(int64_t trial_id, int64_t last_step) {
    auto metrics = Store()->ListMetrics(trial_id);
    ASSERT_TRUE(metrics.ok());
    std::vector<int64_t> steps;
    for (const auto& m : *metrics) {
      if (m.name == "loss/total") steps.push_back(m.step);
    }
    std::sort(steps.begin(), steps.end());
    ASSERT_EQ(static_cast<int64_t>(steps.size()), last_step);
    for (int64_t i = 0; i < last_step; ++i) ASSERT_EQ(steps[i], i + 1);
  }

  std::string JobLog(const std::string& job, int element) {
    return ReadFile(dir_.path() + "/gridrun-worker-" + job + "_" + std::to_string(element) +
                    ".log");
  }

  std::string Logs() {
    std::string logs;
    for (const auto& entry : std::filesystem::directory_iterator(dir_.path())) {
      if (entry.path().extension() == ".log") {
        logs += "--- " + entry.path().filename().string() + "\n" + ReadFile(entry.path());
      }
    }
    return logs + "--- coordinator\n" + ReadFile(coordinator_log_) + cluster_.Logs();
  }

  TempDir dir_;
  std::string db_ = dir_.path() + "/grid.db";
  std::string coordinator_log_ = dir_.path() + "/coordinator.out";
  std::string address_;
  // Destroyed in reverse: the coordinator, then the cluster (jobs cancelled,
  // daemons stopped, every leftover process killed by PID).
  SlurmCluster cluster_;
  std::unique_ptr<Daemon> coordinator_;
};

TEST_F(SlurmWorkersTest, ScancelledJobsTrialResumesInTheNextArrayElement) {
  const auto start = Clock::now();
  // Trial A is long enough to be cancelled mid-way; B is short.
  const auto [experiment, job] =
      SubmitWithSlurm("slurm-grid", std::to_string(kLongEpochs) + ", 2", /*array=*/2);
  ASSERT_FALSE(job.empty());
  const auto script = ReadFile(dir_.path() + "/slurm-grid.sh");
  EXPECT_NE(script.find("srun --mpi=pmix"), std::string::npos) << script;

  const auto running = WaitUntilMidTrial(experiment, kLongSteps);
  ASSERT_GT(running.trial_id, 0);
  ASSERT_EQ(Shell("scancel " + job + "_0"), 0);

  // Element 1 starts once element 0 is gone, resumes A and trains B.
  ASSERT_TRUE(WaitFor([&] {
    const auto trials = Trials(experiment);
    return trials.size() == 2 && std::all_of(trials.begin(), trials.end(), [](const auto& t) {
             return t.state == TrialState::kComplete;
           });
  })) << Logs();
  ASSERT_TRUE(WaitFor([&] { return cluster_.JobIds().empty(); })) << Logs();

  std::map<int64_t, coordinator::TrialRecord> by_steps;
  for (const auto& t : Trials(experiment)) by_steps[t.step] = t;
  ASSERT_EQ(by_steps.count(kLongSteps), 1u);
  const auto long_trial = by_steps[kLongSteps];
  EXPECT_EQ(long_trial.trial_id, running.trial_id);
  // Leased by element 0, handed back on SIGTERM, resumed by element 1 (an
  // attempt of 1 means the trial ended before the scancel: make it longer).
  EXPECT_EQ(long_trial.attempt, 2);
  EXPECT_EQ(long_trial.preemptions, 1);  // a hand-back, not a failed attempt
  ExpectStepsWithoutGapsOrDuplicates(long_trial.trial_id, kLongSteps);
  EXPECT_EQ(by_steps[2 * kStepsPerEpoch].attempt, 1);

  const std::string first = JobLog(job, 0), second = JobLog(job, 1);
  EXPECT_NE(first.find("preempted at step"), std::string::npos) << first;
  EXPECT_NE(second.find("trial resumes at epoch"), std::string::npos) << second;
  // Slurm's own record: element 0 cancelled, element 1 ran to the end.
  const std::string completed = cluster_.CompletedJobs();
  EXPECT_TRUE(std::regex_search(
      completed, std::regex("JobState=CANCELLED .*ArrayJobId=" + job + " ArrayTaskId=0 ")))
      << completed;
  EXPECT_TRUE(std::regex_search(
      completed, std::regex("JobState=COMPLETED .*ArrayJobId=" + job + " ArrayTaskId=1 ")))
      << completed;
  RecordProperty(
      "seconds",
      std::to_string(
          std::chrono::duration_cast<std::chrono::seconds>(Clock::now() - start).count()));
}

TEST_F(SlurmWorkersTest, TimeLimitWarningCheckpointsAndRequeuesTheJob) {
  const auto [experiment, job] =
      SubmitWithSlurm("slurm-requeue", std::to_string(kLongEpochs), /*array=*/1);
  ASSERT_FALSE(job.empty());
  const auto running = WaitUntilMidTrial(experiment, kLongSteps);
  ASSERT_GT(running.trial_id, 0);
  // What `#SBATCH --signal=B:USR1@grace` sends before the time limit.
  ASSERT_EQ(Shell("scancel --batch --signal=USR1 " + job + "_0"), 0);

  ASSERT_TRUE(WaitFor([&] {
    const auto trials = Trials(experiment);
    return !trials.empty() && trials[0].state == TrialState::kWaiting;
  })) << Logs();
  const auto trial = Trials(experiment).front();
  EXPECT_NE(trial.error.find("preempted (SIGTERM)"), std::string::npos) << trial.error;
  EXPECT_EQ(trial.preemptions, 1);
  auto checkpoints = Store()->ListCheckpoints(trial.trial_id);
  ASSERT_TRUE(checkpoints.ok() && !checkpoints->empty());
  EXPECT_GT(checkpoints->front().step, kStepsPerEpoch);
  // The job is back in the queue (Slurm holds a requeued job for a while
  // before it may start again).
  std::string state;
  ASSERT_TRUE(WaitFor(
      [&] {
        Shell("squeue -h -j " + job + " -o %T", &state);
        return state.rfind("PENDING", 0) == 0;
      },
      std::chrono::seconds(30)))
      << state << Logs();
  EXPECT_NE(JobLog(job, 0).find("requeueing job"), std::string::npos) << JobLog(job, 0);
}

}  // namespace slurm_workers_test
}  // namespace
}  // namespace gridrun::testing
