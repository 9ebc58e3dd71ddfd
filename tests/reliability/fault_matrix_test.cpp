// Fault-injection matrix: a real gridrun-coordinator and real mpirun worker
// jobs (2 ranks) on loopback run a small grid on generated MNIST files while
// a controller injects one fault per scenario into a victim trial (picked by
// a seeded RNG, like the moment) while that trial is running:
//   coordinator-kill  kill -9 of the coordinator, restarted on the same file
//   rank-kill         kill -9 of one worker rank (mpirun then ends the job)
//   job-term          SIGTERM to every rank of the job (preemption)
//   stop-past-lease   SIGSTOP of the whole job until the coordinator has
//                     taken the lease away, then SIGCONT (a cut connection)
// A worker job is restarted whenever none is running, as a cluster would.
// After every scenario the grid must finish and the invariants hold (see
// CheckGridInvariants, plus: no trial completed twice, and when a job fault
// hit the victim's attempt, the victim shows a later attempt).
//
// Whether the fault landed is decided from facts, not from the progress read
// before it: the wall-clock time just before the signal is compared with the
// victim's finished_ms (the coordinator's system clock, same host). If the
// attempt the controller saw had already finished by then, the fault missed
// (reported, not a failure); trials are long enough, and the moment early
// enough in the victim (its first half), that this should not happen.
//
// Knobs: GRIDRUN_FAULT_SCENARIOS (default 4: one per kind), GRIDRUN_FAULT_SEED
// (default 1). Kinds go round-robin, so N scenarios cover each kind N/4 times.
#include <gtest/gtest.h>

#include <random>
#include <sstream>

#include "tests/models/fake_data.h"
#include "tests/reliability/reliability_util.h"

namespace gridrun::testing {
namespace {
namespace fault_matrix_test {

using coordinator::TrialRecord;
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

// Long enough trials (2-3 s each on an idle machine, up to 15 s on a busy one)
// that a fault aimed at the first quarter of one lands while it runs, even
// though the progress the controller sees comes with heartbeats (every
// lease/3, so a step read may be 0.7 s old). The width makes the steps, not
// the metric rows or checkpoints, take the time.
constexpr int kTrainImages = 2048;
constexpr int kBatch = 32;
constexpr int kEpochs = 12;
constexpr int kWidth = 256;
constexpr int kTrials = 2;
constexpr int kMaxAttempts = 20;
constexpr int64_t kStepsPerTrial = (kTrainImages / kBatch) * kEpochs;
constexpr int kLeaseSeconds = 2;
// The victim is hit once its reported step reaches a random target in
// [kStepsPerTrial / 10, kStepsPerTrial / 4]: past start-up, and even with a
// heartbeat's lag still in the victim's first half.
constexpr int64_t kFirstTarget = kStepsPerTrial / 10;
constexpr int64_t kLastTarget = kStepsPerTrial / 4;
// Generous for a loaded 2-core CI box (a scenario takes 10-20 s idle, up to
// 50 s busy), and 4 of them stay under scripts/test.sh's ctest --timeout 600.
constexpr auto kScenarioDeadline = std::chrono::seconds(120);
// SIGSTOP lasts until the coordinator has expired the lease (at most lease +
// one 1 s reaper sweep after the last heartbeat); this bounds the wait.
constexpr auto kLeaseExpiryDeadline = std::chrono::seconds(kLeaseSeconds + 20);

std::string Spec(const std::string& name) {
  return "experiment: " + name +
         "\n"
         "dataset: mnist\n"
         "model: vae-mlp\n"
         "width: " + std::to_string(kWidth) + "\n"
         "epochs: " + std::to_string(kEpochs) + "\n"
         "batch_size: " + std::to_string(kBatch) + "\n"
         "ranks: 2\n"
         "eval_samples: 0\n"
         "samples: {epochs: [1, " + std::to_string(kEpochs) + "], count: 16}\n"
         "grid:\n"
         "  latent_size: [2, 4]\n";
}

int64_t WallMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string Tail(const std::string& text, size_t n) {
  return text.size() > n ? "..." + text.substr(text.size() - n) : text;
}

struct Outcome {
  bool landed = false;                // the fault hit the victim's attempt while it ran
  bool survived = false;              // grid finished and every invariant held
  std::string victim;                 // "trial 7 attempt 1 at step 190/768", or why none
  std::string trials;                 // per trial: final attempt and seconds first lease -> done
  std::vector<std::string> problems;  // violated invariants, one line each
  std::string logs;                   // coordinator and worker log tails (on failure)
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

  // Runs one scenario; `rng` picks the victim, the moment and the fault's details.
  Outcome RunScenario(int index, Fault fault, std::mt19937_64& rng) {
    Outcome outcome;
    TempDir dir;
    const std::string db = dir.path() + "/grid.db";
    CoordinatorProcess coordinator(db, FreePort(),
                                   {"--lease-timeout", std::to_string(kLeaseSeconds) + "s",
                                    "--max-attempts", std::to_string(kMaxAttempts)});
    if (!coordinator.Start()) {
      outcome.problems.push_back("coordinator did not start");
      outcome.logs = "coordinator log tail:\n" + Tail(coordinator.log(), 3000);
      return outcome;
    }
    const std::string experiment =
        SubmitSpec(coordinator.address(), Spec("fault-" + std::to_string(index)));
    const std::string data_dir = data_->path() + "/data";
    auto start_job = [&] {
      return StartWorkerJob(coordinator.address(), data_dir, /*ranks=*/2, /*idle=*/2);
    };
    std::unique_ptr<ChildProcess> job = start_job();
    std::string worker_logs;

    // Trials run one at a time (one 2-rank job) in grid order.
    const size_t victim_index = std::uniform_int_distribution<size_t>(0, kTrials - 1)(rng);
    const int64_t target = std::uniform_int_distribution<int64_t>(kFirstTarget, kLastTarget)(rng);
    outcome.victim =
        "trial #" + std::to_string(victim_index) + " never reached step " + std::to_string(target);
    const auto deadline = std::chrono::steady_clock::now() + kScenarioDeadline;
    TrialRecord victim;     // as read just before the fault
    int64_t inject_ms = 0;  // wall clock just before the signal; 0: not injected
    bool finished = false;
    while (std::chrono::steady_clock::now() < deadline) {
      // Keep the pipes drained (a full pipe would stall a child); output() keeps it all.
      coordinator.log();
      job->output();
      auto trials = ReadTrials(db, experiment);
      int complete = 0;
      for (const auto& t : trials) complete += t.state == TrialState::kComplete;
      if (static_cast<int>(trials.size()) == kTrials && complete == kTrials) {
        finished = true;
        break;
      }
      if (inject_ms == 0 && trials.size() > victim_index &&
          trials[victim_index].state == TrialState::kRunning &&
          trials[victim_index].step >= target) {
        victim = trials[victim_index];
        outcome.victim = "trial " + std::to_string(victim.trial_id) + " attempt " +
                         std::to_string(victim.attempt) + " at step " +
                         std::to_string(victim.step) + "/" + std::to_string(kStepsPerTrial);
        inject_ms = WallMs();
        if (std::string p = Inject(fault, coordinator, *job, db, experiment, victim, rng);
            !p.empty()) {
          outcome.problems.push_back(p);
        }
      }
      if (!job->Running()) {
        worker_logs += job->output();
        job = start_job();
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    worker_logs += job->output();
    job.reset();  // SIGKILL if still running (idle by now)
    if (!finished) {
      outcome.problems.push_back("grid not finished after " +
                                 std::to_string(kScenarioDeadline.count()) + " s");
    }
    const int stopped = coordinator.Stop();
    if (stopped != 0) {
      outcome.problems.push_back("coordinator exit code " + std::to_string(stopped));
    }

    // Did the fault hit the victim's attempt? Facts: that attempt ended
    // without completing (a later attempt exists), or it completed after the
    // signal was sent.
    const std::vector<TrialRecord> final_trials = ReadTrials(db, experiment);
    for (const auto& t : final_trials) {
      outcome.trials += (outcome.trials.empty() ? "" : ", ") + std::to_string(t.trial_id) + ":a" +
                        std::to_string(t.attempt);
      if (t.finished_ms > 0 && t.started_ms > 0) {
        char seconds[32];
        std::snprintf(seconds, sizeof seconds, "/%.1fs", (t.finished_ms - t.started_ms) / 1000.0);
        outcome.trials += seconds;
      }
    }
    if (inject_ms != 0 && final_trials.size() > victim_index) {
      const TrialRecord& after = final_trials[victim_index];
      const bool retried = after.attempt > victim.attempt;
      const bool done_before =
          !retried && after.state == TrialState::kComplete && after.finished_ms < inject_ms;
      outcome.landed = !done_before;
      if (done_before) {
        outcome.victim += " (missed: attempt done " +
                          std::to_string(inject_ms - after.finished_ms) + " ms before the signal)";
      } else if (fault != Fault::kCoordinatorKill && !retried) {
        // The job died (or was stopped past its lease) while this attempt
        // ran: the attempt cannot have completed; a retry must have.
        outcome.problems.push_back(
            "job fault hit the victim's attempt " + std::to_string(victim.attempt) +
            " but it has no later attempt (state " + TrialStateName(after.state) + ", finished " +
            std::to_string(after.finished_ms - inject_ms) + " ms after the signal)");
      }
    }

    GridExpectation expect{kTrials, kStepsPerTrial, /*samples_per_trial=*/2, kMaxAttempts};
    for (const std::string& p : CheckGridInvariants(db, experiment, expect)) {
      outcome.problems.push_back(p);
    }
    // Completed exactly once: at most one acknowledged completion per trial
    // (a completion whose log line was lost to kill -9 still shows COMPLETE).
    const std::string log = coordinator.log();
    for (const auto& t : final_trials) {
      const std::string line = "trial " + std::to_string(t.trial_id) + ": RUNNING -> COMPLETE";
      int count = 0;
      for (size_t at = log.find(line); at != std::string::npos; at = log.find(line, at + 1)) {
        ++count;
      }
      if (count > 1) outcome.problems.push_back(line + " logged " + std::to_string(count) + "x");
    }
    outcome.survived = outcome.problems.empty();
    if (!outcome.survived) {
      outcome.logs = "coordinator log tail:\n" + Tail(log, 3000) + "\nworker log tail:\n" +
                     Tail(worker_logs, 3000);
    }
    return outcome;
  }

  // Injects `fault` into the job running `victim`; returns a problem ("" if none).
  std::string Inject(Fault fault, CoordinatorProcess& coordinator, ChildProcess& job,
                     const std::string& db, const std::string& experiment,
                     const TrialRecord& victim, std::mt19937_64& rng) {
    // The victim is RUNNING, so the job holding it is alive and has its ranks.
    const std::vector<pid_t> ranks = ChildPids(job.pid());
    if (fault != Fault::kCoordinatorKill && ranks.empty()) {
      return "no rank processes under mpirun (pid " + std::to_string(job.pid()) + ")";
    }
    switch (fault) {
      case Fault::kCoordinatorKill: {
        coordinator.Kill9();
        const int down_ms = std::uniform_int_distribution<int>(0, 1500)(rng);
        std::this_thread::sleep_for(std::chrono::milliseconds(down_ms));
        if (!coordinator.Start()) return "coordinator did not restart after kill -9";
        break;
      }
      case Fault::kRankKill: {
        const size_t pick = std::uniform_int_distribution<size_t>(0, ranks.size() - 1)(rng);
        ::kill(ranks[pick], SIGKILL);
        break;
      }
      case Fault::kJobTerm:
        // As a batch system's preemption: every rank gets SIGTERM.
        for (pid_t rank : ranks) ::kill(rank, SIGTERM);
        break;
      case Fault::kStopPastLease: {
        job.Signal(SIGSTOP);  // mpirun and every rank
        // Stopped until the coordinator has taken the attempt away (or it
        // had ended anyway), then a little longer.
        const auto until = std::chrono::steady_clock::now() + kLeaseExpiryDeadline;
        bool expired = false;
        while (!expired && std::chrono::steady_clock::now() < until) {
          coordinator.log();  // drain its pipe
          std::this_thread::sleep_for(std::chrono::milliseconds(50));
          for (const auto& t : ReadTrials(db, experiment)) {
            if (t.trial_id == victim.trial_id) {
              expired = t.state != TrialState::kRunning || t.attempt != victim.attempt;
            }
          }
        }
        std::this_thread::sleep_for(
            std::chrono::milliseconds(std::uniform_int_distribution<int>(0, 1000)(rng)));
        job.Signal(SIGCONT);
        if (!expired) {
          return "lease not expired " + std::to_string(kLeaseExpiryDeadline.count()) +
                 " s after SIGSTOP of its job";
        }
        break;
      }
    }
    return "";
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
  int landed = 0;
  std::string failed;  // one line per failed scenario, repeated at the end
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
    landed += outcome.landed;
    std::printf("scenario %d %-16s landed=%d survived=%d %5.1fs  victim %s; trials %s\n", i,
                FaultName(fault), outcome.landed, outcome.survived, seconds, outcome.victim.c_str(),
                outcome.trials.c_str());
    std::fflush(stdout);
    if (!outcome.survived) {
      // What broke first (CI shows only the first lines of a failure), logs after.
      std::ostringstream head;
      head << "scenario " << i << " " << FaultName(fault) << " (seed " << seed << "), victim "
           << outcome.victim << ":";
      std::string problems;
      for (const std::string& p : outcome.problems) problems += "\n  " + Tail(p, 300);
      ADD_FAILURE() << head.str() << problems << "\n" << outcome.logs;
      failed += "\n" + head.str() + " " + Tail(outcome.problems.front(), 200);
    }
  }
  const double total =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::printf("fault matrix (seed %llu): %d scenarios, %d landed mid-trial, %d survived, %.0f s\n",
              static_cast<unsigned long long>(seed), scenarios, landed, survived, total);
  for (const auto& [fault, c] : counts) {
    std::printf("  %-16s run %d, landed mid-trial %d, survived %d\n", FaultName(fault), c[0], c[1],
                c[2]);
  }
  RecordProperty("scenarios", scenarios);
  RecordProperty("landed", landed);
  RecordProperty("survived", survived);
  // Repeated here, at the end of the output, where a truncated CI log still shows it.
  if (survived != scenarios) {
    ADD_FAILURE() << scenarios - survived << " of " << scenarios << " scenarios failed:" << failed;
  }
}

}  // namespace fault_matrix_test
}  // namespace
}  // namespace gridrun::testing
