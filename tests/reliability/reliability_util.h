// Helpers shared by the reliability tests: a real coordinator process on a
// fixed loopback port that can be killed and restarted, a real mpirun worker
// job, env-var knobs, and the invariants every scenario ends with (every
// trial COMPLETE, metric steps without gaps or duplicates, samples that
// decode as PNG, a database that passes PRAGMA integrity_check).
// Header-only. Not thread-safe: one test thread drives these objects.
#pragma once

#include <gtest/gtest.h>
#include <png.h>

#include <SQLiteCpp/SQLiteCpp.h>
#include <chrono>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "coordinator/sqlite_trial_store.h"
#include "coordinator/trial_state.h"
#include "proto/client_channel.h"
#include "proto/gridrun.grpc.pb.h"
#include "tests/integration/coordinator_fixture.h"
#include "tests/integration/process_util.h"

namespace gridrun::testing {

// An integer knob from the environment (the CI default when unset or bad).
inline int64_t EnvInt(const char* name, int64_t fallback) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') return fallback;
  char* end = nullptr;
  const long long parsed = std::strtoll(value, &end, 10);
  return (end != nullptr && *end == '\0' && parsed >= 0) ? parsed : fallback;
}

// True when `bytes` decode completely as a PNG image (libpng's reader).
inline bool DecodesAsPng(const std::string& bytes) {
  png_image image{};
  image.version = PNG_IMAGE_VERSION;
  if (!png_image_begin_read_from_memory(&image, bytes.data(), bytes.size())) return false;
  image.format = PNG_FORMAT_GRAY;
  std::vector<unsigned char> pixels(PNG_IMAGE_SIZE(image));
  const bool ok = png_image_finish_read(&image, nullptr, pixels.data(), 0, nullptr) != 0;
  png_image_free(&image);
  return ok && image.width > 0 && image.height > 0;
}

// `gridrun-coordinator` on a fixed port and database, restartable after kill -9.
class CoordinatorProcess {
 public:
  CoordinatorProcess(std::string db, int port, std::vector<std::string> extra_flags = {})
      : db_(std::move(db)), port_(port), extra_(std::move(extra_flags)) {}

  // Starts it; false (with its output in `log()`) if it did not come up.
  bool Start() {
    std::vector<std::string> argv = {BuildDir() + "/gridrun-coordinator", "--listen",
                                     address(), "--db", db_};
    argv.insert(argv.end(), extra_.begin(), extra_.end());
    // The port may linger for a moment after a kill: retry briefly.
    for (int i = 0; i < 20; ++i) {
      process_ = std::make_unique<ChildProcess>(argv);
      if (process_->WaitForOutput("listening on")) return true;
      Collect();
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    return false;
  }
  void Kill9() {
    if (!process_) return;
    process_->Signal(SIGKILL);
    process_->Wait();
    Collect();
  }
  // SIGTERM; returns the exit code.
  int Stop() {
    if (!process_) return -1;
    process_->Signal(SIGTERM);
    const int code = process_->Wait(std::chrono::seconds(20));
    Collect();
    return code;
  }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  // Output of every run so far (the current one included).
  std::string log() { return log_ + (process_ ? process_->output() : std::string()); }

 private:
  void Collect() {
    if (process_) log_ += process_->output();
    process_.reset();
  }
  std::string db_;
  int port_;
  std::vector<std::string> extra_;
  std::unique_ptr<ChildProcess> process_;
  std::string log_;
};

// One `mpirun -np <ranks> gridrun-worker` job.
inline std::unique_ptr<ChildProcess> StartWorkerJob(const std::string& coordinator,
                                                    const std::string& data_dir, int ranks,
                                                    double exit_when_idle_s) {
  return std::make_unique<ChildProcess>(std::vector<std::string>{
      "mpirun", "--allow-run-as-root", "--oversubscribe", "--bind-to", "none", "-np",
      std::to_string(ranks), BuildDir() + "/gridrun-worker", "--coordinator", coordinator,
      "--data-dir", data_dir, "--threads", "1", "--exit-when-idle",
      std::to_string(exit_when_idle_s)});
}

inline std::string SubmitSpec(const std::string& address, const std::string& spec) {
  ClientOptions client;
  client.address = address;
  return SubmitSpec(client, spec);
}

inline std::vector<coordinator::TrialRecord> ReadTrials(const std::string& db,
                                                        const std::string& experiment) {
  auto store = coordinator::SqliteTrialStore::OpenReadOnly(db);
  if (!store.ok()) return {};
  auto trials = (*store)->ListTrials(experiment, {});
  return trials.ok() ? *trials : std::vector<coordinator::TrialRecord>{};
}

// What the database must look like after a grid of real trials finished.
struct GridExpectation {
  int trials = 0;
  int64_t steps_per_trial = 0;  // "loss/total" rows per trial: steps 1..this
  int samples_per_trial = 0;
  int max_attempts = 0;
};

// Checks every invariant; returns a description of each violation (empty:
// all held). The coordinator must be stopped or idle.
inline std::vector<std::string> CheckGridInvariants(const std::string& db,
                                                    const std::string& experiment,
                                                    const GridExpectation& expect) {
  std::vector<std::string> problems;
  auto fail = [&](const std::string& what) { problems.push_back(what); };
  try {
    SQLite::Database raw(db, SQLite::OPEN_READONLY);
    const std::string integrity = raw.execAndGet("PRAGMA integrity_check").getString();
    if (integrity != "ok") fail("PRAGMA integrity_check: " + integrity);
    SQLite::Statement fk(raw, "PRAGMA foreign_key_check");
    if (fk.executeStep()) fail("PRAGMA foreign_key_check found a dangling row");
    SQLite::Statement dup(raw,
                          "SELECT trial_id, name, step, count(*) FROM metrics "
                          "GROUP BY trial_id, name, step HAVING count(*) > 1 LIMIT 1");
    if (dup.executeStep()) {
      fail("duplicate metric row: trial " + dup.getColumn(0).getString() + " " +
           dup.getColumn(1).getString() + " step " + dup.getColumn(2).getString());
    }
  } catch (const std::exception& e) {
    fail(std::string("cannot check the database: ") + e.what());
    return problems;
  }
  auto store = coordinator::SqliteTrialStore::OpenReadOnly(db);
  if (!store.ok()) {
    fail("cannot open the store: " + store.status().ToString());
    return problems;
  }
  auto trials = (*store)->ListTrials(experiment, {});
  if (!trials.ok() || static_cast<int>(trials->size()) != expect.trials) {
    fail("expected " + std::to_string(expect.trials) + " trials");
    return problems;
  }
  for (const auto& trial : *trials) {
    const std::string t = "trial " + std::to_string(trial.trial_id) + ": ";
    if (trial.state != coordinator::TrialState::kComplete) {
      fail(t + "state " + std::string(coordinator::TrialStateName(trial.state)) + " (" +
           trial.error + ")");
      continue;
    }
    if (trial.attempt < 1 || trial.attempt > expect.max_attempts) {
      fail(t + "attempt " + std::to_string(trial.attempt) + " outside 1.." +
           std::to_string(expect.max_attempts));
    }
    if (trial.finished_ms < trial.started_ms || trial.finished_ms == 0) {
      fail(t + "finished_ms not recorded");
    }
    auto metrics = (*store)->ListMetrics(trial.trial_id);
    if (!metrics.ok()) {
      fail(t + "metrics unreadable");
      continue;
    }
    std::vector<int64_t> steps;
    for (const auto& m : *metrics) {
      if (m.name == "loss/total") steps.push_back(m.step);
    }
    std::sort(steps.begin(), steps.end());
    bool contiguous = static_cast<int64_t>(steps.size()) == expect.steps_per_trial;
    for (size_t i = 0; contiguous && i < steps.size(); ++i) {
      contiguous = steps[i] == static_cast<int64_t>(i) + 1;
    }
    if (!contiguous) {
      fail(t + "loss/total has " + std::to_string(steps.size()) + " rows, expected steps 1.." +
           std::to_string(expect.steps_per_trial) + " each once");
    }
    auto samples = (*store)->ListSamples(trial.trial_id);
    if (!samples.ok() || static_cast<int>(samples->size()) != expect.samples_per_trial) {
      fail(t + "expected " + std::to_string(expect.samples_per_trial) + " samples, got " +
           (samples.ok() ? std::to_string(samples->size()) : samples.status().ToString()));
    } else {
      for (const auto& s : *samples) {
        if (!DecodesAsPng(s.png)) fail(t + "sample at step " + std::to_string(s.step) +
                                       " is not a valid PNG");
      }
    }
  }
  return problems;
}

}  // namespace gridrun::testing
