// Fault-injection matrix: a real gridrun-coordinator and real mpirun worker
// jobs (2 ranks) on loopback run a small grid on generated MNIST files while
// a controller injects one fault per scenario at a random moment (a random
// point of the grid's progress, from a seeded RNG):
//   coordinator-kill  kill -9 of the coordinator, restarted on the same file
//   rank-kill         kill -9 of one worker rank (mpirun then ends the job)
//   job-term          SIGTERM to every rank of the job (preemption)
//   stop-past-lease   SIGSTOP of the whole job for longer than the lease,
//                     then SIGCONT (a cut connection: the lease is lost)
// A worker job is restarted whenever none is running, as a cluster would.
// After every scenario the grid must finish and the invariants hold (see
// CheckGridInvariants, plus: no trial completed twice, and when a worker
// job lost its lease some trial shows a second attempt).
//
// Knobs: GRIDRUN_FAULT_SCENARIOS (default 4: one per kind), GRIDRUN_FAULT_SEED
// (default 1). Kinds go round-robin, so N scenarios cover each kind N/4 times.
#include <gtest/gtest.h>

#include <random>

#include "tests/models/fake_data.h"
#include "tests/reliability/reliability_util.h"

namespace gridrun::testing {
namespace {

using coordinator::TrialState;

enum class Fault { kCoordinatorKill, kRankKill, kJobTerm, kStopPastLease };
constexpr Fault kFaults[] = {Fault::kCoordinatorKill, Fault::kRankKill, Fault::kJobTerm,
                             Fault::kStopPastLease};

const char* FaultName(Fault fault) {
  switch (fault) {
    case Fault::kCoordinatorKill: return "coordinator-kill";
    case Fault::kRankKill: return "rank-kill";
    case Fault::kJobTerm: return "job-term";
    case Fault::kStopPastLease: return "stop-past-lease";
  }
  return "?";
}

constexpr int kTrainImages = 512;
constexpr int kBatch = 32;
constexpr int kEpochs = 3;
constexpr int kTrials = 2;
constexpr int kMaxAttempts = 20;
constexpr int64_t kStepsPerTrial = (kTrainImages / kBatch) * kEpochs;
constexpr int kLeaseSeconds = 2;

std::string Spec(const std::string& name) {
  return "experiment: " + name +
         "\n"
         "dataset: mnist\n"
         "model: vae-mlp\n"
         "width: 64\n"
         "epochs: " + std::to_string(kEpochs) + "\n"
         "batch_size: " + std::to_string(kBatch) + "\n"
         "ranks: 2\n"
         "eval_samples: 0\n"
         "samples: {epochs: [1, " + std::to_string(kEpochs) + "], count: 16}\n"
         "grid:\n"
         "  latent_size: [2, 4]\n";
}

struct Outcome {
  bool landed = false;    // the fault hit while a trial was running
  bool survived = false;  // grid finished and every invariant held
  std::vector<std::string> problems;
};

class FaultMatrixTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    data_ = new TempDir();
    fake_data::WriteFakeMnist(data_->path() + "/data", kTrainImages, /*n_test=*/64, /*seed=*/11);
  }
  static void TearDownTestSuite() {
    delete data_;
    data_ = nullptr;
  }

  // Runs one scenario; `rng` picks the moment and the victim.
  Outcome RunScenario(int index, Fault fault, std::mt19937_64& rng) {
    Outcome outcome;
    TempDir dir;
    const std::string db = dir.path() + "/grid.db";
    CoordinatorProcess coordinator(
        db, FreePort(),
        {"--lease-timeout", std::to_string(kLeaseSeconds) + "s", "--max-attempts",
         std::to_string(kMaxAttempts)});
    if (!coordinator.Start()) {
      outcome.problems.push_back("coordinator did not start: " + coordinator.log());
      return outcome;
    }
    const std::string experiment = SubmitSpec(coordinator.address(), Spec("fault-" +
                                                                          std::to_string(index)));
    const std::string data_dir = data_->path() + "/data";
    auto start_job = [&] {
      return StartWorkerJob(coordinator.address(), data_dir, /*ranks=*/2, /*idle=*/2);
    };
    std::unique_ptr<ChildProcess> job = start_job();
    std::string worker_logs;

    // The fault hits once the grid's progress reaches a random step.
    const int64_t total = kStepsPerTrial * kTrials;
    const int64_t target = std::uniform_int_distribution<int64_t>(1, total - 2)(rng);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(150);
    int64_t victim = 0;  // trial running when the fault hit
    bool injected = false;
    while (std::chrono::steady_clock::now() < deadline) {
      auto trials = ReadTrials(db, experiment);
      int64_t progress = 0;
      int complete = 0;
      for (const auto& t : trials) {
        progress += t.state == TrialState::kComplete ? kStepsPerTrial : t.step;
        complete += t.state == TrialState::kComplete;
      }
      if (complete == kTrials) break;
      if (!injected && progress >= target) {
        for (const auto& t : trials) {
          if (t.state == TrialState::kRunning) victim = t.trial_id;
        }
        outcome.landed = victim != 0;
        Inject(fault, coordinator, *job, rng);
        injected = true;
      }
      if (!job->Running()) {
        worker_logs += job->output();
        job = start_job();
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    worker_logs += job->output();
    job.reset();  // SIGKILL if still running (idle by now)
    const int stopped = coordinator.Stop();
    if (stopped != 0) outcome.problems.push_back("coordinator exit code " + std::to_string(stopped));

    GridExpectation expect{kTrials, kStepsPerTrial, /*samples_per_trial=*/2, kMaxAttempts};
    for (const std::string& p : CheckGridInvariants(db, experiment, expect)) {
      outcome.problems.push_back(p);
    }
    // Completed exactly once: at most one acknowledged completion per trial
    // (a completion whose log line was lost to kill -9 still shows COMPLETE).
    const std::string log = coordinator.log();
    int max_attempt = 0;
    for (const auto& t : ReadTrials(db, experiment)) {
      max_attempt = std::max(max_attempt, t.attempt);
      const std::string line = "trial " + std::to_string(t.trial_id) + ": RUNNING -> COMPLETE";
      int count = 0;
      for (size_t at = log.find(line); at != std::string::npos; at = log.find(line, at + 1)) {
        ++count;
      }
      if (count > 1) outcome.problems.push_back(line + " logged " + std::to_string(count) + "x");
    }
    // A job that lost its lease made some trial run a second attempt. (Not
    // necessarily `victim`: it may finish in the moment between the read and
    // the signal, and the job's next trial takes the hit.)
    if (victim != 0 && fault != Fault::kCoordinatorKill && max_attempt < 2) {
      outcome.problems.push_back("the job lost its lease (trial " + std::to_string(victim) +
                                 " was running) but no trial shows a second attempt");
    }
    outcome.survived = outcome.problems.empty();
    if (!outcome.survived) {
      outcome.problems.push_back("coordinator log tail:\n" +
                                 log.substr(log.size() > 4000 ? log.size() - 4000 : 0));
      outcome.problems.push_back("worker log tail:\n" +
                                 worker_logs.substr(worker_logs.size() > 4000
                                                        ? worker_logs.size() - 4000
                                                        : 0));
    }
    return outcome;
  }

  void Inject(Fault fault, CoordinatorProcess& coordinator, ChildProcess& job,
              std::mt19937_64& rng) {
    switch (fault) {
      case Fault::kCoordinatorKill: {
        coordinator.Kill9();
        const int down_ms = std::uniform_int_distribution<int>(0, 1500)(rng);
        std::this_thread::sleep_for(std::chrono::milliseconds(down_ms));
        EXPECT_TRUE(coordinator.Start()) << coordinator.log();
        break;
      }
      case Fault::kRankKill: {
        auto ranks = ChildPids(job.pid());
        if (ranks.empty()) break;  // the job is between lives
        const size_t pick = std::uniform_int_distribution<size_t>(0, ranks.size() - 1)(rng);
        ::kill(ranks[pick], SIGKILL);
        break;
      }
      case Fault::kJobTerm:
        // As a batch system's preemption: every rank gets SIGTERM.
        for (pid_t rank : ChildPids(job.pid())) ::kill(rank, SIGTERM);
        break;
      case Fault::kStopPastLease: {
        auto ranks = ChildPids(job.pid());
        job.Signal(SIGSTOP);
        for (pid_t rank : ranks) ::kill(rank, SIGSTOP);
        const int extra_ms = std::uniform_int_distribution<int>(500, 2000)(rng);
        std::this_thread::sleep_for(std::chrono::seconds(kLeaseSeconds) +
                                    std::chrono::milliseconds(1000 + extra_ms));
        for (pid_t rank : ranks) ::kill(rank, SIGCONT);
        job.Signal(SIGCONT);
        break;
      }
    }
  }

  static TempDir* data_;
};

TempDir* FaultMatrixTest::data_ = nullptr;

TEST_F(FaultMatrixTest, EveryScenarioFinishesTheGridWithInvariantsIntact) {
  const int scenarios = static_cast<int>(EnvInt("GRIDRUN_FAULT_SCENARIOS", 4));
  const uint64_t seed = static_cast<uint64_t>(EnvInt("GRIDRUN_FAULT_SEED", 1));
  std::mt19937_64 rng(seed);
  std::map<Fault, std::array<int, 3>> counts;  // run, landed mid-trial, survived
  int survived = 0;
  const auto started = std::chrono::steady_clock::now();
  for (int i = 0; i < scenarios; ++i) {
    const Fault fault = kFaults[i % 4];
    const auto t0 = std::chrono::steady_clock::now();
    Outcome outcome = RunScenario(i, fault, rng);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    auto& c = counts[fault];
    ++c[0];
    c[1] += outcome.landed;
    c[2] += outcome.survived;
    survived += outcome.survived;
    std::printf("scenario %d %-16s landed=%d survived=%d %.1fs\n", i, FaultName(fault),
                outcome.landed, outcome.survived, seconds);
    std::fflush(stdout);
    for (const std::string& p : outcome.problems) ADD_FAILURE() << "scenario " << i << " ("
                                                                << FaultName(fault) << "): " << p;
  }
  const double total =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::printf("fault matrix (seed %llu): %d scenarios, %d survived, %.0f s\n",
              static_cast<unsigned long long>(seed), scenarios, survived, total);
  for (const auto& [fault, c] : counts) {
    std::printf("  %-16s run %d, landed mid-trial %d, survived %d\n", FaultName(fault), c[0],
                c[1], c[2]);
  }
  RecordProperty("scenarios", scenarios);
  RecordProperty("survived", survived);
  EXPECT_EQ(survived, scenarios);
}

}  // namespace
}  // namespace gridrun::testing
