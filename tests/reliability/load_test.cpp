// Load: 64 concurrent simulated workers (rank 0's protocol: lease, report
// metrics, heartbeat, complete) and 4 concurrent `gridrun query` readers
// against one real coordinator process on loopback for a bounded time. No
// call may fail, no reader may see "database is locked", every trial a
// worker took must end COMPLETE exactly once with every acknowledged metric
// point stored. Prints throughput and latency percentiles.
//
// Knob: GRIDRUN_LOAD_SECONDS (default 20).
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <numeric>

#include "tests/reliability/reliability_util.h"

namespace gridrun::testing {
namespace {
namespace load_test {

constexpr int kWorkers = 64;
constexpr int kReaders = 4;
constexpr int kStepsPerTrial = 4;
constexpr int kPointsPerBatch = 8;

// A 20 x 20 grid of 1-rank CPU trials (nothing trains: workers are scripted).
std::string Grid(int index) {
  // A seed of its own: otherwise the trials would be reuses of the first grid's.
  std::string spec = "experiment: load-" + std::to_string(index) + "\nseed: " +
                     std::to_string(index + 1) +
                     "\ndataset: mnist\nmodel: vae-mlp\nepochs: 1\ngrid:\n  latent_size: [";
  for (int i = 0; i < 20; ++i) spec += (i ? ", " : "") + std::to_string(i + 1);
  spec += "]\n  width: [";
  // Widths of its own too: an identical config would be a reuse, not a trial.
  for (int i = 0; i < 20; ++i) spec += (i ? ", " : "") + std::to_string(100 + 20 * index + i);
  return spec + "]\n";
}

struct Shared {
  std::mutex mutex;
  std::vector<double> latencies_ms;  // every RPC
  std::vector<double> metric_latencies_ms;
  std::map<int64_t, int> completions;
  std::map<std::tuple<int64_t, std::string, int64_t>, double> acked;
  std::vector<std::string> errors;
  std::atomic<int64_t> rpcs{0};
  std::atomic<int64_t> points{0};
};

// One scripted worker. Stops taking trials once `stop` is set but finishes
// the one it holds, so no lease is left dangling at the end.
class LoadWorker {
 public:
  LoadWorker(const std::string& address, Shared* shared) : shared_(shared) {
    options_.address = address;
    stub_ = v1::WorkerService::NewStub(CreateCoordinatorChannel(options_));
  }

  void Run(const std::atomic<bool>& stop) {
    v1::RegisterWorkerResponse registered;
    if (!Call("RegisterWorker", [&](grpc::ClientContext* c) {
          v1::RegisterWorkerRequest r;
          r.set_host("load");
          r.set_ranks(1);
          r.set_device("cpu");
          return stub_->RegisterWorker(c, r, &registered);
        })) {
      return;
    }
    const std::string id = registered.worker_id();
    while (!stop) {
      v1::LeaseTrialResponse lease;
      if (!Call("LeaseTrial", [&](grpc::ClientContext* c) {
            v1::LeaseTrialRequest r;
            r.set_worker_id(id);
            return stub_->LeaseTrial(c, r, &lease);
          })) {
        return;
      }
      if (!lease.has_lease()) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        continue;
      }
      if (!RunTrial(id, lease.lease())) return;
    }
  }

 private:
  bool RunTrial(const std::string& id, const v1::TrialLease& lease) {
    for (int step = 1; step <= kStepsPerTrial; ++step) {
      v1::ReportMetricsRequest metrics;
      metrics.set_worker_id(id);
      metrics.set_trial_id(lease.trial_id());
      metrics.set_attempt(lease.attempt());
      for (int i = 0; i < kPointsPerBatch; ++i) {
        auto* p = metrics.add_points();
        p->set_name("m" + std::to_string(i));
        p->set_step(step);
        p->set_epoch(1);
        p->set_value(step + i * 0.25);
      }
      v1::ReportMetricsResponse stored;
      if (!Call("ReportMetrics",
                [&](grpc::ClientContext* c) { return stub_->ReportMetrics(c, metrics, &stored); },
                /*metric=*/true)) {
        return false;
      }
      shared_->points += kPointsPerBatch;
      {
        std::lock_guard<std::mutex> lock(shared_->mutex);
        for (const auto& p : metrics.points()) {
          shared_->acked[{lease.trial_id(), p.name(), p.step()}] = p.value();
        }
      }
      v1::HeartbeatResponse beat;
      if (!Call("Heartbeat", [&](grpc::ClientContext* c) {
            v1::HeartbeatRequest r;
            r.set_worker_id(id);
            r.set_trial_id(lease.trial_id());
            r.set_attempt(lease.attempt());
            r.mutable_progress()->set_step(step);
            r.mutable_progress()->set_total_steps(kStepsPerTrial);
            return stub_->Heartbeat(c, r, &beat);
          })) {
        return false;
      }
    }
    v1::CompleteTrialResponse done;
    if (!Call("CompleteTrial", [&](grpc::ClientContext* c) {
          v1::CompleteTrialRequest r;
          r.set_worker_id(id);
          r.set_trial_id(lease.trial_id());
          r.set_attempt(lease.attempt());
          (*r.mutable_final_metrics())["m0"] = 1.0;
          return stub_->CompleteTrial(c, r, &done);
        })) {
      return false;
    }
    std::lock_guard<std::mutex> lock(shared_->mutex);
    ++shared_->completions[lease.trial_id()];
    return true;
  }

  // One RPC, timed. Any failure is recorded: under load nothing may fail.
  template <typename Rpc>
  bool Call(const char* what, Rpc rpc, bool metric = false) {
    grpc::ClientContext context;
    PrepareContext(&context, options_, std::chrono::seconds(30));
    const auto t0 = std::chrono::steady_clock::now();
    grpc::Status status = rpc(&context);
    const double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    ++shared_->rpcs;
    std::lock_guard<std::mutex> lock(shared_->mutex);
    shared_->latencies_ms.push_back(ms);
    if (metric) shared_->metric_latencies_ms.push_back(ms);
    if (!status.ok()) {
      shared_->errors.push_back(std::string(what) + ": " + std::to_string(status.error_code()) +
                                " " + status.error_message());
    }
    return status.ok();
  }

  ClientOptions options_;
  Shared* shared_;
  std::unique_ptr<v1::WorkerService::Stub> stub_;
};

double Percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const size_t index = std::min(values.size() - 1, static_cast<size_t>(p * values.size()));
  return values[index];
}

TEST(LoadTest, SixtyFourWorkersAndFourReadersForABoundedTime) {
  const int seconds = static_cast<int>(EnvInt("GRIDRUN_LOAD_SECONDS", 20));
  TempDir dir;
  const std::string db = dir.path() + "/grid.db";
  CoordinatorProcess coordinator(db, FreePort(), {"--lease-timeout", "30s", "--log-level",
                                                  "warn"});
  ASSERT_TRUE(coordinator.Start()) << coordinator.log();
  std::vector<std::string> experiments = {SubmitSpec(coordinator.address(), Grid(0))};

  Shared shared;
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  for (int i = 0; i < kWorkers; ++i) {
    threads.emplace_back([&] { LoadWorker(coordinator.address(), &shared).Run(stop); });
  }
  std::atomic<int64_t> queries{0};
  std::vector<double> query_ms;
  std::vector<std::string> reader_errors;
  std::mutex reader_mutex;
  const std::vector<std::string> sql = {
      "SELECT count(*) FROM metrics",
      "SELECT state, count(*) FROM trials GROUP BY state",
      "SELECT trial_id, name, max(step) FROM metrics GROUP BY trial_id, name LIMIT 50",
      "SELECT * FROM results LIMIT 20"};
  for (int r = 0; r < kReaders; ++r) {
    threads.emplace_back([&, r] {
      while (!stop) {
        const auto t0 = std::chrono::steady_clock::now();
        ChildProcess query({BuildDir() + "/gridrun", "query", "--db", db, "--format", "csv",
                            sql[r % sql.size()]});
        const int code = query.Wait(std::chrono::seconds(30));
        const double ms = std::chrono::duration<double, std::milli>(
                              std::chrono::steady_clock::now() - t0)
                              .count();
        ++queries;
        std::lock_guard<std::mutex> lock(reader_mutex);
        query_ms.push_back(ms);
        if (code != 0 || query.output().find("locked") != std::string::npos) {
          reader_errors.push_back("exit " + std::to_string(code) + ": " + query.output());
        }
      }
    });
  }
  // Keep the queue fed: another 400-trial grid whenever fewer than 200 wait.
  const auto started = std::chrono::steady_clock::now();
  while (std::chrono::steady_clock::now() - started < std::chrono::seconds(seconds)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
    int64_t waiting = 0;
    for (const auto& e : experiments) {
      for (const auto& t : ReadTrials(db, e)) waiting += t.state == coordinator::TrialState::kWaiting;
    }
    if (waiting < 200) {
      experiments.push_back(
          SubmitSpec(coordinator.address(), Grid(static_cast<int>(experiments.size()))));
    }
  }
  stop = true;
  for (auto& t : threads) t.join();
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  EXPECT_EQ(coordinator.Stop(), 0);

  for (const auto& e : shared.errors) ADD_FAILURE() << "worker RPC failed: " << e;
  for (const auto& e : reader_errors) ADD_FAILURE() << "query failed: " << e;
  EXPECT_EQ(coordinator.log().find("database is locked"), std::string::npos);

  // Every trial is COMPLETE exactly once or was never leased.
  int64_t complete = 0;
  auto store = coordinator::SqliteTrialStore::OpenReadOnly(db);
  ASSERT_TRUE(store.ok()) << store.status();
  std::map<std::tuple<int64_t, std::string, int64_t>, double> stored;
  for (const auto& e : experiments) {
    for (const auto& t : ReadTrials(db, e)) {
      if (t.state == coordinator::TrialState::kComplete) {
        ++complete;
        EXPECT_EQ(shared.completions[t.trial_id], 1) << "trial " << t.trial_id;
        EXPECT_EQ(t.attempt, 1) << "trial " << t.trial_id;
        auto metrics = (*store)->ListMetrics(t.trial_id);
        ASSERT_TRUE(metrics.ok());
        EXPECT_EQ(metrics->size(), size_t{kStepsPerTrial * kPointsPerBatch});
        for (const auto& m : *metrics) stored[{t.trial_id, m.name, m.step}] = m.value;
      } else {
        EXPECT_EQ(t.state, coordinator::TrialState::kWaiting) << "trial " << t.trial_id;
        EXPECT_EQ(t.attempt, 0) << "trial " << t.trial_id;
        EXPECT_EQ(shared.completions.count(t.trial_id), 0u);
      }
    }
  }
  EXPECT_EQ(complete, static_cast<int64_t>(shared.completions.size()));
  int64_t lost = 0;
  for (const auto& [key, value] : shared.acked) {
    auto it = stored.find(key);
    lost += it == stored.end() || it->second != value;
  }
  EXPECT_EQ(lost, 0) << "acknowledged metric points missing or changed";
  EXPECT_GT(complete, 0);
  EXPECT_GT(queries.load(), 0);
  {
    SQLite::Database raw(db, SQLite::OPEN_READONLY);
    EXPECT_EQ(raw.execAndGet("PRAGMA integrity_check").getString(), "ok");
  }

  std::printf(
      "load: %d workers + %d readers for %.1f s: %lld trials complete (%.1f/s), %lld RPCs "
      "(%.0f/s), %lld metric points (%.0f/s), %lld queries (%.1f/s)\n",
      kWorkers, kReaders, elapsed, static_cast<long long>(complete), complete / elapsed,
      static_cast<long long>(shared.rpcs.load()), shared.rpcs / elapsed,
      static_cast<long long>(shared.points.load()), shared.points / elapsed,
      static_cast<long long>(queries.load()), queries / elapsed);
  std::printf("load: RPC latency p50 %.2f ms, p99 %.2f ms, max %.2f ms; ReportMetrics p99 %.2f ms; "
              "query (process) p50 %.0f ms, p99 %.0f ms\n",
              Percentile(shared.latencies_ms, 0.50), Percentile(shared.latencies_ms, 0.99),
              Percentile(shared.latencies_ms, 1.0), Percentile(shared.metric_latencies_ms, 0.99),
              Percentile(query_ms, 0.50), Percentile(query_ms, 0.99));
  RecordProperty("trials_complete", static_cast<int>(complete));
}

}  // namespace load_test
}  // namespace
}  // namespace gridrun::testing
